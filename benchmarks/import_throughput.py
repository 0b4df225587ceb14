"""Import throughput (issue 2): events/s through riskloop's file ingestion path.

What ``riskloop import events FILE`` does, in-process: ``bootstrap.build`` from settings,
then ``Ingestor.import_records(read_records(FILE, fmt), batch_size=...)`` (read, validate,
vault, idempotent append, dead letters), once into an empty store and once more over the same
file (every event a duplicate). Backends: SQLite (the embedded default) and PostgreSQL (a
throwaway database, dropped afterwards).

Each backend runs in its own spawned process, so its peak RSS is its own and one backend's
heap does not slow the other. Per backend it also times a sample stage by stage (µs per
event) and a floor in the same process: the same rows written straight through the driver.

The events are card payments with raw Luhn-valid PANs over a few thousand cards, PII
(holder name, email, IP, geo) and merchants with terminals, generated from a seed.

Run: .venv/bin/python benchmarks/import_throughput.py [--backend sqlite|postgres|both]
     [--events N] [--batch-size N] [--csv] [--profile DIR]
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import platform
import random
import resource
import shlex
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from riskloop.adapters.files import Format, read_records
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.intake import validate_event
from riskloop.intake.mapping import ColumnMapping
from riskloop.service.ingest import BatchProgress, ImportSummary

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SQLITE_TARGET = 20_000  # events/s, issue 2, on the 2-core benchmark machine

# -- the events ------------------------------------------------------------------------------

# (country, city, lat, lon, currency, utc offset in hours of local time)
CITIES = [
    ("DE", "Berlin", 52.520, 13.405, "EUR", 1),
    ("DE", "Munich", 48.137, 11.575, "EUR", 1),
    ("FR", "Paris", 48.857, 2.352, "EUR", 1),
    ("GB", "London", 51.507, -0.128, "GBP", 0),
    ("ES", "Madrid", 40.417, -3.704, "EUR", 1),
    ("IT", "Rome", 41.903, 12.496, "EUR", 1),
    ("NL", "Amsterdam", 52.368, 4.904, "EUR", 1),
    ("US", "New York", 40.713, -74.006, "USD", -5),
    ("BR", "Sao Paulo", -23.551, -46.633, "BRL", -3),
    ("SG", "Singapore", 1.352, 103.820, "SGD", 8),
]
TEST_BINS = ["411111", "555555", "400000"]
MCCS = ["5411", "5812", "5999", "4111", "5732", "7995", "5311", "4814", "5541", "5912"]
FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Tim", "Radia", "Ken"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Lee", "Perlman"]
CSV_COLUMNS = [
    "event_id",
    "event_type",
    "occurred_at",
    "kind",
    "customer_id",
    "amount",
    "currency",
    "channel",
    "entry_mode",
    "three_ds",
    "auth_result",
    "email",
    "ip",
    "geo.lat",
    "geo.lon",
    "geo.country",
    "merchant.id",
    "merchant.mcc",
    "merchant.country",
    "merchant.terminal_id",
    "card.pan",
    "card.holder_name",
    "card.country",
]


def luhn_complete(body: str) -> str:
    """``body`` with its Luhn check digit appended."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these positions are odd once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class _Card:
    pan: str
    holder: str
    customer: str
    email: str
    ip: str
    home: int  # index into CITIES


@dataclass(frozen=True, slots=True)
class _Merchant:
    id: str
    mcc: str
    city: int
    terminals: tuple[str, ...]


def _cards(rng: random.Random, n: int) -> list[_Card]:
    out = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        body = rng.choice(TEST_BINS) + "".join(str(rng.randrange(10)) for _ in range(9))
        out.append(
            _Card(
                pan=luhn_complete(body),
                holder=f"{first} {last}",
                customer=f"cus-{i // 2}",  # two cards per customer on average
                email=f"{first}.{last}.{i}@example.com".lower(),
                ip=f"10.{i % 250}.{(i // 250) % 250}.{rng.randrange(1, 255)}",
                home=rng.randrange(len(CITIES)),
            )
        )
    return out


def _merchants(rng: random.Random, n: int) -> list[_Merchant]:
    return [
        _Merchant(
            id=f"m-{k:05d}",
            mcc=rng.choice(MCCS),
            city=rng.randrange(len(CITIES)),
            terminals=tuple(f"t-{k:05d}-{j}" for j in range(rng.randint(1, 4))),
        )
        for k in range(n)
    ]


def generate(n: int, *, seed: int, cards: int, merchants: int) -> Iterator[dict[str, Any]]:
    """``n`` valid card payments in time order over 30 days, the same for the same seed."""
    rng = random.Random(seed)
    card_list = _cards(rng, cards)
    shops = _merchants(rng, merchants)
    by_city: dict[int, list[_Merchant]] = {}
    for m in shops:
        by_city.setdefault(m.city, []).append(m)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    step = 30 * 86_400 / max(n, 1)
    for i in range(n):
        card = rng.choice(card_list)
        local = rng.random() < 0.85 and card.home in by_city
        shop = rng.choice(by_city[card.home]) if local else rng.choice(shops)
        country, _, lat, lon, currency, offset = CITIES[shop.city]
        present = rng.random() < 0.55
        moment = start + timedelta(seconds=i * step + rng.random() * step)
        event: dict[str, Any] = {
            "event_id": f"pay-{seed}-{i:08d}",
            "event_type": "card_payment",
            "occurred_at": moment.astimezone(timezone(timedelta(hours=offset))).isoformat(),
            "kind": "authorization" if rng.random() < 0.97 else "refund",
            "customer_id": card.customer,
            "amount": max(50, int(rng.lognormvariate(8.0, 1.1))),
            "currency": currency,
            "channel": "card_present" if present else "card_not_present",
            "entry_mode": rng.choice(["chip", "contactless"]) if present else "ecommerce",
            "auth_result": "approved" if rng.random() < 0.95 else "declined",
            "email": card.email,
            "ip": card.ip if rng.random() < 0.9 else f"203.0.113.{rng.randrange(1, 255)}",
            "geo": {
                "lat": round(lat + rng.uniform(-0.2, 0.2), 4),
                "lon": round(lon + rng.uniform(-0.2, 0.2), 4),
                "country": country,
            },
            "merchant": {
                "id": shop.id,
                "mcc": shop.mcc,
                "country": country,
                "terminal_id": rng.choice(shop.terminals),
            },
            "card": {
                "pan": card.pan,
                "holder_name": card.holder,
                "country": CITIES[card.home][0],
            },
        }
        if not present:
            event["three_ds"] = rng.choice(["authenticated", "attempted", "not_enrolled"])
        yield event


def _flat(event: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict):
            row.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            row[key] = value
    return row


def write_files(
    events: Iterator[dict[str, Any]], ndjson: Path, csv_path: Path | None
) -> tuple[int, int]:
    """Write the events as NDJSON (and as CSV with dotted column names); return the number of
    events and of distinct PANs."""
    count, pans = 0, set()
    with ndjson.open("wb") as out, _maybe_csv(csv_path) as writer:
        for event in events:
            out.write(orjson.dumps(event) + b"\n")
            if writer is not None:
                writer.writerow(_flat(event))
            pans.add(event["card"]["pan"])
            count += 1
    return count, len(pans)


@contextmanager
def _maybe_csv(path: Path | None) -> Iterator[csv.DictWriter[str] | None]:
    if path is None:
        yield None
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        yield writer


# -- the measurements (each backend in a spawned process) -------------------------------------


@dataclass
class Job:
    label: str
    backend: str  # "sqlite" | "postgres"
    env: dict[str, str]
    files: list[tuple[Format, Path]]  # (format, path); the first one also gets a re-import
    batch_size: int
    sample: int
    profile: Path | None = None
    extra_urls: dict[Format, str] = field(default_factory=dict)  # PostgreSQL, by file format


@dataclass
class Run:
    name: str
    events: int
    seconds: float
    cpu_seconds: float  # this process only (not the PostgreSQL server)

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass
class Outcome:
    label: str
    backend: str
    server: str
    setup_s: float
    runs: list[Run] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)
    rss_start_mib: float = 0.0
    rss_peak_mib: float = 0.0


def _rss_now_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _rss_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _import(
    rl: Riskloop, name: str, fmt: Format, path: Path, batch_size: int
) -> tuple[Run, ImportSummary]:
    """One ``riskloop import events`` as the CLI runs it, timed."""

    def on_batch(_: BatchProgress) -> None:  # the CLI reports every committed batch too
        return None

    c0, t0 = time.process_time(), time.perf_counter()
    summary = rl.ingestor.import_records(
        read_records(path, fmt),
        source=f"file:{path.name}",
        mapping=ColumnMapping.parse([], []),
        batch_size=batch_size,
        on_batch=on_batch,
    )
    run = Run(name, summary.read, time.perf_counter() - t0, time.process_time() - c0)
    return run, summary


def _check(summary: ImportSummary, *, accepted: int, duplicate: int, what: str) -> None:
    got = (summary.read, summary.accepted, summary.duplicate, summary.rejected)
    if got != (accepted + duplicate, accepted, duplicate, 0):
        raise RuntimeError(f"{what}: unexpected summary {summary.as_dict()}")


def _profiled(path: Path | None, fn: Callable[[], Any]) -> Any:
    if path is None:
        return fn()
    import cProfile

    prof = cProfile.Profile()
    try:
        return prof.runcall(fn)
    finally:
        prof.dump_stats(path)


STAGES = ["read + decode", "mapping", "validate", "vault", "append", "append dup"]


def _stages(
    rl: Riskloop, path: Path, fmt: Format, sample: int, batch_size: int, repeats: int = 3
) -> dict[str, float]:
    """µs per event of each step, over ``sample`` records in batches of ``batch_size`` (as
    the import holds them), after a warm-up; the median of ``repeats`` rounds, each with
    fresh event ids so the appends are new to the store."""
    t0 = time.perf_counter()
    n_all = sum(1 for _ in read_records(path, fmt))
    read_us = (time.perf_counter() - t0) * 1e6 / max(n_all, 1)

    warm = 500
    records = []
    for rec in read_records(path, fmt):
        records.append(rec.value)
        if len(records) >= warm + sample:
            break
    mapping = ColumnMapping.parse([], [])
    for raw in records[:warm]:
        rl.vault.protect(validate_event(mapping.apply(raw)), source="warm-up")
    rounds: dict[str, list[float]] = {k: [] for k in STAGES[1:]}
    for r in range(repeats):
        raws = [{**raw, "event_id": f"stage{r}-{raw['event_id']}"} for raw in records[warm:]]
        spent = dict.fromkeys(rounds, 0.0)
        for i in range(0, len(raws), batch_size):
            t0 = time.perf_counter()
            payloads = [mapping.apply(raw) for raw in raws[i : i + batch_size]]
            t1 = time.perf_counter()
            models = [validate_event(p) for p in payloads]
            t2 = time.perf_counter()
            stored = [rl.vault.protect(m, source="bench") for m in models]
            t3 = time.perf_counter()
            rl.events.append(stored, atomic=False)
            t4 = time.perf_counter()
            rl.events.append(stored, atomic=False)
            t5 = time.perf_counter()
            steps = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
            for key, secs in zip(rounds, steps, strict=True):
                spent[key] += secs
        for key, secs in spent.items():
            rounds[key].append(secs * 1e6 / max(len(raws), 1))
    return {"read + decode": read_us} | {k: statistics.median(v) for k, v in rounds.items()}


def _floor_rows(rl: Riskloop, path: Path, n: int) -> list[tuple[Any, ...]]:
    """``n`` rows as the event log stores them (already protected), ids made unique."""
    base = []
    for rec in read_records(path, "ndjson"):
        base.append(rl.vault.protect(validate_event(rec.value), source="floor"))
        if len(base) >= 1000:
            break
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        ev = base[i % len(base)]
        box = ev.pii
        rows.append(
            (
                f"floor-{i:08d}",
                ev.event_type,
                ev.schema_version,
                ev.occurred_at,
                now,
                ev.fingerprint,
                ev.source,
                orjson.dumps(ev.data).decode(),
                box.ciphertext if box else None,
                box.wrapped_key if box else None,
                box.key_version if box else None,
            )
        )
    return rows


_FLOOR_COLUMNS = (
    "event_id, event_type, schema_version, occurred_at, ingested_at, fingerprint, source,"
    " data, pii_ciphertext, pii_wrapped_key, pii_key_version"
)


def _floor_sqlite(rows: list[tuple[Any, ...]], db: Path, batch_size: int, sync: str) -> float:
    """rows/s of plain executemany into an equivalent table (same indexes, WAL),
    ``batch_size`` rows per commit."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={sync}")
        conn.execute(
            "CREATE TABLE t (seq INTEGER PRIMARY KEY, event_id VARCHAR(128) NOT NULL UNIQUE,"
            " event_type VARCHAR(32), schema_version SMALLINT, occurred_at DATETIME,"
            " ingested_at DATETIME, fingerprint VARCHAR(64), source VARCHAR(256), data JSON,"
            " pii_ciphertext BLOB, pii_wrapped_key BLOB, pii_key_version INTEGER)"
        )
        conn.execute("CREATE INDEX t_type_time ON t (event_type, occurred_at)")
        conn.execute("CREATE INDEX t_kv ON t (pii_key_version)")
        text_rows = [
            (*r[:3], r[3].astimezone(UTC).isoformat(" "), r[4].isoformat(" "), *r[5:]) for r in rows
        ]
        sql = f"INSERT INTO t ({_FLOOR_COLUMNS}) VALUES ({', '.join('?' * 11)})"
        t0 = time.perf_counter()
        for i in range(0, len(text_rows), batch_size):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, text_rows[i : i + batch_size])
            conn.execute("COMMIT")
        return len(rows) / (time.perf_counter() - t0)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def _floor_postgres(rows: list[tuple[Any, ...]], url: str, batch_size: int, how: str) -> float:
    """rows/s of COPY, or of psycopg executemany of a plain INSERT (pipelined), into an
    equivalent table (same indexes), ``batch_size`` rows per commit."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE floor_t (seq BIGSERIAL PRIMARY KEY, event_id VARCHAR(128) NOT NULL"
            " UNIQUE, event_type VARCHAR(32), schema_version SMALLINT,"
            " occurred_at TIMESTAMPTZ, ingested_at TIMESTAMPTZ, fingerprint VARCHAR(64),"
            " source VARCHAR(256), data JSONB, pii_ciphertext BYTEA, pii_wrapped_key BYTEA,"
            " pii_key_version INTEGER)"
        )
        conn.execute("CREATE INDEX floor_type_time ON floor_t (event_type, occurred_at)")
        conn.execute("CREATE INDEX floor_kv ON floor_t (pii_key_version)")
        conn.commit()
        insert = f"INSERT INTO floor_t ({_FLOOR_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})"
        t0 = time.perf_counter()
        for i in range(0, len(rows), batch_size):
            with conn.cursor() as cur:
                if how == "copy":
                    with cur.copy(f"COPY floor_t ({_FLOOR_COLUMNS}) FROM STDIN") as cp:
                        for row in rows[i : i + batch_size]:
                            cp.write_row(row)
                else:
                    cur.executemany(insert, rows[i : i + batch_size])
            conn.commit()
        rate = len(rows) / (time.perf_counter() - t0)
        conn.execute("DROP TABLE floor_t")
        conn.commit()
    return rate


def _measure(job: Job) -> Outcome:
    rss_start = _rss_now_mib()
    t0 = time.perf_counter()
    # The CLI's wiring: `import events` does not rebuild (or feed) in-process feature state.
    rl = build(Settings.from_env(job.env), rebuild_features=False)
    try:
        setup = time.perf_counter() - t0
        with rl.engine.connect() as conn:
            server = (
                "SQLite " + sqlite3.sqlite_version
                if job.backend == "sqlite"
                else "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar())
            )
        out = Outcome(job.label, job.backend, server, setup, rss_start_mib=rss_start)
        fmt, path = job.files[0]
        prof = job.profile / f"{job.backend}-{fmt}.prof" if job.profile else None
        run, first = _profiled(
            prof, lambda: _import(rl, f"first import ({fmt})", fmt, path, job.batch_size)
        )
        _check(first, accepted=first.read, duplicate=0, what="first import")
        out.runs.append(run)
        run, again = _import(rl, f"re-import, all duplicates ({fmt})", fmt, path, job.batch_size)
        _check(again, accepted=0, duplicate=first.read, what="re-import")
        out.runs.append(run)
        for other_fmt, other_path in job.files[1:]:
            # Another format of the same events: a fresh store, so a first import too.
            other = build(
                Settings.from_env(job.env | _fresh(job, other_fmt)), rebuild_features=False
            )
            try:
                run, summary = _import(
                    other, f"first import ({other_fmt})", other_fmt, other_path, job.batch_size
                )
                _check(summary, accepted=summary.read, duplicate=0, what=other_fmt)
                out.runs.append(run)
            finally:
                other.close()
        out.rss_peak_mib = _rss_peak_mib()  # after the timed imports, before the extras
        out.stages = _stages(rl, path, fmt, job.sample, job.batch_size)
        rows = _floor_rows(rl, path, 50_000)
        if job.backend == "sqlite":
            db = Path(job.env["RISKLOOP_DATA_DIR"]) / "floor.db"
            for sync in ("FULL", "NORMAL"):
                rate = _floor_sqlite(rows, db, job.batch_size, sync)
                out.floors[f"executemany, WAL, synchronous={sync}"] = rate
        else:
            url = job.env["RISKLOOP_DATABASE_URL"]
            out.floors["COPY"] = _floor_postgres(rows, url, job.batch_size, "copy")
            out.floors["executemany INSERT (pipelined)"] = _floor_postgres(
                rows, url, job.batch_size, "executemany"
            )
        return out
    finally:
        rl.close()


def _fresh(job: Job, fmt: Format) -> dict[str, str]:
    """Settings for a second, empty store (another file format's first import)."""
    if job.backend == "sqlite":
        return {"RISKLOOP_DATA_DIR": job.env["RISKLOOP_DATA_DIR"] + f"-{fmt}"}
    return {"RISKLOOP_DATABASE_URL": job.extra_urls[fmt]}


def _child(job: Job, conn: Connection) -> None:
    try:
        conn.send(("ok", _measure(job)))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def run_job(job: Job) -> Outcome:
    """Run ``job`` in a fresh interpreter; end that process if we are interrupted."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(job, child), name=f"bench-{job.backend}")
    proc.start()
    child.close()
    try:
        status, payload = parent.recv()
        proc.join()
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
    if status != "ok":
        raise RuntimeError(f"{job.label} failed in the benchmark process:\n{payload}")
    return payload  # type: ignore[no-any-return]


# -- PostgreSQL throwaway databases ---------------------------------------------------------


@contextmanager
def throwaway_databases(admin_url: str, count: int) -> Iterator[list[str]]:
    """``count`` empty databases ``riskloop_bench_<random>``, dropped WITH (FORCE) on exit."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names: list[str] = []
    try:
        for _ in range(count):
            name = f"riskloop_bench_{uuid.uuid4().hex[:12]}"
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            names.append(name)
        base = make_url(admin_url)
        yield [base.set(database=n).render_as_string(hide_password=False) for n in names]
    finally:
        with admin.connect() as c:
            for name in names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- report ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0))
    return (
        f"nproc {nproc}, {cpu}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )


STAGE_NAMES = {
    "read + decode": "read file + JSON decode (`read_records`, whole file)",
    "mapping": "column mapping (`ColumnMapping.apply`)",
    "validate": "validate (`riskloop.intake.validate_event`)",
    "vault": "vault protect (`rl.vault.protect`)",
    "append": "append, new ids, {batch}/txn (`rl.events.append`)",
    "append dup": "append, all duplicates, {batch}/txn",
}


def _revision() -> str:
    """The commit of the code measured (src changes under a benchmark on a shared checkout)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {rev}" + (" + uncommitted changes in src/" if dirty else "")


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def report(outcomes: list[Outcome], args: argparse.Namespace, meta: dict[str, Any]) -> None:
    print("\n| backend | run | events | seconds | events/s | client CPU µs/event | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for o in outcomes:
        for r in o.runs:
            print(
                f"| {o.label} | {r.name} | {r.events:,} | {r.seconds:.1f} | {r.rate:,.0f} | "
                f"{r.cpu_seconds * 1e6 / r.events:.0f} | {o.rss_peak_mib:.0f} |"
            )
    print(
        "\nEach backend runs in its own process: peak RSS is that process's maximum "
        "(getrusage) after its imports; "
        + "; ".join(f"{o.label} {o.rss_start_mib:.0f} MiB before `build`" for o in outcomes)
        + ". Client CPU excludes the PostgreSQL server."
    )
    labels = " | ".join(o.label for o in outcomes)
    print(f"\n| stage: sample of {args.sample:,} events, median of 3, µs per event | {labels} |")
    print("|---|" + "---|" * len(outcomes))
    for key in STAGES:
        cells = " | ".join(f"{o.stages[key]:.1f}" for o in outcomes)
        print(f"| {STAGE_NAMES[key].format(batch=args.batch_size)} | {cells} |")
    sums = [sum(o.stages[k] for k in STAGES if k != "append dup") for o in outcomes]
    print("| sum of the first-import stages | " + " | ".join(f"{s:.1f}" for s in sums) + " |")
    ends = [1e6 / o.runs[0].rate for o in outcomes]
    print("| end-to-end first import (wall) | " + " | ".join(f"{e:.1f}" for e in ends) + " |")
    print(
        f"\n| floor: the same rows and indexes straight through the driver, "
        f"{args.batch_size} rows/commit | rows/s | riskloop first import as a share |"
    )
    print("|---|---|---|")
    for o in outcomes:
        for how, rate in o.floors.items():
            print(f"| {o.server}: {how} | {rate:,.0f} | {o.runs[0].rate / rate:.0%} |")
    for o in outcomes:
        if o.backend == "sqlite":
            rate = o.runs[0].rate
            verdict = "met" if rate >= SQLITE_TARGET else "NOT met"
            print(
                f"\ntarget ≥ {SQLITE_TARGET:,} events/s into SQLite: {verdict} "
                f"({rate:,.0f} events/s = {rate / SQLITE_TARGET:.0%} of the target)"
            )
    print(
        f"\nload average (1/5/15 min) at start {meta['load']}, at end {_load()}; "
        f"total wall time {time.perf_counter() - meta['t0']:.0f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--events", type=int, default=100_000, help="card payments (default 100k)")
    ap.add_argument("--batch-size", type=int, default=1000, help="records per transaction")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--cards", type=int, default=3000, help="distinct PANs (default 3000)")
    ap.add_argument("--merchants", type=int, default=800)
    ap.add_argument("--sample", type=int, default=5000, help="events timed stage by stage")
    ap.add_argument("--csv", action="store_true", help="also time a CSV first import")
    ap.add_argument("--pg-url", default=PG_ADMIN_URL, help="an existing database to connect to")
    ap.add_argument("--profile", type=Path, help="write cProfile stats of each first import here")
    args = ap.parse_args()
    if args.events < args.sample + 500 or args.batch_size < 1:
        ap.error(f"need --events ≥ --sample + 500 ({args.sample + 500}) and --batch-size ≥ 1")
    # SIGTERM unwinds like Ctrl-C, so temp files and databases are still removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    meta: dict[str, Any] = {"t0": time.perf_counter(), "load": _load()}
    if args.profile:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)

    from importlib.metadata import version

    command = shlex.join([".venv/bin/python", "benchmarks/import_throughput.py", *sys.argv[1:]])
    print("# riskloop import throughput")
    print(f"\ncommand: `{command}`")
    print(f"machine: {machine()}")
    print(f"riskloop {version('riskloop')} ({_revision()}), batch size {args.batch_size}")
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="riskloop-bench-") as tmp:
        root = Path(tmp)
        ndjson = root / "events.ndjson"
        csv_path = root / "events.csv" if args.csv else None
        t0 = time.perf_counter()
        n, pans = write_files(
            generate(args.events, seed=args.seed, cards=args.cards, merchants=args.merchants),
            ndjson,
            csv_path,
        )
        sizes = f"NDJSON {ndjson.stat().st_size / 2**20:.1f} MiB"
        if csv_path:
            sizes += f", CSV {csv_path.stat().st_size / 2**20:.1f} MiB"
        print(
            f"data: {n:,} card_payment events, {pans:,} distinct Luhn-valid PANs, "
            f"{args.merchants} merchants, seed {args.seed}; {sizes} "
            f"(generated in {time.perf_counter() - t0:.1f} s)"
        )
        files: list[tuple[Format, Path]] = [("ndjson", ndjson)]
        if csv_path:
            files.append(("csv", csv_path))
        common: dict[str, Any] = {
            "files": files,
            "batch_size": args.batch_size,
            "sample": args.sample,
            "profile": args.profile,
        }
        if args.backend in ("sqlite", "both"):
            print("running SQLite ...", file=sys.stderr, flush=True)
            env = {"RISKLOOP_DATA_DIR": str(root / "sqlite")}
            outcomes.append(run_job(Job("SQLite", "sqlite", env, **common)))
        if args.backend in ("postgres", "both"):
            print("running PostgreSQL ...", file=sys.stderr, flush=True)
            with throwaway_databases(args.pg_url, len(files)) as urls:
                env = {"RISKLOOP_DATA_DIR": str(root / "pg"), "RISKLOOP_DATABASE_URL": urls[0]}
                extra = {fmt: url for (fmt, _), url in zip(files[1:], urls[1:], strict=True)}
                job = Job("PostgreSQL", "postgres", env, extra_urls=extra, **common)
                outcomes.append(run_job(job))
    print(
        "stores: "
        + "; ".join(f"{o.label} = {o.server} (`build` took {o.setup_s:.1f} s)" for o in outcomes)
    )
    report(outcomes, args, meta)


if __name__ == "__main__":
    main()
