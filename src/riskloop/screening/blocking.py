"""The index tables that keep a search to a few hundred candidate names.

Every distinct token of every list name gets an id, a rarity weight and a posting list of
the names that hold it. A query token finds its look-alike tokens through three keys, with
no scan of the vocabulary: the token and each of its one-letter deletions (catches one
substitution, insertion, deletion or transposition: "putn", "puttin", "ptuin"), its
phonetic key and its digraph-folded spelling (mohammed / muhammad, kha / ha), and the
nickname table. Adjacent tokens are
also indexed joined ("abdul rahman" under "abdulrahman") so a name written in one word
finds the list's two and back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from riskloop.screening.model import EntityKind, ListEntry
from riskloop.screening.normalize import (
    NormalizedName,
    normalize_name,
    phonetic_key,
    sound_fold,
)
from riskloop.screening.similarity import (
    LIST_CORE_COST,
    LIST_OTHER_COST,
    Side,
    core_flags,
    token_similarity,
)
from riskloop.screening.vocabulary import LEGAL_WORDS, NICKNAMES, PARTICLES

# Weights: 1 for a token of one entry, 0.5 for one in 100 entries of a 10,000-entry list.
MIN_POPULATION = 10_000  # a small list does not make every token look common
MIN_WEIGHT, PARTICLE_WEIGHT, INITIAL_WEIGHT = 0.1, 0.1, 0.3
CACHE_SIZE = 50_000  # query tokens whose look-alikes are kept between searches

Neighbours = dict[int, tuple[float, str]]


_LEGAL = sorted(LEGAL_WORDS)


@lru_cache(maxsize=16384)
def _legal_word(word: str) -> bool:
    """A legal-form word, or one typo from one ("ldta", "corpp"): in a query it is noise."""
    if word in LEGAL_WORDS:
        return True
    if len(word) < 3 or len(word) > 12 or not word.isalpha():
        return False
    return process.extractOne(word, _LEGAL, scorer=OSA.distance, score_cutoff=1) is not None


def deletions(token: str) -> set[str]:
    """The token and every string one letter shorter (for tokens of 4+ letters)."""
    if len(token) < 4:
        return {token}
    return {token} | {token[:i] + token[i + 1 :] for i in range(len(token))}


@dataclass(slots=True)
class IndexedName:
    entry: int  # position of the entry in the index
    text: str  # as published
    alias: bool
    weak: bool
    kind: EntityKind
    ids: tuple[int, ...]  # token ids
    normalized: NormalizedName
    side: Side = field(default_factory=lambda: Side((), (), (), ()))  # set by finish()
    total: float = 0.0  # sum of the token weights
    leftover_cost: float = LIST_OTHER_COST  # the least an unmatched token of it costs
    initials: str = ""  # first letters of its tokens


class NameTable:
    """Vocabulary, postings and look-alike keys of the names of a list of entries."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.words: list[str] = []
        self.weights: list[float] = []
        # filled by add() as lists, frozen to tuples by finish(): a tuple of ints is left
        # alone by the garbage collector, so a full collection does not walk the index
        self.postings: list[tuple[int, ...]] = []
        self.joins: dict[str, tuple[int, ...]] = {}
        self._postings: list[list[int]] = []
        self._joins: dict[str, list[int]] = {}
        self.names: list[IndexedName] = []
        self._entry_count: list[int] = []  # entries holding each token (for the weight)
        self._last_entry: list[int] = []
        self._keys: dict[str, tuple[int, ...]] = {}
        self._sounds: dict[str, tuple[int, ...]] = {}
        self._keys_b: dict[str, list[int]] = {}
        self._sounds_b: dict[str, list[int]] = {}
        self._cache: dict[str, Neighbours] = {}
        self._population = 0

    def _token(self, word: str, entry: int) -> int:
        tid = self.vocab.get(word)
        if tid is None:
            tid = len(self.words)
            self.vocab[word] = tid
            self.words.append(word)
            self._postings.append([])
            self._entry_count.append(0)
            self._last_entry.append(-1)
            for key in deletions(word) | {"~" + sound_fold(word)}:
                self._keys_b.setdefault(key, []).append(tid)
            sound = phonetic_key(word)
            if len(sound) >= 2:
                self._sounds_b.setdefault(sound, []).append(tid)
        if self._last_entry[tid] != entry:
            self._last_entry[tid] = entry
            self._entry_count[tid] += 1
        return tid

    def add(self, entry_index: int, entry: ListEntry) -> None:
        self._population += 1
        names = [(entry.name, False, False)]
        names += [(a.name, True, a.strength == "weak") for a in entry.aliases]
        seen: set[tuple[str, ...]] = set()
        for text, alias, weak in names:
            normalized = normalize_name(text, entry.kind)
            if not normalized.tokens or normalized.tokens in seen:
                continue  # "PUTIN, Vladimir" and "Vladimir PUTIN" are one name to match
            seen.add(normalized.tokens)
            ids = tuple(self._token(t, entry_index) for t in normalized.tokens)
            name_id = len(self.names)
            self.names.append(
                IndexedName(entry_index, text, alias, weak, entry.kind, ids, normalized)
            )
            for tid in dict.fromkeys(ids):
                self._postings[tid].append(name_id)
            for a, b in zip(normalized.tokens, normalized.tokens[1:], strict=False):
                self._joins.setdefault(a + b, []).append(name_id)

    def finish(self) -> None:
        scale = math.log(max(self._population, MIN_POPULATION))
        self.weights = [
            self._rarity(word, count, scale)
            for word, count in zip(self.words, self._entry_count, strict=True)
        ]
        for name in self.names:
            n = name.normalized
            person = name.kind is EntityKind.PERSON
            name.side = Side(
                n.tokens,
                tuple(self.weights[t] for t in name.ids),
                core_flags(n.tokens, n.order, person),
                n.order,
            )
            name.total = sum(name.side.weights)
            name.initials = "".join(sorted({t[0] for t in n.tokens}))
            name.leftover_cost = LIST_CORE_COST if all(name.side.core) else LIST_OTHER_COST
        self.postings = [tuple(p) for p in self._postings]
        self.joins = {k: tuple(v) for k, v in self._joins.items()}
        self._keys = {k: tuple(v) for k, v in self._keys_b.items()}
        self._sounds = {k: tuple(v) for k, v in self._sounds_b.items()}
        self._postings, self._joins, self._keys_b, self._sounds_b = [], {}, {}, {}
        self._last_entry = []

    @staticmethod
    def _rarity(word: str, count: int, scale: float) -> float:
        if word in PARTICLES:
            return PARTICLE_WEIGHT
        w = max(MIN_WEIGHT, 1.0 - math.log(max(count, 1)) / scale)
        return min(w, INITIAL_WEIGHT) if len(word) == 1 and word.isalpha() else w

    def weight(self, word: str) -> float:
        """A query token's weight: the list's when it has the token, else as rare as can be."""
        tid = self.vocab.get(word)
        if tid is not None:
            return self.weights[tid]
        if word in PARTICLES or _legal_word(word):
            return PARTICLE_WEIGHT
        return INITIAL_WEIGHT if len(word) == 1 and word.isalpha() else 1.0

    def neighbours(self, word: str) -> Neighbours:
        """The list tokens that are the same name as ``word`` written differently, each
        with its similarity and how (cached: customers' names repeat)."""
        found = self._cache.get(word)
        if found is not None:
            return found
        candidates: set[int] = set()
        for key in deletions(word) | {"~" + sound_fold(word)}:
            candidates.update(self._keys.get(key, ()))
        sound = phonetic_key(word)
        if len(sound) >= 2:
            candidates.update(self._sounds.get(sound, ()))
        for other in NICKNAMES.get(word, ()):
            if other in self.vocab:
                candidates.add(self.vocab[other])
        found = {}
        for tid in candidates:
            sim, how = token_similarity(word, self.words[tid])
            if sim:
                found[tid] = (sim, how)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[word] = found
        return found
