"""What the dashboard reads straight from the records store: aggregates over decisions for
the overview, and the recent decisions of one entity.

Each figure is one query over an indexed time range (``ix_decisions_time``, the
``card_token`` index), grouped in the database, so the overview costs a handful of queries
however busy the day was. Latency comes from the decision records themselves
(``latency_us.decide``: from receiving the event to the decision, before its record is
written), so it covers every process, not only the one serving the page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, String, and_, cast, func, select

from riskloop.adapters.sql.entity_index import events_about
from riskloop.adapters.sql.schema import case_items, decisions, event_log, labels, tasks
from riskloop.ledger.records import Decision
from riskloop.service.entity_index import INDEXED, entity_keys

OUTCOMES = ("approve", "review", "challenge", "decline")
LATENCY_SAMPLE = 20_000  # the newest decisions of the hour, enough for a stable p99
# The kinds of entity the dashboard links, and where a card or a merchant sits in a stored
# event; the others are found as the entity index finds them (service/entity_index.py).
ENTITY_PATHS: dict[str, tuple[str, ...]] = {
    "customer": ("customer_id",),
    "account": ("account_id",),
    "card": ("card", "token"),
    "device": ("device", "id"),
    "ip": ("ip",),
    "email": ("email_hash",),
    "merchant": ("merchant", "id"),
}
# Merchants (not in the entity index) are matched by scanning a bounded window of decisions.
UNINDEXED_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Overview:
    minutes: list[str]  # "HH:MM" labels, oldest first
    per_minute: dict[str, list[int]]  # outcome -> count per minute
    day_counts: dict[str, int]  # outcome -> decisions in the last 24 h
    latency_p95_us: float | None
    latency_p99_us: float | None
    latency_sample: int
    chargebacks_30d: int
    card_payments_30d: int
    open_tasks: dict[str, int] = field(default_factory=dict)  # status -> how many

    @property
    def day_total(self) -> int:
        return sum(self.day_counts.values())

    def rate(self, outcome: str) -> float | None:
        total = self.day_total
        return self.day_counts.get(outcome, 0) / total if total else None

    @property
    def chargeback_rate(self) -> float | None:
        if not self.card_payments_30d:
            return None
        return self.chargebacks_30d / self.card_payments_30d


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the value at or below which ``q`` of them fall).

    >>> percentile([5, 1, 4, 2, 3], 0.95), percentile([], 0.5)
    (5, None)
    >>> percentile(list(range(1, 101)), 0.99)
    99
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def _minute(engine: Engine) -> Any:
    """decided_at truncated to the minute, as text (``YYYY-MM-DD HH:MM``, UTC)."""
    if engine.dialect.name == "postgresql":
        utc = func.timezone("UTC", decisions.c.decided_at)
        return func.to_char(func.date_trunc("minute", utc), "YYYY-MM-DD HH24:MI")
    return func.strftime("%Y-%m-%d %H:%M", decisions.c.decided_at)


def overview(engine: Engine, now: datetime, *, minutes: int = 60) -> Overview:
    start = (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0)
    slots = [start + timedelta(minutes=i) for i in range(minutes)]
    keys = [s.strftime("%Y-%m-%d %H:%M") for s in slots]
    index = {k: i for i, k in enumerate(keys)}
    per_minute = {o: [0] * minutes for o in OUTCOMES}
    minute = _minute(engine).label("minute")
    by_minute = (
        select(minute, decisions.c.outcome, func.count())
        .where(decisions.c.decided_at >= start, decisions.c.decided_at <= now)
        .group_by(minute, decisions.c.outcome)
    )
    by_day = (
        select(decisions.c.outcome, func.count())
        .where(decisions.c.decided_at >= now - timedelta(hours=24), decisions.c.decided_at <= now)
        .group_by(decisions.c.outcome)
    )
    decide = decisions.c.body[("latency_us", "decide")].as_integer()
    latency = (
        select(decide)
        .where(decisions.c.decided_at >= now - timedelta(hours=1), decisions.c.decided_at <= now)
        .order_by(decisions.c.decided_at.desc())
        .limit(LATENCY_SAMPLE)
    )
    month = now - timedelta(days=30)
    chargebacks = select(func.count()).where(
        and_(
            labels.c.kind == "chargeback",
            labels.c.status != "superseded",
            labels.c.reported_at >= month,
            labels.c.reported_at <= now,
        )
    )
    payments = select(func.count()).where(
        and_(
            decisions.c.decided_at >= month,
            decisions.c.decided_at <= now,
            decisions.c.event_type == "card_payment",
        )
    )
    open_tasks = (
        select(tasks.c.status, func.count())
        .where(tasks.c.status.in_(("open", "in_progress")))
        .group_by(tasks.c.status)
    )
    with engine.connect() as conn:
        for key, outcome, n in conn.execute(by_minute):
            if key in index and outcome in per_minute:
                per_minute[outcome][index[key]] = int(n)
        day = {str(o): int(n) for o, n in conn.execute(by_day)}
        samples = [float(v) for (v,) in conn.execute(latency) if v is not None]
        n_chargebacks = int(conn.execute(chargebacks).scalar_one())
        n_payments = int(conn.execute(payments).scalar_one())
        task_counts = {str(s): int(n) for s, n in conn.execute(open_tasks)}
    return Overview(
        minutes=[s.strftime("%H:%M") for s in slots],
        per_minute=per_minute,
        day_counts=day,
        latency_p95_us=percentile(samples, 0.95),
        latency_p99_us=percentile(samples, 0.99),
        latency_sample=len(samples),
        chargebacks_30d=n_chargebacks,
        card_payments_30d=n_payments,
        open_tasks=task_counts,
    )


def entities_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The entities a stored event names, as ``(kind, key)``; the indexed ones where the
    entity index (and the features) find them, so each links to a page that lists it.

    >>> entities_of({"customer_id": "c-1", "card": {"token": "tok_1"}, "ip": "10.0.0.1"})
    [('customer', 'c-1'), ('card', 'tok_1'), ('ip', '10.0.0.1')]
    >>> entities_of({"device": {"fingerprint": "fp-1"}})
    [('device', 'fp-1')]
    """
    indexed = dict(entity_keys(data))
    found = []
    for kind, path in ENTITY_PATHS.items():
        if kind in INDEXED:
            if kind in indexed:
                found.append((kind, indexed[kind]))
            continue
        value: Any = data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            found.append((kind, str(value)))
    return found


def decisions_of(
    engine: Engine,
    kind: str,
    key: str,
    *,
    now: datetime,
    outcome: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10,
) -> list[Decision]:
    """The newest decisions on events that name the entity. A card is found through the
    event log's card-token index, a customer, account, device, IP or e-mail through the
    entity index (where the features find it); a merchant by its field in the events,
    within ``since`` (default: the last 7 days) to bound the scan."""
    if kind not in ENTITY_PATHS:
        raise ValueError(f"unknown entity kind {kind!r}")
    joined = decisions.join(event_log, event_log.c.event_id == decisions.c.event_id)
    where = []
    if kind == "card":
        where.append(event_log.c.card_token == key)
    elif kind in INDEXED:
        where.append(event_log.c.seq.in_(events_about(kind, key)))
    else:
        value = event_log.c.data[ENTITY_PATHS[kind]].as_string()
        where.append(cast(value, String) == key)
        where.append(decisions.c.decided_at >= (since or now - UNINDEXED_WINDOW))
    if since is not None:
        where.append(decisions.c.decided_at >= since)
    if until is not None:
        where.append(decisions.c.decided_at < until)
    if outcome:
        where.append(decisions.c.outcome == outcome)
    if event_type:
        where.append(decisions.c.event_type == event_type)
    q = (
        select(decisions.c.body)
        .select_from(joined)
        .where(and_(*where))
        .order_by(decisions.c.decided_at.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [Decision.from_dict(body) for (body,) in conn.execute(q)]


def history_of(
    engine: Engine, items: list[dict[str, Any]], *, now: datetime, limit: int = 10
) -> list[dict[str, Any]]:
    """For a case page: every entity its events name, with that entity's newest decisions
    (the case's own decisions included, so the analyst sees where they sit)."""
    seen: dict[tuple[str, str], None] = {}
    for item in items:
        event = item.get("event") or {}
        for entity in entities_of(event.get("data") or {}):
            seen.setdefault(entity)
    out = []
    counts: defaultdict[str, int] = defaultdict(int)
    for kind, key in seen:
        if kind == "merchant":  # everyone's payments: no light on this case
            continue
        counts[kind] += 1
        if counts[kind] > 5:  # a card-testing burst names many cards: show the first few
            continue
        found = decisions_of(engine, kind, key, now=now, limit=limit)
        out.append({"kind": kind, "key": key, "decisions": found})
    return out


def case_of(engine: Engine, event_id: str) -> str | None:
    """The review case a decision's event joined, if any (an event joins one case)."""
    q = select(case_items.c.case_id).where(case_items.c.event_id == event_id)
    with engine.connect() as conn:
        found = conn.execute(q).scalar_one_or_none()
    return str(found) if found is not None else None
