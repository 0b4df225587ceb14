"""Continuous-monitoring benchmark (issue 8): 100,000 customers with KYC records screened
end to end through the service, on embedded SQLite, against the real OFAC SDN list.

Setup: the OFAC SDN list (sdn, alt, add, comments) from ``../shared/data/sanctions`` is loaded
as version 1; N ``kyc_record`` events (people from a deterministic pool of common first and
last names, with dates of birth and nationalities, plus 0.1 % planted list names) go in
through ``rl.ingestor.import_records`` (validated, sealed by the vault, appended).

Measured, each step end to end with its durable writes:

0. ``--decisions`` transfers decided through ``rl.decisions.decide`` (payees from the pool,
   1 in 50 a listed name): the ``screening`` stage's latency from the decision record.
1. ``rl.kyc.sync()``: project every record into a profile (reveal the event, seal the
   subject again), then screen every new customer against the whole list; hits and tasks.
2. Version 2 of the list (1 % of entries changed: an alias added; 50 new entries named after
   pool names): ``rl.screening.load`` then ``rl.screening.rescreen()``: every customer against
   only the added and changed entries.
3. ``rl.screening.rescreen(full=True)``: every customer against the whole list again.

Run: .venv/bin/python benchmarks/rescreen_bench.py [--customers 100000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.import_throughput import machine
from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.screening.model import Alias, EntityKind, ListEntry
from riskloop.screening.sources import load_path
from tests.support.sanctions import sanctions_dir

DATA = sanctions_dir()  # ../shared/data/sanctions, or the copies in tests/data
FIRST = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "maria",
    "jose",
    "ana",
    "luis",
    "carmen",
    "juan",
    "wei",
    "fatima",
    "mohamed",
    "olga",
    "ivan",
    "anna",
    "sofia",
    "lucas",
    "emma",
    "noah",
    "mia",
    "liam",
    "chloe",
    "hiroshi",
    "yuki",
    "priya",
    "arjun",
    "kwame",
    "amina",
    "lars",
    "ingrid",
    "pierre",
    "claire",
    "giulia",
    "marco",
]
LAST = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "mueller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "rossi",
    "russo",
    "ferrari",
    "kowalski",
    "novak",
    "dubois",
    "moreau",
    "tanaka",
    "suzuki",
    "sato",
    "kim",
    "park",
    "chen",
    "wang",
    "li",
    "zhang",
    "okafor",
    "mensah",
    "silva",
    "santos",
    "costa",
]
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "PL", "NL", "BR", "IN", "NG", "JP", "CN")


class _Record:
    def __init__(self, line: int, value: Any) -> None:
        self.line, self.value, self.error = line, value, None


def _customers(n: int, planted: list[ListEntry], rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        if i % 1000 == 999 and planted:
            e = planted[(i // 1000) % len(planted)]
            parts = e.name.replace(",", "").split()
            first, last = parts[-1], parts[0]
        else:
            first, last = rng.choice(FIRST).title(), rng.choice(LAST).title()
        out.append(
            {
                "event_id": f"kyc-{i}",
                "event_type": "kyc_record",
                "occurred_at": "2026-11-01T09:00:00Z",
                "customer_id": f"cus-{i}",
                "subject": "person",
                "person": {
                    "first_name": first,
                    "last_name": last,
                    "date_of_birth": f"{rng.randint(1940, 2004)}-{rng.randint(1, 12):02d}-"
                    f"{rng.randint(1, 28):02d}",
                    "nationality": rng.choice(COUNTRIES),
                },
                "verification_status": "verified",
                "risk_rating": rng.choice(("low", "medium", "high")),
            }
        )
    return out


def _decisions(rl: Any, people: list[ListEntry], rng: random.Random, n: int) -> None:
    """Transfers decided through the decision service, payees from the pool (1 in 50 a
    listed name): the screening stage's own latency, as the decision record reports it."""
    rl.screening.warm(background=False)
    stages, totals, alerts = [], [], 0
    for i in range(n):
        if i % 50 == 0:
            name = people[rng.randrange(len(people))].name
        else:
            name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
        event = {
            "event_id": f"tr-{i}",
            "event_type": "transfer",
            "occurred_at": "2026-11-01T12:00:00Z",
            "rail": "sepa_instant",
            "account_id": f"acc-{i % 500}",
            "customer_id": f"cus-{i % 500}",
            "amount": 10_000,
            "currency": "EUR",
            "payee": {"name": name, "iban": "DE89370400440532013000", "kind": "individual"},
        }
        decided = rl.decisions.decide(event)
        d = decided.decision
        stages.append(d.latency_us["screening"] / 1000)
        totals.append(decided.latency_us["total"] / 1000)
        alerts += any(s.alert for s in d.screening or ())

    def pct(xs: list[float], q: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]

    print(
        f"{n:,} transfer decisions: screening stage p50 {pct(stages, 0.5):.2f} ms, "
        f"p99 {pct(stages, 0.99):.2f} ms; whole decision p50 {pct(totals, 0.5):.2f} ms, "
        f"p99 {pct(totals, 0.99):.2f} ms; {alerts} with an alert"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=5_000)
    args = parser.parse_args()
    rng = random.Random(8)
    root = Path("/tmp/riskloop-rescreen-bench")
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings.from_env(
        {"RISKLOOP_DATA_DIR": str(root), "RISKLOOP_SQLITE_SYNCHRONOUS": "NORMAL"}
    )
    rl = build(settings)
    print(machine())

    t = time.perf_counter()
    v1 = rl.screening.load(DATA, actor="bench")
    print(f"list v1: {v1.entries:,} entries loaded in {time.perf_counter() - t:.1f} s")
    _, entries = load_path(DATA)
    people = [e for e in entries if e.kind is EntityKind.PERSON]

    _decisions(rl, people, rng, args.decisions)

    t = time.perf_counter()
    summary = rl.ingestor.import_records(
        (_Record(i, c) for i, c in enumerate(_customers(args.customers, people[:100], rng))),
        source="bench",
    )
    print(f"{summary.accepted:,} kyc_record events imported in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    sync = rl.kyc.sync()
    took = time.perf_counter() - t
    s = sync.screening
    assert s is not None
    print(
        f"kyc sync + first screen: {sync.applied:,} profiles in {took:.1f} s "
        f"({sync.applied / took:,.0f}/s); {s.new_hits} hits, {s.tasks} tasks"
    )

    changed = [replace(e, aliases=(*e.aliases, Alias(e.name + " X"))) for e in entries[::100]]
    by_id = {e.entry_id: e for e in entries} | {e.entry_id: e for e in changed}
    added = [
        ListEntry(
            "ofac_sdn", f"9{i:05d}", EntityKind.PERSON, f"{LAST[i].upper()}, {FIRST[i].title()}"
        )
        for i in range(50)
    ]
    t = time.perf_counter()
    v2 = rl.screening.save("ofac_sdn", [*by_id.values(), *added], origin="bench", actor="bench")
    print(
        f"list v2: {v2.diff['added']} added, {v2.diff['changed']} changed, saved in "
        f"{time.perf_counter() - t:.1f} s"
    )
    t = time.perf_counter()
    delta = rl.screening.rescreen()
    took = time.perf_counter() - t
    print(
        f"re-screen after v2 (delta): {delta.screened:,} customers in {took:.1f} s "
        f"({delta.screened / took:,.0f}/s); {delta.new_hits} new hits, {delta.tasks} tasks"
    )
    t = time.perf_counter()
    full = rl.screening.rescreen(full=True)
    took = time.perf_counter() - t
    print(
        f"full re-screen: {full.screened:,} customers in {took:.1f} s "
        f"({full.screened / took:,.0f}/s); {full.new_hits} new hits"
    )
    rl.close()


if __name__ == "__main__":
    main()
