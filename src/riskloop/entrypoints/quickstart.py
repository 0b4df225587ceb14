"""``riskloop quickstart``: the whole loop on a laptop, embedded, in a few minutes.

1. a fresh embedded store (SQLite and a keyring in ``--dir``; re-running starts over);
2. the example playbook (lists, rules, policies) and the OFAC and UN sanctions lists;
3. weeks of simulated history (``riskloop simulate``), imported with the labels known by
   the time live traffic starts;
4. a fraud model trained on that history (point in time) and promoted;
5. the server, on loopback, and the last days of the simulation replayed against it as
   live traffic, decision by decision;
6. a summary: decisions by outcome, fraud caught and missed with the model and by the
   rules alone (from the simulator's ground truth), latency, and where to look next.

The steps are plain functions over a built app, so the end-to-end test runs a reduced one.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

from riskloop.adapters.files import read_records
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.errors import ConfigError, InvalidInput
from riskloop.service.catalog import PlaybookLoader
from riskloop.simulate import simulate

ROOT = Path(__file__).resolve().parents[3]  # the checkout (an editable install)
EXAMPLES = ROOT / "examples"
MARKER = ".riskloop-quickstart"
ACTOR = "quickstart"
CAUGHT = frozenset({"review", "decline", "challenge"})
ACTING = frozenset({"review", "decline", "challenge"})  # rule actions that stop a payment


@dataclass(frozen=True)
class Options:
    dir: Path = Path("riskloop-quickstart")
    customers: int = 1500
    days: int = 42
    live_days: float = 2.0
    live_limit: int = 5000  # live events replayed at most
    fraud_rate: float = 0.06
    seed: int = 7
    port: int = 8000  # 0: any free port
    playbook: Path = EXAMPLES / "playbook.yaml"
    lists: Path = EXAMPLES / "sanctions"


@dataclass
class Report:
    """What happened, step by step (seconds), and the live replay's figures."""

    steps: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def timed(self, name: str) -> _Timer:
        return _Timer(self, name)


class _Timer:
    def __init__(self, report: Report, name: str) -> None:
        self.report, self.name = report, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.report.steps[self.name] = round(time.perf_counter() - self.start, 1)


def prepare(opts: Options) -> Settings:
    """An empty data directory: made, or emptied if an earlier quickstart made it. A
    directory that is not a quickstart's is never touched."""
    for path, option in ((opts.playbook, "--playbook"), (opts.lists, "--lists")):
        if not path.exists():
            raise ConfigError(option, f"{path} not found (run from a riskloop checkout)")
    if opts.dir.exists():
        if not (opts.dir / MARKER).exists() and any(opts.dir.iterdir()):
            raise ConfigError("--dir", f"{opts.dir} holds other files; give an empty directory")
        shutil.rmtree(opts.dir)
    opts.dir.mkdir(parents=True)
    (opts.dir / MARKER).write_text("made by riskloop quickstart; removed on its next run\n")
    return Settings.from_env({"RISKLOOP_DATA_DIR": str(opts.dir / "store")})


def load_catalogue(rl: Riskloop, opts: Options, report: Report) -> None:
    """The playbook, then the sanctions lists (gzipped copies unpacked next to the store)."""
    counts = PlaybookLoader(rl.catalog).apply(yaml.safe_load(opts.playbook.read_text()), ACTOR)
    report.facts["playbook"] = counts
    unpacked = opts.dir / "lists"
    ofac = unpacked / "ofac"
    ofac.mkdir(parents=True)
    for packed in sorted(opts.lists.glob("*.gz")):
        target = (ofac if packed.name.startswith("ofac") else unpacked) / packed.stem
        with gzip.open(packed) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    report.facts["sanctions_entries"] = {
        loaded.source: loaded.entries
        for location in (ofac, *sorted(unpacked.glob("*.xml")))
        for loaded in (rl.screening.load(location, actor=ACTOR),)
    }


def split_history(sim: Path, live_from: datetime, limit: int) -> tuple[Path, list[dict[str, Any]]]:
    """Events before ``live_from`` to a history file; the first ``limit`` after it, live."""
    history = sim / "history.ndjson"
    live: list[dict[str, Any]] = []
    stamp = live_from.isoformat().replace("+00:00", "Z")
    with (sim / "events.ndjson").open() as src, history.open("w") as dst:
        for line in src:
            at = line[line.index('"occurred_at":"') + 15 :][:20]
            if at < stamp:
                dst.write(line)
            elif len(live) < limit:
                live.append(json.loads(line))
    return history, live


def labels_known(sim: Path, by: datetime) -> Path:
    """The labels reported before ``by`` (the file is in report order)."""
    known = sim / "labels_known.ndjson"
    stamp = by.isoformat().replace("+00:00", "Z")
    with (sim / "labels.ndjson").open() as src, known.open("w") as dst:
        for line in src:
            if json.loads(line)["reported_at"] < stamp:
                dst.write(line)
    return known


def import_history(rl: Riskloop, history: Path, labels: Path, report: Report) -> None:
    got = rl.ingestor.import_records(read_records(history, "ndjson"), source="quickstart")
    report.facts["history"] = got.as_dict()
    known = rl.labels.import_records(read_records(labels, "ndjson"), source="quickstart")
    report.facts["labels"] = known.as_dict()
    rl.labels.sync()


def train_and_promote(rl: Riskloop, cutoff: datetime, report: Report) -> str:
    from riskloop.training.run import TrainSpec

    spec = TrainSpec(cutoff=cutoff, maturity=timedelta(days=5), test_days=7.0, gap_days=1.0)
    try:
        version, result = rl.models.train(spec, author=ACTOR, note="quickstart")
    except InvalidInput as exc:  # a world too small to have labelled fraud to learn from
        reason = f"cannot train on this history ({exc}); give more customers or days"
        raise ConfigError("--customers", reason) from None
    rl.models.promote(
        version.name, version.version, alias="champion", author=ACTOR, reason="quickstart"
    )
    test = result.metrics["test"]
    tune_policy(rl, test["at_review_rates"], report)
    report.facts["model"] = {
        "ref": version.ref,
        "rows": result.lineage["rows"],
        "fraud": result.lineage["fraud"],
        "roc_auc": test.get("roc_auc"),
        "average_precision": test.get("average_precision"),
    }
    return version.ref


REVIEW_RATE = 0.01


def tune_policy(rl: Riskloop, rates: list[dict[str, Any]], report: Report) -> None:
    """Set the card policy's review threshold where the model reviews ``REVIEW_RATE`` of the
    payments of its test window, as a fraud team sets it: by how many cases it can work,
    not by a fixed probability. A new version, audited; the previous one runs in shadow."""
    threshold = next(r["threshold"] for r in rates if r["rate"] == REVIEW_RATE)
    (policy,) = [
        p
        for p in rl.catalog.policies()
        if p.status.value == "active" and "card_payment" in p.event_types
    ]
    doc = policy.as_doc()
    decline = doc["thresholds"]["decline"]
    doc["thresholds"] = {
        **doc["thresholds"],
        "review": threshold,
        "decline": None if decline is None else max(decline, threshold),
    }
    note = f"review the riskiest {REVIEW_RATE:.0%} of payments, as in the model's test window"
    saved = rl.catalog.save_policy({**doc, "author": ACTOR, "note": note})
    report.facts["policy"] = {"version": saved.version_id, "review": threshold}


def local_access(rl: Riskloop, opts: Options, report: Report) -> str:
    """A local development API key (every scope, 30 days) and a dashboard admin with a
    random password and a TOTP secret; printed at the end and kept in ``access.json`` in
    the quickstart directory (readable by its owner only). Returns the key."""
    from riskloop.access.credentials import new_token, totp_uri

    _, key = rl.access.create_key(
        "quickstart (local development)", ["*"], actor="quickstart", expires_days=30
    )
    password = new_token()[:20]
    secret = rl.access.add_user("admin", "admin", password, actor="quickstart")
    access = {
        "api_key": key,
        "username": "admin",
        "password": password,
        "totp_secret": secret,
        "totp_uri": totp_uri(secret, "admin"),
    }
    path = opts.dir / "access.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(access, indent=2) + "\n")
    report.facts["access"] = {**access, "file": str(path)}
    return key


class Server:
    """The HTTP API on loopback in a thread (uvicorn), until stopped."""

    def __init__(self, rl: Riskloop, port: int) -> None:
        import uvicorn

        from riskloop.entrypoints.http import create_app

        config = uvicorn.Config(
            create_app(rl), host="127.0.0.1", port=port, log_config=None, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout_s: float = 60.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError("--port", "the server did not start (is the port in use?)")
            time.sleep(0.05)
        (sock,) = [s for server in self.server.servers for s in server.sockets][:1]
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def replay(
    url: str, live: list[dict[str, Any]], tick: Callable[[], None], key: str
) -> Iterator[tuple[dict[str, Any], dict[str, Any], float]]:
    """POST each live event to ``/v1/decisions`` in order: (event, decision, client ms)."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, timeout=30, headers=auth) as client:
        for event in live:
            t = time.perf_counter()
            r = client.post("/v1/decisions", json=event)
            ms = (time.perf_counter() - t) * 1000
            r.raise_for_status()
            tick()
            yield event, r.json(), ms


def rules_only(decision: dict[str, Any]) -> bool:
    """Whether the active rules alone would have stopped it (the model's score aside)."""
    return any(
        r["hit"] and r["status"] == "active" and r["action"] in ACTING for r in decision["rules"]
    )


def summarise(
    rl: Riskloop,
    results: list[tuple[dict[str, Any], dict[str, Any], float]],
    truth: dict[str, dict[str, Any]],
    report: Report,
) -> None:
    outcomes = Counter(d["outcome"] for _, d, _ in results)
    fraud = [(e, d) for e, d, _ in results if truth.get(e["event_id"], {}).get("fraud")]
    genuine = [(e, d) for e, d, _ in results if not truth.get(e["event_id"], {}).get("fraud")]
    patterns: dict[str, list[int]] = {}
    for e, d in fraud:
        caught = patterns.setdefault(truth[e["event_id"]]["pattern"], [0, 0])
        caught[0 if d["outcome"] in CAUGHT else 1] += 1
    recorded = sum(rl.ledger.for_event(e["event_id"]) is not None for e, _, _ in results)
    server_ms = np.array([d["latency_us"]["total"] / 1000 for _, d, _ in results])
    client_ms = np.array([ms for _, _, ms in results])
    report.facts["live"] = {
        "decisions": len(results),
        "recorded": recorded,
        "outcomes": dict(outcomes),
        "fraud_events": len(fraud),
        "caught_with_model": sum(d["outcome"] in CAUGHT for _, d in fraud),
        "caught_by_rules_alone": sum(rules_only(d) for _, d in fraud),
        "genuine_flagged_with_model": sum(d["outcome"] in CAUGHT for _, d in genuine),
        "genuine_flagged_by_rules_alone": sum(rules_only(d) for _, d in genuine),
        "by_pattern": {p: {"caught": c, "missed": m} for p, (c, m) in sorted(patterns.items())},
        "server_ms": {"p50": _pct(server_ms, 50), "p99": _pct(server_ms, 99)},
        "client_ms": {"p50": _pct(client_ms, 50), "p99": _pct(client_ms, 99)},
    }


def _pct(values: np.ndarray, q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if len(values) else 0.0


def read_truth(sim: Path) -> dict[str, dict[str, Any]]:
    with (sim / "truth.ndjson").open() as fh:
        return {row["event_id"]: row for row in map(json.loads, fh)}


class Steps:
    """How a caller shows progress: a status line per step, a bar for the replay."""

    def step(self, text: str) -> None:
        pass

    def bar(self, total: int) -> Callable[[], None]:
        return lambda: None


def run(opts: Options, ui: Steps, *, serve: Callable[[Report], None] | None = None) -> Report:
    """The quickstart; ``serve(report)`` is called with the server still up (the CLI keeps
    it until Ctrl-C), then the server stops and the store closes."""
    report = Report()
    settings = prepare(opts)
    report.facts["store"] = str(settings.data_dir)
    rl = build(settings)
    try:
        with report.timed("catalogue"):
            ui.step("loading the example playbook and the OFAC and UN sanctions lists")
            load_catalogue(rl, opts, report)
        with report.timed("simulate"):
            ui.step(f"simulating {opts.customers:,} customers over {opts.days} days")
            sim = simulate(
                opts.dir / "simulation",
                customers=opts.customers,
                days=opts.days,
                seed=opts.seed,
                fraud_rate=opts.fraud_rate,
            )
            live_from = sim.end - timedelta(days=opts.live_days)
            history, live = split_history(sim.out_dir, live_from, opts.live_limit)
            report.facts["simulation"] = {"events": sum(sim.events.values()), "live": len(live)}
        with report.timed("import"):
            ui.step("importing the history and the labels known before live traffic")
            import_history(rl, history, labels_known(sim.out_dir, live_from), report)
        with report.timed("train"):
            ui.step("training a fraud model on the history (point in time) and promoting it")
            train_and_promote(rl, live_from, report)
        with report.timed("index"):  # now, not in the server's follower during the replay
            ui.step("indexing the history by customer, account, device, IP and e-mail")
            report.facts["indexed"] = rl.entities.catch_up(rounds=1_000_000)
        key = local_access(rl, opts, report)
        server = Server(rl, opts.port)
        url = server.start()
        report.facts["url"] = url
        try:
            with report.timed("live"):
                ui.step(f"replaying {len(live):,} live events against {url}")
                results = list(replay(url, live, ui.bar(len(live)), key))
            summarise(rl, results, read_truth(sim.out_dir), report)
            if serve is not None:
                serve(report)
        finally:
            server.stop()
    finally:
        rl.close()
    return report
