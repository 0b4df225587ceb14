"""Screening a name against the lists: the query, the index, and the explained match.

``Index.build`` normalises every name and alias once. ``Index.search`` finds candidate
names through the blocking tables (``screening.blocking``), ranks them by an upper bound of
their name score, scores the best of them with the token alignment of
``screening.similarity`` until the bound cannot change the result, keeps the best name of
each entry, and moves its score with the date of birth, country, identifiers and kind
(``screening.evidence``). Thresholds are the caller's: a ``Match`` only says how alike and
why.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from riskloop.errors import FieldError, InvalidInput
from riskloop.screening.blocking import INITIAL_WEIGHT, IndexedName, NameTable, Neighbours
from riskloop.screening.countries import country_code
from riskloop.screening.evidence import COUNTRY_GAIN, DOB_EXACT_GAIN, Evidence, weigh
from riskloop.screening.model import EntityKind, ListEntry
from riskloop.screening.normalize import NormalizedName, normalize_identifier, normalize_name
from riskloop.screening.query import Match, Query, Thresholds
from riskloop.screening.similarity import (
    INITIAL,
    INITIAL_SCORE,
    LIST_CORE_COST,
    LIST_OTHER_COST,
    QUERY_EDGE_COST,
    QUERY_MIDDLE_COST,
    WEAK_ALIAS_FACTOR,
    NameScore,
    Side,
    align,
    explain,
    maybe_similar,
    name_score,
    token_similarity,
)
from riskloop.screening.vocabulary import LEGAL_WORDS, PARTICLES

CANDIDATES = 120  # at most this many names fine-scored per search
COMMON_POSTINGS = 1_000  # a word found in more names than this brings in no new names


@dataclass(slots=True)
class _Prepared:
    """The query normalised the two ways the list's names are (person / the others)."""

    person: NormalizedName
    other: NormalizedName
    sides: dict[bool, Side]
    neighbours: dict[str, Neighbours]


class Index:
    """Names of list entries, ready to search. Build once per list version; searching only
    reads it (bar a cache of look-alike tokens), so one index serves a process's searches.

    >>> putin = ListEntry("t", "1", EntityKind.PERSON, "PUTIN, Vladimir Vladimirovich")
    >>> index = Index.build([putin])
    >>> (m,) = index.search(Query("Vladimir Putin"))
    >>> m.score
    0.9091
    >>> m.explanation.split(" (")[1]
    '0.91: tokens reordered, middle name missing)'
    >>> index.search(Query("Maria Putin"))
    []
    """

    def __init__(self, entries: list[ListEntry], table: NameTable) -> None:
        self._entries = entries
        self._table = table
        self._ids: dict[str, list[int]] = {}
        for position, entry in enumerate(entries):
            for value in entry.identifiers:
                self._ids.setdefault(value, []).append(position)
        self._names_of: dict[int, list[int]] = {}
        for name_id, name in enumerate(table.names):
            self._names_of.setdefault(name.entry, []).append(name_id)

    @classmethod
    def build(cls, entries: Iterable[ListEntry]) -> Index:
        listed = list(entries)
        table = NameTable()
        for position, entry in enumerate(listed):
            table.add(position, entry)
        table.finish()
        return cls(listed, table)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def name_count(self) -> int:
        return len(self._table.names)

    @property
    def entries(self) -> tuple[ListEntry, ...]:
        return tuple(self._entries)

    def search(self, query: Query, *, limit: int = 10, min_score: float = 0.5) -> list[Match]:
        """The best ``limit`` entries scoring at least ``min_score``, best first.

        Candidates are scored in order of an upper bound of their name score and the loop
        stops once the bound, raised by the best the query's date of birth and country
        could add, cannot reach ``min_score`` or the current ``limit``-th best.
        """
        if limit < 1:
            raise InvalidInput([FieldError("limit", "must be at least 1")])
        if not 0.0 <= min_score <= 1.0:
            raise InvalidInput([FieldError("min_score", "must be a number from 0 to 1")])
        prepared = self._prepare(query)
        ids = tuple(normalize_identifier(v) for v in query.identifiers)
        country = country_code(query.country) if query.country else None
        keep = (1 - DOB_EXACT_GAIN if query.date_of_birth else 1.0) * (
            1 - COUNTRY_GAIN if country else 1.0
        )
        forced = [n for v in ids for p in self._ids.get(v, ()) for n in self._names_of[p]]
        best: dict[int, Match] = {}
        floor = min_score
        # the name score a match needs: min_score less the most the other evidence can add
        needed = 1 - (1 - min_score) / keep
        ranked = self._ranked(prepared, needed)
        stop = next(
            (k for k, (bound, _) in enumerate(ranked) if 1 - (1 - bound) * keep < floor),
            len(ranked),
        )
        pending = [n for _, n in ranked[:stop]] + forced
        for position, name_id in enumerate(pending):
            name = self._table.names[name_id]
            if position < stop:
                reach = 1 - (1 - ranked[position][0]) * keep
                held = best.get(name.entry)
                if reach < floor or (held is not None and held.score >= reach):
                    continue  # cannot beat the limit-th best, or its entry's best name
            scored = self._score(prepared, name)
            nscore = scored.score * (WEAK_ALIAS_FACTOR if name.weak else 1.0)
            entry = self._entries[name.entry]
            score, evidence = weigh(
                nscore,
                entry,
                kind=query.kind,
                date_of_birth=query.date_of_birth,
                country=country,
                identifiers=ids,
            )
            held = best.get(name.entry)
            if score < min_score or (held is not None and score <= held.score):
                continue
            best[name.entry] = self._match(query, prepared, name, scored, score, evidence)
            if len(best) >= limit:
                floor = max(min_score, heapq.nlargest(limit, (m.score for m in best.values()))[-1])
        matches = sorted(
            best.values(),
            key=lambda m: (-m.score, -m.name_score, m.entry.source, m.entry.entry_id),
        )
        return matches[:limit]

    # ------------------------------------------------------------------ internals

    def _prepare(self, query: Query) -> _Prepared:
        kind = query.kind
        person = normalize_name(query.name, EntityKind.PERSON if kind is None else kind)
        other = person if kind is not None else normalize_name(query.name, EntityKind.UNKNOWN)
        if not person.tokens or not other.tokens:
            raise InvalidInput([FieldError("name", "has no name left to match")])
        words = dict.fromkeys(person.tokens + other.tokens)
        table = self._table
        sides = {
            flag: Side(
                n.tokens,
                tuple(table.weight(t) for t in n.tokens),
                (True,) * len(n.tokens),
                n.order,
            )
            for flag, n in ((True, person), (False, other))
        }
        return _Prepared(person, other, sides, {w: table.neighbours(w) for w in words})

    def _accumulate(
        self, prepared: _Prepared, words: list[str], bits: dict[str, int], minor: set[str]
    ) -> tuple[dict[int, float], dict[int, int], set[int]]:
        """Per candidate name: the matched weight at most, the bits of the query words
        found in it, and whether it was found through joined words.

        Words are taken rarest first; a common word ("mohammed" and its spellings:
        thousands of names) adds to the names the rarer words found but brings in no new
        ones; ``minor`` words (particles, legal-form words) are not looked up at all.
        """
        table = self._table
        weight: dict[int, float] = {}
        found: dict[int, int] = {}
        joined: set[int] = set()
        for rank, word in enumerate(w for w in words if w not in minor):
            near = prepared.neighbours[word]
            bit = bits[word]
            create = rank == 0 or sum(len(table.postings[t]) for t in near) <= COMMON_POSTINGS
            for tid, (sim, _) in near.items():
                gain = table.weights[tid] * sim * sim
                for name_id in table.postings[tid]:
                    if name_id in weight:
                        weight[name_id] += gain
                        found[name_id] |= bit
                    elif create:
                        weight[name_id] = gain
                        found[name_id] = bit
            for name_id in table.joins.get(word, ()):  # "abdulrahman" ~ "abdul rahman"
                weight[name_id] = weight.get(name_id, 0.0) + 1.0
                found[name_id] = found.get(name_id, 0) | bit
                joined.add(name_id)
        for n in (prepared.person, prepared.other):  # "abdul rahman" ~ "abdulrahman"
            for first, second in zip(n.tokens, n.tokens[1:], strict=False):
                joint = table.vocab.get(first + second)
                for name_id in table.postings[joint] if joint is not None else ():
                    weight[name_id] = weight.get(name_id, 0.0) + 1.0
                    found[name_id] = found.get(name_id, 0) | bits[first] | bits[second]
                    joined.add(name_id)
        names = table.names
        lift = INITIAL_SCORE * INITIAL_SCORE * INITIAL_WEIGHT
        for word in words:
            if len(word) == 1 and word.isalpha():  # an initial lifts the names found
                for name_id in weight:
                    if word in names[name_id].initials:
                        weight[name_id] += lift
                        found[name_id] |= bits[word]
        return weight, found, joined

    def _ranked(self, prepared: _Prepared, needed: float) -> list[tuple[float, int]]:
        """(upper bound of the name score, name id) of the names sharing look-alike words
        with the query whose bound reaches ``needed``, best first, at most ``CANDIDATES``.

        The bound counts each list word at its best similarity to any query word (or the
        least it can cost when none is like it) and each query word found in no word of
        the name at its cost. It is exact as an upper bound but for two-edit typos that
        only the scoring finds (``Index._score``): those names may rank lower than they end.
        """
        table = self._table
        near_of = prepared.neighbours
        words = sorted(near_of, key=lambda w: sum(len(table.postings[t]) for t in near_of[w]))
        bits = {w: 1 << k for k, w in enumerate(words)}
        minor = {w for w in words if w in PARTICLES or w in LEGAL_WORDS}
        if len(minor) == len(words):
            minor = set()
        weight, found, joined = self._accumulate(prepared, words, bits, minor)
        counted = {w: b for w, b in bits.items() if w not in minor}
        costs = {flag: self._costs(side, counted) for flag, side in prepared.sides.items()}
        missing: dict[tuple[bool, int], float] = {}  # (person, bits found) -> cost of the rest
        names = table.names
        crude = []
        for name_id, matched in weight.items():
            name = names[name_id]
            key = (name.kind is EntityKind.PERSON, found[name_id])
            cost = missing.get(key)
            if cost is None:
                cost = sum(c for bit, c in costs[key[0]] if not key[1] & bit)
                missing[key] = cost
            k = name.leftover_cost
            if matched > name.total:  # (a word can find a list word twice)
                matched = name.total
            bound = matched / ((1 - k) * matched + k * name.total + cost)
            if bound >= needed:
                crude.append((bound, name_id, cost))
        # then word by word for the best of them (joined words keep the crude bound)
        best: dict[int, float] = {}
        for near in near_of.values():
            for tid, (sim, _) in near.items():
                best[tid] = max(best.get(tid, 0.0), sim * sim)
        letters = {w for w in words if len(w) == 1}
        ranked = []
        for bound, name_id, cost in heapq.nlargest(CANDIDATES * 3, crude):
            if name_id not in joined:
                bound = self._bound(names[name_id], best, letters, cost)
            if bound >= needed:
                ranked.append((bound, name_id))
        return heapq.nlargest(CANDIDATES, ranked)

    @staticmethod
    def _bound(name: IndexedName, best: dict[int, float], letters: set[str], cost: float) -> float:
        side = name.side
        matched = total = 0.0
        for j, tid in enumerate(name.ids):
            w = side.weights[j]
            s2 = best.get(tid, 0.0)
            if not s2 and (side.tokens[j][0] in letters or len(side.tokens[j]) == 1):
                s2 = INITIAL_SCORE * INITIAL_SCORE  # an initial on either side
            if s2:
                matched += w * s2
                total += w * s2
            else:
                total += w * (LIST_CORE_COST if side.core[j] else LIST_OTHER_COST)
        return matched / (total + cost) if total + cost else 0.0

    @staticmethod
    def _costs(side: Side, bits: dict[str, int]) -> list[tuple[int, float]]:
        """(bit of the query word, what leaving it unmatched costs) per query token; single
        letters are left out (an initial can pair with any name)."""
        last = len(side.tokens) - 1
        out = []
        for i, word in enumerate(side.tokens):
            if len(word) > 1 and word in bits:
                edge = i in (0, last)
                cost = QUERY_EDGE_COST if edge else QUERY_MIDDLE_COST
                out.append((bits[word], side.weights[i] * cost))
        return out

    def _score(self, prepared: _Prepared, name: IndexedName) -> NameScore:
        person = name.kind is EntityKind.PERSON
        q = prepared.sides[person]
        c = name.side
        words = self._table.words
        cands: list[tuple[int, int, float, str]] = []
        for i, word in enumerate(q.tokens):
            found = prepared.neighbours[word]
            for j, tid in enumerate(name.ids):
                hit = found.get(tid)
                if hit is not None:
                    cands.append((i, j, hit[0], hit[1]))
                elif (
                    (len(word) == 1 or len(words[tid]) == 1)
                    and word[0] == words[tid][0]
                    and word[0].isalpha()
                ):
                    cands.append((i, j, INITIAL_SCORE, INITIAL))
        pairs = align(q, c, cands)
        left_q = set(range(len(q.tokens))) - {i for p in pairs for i in p.query}
        left_c = set(range(len(c.tokens))) - {j for p in pairs for j in p.listed}
        if left_q and left_c:
            # two edits in one long token escape the one-deletion keys: check what is left
            extra = []
            for i in left_q:
                for j in left_c:
                    a, b = q.tokens[i], c.tokens[j]
                    if min(len(a), len(b)) >= 6 and maybe_similar(a, b):
                        sim, how = token_similarity(a, b)
                        if sim:
                            extra.append((i, j, sim, how))
            if extra:
                pairs = align(q, c, cands + extra)
        return name_score(q, c, pairs, person=person)

    def _match(
        self,
        query: Query,
        prepared: _Prepared,
        name: IndexedName,
        scored: NameScore,
        score: float,
        evidence: list[Evidence],
    ) -> Match:
        person = name.kind is EntityKind.PERSON
        notes = explain(prepared.sides[person], name.side, scored, person=person)
        nscore = scored.score * (WEAK_ALIAS_FACTOR if name.weak else 1.0)
        if name.weak:
            notes.append("weak alias")
        q = normalize_name(query.name, query.kind) if query.kind else None
        if name.normalized.legal_forms or (q is not None and q.legal_forms):
            notes.append("legal form ignored")
        if name.normalized.titles or (q is not None and q.titles):
            notes.append("title ignored")
        what = "alias" if name.alias else "name"
        how = ", ".join(notes) if notes else "exact"
        parts = [f"name '{query.name}' ~ {what} '{name.text}' ({nscore:.2f}: {how})"]
        parts += [e.detail + (f" {e.effect}" if e.effect != "neutral" else "") for e in evidence]
        name_evidence = Evidence("name", "supports" if nscore >= 0.5 else "neutral", parts[0])
        return Match(
            entry=self._entries[name.entry],
            score=round(score, 4),
            name_score=round(nscore, 4),
            matched_name=name.text,
            evidence=(name_evidence, *evidence),
            explanation="; ".join(parts),
        )


__all__ = ["Evidence", "Index", "Match", "Query", "Thresholds"]
