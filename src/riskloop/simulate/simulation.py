"""One simulation, start to end: the world, each customer's genuine traffic, the fraud
incidents, the outcomes, and the files.

The number of incidents of each pattern follows ``fraud_rate`` (roughly the share of
customers hit by fraud in the period; at least one incident each when it is above zero).
Each part draws from its own random stream derived from the seed, so the same parameters
give byte-identical files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from riskloop.errors import FieldError, InvalidInput
from riskloop.simulate import fraud
from riskloop.simulate.outcomes import outcomes
from riskloop.simulate.records import Draft, stamp
from riskloop.simulate.streams import stream
from riskloop.simulate.synthetic import synthetic_ring
from riskloop.simulate.traffic import genuine
from riskloop.simulate.world import Customer, World, build_world
from riskloop.simulate.writer import EVENTS, LABELS, MANIFEST, TRUTH, write_manifest, write_ndjson

DEFAULT_END = datetime(2026, 3, 1, tzinfo=UTC)
PATTERNS = (
    "card_testing",
    "account_takeover",
    "compromised_merchant",
    "stolen_card",
    "synthetic_identity",
)
# Incidents of each pattern per customer, as a share of fraud_rate (a card-testing burst or a
# skimmed terminal hits several customers at once).
_SHARE = {
    "card_testing": 0.15,
    "account_takeover": 0.2,
    "compromised_merchant": 0.04,
    "stolen_card": 0.3,
    "synthetic_identity": 0.1,
}
MAX_CUSTOMERS, MAX_DAYS, MAX_FRAUD_RATE = 200_000, 366, 0.25


@dataclass(frozen=True)
class SimulationSummary:
    """What :func:`simulate` wrote and where."""

    out_dir: Path
    seed: int
    customers: int
    days: int
    fraud_rate: float
    start: datetime
    end: datetime
    events: dict[str, int]  # by event type
    incidents: dict[str, int]  # by pattern
    fraud_events: dict[str, int]  # by pattern
    labels: dict[str, int]  # by kind, known by the end
    labels_not_yet_known: int

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    @property
    def total_labels(self) -> int:
        return sum(self.labels.values())

    @property
    def events_path(self) -> Path:
        return self.out_dir / EVENTS

    @property
    def labels_path(self) -> Path:
        return self.out_dir / LABELS

    @property
    def truth_path(self) -> Path:
        return self.out_dir / TRUTH

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / MANIFEST

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "parameters": {
                "customers": self.customers,
                "days": self.days,
                "end": stamp(self.end),
                "fraud_rate": self.fraud_rate,
            },
            "time_range": {"start": stamp(self.start), "end": stamp(self.end)},
            "events": {"total": self.total_events, "by_type": self.events},
            "fraud": {"incidents": self.incidents, "events_by_pattern": self.fraud_events},
            "labels": {
                "total": self.total_labels,
                "by_kind": self.labels,
                "not_yet_known": self.labels_not_yet_known,
            },
        }


def _checked(
    customers: int, days: int, seed: int, fraud_rate: float, end: datetime | None
) -> datetime:
    errors = []
    if not 1 <= customers <= MAX_CUSTOMERS:
        errors.append(FieldError("customers", f"between 1 and {MAX_CUSTOMERS:,}"))
    if not 1 <= days <= MAX_DAYS:
        errors.append(FieldError("days", f"between 1 and {MAX_DAYS}"))
    if not 0 <= seed < 2**32:
        errors.append(FieldError("seed", "between 0 and 4294967295"))
    if not 0 <= fraud_rate <= MAX_FRAUD_RATE:
        errors.append(FieldError("fraud_rate", f"between 0 and {MAX_FRAUD_RATE}"))
    if errors:
        raise InvalidInput(errors)
    end = DEFAULT_END if end is None else end
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    return end.astimezone(UTC).replace(microsecond=0)


def _incidents(n: int, pattern: str, fraud_rate: float) -> int:
    return 0 if fraud_rate <= 0 else max(1, round(n * fraud_rate * _SHARE[pattern]))


def _attacks(w: World, fraud_rate: float) -> tuple[list[Draft], dict[str, int]]:
    """Every fraud incident, on victims drawn once each from the customers who have been
    around since the start and stay home."""
    rng = stream(w.seed, "fraud")
    pool = [c for c in w.customers if c.onboard_day is None and c.trip is None]
    rng.shuffle(pool)
    n = len(w.customers)
    done = dict.fromkeys(PATTERNS, 0)
    out: list[Draft] = []

    def incident(pattern: str) -> fraud.Incident:
        done[pattern] += 1
        return fraud.Incident(w, rng, pattern, done[pattern])

    for _ in range(_incidents(n, "card_testing", fraud_rate)):
        k = rng.randint(2, 6)
        if len(pool) < k:
            break
        inc = incident("card_testing")
        fraud.card_testing(inc, [pool.pop() for _ in range(k)])
        out += inc.out
    for _ in range(_incidents(n, "account_takeover", fraud_rate)):
        if not pool:
            break
        inc = incident("account_takeover")
        fraud.account_takeover(inc, pool.pop())
        out += inc.out
    for _ in range(_incidents(n, "compromised_merchant", fraud_rate)):
        by_city: dict[str, list[Customer]] = {}
        for c in pool:
            by_city.setdefault(c.city.code, []).append(c)
        code = max(by_city, key=lambda k: len(by_city[k]), default=None)
        if code is None or len(by_city[code]) < 3:
            break
        victims = by_city[code][: rng.randint(6, 14)]
        taken = {c.id for c in victims}
        pool = [c for c in pool if c.id not in taken]
        shop = rng.choice([m for m in w.shops[code] if m.category.mcc in ("5541", "5411", "5812")])
        inc = incident("compromised_merchant")
        fraud.compromised_merchant(inc, shop, victims)
        out += inc.out
    for _ in range(_incidents(n, "stolen_card", fraud_rate)):
        if not pool:
            break
        inc = incident("stolen_card")
        fraud.stolen_card(inc, pool.pop())
        out += inc.out
    for _ in range(_incidents(n, "synthetic_identity", fraud_rate)):
        inc = incident("synthetic_identity")
        synthetic_ring(inc)
        out += inc.out
    return out, done


def _truth(d: Draft) -> dict[str, Any]:
    assert d.truth is not None
    t = d.truth
    return {
        "event_id": d.event_id,
        "event_type": d.event_type,
        "occurred_at": d.body["occurred_at"],
        "pattern": t.pattern,
        "role": t.role,
        "incident": t.incident,
        "fraud": t.fraud,
    }


def simulate(
    out_dir: Path,
    *,
    customers: int = 2000,
    days: int = 28,
    seed: int = 7,
    end: datetime | None = None,
    fraud_rate: float = 0.02,
) -> SimulationSummary:
    """Simulate ``customers`` over the ``days`` before ``end`` and write the files into
    ``out_dir`` (created if missing; the four files are replaced).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     s = simulate(Path(tmp), customers=30, days=7)
    ...     sorted(p.name for p in Path(tmp).iterdir())
    ['events.ndjson', 'labels.ndjson', 'manifest.json', 'truth.ndjson']
    >>> s.events["kyc_record"] >= 30, s.incidents["account_takeover"]
    (True, 1)
    """
    end = _checked(customers, days, seed, fraud_rate, end)
    start = end - timedelta(days=days)
    w = build_world(seed, customers, start, days)
    drafts: list[Draft] = []
    for c in w.customers:
        drafts += genuine(w, c)
    attacks, incidents = _attacks(w, fraud_rate)
    drafts += attacks
    drafts.sort(key=lambda d: d.at)  # stable: ties keep the (seeded) order they were made in
    prefix = f"s{seed}"
    for n, d in enumerate(drafts, start=1):
        d.number(n, prefix)
    labels, later = outcomes(drafts, seed=seed, end=end)
    for n, label in enumerate(labels, start=1):
        label.number(n, prefix)

    out_dir.mkdir(parents=True, exist_ok=True)
    write_ndjson(out_dir / EVENTS, (d.body for d in drafts))
    write_ndjson(out_dir / LABELS, (lbl.body for lbl in labels))
    write_ndjson(out_dir / TRUTH, (_truth(d) for d in drafts if d.truth is not None))
    by_type = Counter(d.event_type for d in drafts)
    by_pattern = Counter(d.truth.pattern for d in drafts if d.truth is not None and d.truth.fraud)
    by_kind = Counter(str(lbl.body["kind"]) for lbl in labels)
    summary = SimulationSummary(
        out_dir=out_dir,
        seed=seed,
        customers=customers,
        days=days,
        fraud_rate=fraud_rate,
        start=start,
        end=end,
        events=dict(sorted(by_type.items())),
        incidents=incidents,
        fraud_events={p: by_pattern.get(p, 0) for p in PATTERNS},
        labels=dict(sorted(by_kind.items())),
        labels_not_yet_known=later,
    )
    manifest = {"generator": "riskloop.simulate", "format": 1, **summary.as_dict()}
    payments = by_type.get("card_payment", 0)
    fraud_payments = sum(
        1 for d in attacks if d.truth and d.truth.fraud and d.event_type == "card_payment"
    )
    manifest["fraud"]["card_payment_fraud_share"] = round(fraud_payments / max(1, payments), 5)
    manifest["time_range"]["first_event"] = drafts[0].body["occurred_at"] if drafts else None
    manifest["time_range"]["last_event"] = drafts[-1].body["occurred_at"] if drafts else None
    manifest["files"] = {"events": EVENTS, "labels": LABELS, "truth": TRUTH}
    write_manifest(out_dir / MANIFEST, manifest)
    return summary
