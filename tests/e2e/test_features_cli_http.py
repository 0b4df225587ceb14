"""Features end to end: events in over HTTP, preview, backfill and training set from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app
from riskloop.service.features import as_input
from tests.support.factories import card_payment
from tests.support.http import AdminClient

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(rl), raise_server_exceptions=False) as c:
        yield c


def test_ingested_events_count_in_the_features_of_the_next_one(client: TestClient) -> None:
    for minute in range(3):
        client.post("/v1/events", json=card_payment(occurred_at=f"2026-11-01T12:0{minute}:00Z"))
    probe = card_payment(occurred_at="2026-11-01T12:05:00Z", amount=9000)
    body = client.post("/v1/features/preview", json=probe).json()
    assert body["features"]["card_count_10m"] == 3
    assert body["features"]["card_amount_ratio_30d"] == pytest.approx(9000 / 4599)
    assert body["feature_set"].startswith("default@1+")
    # A preview counts nothing: asking twice gives the same answer.
    assert client.post("/v1/features/preview", json=probe).json()["features"] == body["features"]


def test_preview_of_bad_input_names_the_field(client: TestClient) -> None:
    resp = client.post("/v1/features/preview", json=card_payment(amount="lots"))
    assert resp.status_code == 422
    assert resp.json()["error"]["errors"][0]["field"] == "amount"


def test_feature_definitions_are_listed(client: TestClient) -> None:
    body = client.get("/v1/features").json()
    names = {f["name"] for f in body["features"]}
    assert {"card_count_1h", "merchant_fraud_rate_7d", "login_new_device"} <= names


def test_online_state_survives_a_restart(settings: Settings) -> None:
    rl = build(settings)
    for minute in range(4):
        rl.ingestor.ingest(card_payment(occurred_at=f"2026-11-01T12:0{minute}:00Z"))
    rl.close()
    again = build(settings)  # in-process state is rebuilt from the event log
    probe = again.ingestor.protect_only(card_payment(occurred_at="2026-11-01T12:09:00Z"))
    result = again.features.preview(probe.event_id, probe.event_type, probe.data, probe.occurred_at)
    again.close()
    assert result.values is not None
    assert result.values["card_count_10m"] == 4


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update(RISKLOOP_DATA_DIR=str(tmp_path / "data"), COLUMNS="200")
    return subprocess.run(
        [RISKLOOP, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_backfill_and_training_set_from_the_cli(tmp_path: Path) -> None:
    pay = card_payment(occurred_at="2026-10-01T10:00:00Z")
    events = [
        pay,
        card_payment(occurred_at="2026-10-01T10:05:00Z"),
        card_payment(occurred_at="2026-10-20T10:00:00Z"),
        {
            "event_id": "cb-1",
            "event_type": "dispute",
            "occurred_at": "2026-10-15T00:00:00Z",
            "original_event_id": pay["event_id"],
            "stage": "chargeback",
            "network": "visa",
            "reason_code": "10.4",
            "amount": 4599,
            "currency": "EUR",
            "card": {"pan": "4111111111111111"},
        },
    ]
    src = tmp_path / "events.ndjson"
    src.write_text("".join(json.dumps(e) + "\n" for e in events))
    assert _run(tmp_path, "import", "events", str(src), "--no-progress").returncode == 0

    vectors = tmp_path / "features.parquet"
    done = _run(tmp_path, "features", "backfill", "--out", str(vectors))
    assert done.returncode == 0, done.stderr
    assert "wrote 3 vectors (1 labels applied" in done.stdout
    table = pq.read_table(vectors)
    assert table.schema.metadata[b"riskloop.feature_set"].startswith(b"default@1+")
    rows = {r["event_id"]: r for r in table.to_pylist()}
    assert rows[events[1]["event_id"]]["card_count_10m"] == 1

    train = tmp_path / "train.parquet"
    early = _run(
        tmp_path,
        "features",
        "training-set",
        "--vectors",
        str(vectors),
        "--cutoff",
        "2026-10-10",
        "--maturity",
        "1d",
        "--out",
        str(train),
    )
    assert early.returncode == 0, early.stderr
    labels = {r["event_id"]: r["label"] for r in pq.read_table(train).to_pylist()}
    assert labels == {
        events[0]["event_id"]: 0,
        events[1]["event_id"]: 0,
    }  # chargeback not yet known
    late = _run(
        tmp_path,
        "features",
        "training-set",
        "--vectors",
        str(vectors),
        "--cutoff",
        "2026-11-15",
        "--maturity",
        "7d",
        "--out",
        str(train),
    )
    assert late.returncode == 0, late.stderr
    labels = {r["event_id"]: r["label"] for r in pq.read_table(train).to_pylist()}
    assert labels[events[0]["event_id"]] == 1
    assert labels[events[2]["event_id"]] == 0


def test_features_validate_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "f.yaml"
    bad.write_text(
        "name: x\nversion: 1\nfeatures:\n  - {name: a, entity: card, agg: count, window: 1y, events: [card_payment]}\n"
    )
    result = _run(tmp_path, "features", "validate", str(bad))
    assert result.returncode == 1
    assert "feature a.window" in result.stderr
    ok = _run(
        tmp_path,
        "features",
        "validate",
        str(Path(__file__).parents[2] / "src/riskloop/features/default.yaml"),
    )
    assert ok.returncode == 0
    assert "ok: default@1+" in ok.stdout


def test_a_server_follows_events_another_process_imported(settings: Settings) -> None:
    server = build(settings)
    importer = build(settings, migrate=False, rebuild_features=False)  # as `riskloop import` does
    try:
        assert importer.ingestor.features is None
        with AdminClient(create_app(server, follow_every_s=0.05)):
            for minute in range(5):
                importer.ingestor.ingest(card_payment(occurred_at=f"2026-11-01T12:0{minute}:00Z"))
            deadline = time.monotonic() + 10
            while server.features.applied_seq < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.features.applied_seq == 5  # caught up by the background follower
            probe = server.ingestor.protect_only(card_payment(occurred_at="2026-11-01T12:06:00Z"))
            # Straight to the engine: preview would catch up by itself.
            result = server.features.engine.process(as_input(probe), record=False)
            assert result.values is not None
            assert result.values["card_count_10m"] == 5
    finally:
        importer.close()
        server.close()


def test_training_set_bad_options_exit_2_naming_them(tmp_path: Path) -> None:
    vectors = tmp_path / "v.parquet"
    vectors.write_bytes(b"")
    maturity = _run(
        tmp_path,
        "features",
        "training-set",
        "--vectors",
        str(vectors),
        "--cutoff",
        "2026-11-01",
        "--maturity",
        "soon",
    )
    assert maturity.returncode == 2
    assert "--maturity" in maturity.stderr
    cutoff = _run(
        tmp_path, "features", "training-set", "--vectors", str(vectors), "--cutoff", "yesterday"
    )
    assert cutoff.returncode == 2
    assert "--cutoff" in cutoff.stderr
