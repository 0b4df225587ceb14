"""How alike two names are: token similarity, token alignment, and the name score.

A name is a bag of weighted tokens (rare tokens weigh more, particles like "al" or "de"
almost nothing). Tokens are paired one to one, best pairs first, whatever their order, so
"PUTIN, Vladimir" and "Vladimir Putin" align fully. A pair counts only when the two tokens
are the same name written differently: within an edit budget that grows with length (then
scored by Jaro-Winkler), the same after folding transliteration digraphs, the same sound
with a close spelling, a nickname, or an initial. Anything else is a different name, not a
"half match": that is what keeps "Vladislav Putin" and "BANCO INTERNACIONAL DE CUBA" below
the alert threshold, where a whole-string token ratio scores them ~0.9.

The score is the weight of what matched (times the pair's similarity squared) over the
weight of what had to match. A token left over costs its weight times a factor: a query
token at either end 1.0 (the query says something the list does not), in the middle 0.4; a
list token that is a person's first given name or first surname 0.8, any other (a middle
name, a second surname) 0.2. When both sides keep such a word, the names conflict and both
cost at least ``CONFLICT_WEIGHT``. One word alone, a name of three letters, or common
words alone are capped below the alert threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA, JaroWinkler

from riskloop.screening.normalize import phonetic_key, sound_fold
from riskloop.screening.vocabulary import NICKNAMES, PARTICLES

EXACT, SPELLING, SOUND, NICKNAME, INITIAL, JOINED = (
    "exact",
    "spelling",
    "sound",
    "nickname",
    "initial",
    "joined",
)
SPELLING_FLOOR = 0.8  # a pair scored below this is two different names
SOUND_SCORE = 0.85
NICKNAME_SCORE = 0.9
INITIAL_SCORE = 0.8
WEAK_ALIAS_FACTOR = 0.9
SINGLE_TOKEN_CAP = 0.65  # one word alone (a surname, "BANK", an acronym) never alerts
MIN_INFORMATION = 0.5  # nor do common words alone ("Mohammad"): matched weight below this
QUERY_EDGE_COST, QUERY_MIDDLE_COST = 1.0, 0.4
LIST_CORE_COST, LIST_OTHER_COST = 0.8, 0.2
CONFLICT_WEIGHT = 0.8

_VOWELS = frozenset("aeiouy")


def edit_budget(length: int) -> int:
    """Edits allowed between two spellings of one name of this length."""
    return 0 if length <= 3 else 1 if length <= 5 else 2 if length <= 9 else 3


def token_similarity(a: str, b: str) -> tuple[float, str]:
    """(similarity in [0, 1], how): 0.0 when the tokens are different names.

    >>> token_similarity("putin", "putim")
    (0.92, 'spelling')
    >>> token_similarity("mohammed", "muhammad")[1], token_similarity("hussein", "husayn")[1]
    ('spelling', 'sound')
    >>> token_similarity("vladimir", "vladislav"), token_similarity("bill", "william")
    ((0.0, ''), (0.9, 'nickname'))
    """
    if a == b:
        return 1.0, EXACT
    if (len(a) == 1 or len(b) == 1) and a.isalpha() and b.isalpha():
        return (INITIAL_SCORE, INITIAL) if a[0] == b[0] else (0.0, "")
    if b in NICKNAMES.get(a, ()) or a in NICKNAMES.get(b, ()):
        return NICKNAME_SCORE, NICKNAME
    if not (a.isalpha() and b.isalpha()):
        return 0.0, ""  # numbers ("SEA STAR 2", "IL-76") must be equal
    # the budget follows the shorter spelling: "putin" ~ "putn" but not "patino", and
    # "ministry" is not "neoministry"
    budget = edit_budget(min(len(a), len(b)))
    # a different first letter: a different first vowel is transliteration (osama, usama);
    # otherwise one typo at most (the first two letters swapped, the first one missing, or
    # a changed one in a name of six letters or more), else it is another name ("naida"
    # is not "qaida", "neoministry" not "ministry") unless the two sound alike (below)
    if not (a[0] == b[0] or (a[0] in _VOWELS and b[0] in _VOWELS)):
        typo = (
            a[:2] == b[1::-1]
            or (min(len(a), len(b)) >= 4 and (a == b[1:] or b == a[1:]))
            or min(len(a), len(b)) >= 6
        )
        budget = min(budget, 1) if typo else 0
    # in a name of four letters or fewer a changed consonant is another name (mark, mary;
    # chol, choi); a changed vowel is transliteration (umar, omar; khan, khen), a letter
    # left out or two swapped a typo
    short_substitution = min(len(a), len(b)) <= 4 and len(a) == len(b) and not _vowel_or_swap(a, b)
    if budget and not short_substitution and OSA.distance(a, b, score_cutoff=budget) <= budget:
        sim = JaroWinkler.similarity(a, b)
        if sim >= SPELLING_FLOOR:
            return round(sim, 4), SPELLING
    if min(len(a), len(b)) < 3:
        return 0.0, ""  # "al" is not "ali"
    sa, sb = sound_fold(a), sound_fold(b)
    if sa == sb:
        return SOUND_SCORE, SOUND
    # the same sound key and a close spelling, in names of five letters or more (hussein,
    # husayn); shorter ones differ by a vowel too often (moore, mire; yan, yun)
    budget = edit_budget(min(len(sa), len(sb))) if min(len(sa), len(sb)) >= 5 else 0
    key = phonetic_key(a)
    if key and key == phonetic_key(b) and OSA.distance(sa, sb, score_cutoff=budget) <= budget:
        return SOUND_SCORE, SOUND
    return 0.0, ""


def _vowel_or_swap(a: str, b: str) -> bool:
    """Equal-length tokens that differ only by vowels or by two letters swapped."""
    if sorted(a) == sorted(b):
        return True
    return all(x == y or (x in _VOWELS and y in _VOWELS) for x, y in zip(a, b, strict=True))


def maybe_similar(a: str, b: str) -> bool:
    """A cheap necessary condition for a spelling or sound match: close lengths and a
    start ``token_similarity`` can accept. Nicknames and initials aside."""
    return abs(len(a) - len(b)) <= 3 and (
        a[0] == b[0]
        or (a[0] in _VOWELS and b[0] in _VOWELS)
        or min(len(a), len(b)) >= 6
        or sound_fold(a)[0] == sound_fold(b)[0]
    )


@dataclass(frozen=True, slots=True)
class Side:
    """One name prepared for comparison: tokens, weights, and which tokens are core (a
    person's first given name and first surname; every token of an organisation)."""

    tokens: tuple[str, ...]
    weights: tuple[float, ...]
    core: tuple[bool, ...]
    order: tuple[int, ...]


def core_flags(tokens: Sequence[str], order: Sequence[int], person: bool) -> tuple[bool, ...]:
    """Core tokens of a name: for an organisation all of them; for a person the first
    non-particle token of the given names and of the surname ("SURNAME, Given" names
    have their surname at the end after normalisation, so the ends otherwise)."""
    n = len(tokens)
    if not person or n <= 2:
        return (True,) * n
    words = [i for i in range(n) if tokens[i] not in PARTICLES] or list(range(n))
    first = words[0]
    # a comma name was reordered: its surname starts where the published order restarts
    restart = next((i for i in range(1, n) if order[i] < order[i - 1]), None)
    last = words[-1]
    if restart is not None:
        last = next((i for i in words if i >= restart), last)
    return tuple(i in (first, last) for i in range(n))


@dataclass(frozen=True, slots=True)
class Pair:
    query: tuple[int, ...]  # query token positions (two when joined)
    listed: tuple[int, ...]  # list token positions
    sim: float
    how: str


@dataclass(frozen=True, slots=True)
class NameScore:
    score: float
    pairs: tuple[Pair, ...]
    capped: bool = False  # the single-token cap applied


def _joins(q: Side, c: Side, used_q: set[int], used_c: set[int], from_query: bool) -> list[Pair]:
    """Pairs of one token against two adjacent ones ("abdulrahman" ~ "abdul rahman")."""
    one, two = (q, c) if from_query else (c, q)
    used_one, used_two = (used_q, used_c) if from_query else (used_c, used_q)
    out = []
    for i, token in enumerate(one.tokens):
        if i in used_one or len(token) < 5:
            continue
        for j in range(len(two.tokens) - 1):
            if j in used_two or j + 1 in used_two:
                continue
            joined = two.tokens[j] + two.tokens[j + 1]
            if not maybe_similar(token, joined):
                continue
            # joining is a liberty already: at most one edit, none in a short join
            if OSA.distance(token, joined, score_cutoff=1) > (1 if len(joined) >= 8 else 0):
                continue
            sim = 1.0 if token == joined else JaroWinkler.similarity(token, joined)
            if sim:
                used_one.add(i)
                used_two.update((j, j + 1))
                a, b = (i,), (j, j + 1)
                out.append(Pair(a, b, sim, JOINED) if from_query else Pair(b, a, sim, JOINED))
                break
    return out


def align(q: Side, c: Side, candidates: Sequence[tuple[int, int, float, str]]) -> list[Pair]:
    """Greedy one-to-one pairing, best similarity (then heaviest list token, then closest
    relative position, so a repeated name pairs in place) first, then joined tokens among
    what is left."""
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    nq, nc = max(len(q.tokens) - 1, 1), max(len(c.tokens) - 1, 1)

    def rank(p: tuple[int, int, float, str]) -> tuple[float, float, float]:
        return (-p[2], -c.weights[p[1]], abs(p[0] / nq - p[1] / nc))

    for i, j, sim, how in sorted(candidates, key=rank):
        if i not in used_q and j not in used_c:
            used_q.add(i)
            used_c.add(j)
            pairs.append(Pair((i,), (j,), sim, how))
    if len(used_q) < len(q.tokens) and len(used_c) < len(c.tokens):
        pairs += _joins(q, c, used_q, used_c, from_query=True)
        pairs += _joins(q, c, used_q, used_c, from_query=False)
    return pairs


def name_score(q: Side, c: Side, pairs: Sequence[Pair], *, person: bool) -> NameScore:
    """Matched weight over the weight that had to match, then the single-token cap.

    A pair counts its list token's weight times the similarity squared, so two approximate
    pairs weigh less than one typo. When both names keep a word the other lacks (James vs
    Ahmed in otherwise equal names) that is a conflict, not an omission: those words cost
    their full weight, at least ``CONFLICT_WEIGHT`` however common they are.
    """
    matched = total = 0.0
    used_q: set[int] = set()
    used_c: set[int] = set()
    for p in pairs:
        used_q.update(p.query)
        for j in p.listed:
            used_c.add(j)
            matched += c.weights[j] * p.sim * p.sim
            total += c.weights[j]
    left_q = [i for i in range(len(q.tokens)) if i not in used_q]
    left_c = [j for j in range(len(c.tokens)) if j not in used_c]
    conflict = any(_word(q.tokens[i]) for i in left_q) and any(
        c.core[j] and _word(c.tokens[j]) for j in left_c
    )
    last = len(q.tokens) - 1
    for i in left_q:
        edge = i in (0, last) or not person
        w = max(q.weights[i], CONFLICT_WEIGHT) if conflict and _word(q.tokens[i]) else q.weights[i]
        total += w * (QUERY_EDGE_COST if edge else QUERY_MIDDLE_COST)
    for j in left_c:
        if conflict and c.core[j] and _word(c.tokens[j]):
            total += max(c.weights[j], CONFLICT_WEIGHT)
        else:
            total += c.weights[j] * (LIST_CORE_COST if c.core[j] else LIST_OTHER_COST)
    score = matched / total if total else 0.0
    if score > SINGLE_TOKEN_CAP and (
        (len(pairs) == 1 and pairs[0].how != JOINED and sum(len(t) > 2 for t in c.tokens) > 1)
        or (len(c.tokens) == 1 and len(c.tokens[0]) <= 3)
        or sum(c.weights[j] for j in used_c) < MIN_INFORMATION
    ):
        return NameScore(SINGLE_TOKEN_CAP, tuple(pairs), capped=True)
    return NameScore(score, tuple(pairs))


def _word(token: str) -> bool:
    """A token that names someone: not an initial, not a particle."""
    return (len(token) > 1 or token.isdigit()) and token not in PARTICLES


def explain(q: Side, c: Side, scored: NameScore, *, person: bool) -> list[str]:
    """What the alignment did, in words: reordering, spelling and sound variants,
    nicknames, initials, joined words, words missing on either side."""
    pairs = scored.pairs
    notes = []
    listed = [p.listed[0] for p in sorted(pairs, key=lambda p: p.query[0])]
    published = [c.order[j] for j in listed]
    if published != sorted(published):
        notes.append("tokens reordered")
    for p in pairs:
        a = " ".join(q.tokens[i] for i in p.query)
        b = " ".join(c.tokens[j] for j in p.listed)
        if p.how == SPELLING:
            notes.append(f"spelling '{a}'~'{b}'")
        elif p.how == SOUND:
            notes.append(f"sounds alike '{a}'~'{b}'")
        elif p.how in (NICKNAME, INITIAL):
            notes.append(f"{p.how} '{a}' for '{b}'")
        elif p.how == JOINED:
            notes.append(f"'{a}' written as '{b}'")
    used_q = {i for p in pairs for i in p.query}
    used_c = {j for p in pairs for j in p.listed}
    notes += [f"'{t}' not in list name" for i, t in enumerate(q.tokens) if i not in used_q]
    others = 0
    for j, token in enumerate(c.tokens):
        if j not in used_c:
            if c.core[j] or not person:
                notes.append(f"list word '{token}' missing")
            else:
                others += 1
    if others:
        notes.append("middle name missing" if others == 1 else "middle names missing")
    if scored.capped:
        notes.append("one word alone")
    return notes


def compare(a: Sequence[str], b: Sequence[str], *, person: bool = True) -> NameScore:
    """Two token lists with equal weights, every pair compared (for tests and
    explanations; the index uses its own candidate pairs and rarity weights).

    >>> round(compare(["vladimir", "putin"], ["vladimir", "vladimirovich", "putin"]).score, 2)
    0.91
    >>> round(compare(["maria", "putin"], ["vladimir", "putin"]).score, 2)
    0.33
    """
    q = Side(tuple(a), (1.0,) * len(a), (True,) * len(a), tuple(range(len(a))))
    order = tuple(range(len(b)))
    c = Side(tuple(b), (1.0,) * len(b), core_flags(b, order, person), order)
    cands = []
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            sim, how = token_similarity(x, y)
            if sim:
                cands.append((i, j, sim, how))
    return name_score(q, c, align(q, c, cands), person=person)
