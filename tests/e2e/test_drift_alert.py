"""The evidence issue 7 asks for: decisions recorded over a reference window, then decisions
whose amounts are five times larger; the drift check (over HTTP and from the command line)
marks the amount-driven features ``alert`` and leaves the others ``ok``, raises one ``alert``
task per drifted feature, and a second run counts an occurrence instead of a second task.

Windows select decisions by ``decided_at``; the pipeline's clock is set to each payment's
time so the decisions land in past windows."""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskloop.bootstrap import Riskloop
from riskloop.config import Settings
from riskloop.entrypoints.cli import app as cli
from riskloop.entrypoints.http import create_app
from tests.support import metrics
from tests.support.factories import card_payment
from tests.support.http import AdminClient

T0 = datetime(2026, 10, 1, tzinfo=UTC)
REFERENCE = {"start": T0.isoformat(), "end": (T0 + timedelta(days=2)).isoformat()}
CURRENT = {
    "start": (T0 + timedelta(days=2)).isoformat(),
    "end": (T0 + timedelta(days=4)).isoformat(),
}
KEY = "drift:card_payment:card_amount_sum_1h"
SHIFTED = ("card_amount_sum_1h", "card_amount_sum_24h", "card_amount_max_7d")
STEADY = (
    "card_count_1h",
    "card_amount_ratio_30d",  # this amount over the card's mean: both five times larger
    "card_last_merchant_country",
    "card_cnp_count_24h",
    "merchant_count_1h",
)


def _pan(n: int) -> str:
    body = f"4{n:014d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _record(rl: Riskloop, start: datetime, cards: range, scale: int, rs: random.Random) -> None:
    """Two payments per card 5 minutes apart (a card's features count its earlier payments),
    a new card every 14 minutes; countries and channels drawn alike in every window."""
    for n, card in enumerate(cards):
        first = start + timedelta(minutes=14 * n)
        country = rs.choice(["DE", "FR", "NL"])
        for k in range(2):
            at = first + timedelta(minutes=5 * k)
            event = card_payment(
                occurred_at=at.isoformat(),
                amount=scale * int(rs.lognormvariate(8, 0.6)),
                card={"pan": _pan(card), "holder_name": "Ada Lovelace", "country": "DE"},
                customer_id=f"cus-{card}",
                email=f"u{card}@example.com",
                ip=f"10.0.{card // 256}.{card % 256}",
                channel=rs.choice(["card_present", "card_not_present"]),
                merchant={"id": f"m-{card}", "mcc": "5411", "country": country},
            )
            rl.decisions.pipeline.clock = lambda at=at: at
            rl.decisions.decide(event)


@pytest.fixture
def recorded(rl: Riskloop) -> Riskloop:
    rs = random.Random(7)
    _record(rl, T0, range(200), 1, rs)  # 400 decisions in the reference window
    _record(rl, T0 + timedelta(days=2), range(200, 400), 5, rs)  # 400, amounts x5
    return rl


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(rl), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``riskloop ...`` in-process on the same data directory as ``rl``."""
    for name in list(os.environ):
        if name.startswith("RISKLOOP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "250")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, list(args))
    root.handlers[:], root.level = handlers, level


def _features(report: dict[str, Any]) -> dict[str, str]:
    return {f["feature"]: f["status"] for f in report["body"]["features"]}


def _alert_tasks(rl: Riskloop) -> dict[str, Any]:
    return {t.key: t for t in rl.tasks.list(kind="alert", limit=1000)}


def _errors(r: httpx.Response) -> list[str]:
    assert r.status_code == 422, r.text
    return [e["field"] for e in r.json()["error"]["errors"]]


def test_an_amount_shift_alerts_once_over_http_and_the_cli(
    recorded: Riskloop, client: TestClient, run: Any
) -> None:
    body = {"event_type": "card_payment", "reference": REFERENCE, "current": CURRENT}
    r = client.post("/v1/monitoring/drift", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "alert"
    [report] = r.json()["reports"]
    assert report["body"]["reference_count"] == report["body"]["current_count"] == 400
    status = _features(report)
    assert {f: status[f] for f in SHIFTED} == dict.fromkeys(SHIFTED, "alert")
    assert {f: status[f] for f in STEADY} == dict.fromkeys(STEADY, "ok")
    amount = next(f for f in report["body"]["features"] if f["feature"] == SHIFTED[0])
    assert amount["psi"] >= 0.25 and amount["mean_current"] > 3 * amount["mean_reference"]

    tasks = _alert_tasks(recorded)
    assert KEY in tasks and tasks[KEY].occurrences == 1
    assert tasks[KEY].status.value == "open" and tasks[KEY].detail["report_id"] == report["id"]
    assert not any(k.split(":")[2] in STEADY for k in tasks)

    cli_run = run(
        "monitor",
        "drift",
        "--event-type",
        "card_payment",
        "--reference",
        f"{REFERENCE['start']}..{REFERENCE['end']}",
        "--current",
        "2026-10-03..2026-10-05",  # dates: UTC midnight
    )
    assert cli_run.exit_code == 3, cli_run.output
    assert "card_amount_sum_1h" in cli_run.stdout and "alert" in cli_run.stdout

    again = _alert_tasks(recorded)
    assert set(again) == set(tasks)  # the second run made no second task
    assert again[KEY].occurrences == 2 and again[KEY].id == tasks[KEY].id

    listed = client.get("/v1/monitoring/reports", params={"kind": "drift", "scope": "card_payment"})
    ids = [x["id"] for x in listed.json()["reports"]]
    assert len(ids) == 2 and ids[1] == report["id"] and ids[0] > ids[1]
    shown = run("monitor", "reports", "--kind", "drift", "--json")
    assert shown.exit_code == 3  # the newest drift report alerts
    assert [x["id"] for x in json.loads(shown.stdout)] == ids

    # Where operators look: the status and each feature's PSI on /metrics.
    scrape = client.get("/metrics").text
    assert metrics.value(scrape, 'riskloop_monitor_status{kind="drift",scope="card_payment"}') == 2
    psi = metrics.value(
        scrape, f'riskloop_drift_psi{{event_type="card_payment",feature="{SHIFTED[0]}"}}'
    )
    assert psi >= 0.25
    steady = metrics.value(
        scrape, f'riskloop_drift_psi{{event_type="card_payment",feature="{STEADY[0]}"}}'
    )
    assert steady < 0.1


def test_the_cli_prints_a_table_and_json(recorded: Riskloop, run: Any) -> None:
    args = ["--reference", "2026-10-01..2026-10-03", "--current", "2026-10-03..2026-10-05"]
    shown = run("monitor", "drift", *args, "--json")
    assert shown.exit_code == 3, shown.output
    [report] = json.loads(shown.stdout)
    assert _features(report)["card_amount_max_7d"] == "alert"
    steady = run("monitor", "drift", "--reference", "2026-10-01..2026-10-02", "--current",
                 "2026-10-02..2026-10-03")  # fmt: skip
    assert steady.exit_code == 0, steady.output  # two days of the same traffic
    assert "drift card_payment: ok" in steady.stdout
    fresh = run("monitor", "freshness", "--json")
    assert fresh.exit_code == 0, fresh.output
    perf = run("monitor", "performance", "--current", "2026-10-01..2026-10-05")
    assert perf.exit_code == 0, perf.output
    assert "young cohorts undercount fraud" in perf.stdout.replace("\n", " ")


def test_bad_input_is_a_422_naming_the_field(client: TestClient) -> None:
    post = client.post
    backwards = {"start": CURRENT["end"], "end": CURRENT["start"]}
    assert _errors(post("/v1/monitoring/drift", json={"current": backwards})) == ["current.end"]
    naive = {"start": "2026-10-01T00:00:00", "end": "2026-10-02T00:00:00+00:00"}
    assert _errors(post("/v1/monitoring/drift", json={"reference": naive})) == ["reference.start"]
    overlap = {"reference": CURRENT, "current": CURRENT}
    assert _errors(post("/v1/monitoring/freshness", json=overlap)) == ["reference.end"]
    bad_time = {"current": {"start": "yesterday", "end": CURRENT["end"]}}
    assert _errors(post("/v1/monitoring/performance", json=bad_time)) == ["current.start"]
    far = {"current": {"start": "0001-01-01T00:00:00+14:00", "end": CURRENT["end"]}}
    assert _errors(post("/v1/monitoring/drift", json=far)) == ["current"]
    assert _errors(post("/v1/monitoring/drift", json={"current": [1, 2]})) == ["current"]
    extra = {"current": {**CURRENT, "step": 1}}
    assert _errors(post("/v1/monitoring/drift", json=extra)) == ["current.step"]
    assert _errors(post("/v1/monitoring/drift", json={"event_type": "parcel"})) == ["event_type"]
    assert _errors(post("/v1/monitoring/performance", json={"reference": REFERENCE})) == [
        "reference"
    ]
    assert _errors(post("/v1/monitoring/drift", content=b"{nope")) == ["body"]
    assert _errors(post("/v1/monitoring/drift", json=[1])) == ["body"]
    get = client.get
    assert _errors(get("/v1/monitoring/reports", params={"kind": "latency"})) == ["kind"]
    assert _errors(get("/v1/monitoring/reports", params={"limit": 0})) == ["limit"]
    # no body at all: the default windows
    assert post("/v1/monitoring/freshness").status_code == 200


def test_bad_windows_on_the_command_line_exit_2_naming_the_option(run: Any) -> None:
    backwards = run("monitor", "drift", "--current", "2026-10-05..2026-10-01")
    assert backwards.exit_code == 2 and "--current" in backwards.output
    garbled = run("monitor", "freshness", "--reference", "last week")
    assert garbled.exit_code == 2 and "--reference" in garbled.output
    unknown = run("monitor", "reports", "--kind", "latency")
    assert unknown.exit_code == 2 and "kind" in unknown.output
