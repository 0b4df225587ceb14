"""Backtest benchmark (issue 7): a rule change replayed over 1 million recorded card-payment
decisions, end to end through ``rl.backtests.run(spec, author=...)`` on embedded SQLite
(read the labels known now, read decisions joined with their events, reuse the recorded
hits of unchanged rules, evaluate the changed rule in CEL, compare, store the report).

Setup fills a fresh store without the decision path (that would take ~10 minutes a
million): the playbook of ``examples/playbook.yaml`` (10 active CEL rules on card payments,
5 lists with a few entries, policy ``cards`` with model thresholds review 0.6 / decline 0.9),
then N synthetic card payments shaped as the vault stores them (card token, BIN, last 4,
email hash; the PII envelope is random bytes of the real size, never decrypted here), each
with a synthesised snapshot of the 31 card-payment features of ``features/default.yaml``
and a model score with its top-4 reasons (1.5 % fraud in three patterns: account takeover,
card testing, compromised merchants). Each event is decided by the real
``riskloop.pipeline.Pipeline`` on that snapshot (every rule evaluated in CEL, the policy,
the record), in ``--jobs`` worker processes; events go in through ``rl.events.append`` (the
import's append), decision records straight into ``decisions`` in 20,000-row transactions
with time-ordered ids inside the window. Then labels through ``rl.labels.submit_batch``
(chargebacks on approved fraud, analyst verdicts on reviewed events, 500 per batch). The
prepared data directory is kept under ``/tmp`` by N; ``--reuse`` skips setup when present.

Measured, each in a fresh process (its own peak RSS): a rule change (``bin_country_mismatch``
amount threshold 50,000 → 25,000 and challenge → review), then a model-threshold change
of policy ``cards`` (review 0.5, decline 0.8: no rule changed, so no CEL at all).

Run: .venv/bin/python benchmarks/backtest_bench.py [--events 1000000] [--reuse] [--jobs 2]
     [--profile PREFIX]  (cProfile of each run, top functions printed)
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing as mp
import os
import random
import resource
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
import yaml

from benchmarks.import_throughput import machine
from riskloop.adapters.sql.event_log import sqlite_time
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.domain.events import SealedBox, StoredEvent
from riskloop.ledger.records import new_decision_id
from riskloop.pipeline import Pipeline
from riskloop.scoring.port import Contribution, FixedScorer, Score, reason_code
from riskloop.service.backtest import parse_spec
from riskloop.service.catalog import PlaybookLoader

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "examples" / "playbook.yaml"
CACHE = Path("/tmp/riskloop-backtest-bench")
FORMAT = 1  # bump when the generated data changes, so --reuse does not take an old store

T0 = datetime(2026, 9, 1, tzinfo=UTC)  # the window: T0 .. T0 + DAYS
DAYS = 28
CHUNK = 10_000  # events generated and decided per worker task
FRAUD_RATE = 0.015
MODEL = "card-gbm@3"
CANDIDATE_RULE = "bin_country_mismatch"

MCCS = ["5411", "5812", "5999", "4121", "5732", "5311", "7995", "5967", "4829", "5912"]
ABROAD = ["FR", "NL", "AT", "IT", "ES", "GB", "US", "PL", "BE", "CH"]
NETWORKS = {"411111": "visa", "400000": "visa", "555555": "mastercard"}


def peak_mb() -> float:
    """This process's peak RSS since it started its program: ``VmHWM`` (``ru_maxrss``
    would include the parent's pages a spawned child held between fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hex(text: str, n: int = 16) -> str:
    return hashlib.blake2b(text.encode(), digest_size=n).hexdigest()


def _customers(n_events: int) -> int:
    return max(1_000, n_events // 8)


def _card(c: int) -> dict[str, Any]:
    bin6 = ("411111", "555555", "400000")[c % 3]
    country = "DE" if c % 20 else ABROAD[c % len(ABROAD)]
    return {
        "country": country,
        "token": "tok_" + _hex(f"card-{c}"),
        "bin": bin6 + f"{c % 100:02d}",
        "last4": f"{(c * 7919) % 10_000:04d}",
        "network": NETWORKS[bin6],
    }


def blocked_cards(n_customers: int) -> list[str]:
    return [_card(c)["token"] for c in range(7, n_customers, 997)]


# ---------------------------------------------------------------- one synthetic payment


def _snapshot(rng: random.Random, pattern: str | None, amount: int, cnp: bool) -> dict[str, Any]:
    """The 31 card-payment features of the default feature set, as the engine returns them
    (counts and sums int, means and rates float, the last merchant country a string)."""
    r = rng.random
    if pattern == "testing":
        c10m = rng.randint(3, 12)
        small_declined = rng.randint(2, 9)
        declined = small_declined + rng.randint(0, 3)
    else:
        c10m = 1 if r() < 0.1 else 0
        small_declined = 1 if r() < 0.002 else 0
        declined = 1 if r() < 0.02 else 0
    if pattern == "ato":
        c1h = c10m + rng.randint(1, 12)
    else:
        c1h = (
            c10m
            + (rng.randint(0, 2) if r() < 0.3 else 0)
            + (rng.randint(8, 14) if r() < 0.003 else 0)
        )
    c24h = c1h + int(rng.expovariate(0.6))
    new_card = r() < (0.35 if pattern == "ato" else 0.06)
    c7d = 0 if new_card else c24h + int(rng.expovariate(0.15))
    mean30 = (
        amount * math.exp(rng.gauss(0, 0.5)) if pattern != "ato" else amount / rng.uniform(3, 15)
    )
    std30 = mean30 * rng.uniform(0.2, 1.2)
    speed = rng.uniform(0, 60) if r() < 0.97 else rng.uniform(60, 2_000)
    if pattern == "ato" and r() < 0.1:
        speed = rng.uniform(900, 5_000)
    since_last = rng.expovariate(1 / 86_400) if c1h == 0 else rng.uniform(5, 3_600)
    merchant_rate = rng.betavariate(1, 400)
    if pattern == "merchant":
        merchant_rate = rng.uniform(0.02, 0.2)
    distinct_cards = 1 + (1 if r() < 0.03 else 0)
    return {
        "card_count_10m": c10m,
        "card_count_1h": c1h,
        "card_count_24h": c24h,
        "card_count_7d": c7d,
        "card_declined_count_1h": declined,
        "card_small_declined_count_10m": small_declined,
        "card_cnp_count_24h": (c24h if cnp else c24h // 2),
        "card_amount_sum_1h": amount * max(1, c1h),
        "card_amount_sum_24h": amount * max(1, c24h),
        "card_amount_max_7d": int(max(amount, mean30 * 2.5)),
        "card_amount_mean_30d": round(mean30, 2),
        "card_amount_std_30d": round(std30, 2),
        "card_distinct_merchants_24h": min(c24h, 1 + int(rng.expovariate(0.8))),
        "card_distinct_ips_24h": 1 + (rng.randint(1, 4) if pattern == "ato" else 0),
        "card_distinct_countries_7d": 1 + (1 if r() < 0.05 or pattern == "ato" else 0),
        "card_seconds_since_last": round(since_last, 3),
        "card_last_merchant_country": "DE" if r() < 0.9 else rng.choice(ABROAD),
        "card_speed_kmh": round(speed, 2),
        "customer_count_24h": c24h,
        "customer_amount_sum_7d": amount * max(1, c7d),
        "customer_distinct_cards_7d": distinct_cards,
        "device_distinct_cards_24h": (rng.randint(2, 6) if pattern == "ato" else distinct_cards)
        if cnp
        else 0,
        "ip_count_1h": c1h + (rng.randint(0, 30) if r() < 0.02 else 0),
        "ip_distinct_cards_24h": distinct_cards
        + (rng.randint(3, 20) if pattern == "testing" else 0),
        "email_distinct_cards_7d": distinct_cards,
        "merchant_count_1h": rng.randint(0, 200),
        "merchant_fraud_rate_7d": round(merchant_rate, 6),
        "terminal_fraud_rate_28d": round(merchant_rate * rng.uniform(0.5, 1.5), 6),
        "bin_declined_count_1h": rng.randint(0, 5)
        + (rng.randint(5, 30) if pattern == "testing" else 0),
        "card_amount_ratio_30d": round(amount / mean30, 6),
        "card_amount_zscore_30d": round((amount - mean30) / std30, 6),
    }


_DRIVERS = {  # the features a fraud pattern's score is driven by (its top reasons)
    "ato": [
        "card_amount_ratio_30d",
        "card_amount_zscore_30d",
        "device_distinct_cards_24h",
        "card_distinct_ips_24h",
        "card_count_1h",
    ],
    "testing": [
        "card_small_declined_count_10m",
        "card_declined_count_1h",
        "bin_declined_count_1h",
        "ip_distinct_cards_24h",
        "card_count_10m",
    ],
    "merchant": [
        "merchant_fraud_rate_7d",
        "terminal_fraud_rate_28d",
        "card_amount_ratio_30d",
        "merchant_count_1h",
    ],
    None: [
        "card_amount_ratio_30d",
        "card_count_1h",
        "card_distinct_countries_7d",
        "merchant_fraud_rate_7d",
        "card_amount_zscore_30d",
        "card_speed_kmh",
    ],
}


def _score(rng: random.Random, pattern: str | None) -> Score:
    if pattern == "ato":
        value = rng.betavariate(5, 2)
    elif pattern == "testing":
        value = rng.betavariate(3, 3)
    elif pattern == "merchant":
        value = rng.betavariate(1.5, 5)
    else:
        value = rng.betavariate(2, 3) if rng.random() < 0.01 else rng.betavariate(1.1, 30)
    names = rng.sample(_DRIVERS[pattern], 4)
    weights = sorted((rng.uniform(0.05, 2.0) for _ in names), reverse=True)
    return Score(
        round(value, 6),
        tuple(
            Contribution(f, round(w, 6), reason_code(f))
            for f, w in zip(names, weights, strict=True)
        ),
    )


def _payment(
    i: int, n: int, rng: random.Random, n_customers: int
) -> tuple[StoredEvent, str | None]:
    r = rng.random
    pattern = rng.choice(("ato", "testing", "merchant")) if r() < FRAUD_RATE else None
    c = rng.randrange(n_customers)
    card = _card(c)
    m = rng.randrange(2_000) if pattern != "merchant" else rng.randrange(40)
    cnp = r() < (0.95 if pattern in ("ato", "testing") else 0.55)
    home = card["country"]
    if pattern == "ato":
        geo_country = rng.choice(ABROAD) if r() < 0.6 else home
        amount = int(math.exp(rng.gauss(math.log(45_000), 0.8)))
    elif pattern == "testing":
        geo_country = home if r() < 0.7 else rng.choice(ABROAD)
        amount = rng.randint(100, 600)
    else:
        geo_country = home if r() < 0.96 else rng.choice(ABROAD)
        amount = int(math.exp(rng.gauss(math.log(4_500), 1.0)))
    if r() < 0.0005:
        geo_country = rng.choice(("IR", "KP"))
    amount = max(50, amount)
    at = T0 + timedelta(seconds=(i + r()) * DAYS * 86_400 / n)
    data: dict[str, Any] = {
        "event_id": f"pay-{i:08d}",
        "schema_version": 1,
        "occurred_at": at.isoformat(),
        "metadata": {},
        "event_type": "card_payment",
        "kind": "authorization",
        "customer_id": f"cus-{c}",
        "amount": amount,
        "currency": "EUR",
        "merchant": {
            "id": f"m-{m}",
            "mcc": MCCS[m % len(MCCS)],
            "country": "DE" if m % 7 else ABROAD[m % len(ABROAD)],
            "terminal_id": f"t-{m}-{c % 3}",
        },
        "card": card,
        "channel": "card_not_present" if cnp else "card_present",
        "ip": (
            f"198.51.100.{rng.randrange(256)}"
            if (pattern == "ato" and r() < 0.3) or r() < 0.002
            else f"10.{(c >> 16) & 255}.{(c >> 8) & 255}.{c & 255}"
        ),
        "geo": {
            "lat": round(rng.uniform(47.3, 55.0), 4),
            "lon": round(rng.uniform(5.9, 15.0), 4),
            "country": geo_country,
        },
        "email_hash": "h_" + _hex(f"mail-{c}"),
    }
    if cnp:
        device = f"fdev-{rng.randrange(2_000)}" if pattern == "ato" else f"dev-{c}"
        data["device"] = {"id": device}
        roll = r()
        if roll < (0.1 if pattern else 0.45):
            data["three_ds"] = "authenticated"
        elif roll < 0.65:
            data["three_ds"] = "attempted"
    blob = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    stored = StoredEvent(
        event_id=data["event_id"],
        event_type="card_payment",
        schema_version=1,
        occurred_at=at,
        data=data,
        # The vault's envelope (holder name, e-mail) at its real size; never opened here.
        pii=SealedBox(os.urandom(rng.randint(90, 130)), os.urandom(60), 1),
        fingerprint=hashlib.sha256(blob).hexdigest(),
        source="bench",
    )
    return stored, pattern


# ---------------------------------------------------------------- workers: decide a chunk


class _Recorded:
    """A scorer that returns the score synthesised for the event being decided."""

    version = MODEL
    features: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.current = Score(0.0)

    def score(self, features: Any, *, top_k: int = 4) -> Score:
        return self.current


_W: dict[str, Any] = {}


def _worker_init(data_dir: str) -> None:
    rl = build(
        Settings.from_env({"RISKLOOP_DATA_DIR": data_dir}), migrate=False, rebuild_features=False
    )
    scorer = _Recorded()
    clock = {"now": T0}
    _W.update(
        rl=rl,
        playbook=rl.catalog.playbook(),
        scorer=scorer,
        clock=clock,
        pipeline=Pipeline(None, models=FixedScorer(scorer), clock=lambda: clock["now"]),
        feature_set=rl.features.engine.version,
    )


def _decide_chunk(
    job: tuple[int, int],
) -> tuple[list[StoredEvent], list[tuple[Any, ...]], list[tuple[str, str, str, datetime]]]:
    """Events ``[start, start + CHUNK)``: stored events, decision rows, and what a label
    needs (event id, fraud pattern or "", outcome, when)."""
    start, n = job
    rng = random.Random(start * 7_919 + n)
    pipeline, playbook, scorer, clock = _W["pipeline"], _W["playbook"], _W["scorer"], _W["clock"]
    n_customers = _customers(n)
    events, rows, facts = [], [], []
    far = time.perf_counter() + 1e9
    for i in range(start, min(start + CHUNK, n)):
        stored, pattern = _payment(i, n, rng, n_customers)
        amount, cnp = stored.data["amount"], stored.data["channel"] == "card_not_present"
        features = _snapshot(rng, pattern, amount, cnp)
        scorer.current = _score(rng, pattern)
        decided_at = stored.occurred_at + timedelta(milliseconds=rng.uniform(8, 60))
        clock["now"] = decided_at
        t = time.perf_counter()
        d = pipeline.decide(
            playbook,
            stored,
            features,
            feature_set=_W["feature_set"],
            deadline=far,
            started=t,
            latency_us={},
        )
        # The pipeline's record, with an id from the decision's own time (ids order the
        # window) and a record-write latency as a durable write would have taken.
        body = d.as_dict()
        body["decision_id"] = new_decision_id(int(decided_at.timestamp() * 1000))
        body["latency_us"]["record"] = rng.randint(300, 900)
        events.append(stored)
        rows.append(
            (
                body["decision_id"],
                d.event_id,
                d.event_type,
                body["outcome"],
                d.score,
                sqlite_time(decided_at),
                orjson.dumps(body).decode(),
            )
        )
        facts.append((stored.event_id, pattern or "", d.outcome.value, stored.occurred_at))
    return events, rows, facts


# ---------------------------------------------------------------- setup


_INSERT = (
    "INSERT INTO decisions (decision_id, event_id, event_type, outcome, score, decided_at, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _settings(data_dir: Path) -> Settings:
    return Settings.from_env({"RISKLOOP_DATA_DIR": str(data_dir)})


def _label_bodies(
    facts: list[tuple[str, str, str, datetime]], rng: random.Random
) -> list[dict[str, Any]]:
    """Chargebacks for most approved fraud (1-12 days later), analysts' verdicts on the
    reviewed events and on some declined fraud; the rest stays unlabelled (counted good)."""
    out = []
    for event_id, pattern, outcome, at in facts:
        later = (at + timedelta(days=rng.uniform(1, 12))).isoformat()
        body: dict[str, Any] = {
            "label_id": f"lbl-{event_id}",
            "event_id": event_id,
            "reported_at": later,
        }
        if pattern and outcome == "approve" and rng.random() < 0.85:
            out.append({**body, "kind": "chargeback", "network": "visa", "reason_code": "10.4"})
        elif outcome == "review" and rng.random() < 0.9:
            out.append({**body, "kind": "analyst", "fraud": bool(pattern), "author": "ana"})
        elif pattern and rng.random() < 0.5:
            out.append({**body, "kind": "analyst", "fraud": True, "author": "ana"})
    return out


def prepare(data_dir: Path, n: int, jobs: int) -> dict[str, Any]:
    started = time.perf_counter()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    rl = build(_settings(data_dir), rebuild_features=False)
    doc = yaml.safe_load(PLAYBOOK.read_text("utf-8"))
    PlaybookLoader(rl.catalog).apply(doc, "bench")
    n_customers = _customers(n)
    rl.catalog.add_entries(
        "blocked_devices", [{"value": f"fdev-{k}"} for k in range(0, 2_000, 7)], "bench"
    )
    rl.catalog.add_entries(
        "blocked_cards", [{"value": t} for t in blocked_cards(n_customers)], "bench"
    )
    rl.catalog.add_entries("risky_ips", [{"value": "198.51.100.0/24"}], "bench")
    rl.catalog.add_entries(
        "trusted_customers", [{"value": f"cus-{c}"} for c in range(0, n_customers, 500)], "bench"
    )
    rl.catalog.add_entries("sanctioned_countries", [{"value": "IR"}, {"value": "KP"}], "bench")
    rl.catalog.refresh(force=True)
    card_rules = [r for r in rl.catalog.rules() if "card_payment" in r.event_types]
    print(
        f"playbook: {len(card_rules)} active rules on card_payment, policy "
        f"{rl.catalog.playbook().active['card_payment'].policy.version_id}"
    )

    facts: list[tuple[str, str, str, datetime]] = []
    times = {"append": 0.0, "decisions": 0.0}
    pending: list[tuple[Any, ...]] = []

    def flush() -> None:
        t = time.perf_counter()
        with rl.engine.begin() as conn:
            conn.exec_driver_sql(_INSERT, pending)
        times["decisions"] += time.perf_counter() - t
        pending.clear()

    ctx = mp.get_context("spawn")
    done = 0
    with ctx.Pool(jobs, initializer=_worker_init, initargs=(str(data_dir),)) as pool:
        for events, rows, chunk_facts in pool.imap(
            _decide_chunk, [(s, n) for s in range(0, n, CHUNK)]
        ):
            t = time.perf_counter()
            rl.events.append(events, atomic=False)
            times["append"] += time.perf_counter() - t
            pending.extend(rows)
            facts.extend(chunk_facts)
            if len(pending) >= 20_000:
                flush()
            done += len(events)
            if done % 100_000 < CHUNK:
                print(
                    f"  {done:,} events decided and stored ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    if pending:
        flush()
    decided = time.perf_counter()

    bodies = _label_bodies(facts, random.Random(n))
    for k in range(0, len(bodies), 500):
        rl.labels.submit_batch(bodies[k : k + 500])
    labelled = time.perf_counter()
    outcomes: dict[str, int] = {}
    for _, _, outcome, _ in facts:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    fraud = sum(1 for f in facts if f[1])
    rl.close()
    db = sqlite3.connect(data_dir / "riskloop.db")
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    info = {
        "events": n,
        "fraud_events": fraud,
        "labels": len(bodies),
        "fraud_labels": sum(1 for b in bodies if b["kind"] == "chargeback" or b.get("fraud")),
        "outcomes": outcomes,
        "seconds": round(time.perf_counter() - started, 1),
        "decide_seconds": round(decided - started, 1),
        "append_seconds": round(times["append"], 1),
        "decision_insert_seconds": round(times["decisions"], 1),
        "label_seconds": round(labelled - decided, 1),
        "db_mb": round(sum(f.stat().st_size for f in data_dir.glob("riskloop.db*")) / 2**20),
        "format": FORMAT,
    }
    (data_dir / "bench.json").write_text(orjson.dumps(info).decode(), "utf-8")
    return info


# ---------------------------------------------------------------- the measured runs


def _rule_change() -> dict[str, Any]:
    doc = yaml.safe_load(PLAYBOOK.read_text("utf-8"))
    rule = next(r for r in doc["rules"] if r["id"] == CANDIDATE_RULE)
    return {
        **rule,
        "expression": rule["expression"].replace("> 50000", "> 25000"),
        "action": "review",
    }


def _policy_change() -> dict[str, Any]:
    doc = yaml.safe_load(PLAYBOOK.read_text("utf-8"))
    policy = next(p for p in doc["policies"] if p["id"] == "cards")
    return {**policy, "thresholds": {"review": 0.5, "decline": 0.8}}


def _window() -> dict[str, str]:
    return {"since": T0.isoformat(), "until": (T0 + timedelta(days=DAYS + 1)).isoformat()}


def _measure(data_dir: str, what: str, profile: str | None, queue: Any) -> None:
    """In its own process: build as the CLI does, run one backtest, report."""
    rss_before = peak_mb()
    rl: Riskloop = build(_settings(Path(data_dir)), migrate=False, rebuild_features=False)
    candidate = {"rules": [_rule_change()]} if what == "rule" else {"policies": [_policy_change()]}
    spec = parse_spec({**_window(), **candidate, "note": f"benchmark: {what} change"})
    built = peak_mb()
    t = time.perf_counter()
    if profile:
        import cProfile

        prof = cProfile.Profile()
        report = prof.runcall(rl.backtests.run, spec, author="bench")
        prof.dump_stats(profile)
    else:
        report = rl.backtests.run(spec, author="bench")
    seconds = time.perf_counter() - t
    rl.close()
    queue.put(
        {
            "seconds": seconds,
            "peak_mb": peak_mb(),
            "before_mb": built,
            "start_mb": rss_before,
            "report": report,
        }
    )


def measure(data_dir: Path, what: str, profile: str | None = None) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_measure, args=(str(data_dir), what, profile, queue))
    p.start()
    out: dict[str, Any] = queue.get()
    p.join()
    return out


def show(what: str, m: dict[str, Any]) -> None:
    r = m["report"]
    b, c = r["baseline"], r["candidate"]
    print(
        f"\n{what}: {r['events']:,} events in {m['seconds']:.1f} s end to end "
        f"({r['events'] / m['seconds']:,.0f} events/s; the report's own timer "
        f"{r['seconds']} s), peak RSS {m['peak_mb']:.0f} MB (after build {m['before_mb']:.0f} MB)"
    )
    change = r.get("change") or {}
    print(
        f"  candidate {change.get('policies')}, changed rules {change.get('changed_rules')}; "
        f"outcome changes {r['changed']['count']:,}: {r['changed']['transitions']}"
    )
    print(f"  labels: {r['labels']}")
    for name, side in (("baseline ", b), ("candidate", c)):
        f = side["fraud"]
        print(
            f"  {name}: outcomes {side['outcomes']}; fraud caught {f['caught']:,} "
            f"(recall {f['recall']}, amount recall {f['amount_recall']}), missed {f['missed']:,}, "
            f"good declined {side['good_declined']['count']:,}, review load "
            f"{side['review_load']['count']:,}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep a prepared store of this size")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--profile", help="cProfile each run to PREFIX-rule.prof, PREFIX-policy.prof"
    )
    parser.add_argument("--skip-policy", action="store_true")
    args = parser.parse_args()
    print(machine())
    data_dir = CACHE / f"n{args.events}"
    marker = data_dir / "bench.json"
    info = orjson.loads(marker.read_bytes()) if args.reuse and marker.exists() else None
    if info is not None and info.get("format") == FORMAT:
        print(f"reusing {data_dir} (prepared in {info['seconds']} s)")
    else:
        print(f"preparing {args.events:,} recorded decisions in {data_dir} ({args.jobs} workers)")
        info = prepare(data_dir, args.events, args.jobs)
    print(
        f"setup: {info['seconds']} s (decide + store {info['decide_seconds']} s, of which "
        f"event append {info['append_seconds']} s and decision insert "
        f"{info['decision_insert_seconds']} s in the main process; labels "
        f"{info['label_seconds']} s); {info['fraud_events']:,} fraud events, "
        f"{info['labels']:,} labels ({info['fraud_labels']:,} fraud); outcomes "
        f"{info['outcomes']}; database {info['db_mb']:,} MB"
    )
    runs = [("rule", f"rule change ({CANDIDATE_RULE}: > 25000, review)")]
    if not args.skip_policy:
        runs.append(("policy", "policy change (cards: review 0.5, decline 0.8)"))
    for what, title in runs:
        profile = f"{args.profile}-{what}.prof" if args.profile else None
        print(f"\nload average before: {os.getloadavg()[0]:.2f}")
        show(title, measure(data_dir, what, profile))
        if profile:
            import pstats

            pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
