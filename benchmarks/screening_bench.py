"""Screening benchmark (issue 8): match quality, search latency and a full re-screen, on the
real OFAC SDN (with its alternate names) and UN consolidated lists.

1. Quality. A labelled set of (query, listed entry) pairs built from the lists themselves,
   deterministic for a seed. Matches: the published name reordered ("Given SURNAME"),
   keyboard typos, a Cyrillic round trip (Latin -> Russian-style Cyrillic -> anyascii),
   transliteration spellings (o/u, e/a, kh/h, doubled letters, ...), the UN list's names in
   their original script, a missing middle name, an initial for the first given name, a
   nickname, an added honorific or a changed legal form. Non-matches: the same surname
   with a given name that is not a spelling of it, a sibling company (its rarest word
   replaced or prefixed: NACIONAL -> INTERNACIONAL), and customers drawn from common first
   and last names of many cultures. A customer whose every word, vowels aside, is in one
   listed name with at most one word more is a namesake, not a false positive: those are
   counted apart. Precision and recall at the alert threshold 0.70 and at 0.6 / 0.8 / 0.9,
   per variation.
2. Latency: p50 / p95 / p99 of ``Index.search`` over a mix of list variants and customers,
   against OFAC (SDN + alternate names) and OFAC + UN, and the index build time.
3. A full re-screen of N synthetic customers (names from the pool, a date of birth each)
   with a few list names planted, timed, with its hits at 0.70.

Run: .venv/bin/python -m benchmarks.screening_bench [--quick] [--data DIR] [--seed 8]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from anyascii import anyascii

from benchmarks.import_throughput import machine
from riskloop.screening import EntityKind, Index, ListEntry, Query, fold, load_path
from riskloop.screening.vocabulary import NICKNAMES
from tests.support.sanctions import sanctions_dir

ROOT = Path(__file__).resolve().parents[1]
DATA = sanctions_dir()  # ../shared/data/sanctions, or the copies in tests/data
ALERT = 0.70
LEVELS = (0.6, 0.7, 0.8, 0.9)


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    """James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia
Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Maria Jose Juan Carlos Luis Jorge
Ana Carmen Rosa Miguel Pedro Javier Mohammed Ahmed Ali Omar Hassan Hussein Fatima Aisha
Khalid Yusuf Ibrahim Mustafa Layla Zainab Ivan Sergei Dmitri Olga Natalia Tatiana Alexei
Nikolai Elena Svetlana Wei Li Ming Jing Hui Yan Priya Rahul Amit Sunita Anil Deepak Hans
Klaus Anna Sophie Pierre Marie Jean Luc Camille Giovanni Marco Giulia Francesca Kenji Yuki
Hiroshi Min Seo Ji Oluwaseun Chinedu Amara Kwame Ama Fernando Lucia Isabel Tomasz Katarzyna
Piotr Agnieszka Mehmet Ayse Emre Zeynep"""
)
LAST = _words(
    """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Khan Ahmed Hussain Rahman Abdullah Saleh Nasser
Haddad Khoury Mansour Ivanov Smirnov Kuznetsov Popov Volkov Sokolov Petrov Novikov Wang Zhang
Liu Chen Yang Huang Zhao Wu Zhou Sharma Patel Singh Gupta Kumar Reddy Mueller Schmidt
Schneider Fischer Weber Dubois Moreau Laurent Rossi Russo Ferrari Esposito Bianchi Sato
Suzuki Takahashi Tanaka Kim Park Choi Okafor Adeyemi Mensah Silva Santos Oliveira Kowalski
Nowak Wisniewski Yilmaz Kaya Demir"""
)
ORG_WORDS = _words(
    """GLOBAL UNITED NATIONAL INTERNATIONAL PACIFIC ATLANTIC NORTHERN SOUTHERN EASTERN
WESTERN CENTRAL ROYAL GOLDEN SILVER STAR OCEAN SUNRISE PIONEER SUMMIT HORIZON EMPIRE
CRESCENT PHOENIX FALCON CEDAR LOTUS ORCHID DIAMOND CRYSTAL ZENITH VECTOR APEX MERIDIAN
HARBOR VALLEY RIVER MOUNTAIN DESERT"""
)
LEGAL = ("LLC", "LTD", "LIMITED", "INC", "S.A.", "CO., LTD.", "GMBH", "JSC")
TITLES = ("Mr", "Dr", "Sheikh", "General", "Haji", "Colonel")

# Latin -> Russian-style Cyrillic, digraphs first (the round trip back is anyascii's).
_LATIN, _CYRILLIC = "abvgdezijklmnoprstufhcwy", "абвгдезийклмнопрстуфхквы"
_CYR = [("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц")]  # noqa: RUF001
_CYR += [("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("j", "дж"), ("x", "кс"), ("q", "к")]
_CYR += list(zip(_LATIN, _CYRILLIC, strict=True))
# Transliteration spellings: (from, to) applied once inside a word.
_SPELLINGS = [("o", "u"), ("u", "o"), ("e", "a"), ("a", "e"), ("i", "ee"), ("ee", "i")]
_SPELLINGS += [("ou", "u"), ("kh", "h"), ("q", "k"), ("y", "i"), ("i", "y"), ("j", "dj")]
_SPELLINGS += [("ph", "f"), ("ai", "ay"), ("mm", "m"), ("ss", "s"), ("dd", "d"), ("m", "mm")]
_KEYS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def skeleton(word: str) -> str:
    """Consonants only, doubles single: the namesake test (independent of the matcher)."""
    out = [c for c in fold(word).replace(" ", "") if c not in "aeiouy"]
    return "".join(c for i, c in enumerate(out) if i == 0 or c != out[i - 1])


def _given_order(entry: ListEntry, name: str) -> list[str]:
    """Words of a name as a person writes it: "PUTIN, Vladimir" -> [Vladimir, PUTIN]."""
    if entry.kind is EntityKind.PERSON and name.count(",") == 1:
        surname, given = name.split(",")
        return given.split() + surname.split()
    return name.split()


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word))
    op = rng.choice(("sub", "del", "ins", "swap"))
    if op == "sub":
        row = next((r for r in _KEYS if word[i].lower() in r), "aeiou")
        k = row.find(word[i].lower())
        near = [row[j] for j in (k - 1, k + 1) if 0 <= j < len(row)] or ["e"]
        return word[:i] + rng.choice(near) + word[i + 1 :]
    if op == "del":
        return word[:i] + word[i + 1 :]
    if op == "ins":
        return word[:i] + word[i] + word[i:]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _cyrillic(text: str) -> str:
    s = text.lower()
    for a, b in _CYR:
        s = s.replace(a, b)
    return anyascii(s).title()


def _spelling(rng: random.Random, word: str) -> str | None:
    w = word.lower()
    rules = [(a, b) for a, b in _SPELLINGS if a in w[1:]]
    if not rules:
        return None
    a, b = rng.choice(rules)
    k = w.find(a, 1)
    return w[:k] + b + w[k + len(a) :]


def _different(a: str, b: str) -> bool:
    """Two given names that are not spellings or nicknames of each other."""
    fa, fb = fold(a), fold(b)
    return (
        skeleton(fa) != skeleton(fb)
        and fa[:2] != fb[:2]
        and fb not in NICKNAMES.get(fa, ())
        and fa not in NICKNAMES.get(fb, ())
    )


Pair = tuple[str, EntityKind, ListEntry | None, str, bool]  # query, kind, target, variation, match


def labelled_set(entries: list[ListEntry], n: int, seed: int) -> tuple[list[Pair], int]:
    """(pairs, namesakes left out) for ``n`` pairs per variation."""
    rng = random.Random(seed)
    persons = [e for e in entries if e.kind is EntityKind.PERSON and len(e.name.split()) >= 2]
    orgs = [
        e for e in entries if e.kind is EntityKind.ORGANIZATION and len(fold(e.name).split()) >= 2
    ]
    df: Counter[str] = Counter(w for e in entries for w in set(fold(" ".join(e.names)).split()))
    listed_keys = [
        frozenset(skeleton(w) for w in fold(n).split()) for e in entries for n in e.names
    ]
    by_size: dict[str, list[frozenset[str]]] = defaultdict(list)
    for key in listed_keys:
        for k in key:
            by_size[k].append(key)

    def namesake(name: str) -> bool:
        key = frozenset(skeleton(w) for w in fold(name).split())
        candidates = by_size.get(next(iter(key), ""), [])
        return any(key <= other and len(other - key) <= 1 for other in candidates)

    pairs: list[Pair] = []

    def make(
        variation: str, pool: list[ListEntry], match: bool, fn: Callable[[ListEntry], str | None]
    ) -> None:
        made, tries = 0, 0
        while made < n and tries < n * 30:
            tries += 1
            entry = rng.choice(pool)
            query = fn(entry)
            if query and fold(query):
                if not match and namesake(query):
                    continue
                pairs.append((query, entry.kind, entry, variation, match))
                made += 1

    def words(e: ListEntry) -> list[str]:
        return _given_order(e, e.name)

    make("reordered / case", persons + orgs, True, lambda e: " ".join(words(e)).title())

    def typo(e: ListEntry) -> str | None:
        w = words(e)
        k = rng.choice([i for i, x in enumerate(w) if len(x) >= 4] or [0])
        if len(w[k]) < 4:
            return None
        w[k] = _typo(rng, w[k])
        return " ".join(w)

    make("typo", persons + orgs, True, typo)
    make("cyrillic round trip", persons, True, lambda e: _cyrillic(" ".join(words(e))))

    def spelling(e: ListEntry) -> str | None:
        w = words(e)
        k = rng.randrange(len(w))
        new = _spelling(rng, w[k]) if len(w[k]) >= 4 else None
        return None if new is None else " ".join([*w[:k], new, *w[k + 1 :]])

    make("transliteration spelling", persons, True, spelling)
    scripts = [
        (e, a.name) for e in entries for a in e.aliases if not a.name.isascii() and e.source == "un"
    ]
    for e, name in scripts[:n]:
        pairs.append((name, e.kind, e, "original script", True))

    def middle(e: ListEntry) -> str | None:
        """A middle given name ("SURNAME, Given Middle"), else a second surname
        ("FIRST SECOND, Given"), else a middle word of an uncommaed name."""
        if e.name.count(",") == 1:
            surname, given = (p.split() for p in e.name.split(","))
            if len(given) >= 2:
                return " ".join(given[:-1] + surname)
            return " ".join(given + surname[:-1]) if len(surname) >= 2 else None
        w = e.name.split()
        if len(w) < 3:
            return None
        k = rng.randrange(1, len(w) - 1)
        return " ".join(w[:k] + w[k + 1 :])

    make("missing middle name", persons, True, middle)

    def initial(e: ListEntry) -> str | None:
        w = words(e)
        return f"{w[0][0]}. {' '.join(w[1:])}" if len(w[0]) > 1 else None

    make("initial", persons, True, initial)
    nick = [e for e in persons if any(fold(w) in NICKNAMES for w in words(e)[:1])]

    def nickname(e: ListEntry) -> str | None:
        w = words(e)
        options = sorted(NICKNAMES.get(fold(w[0]), ()))
        return " ".join([rng.choice(options).title(), *w[1:]]) if options else None

    make("nickname", nick or persons[:1], True, nickname)
    make("honorific", persons, True, lambda e: f"{rng.choice(TITLES)} {' '.join(words(e))}")
    make("legal form changed", orgs, True, lambda e: f"{e.name.rstrip('.')} {rng.choice(LEGAL)}")

    def other_given(e: ListEntry) -> str | None:
        w = words(e)
        new = rng.choice(FIRST)
        return " ".join([new, *w[1:]]) if _different(w[0], new) else None

    make("same surname, other given name", persons, False, other_given)

    def sibling(e: ListEntry) -> str | None:
        w = fold(e.name).upper().split()
        ranked = sorted(range(len(w)), key=lambda i: (df[w[i].lower()], -len(w[i])))
        k = ranked[0]
        if len(w[k]) < 4:
            return None
        if rng.random() < 0.7:
            new = rng.choice(ORG_WORDS)
        else:
            new = rng.choice(("INTER", "TRANS", "NEO", "MULTI")) + w[k]
        return " ".join([*w[:k], new, *w[k + 1 :]]) if _different(w[k], new) else None

    make("sibling company", orgs, False, sibling)
    left_out = 0
    made = 0
    while made < n * 3:
        name = (
            " ".join(rng.choice(FIRST) for _ in range(rng.choice((1, 1, 1, 2))))
            + " "
            + rng.choice(LAST)
        )
        if namesake(name):
            left_out += 1
            continue
        pairs.append((name, EntityKind.PERSON, None, "customer (common names)", False))
        made += 1
    return pairs, left_out


def evaluate(index: Index, pairs: list[Pair]) -> dict[str, list[float]]:
    """Score of each pair's target (or of the best entry, for customers), by variation."""
    scores: dict[str, list[float]] = defaultdict(list)
    for query, kind, target, variation, _ in pairs:
        found = index.search(Query(query, kind=kind), limit=25, min_score=0.3)
        if target is None:
            scores[variation].append(found[0].score if found else 0.0)
        else:
            key = (target.source, target.entry_id)
            hit = next((m.score for m in found if (m.entry.source, m.entry.entry_id) == key), 0.0)
            scores[variation].append(hit)
    return scores


def quality_report(pairs: list[Pair], scores: dict[str, list[float]], left_out: int) -> None:
    kinds = {v: m for _, _, _, v, m in pairs}
    levels = " | ".join(f"≥ {t}" for t in LEVELS)
    print("\n### Quality: share of pairs at or above the threshold, per variation\n")
    print(f"| variation | pairs | labelled | {levels} |\n|---|---|---|" + "---|" * len(LEVELS))
    for variation, values in scores.items():
        label = "match" if kinds[variation] else "non-match"
        shares = " | ".join(f"{sum(v >= t for v in values) / len(values):.3f}" for t in LEVELS)
        print(f"| {variation} | {len(values)} | {label} | {shares} |")
    print("\n| threshold | precision | recall | true pos | false pos | false neg |")
    print("|---|---|---|---|---|---|")
    for t in LEVELS:
        tp = sum(v >= t for k, vs in scores.items() if kinds[k] for v in vs)
        fn = sum(v < t for k, vs in scores.items() if kinds[k] for v in vs)
        fp = sum(v >= t for k, vs in scores.items() if not kinds[k] for v in vs)
        precision, recall = (tp / (tp + fp) if tp + fp else 1.0), tp / (tp + fn)
        b = "**" if t == ALERT else ""
        print(f"| {b}{t}{b} | {b}{precision:.3f}{b} | {b}{recall:.3f}{b} | {tp} | {fp} | {fn} |")
    print(f"\ncustomer names left out as namesakes of a listed name: {left_out}")


def evidence_report(index: Index, pairs: list[Pair]) -> None:
    """How the date of birth and the kind move the score of true matches (persons whose
    entry lists a full date of birth, their name written with a variation)."""
    chosen = [
        (q, t)
        for q, k, t, v, m in pairs
        if m
        and t is not None
        and k is EntityKind.PERSON
        and any(len(d) == 10 for d in t.dates_of_birth)
        and v in ("typo", "missing middle name", "initial", "cyrillic round trip")
    ][:300]
    cases: dict[str, list[float]] = defaultdict(list)
    for name, target in chosen:
        dob = next(d for d in target.dates_of_birth if len(d) == 10)
        year = int(dob[:4])
        for label, q in (
            ("name only", Query(name)),
            ("+ same date of birth", Query(name, kind=EntityKind.PERSON, date_of_birth=dob)),
            ("+ birth year 1 off", Query(name, date_of_birth=str(year + 1))),
            ("+ birth year 3 off", Query(name, date_of_birth=str(year + 3))),
            ("+ birth year 10 off", Query(name, date_of_birth=str(year + 10))),
            ("+ kind organisation", Query(name, kind=EntityKind.ORGANIZATION)),
        ):
            found = index.search(q, limit=25, min_score=0.0)
            key = (target.source, target.entry_id)
            cases[label].append(
                next((m.score for m in found if (m.entry.source, m.entry.entry_id) == key), 0.0)
            )
    print(f"\n### Evidence: {len(chosen)} true person matches, name varied\n")
    print("| query | mean score | share ≥ 0.7 |\n|---|---|---|")
    for label, values in cases.items():
        share = sum(v >= ALERT for v in values) / len(values)
        print(f"| {label} | {statistics.fmean(values):.3f} | {share:.3f} |")


def latency(index: Index, queries: list[Query]) -> str:
    """A markdown row: p50 / p95 / p99 / max / mean of one search, in ms."""
    for q in queries[:200]:
        index.search(q)  # warm the look-alike cache as a running service has it
    gc.collect()
    times = []
    for q in queries:
        t = time.perf_counter()
        index.search(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    cells = [times[min(len(times) - 1, int(p * len(times)))] for p in (0.5, 0.95, 0.99)]
    cells += [times[-1], statistics.fmean(times)]
    return f"{len(queries):,} | " + " | ".join(f"{c:.2f}" for c in cells)


def rescreen(index: Index, n: int, planted: list[tuple[str, EntityKind]], seed: int) -> None:
    rng = random.Random(seed + 1)
    customers = []
    for _ in range(n):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if rng.random() < 0.2:
            name = f"{rng.choice(FIRST)} {name}"
        dob = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        customers.append(Query(name, kind=EntityKind.PERSON, date_of_birth=dob))
    for k, (name, kind) in enumerate(planted):
        customers.insert((k * 7919) % len(customers), Query(name, kind=kind))
    planted_names = {name for name, _ in planted}
    t = time.perf_counter()
    hits = flagged = caught = 0
    for q in customers:
        found = index.search(q, limit=5, min_score=ALERT)
        hits += len(found)
        flagged += bool(found)
        caught += bool(found) and q.name in planted_names
    seconds = time.perf_counter() - t
    print(
        f"\n### Re-screen\n\n{len(customers):,} customers (names from the pool, each with a "
        f"date of birth; {len(planted)} list names planted) in {seconds:.1f} s, one process "
        f"({len(customers) / seconds:,.0f} a second): {flagged:,} customers with a hit at "
        f"{ALERT} ({hits:,} hits), {caught} of the {len(planted)} planted names among them"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sets (under a minute)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    per_variation, customers = (150, 10_000) if args.quick else (500, 100_000)
    print(machine())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    t = time.perf_counter()
    ofac_source, ofac = load_path(args.data)
    un_source, un = load_path(args.data / "un_consolidated.xml")
    print(
        f"\nloaded {ofac_source} ({len(ofac):,} entries) and {un_source} ({len(un):,}) "
        f"in {time.perf_counter() - t:.2f} s"
    )
    indexes = {}
    for label, entries in (("OFAC", ofac), ("OFAC + UN", ofac + un)):
        t = time.perf_counter()
        indexes[label] = index = Index.build(entries)
        print(
            f"index {label}: {len(index):,} entries, {index.name_count:,} names, "
            f"built in {time.perf_counter() - t:.2f} s"
        )
    ofac_index, both = indexes["OFAC"], indexes["OFAC + UN"]

    pairs, left_out = labelled_set(ofac + un, per_variation, args.seed)
    t = time.perf_counter()
    scores = evaluate(both, pairs)
    print(f"\nscored {len(pairs):,} labelled pairs in {time.perf_counter() - t:.1f} s")
    quality_report(pairs, scores, left_out)
    evidence_report(both, pairs)

    rng = random.Random(args.seed + 2)
    mix = [Query(q, kind=k) for q, k, _, _, _ in rng.sample(pairs, min(len(pairs), 2_000))]
    mix += [
        Query(f"{rng.choice(FIRST)} {rng.choice(LAST)}", kind=EntityKind.PERSON)
        for _ in range(2_000)
    ]
    rng.shuffle(mix)
    print("\n### Latency of one search (ms), limit 10, min_score 0.5, one thread\n")
    print("| index | queries | p50 | p95 | p99 | max | mean |\n|---|---|---|---|---|---|---|")
    print(f"| OFAC SDN + alt names | {latency(ofac_index, mix)} |")
    print(f"| OFAC + UN | {latency(both, mix)} |")
    print(f"| OFAC + UN, no kind given | {latency(both, [Query(q.name) for q in mix])} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")

    planted = [(q, k) for q, k, _, v, m in pairs if m and v in ("typo", "reordered / case")]
    rescreen(both, customers, planted[:50], args.seed)


if __name__ == "__main__":
    main()
