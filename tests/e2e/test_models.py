"""The model lifecycle as a user runs it: import history, ``riskloop train``, read the card,
promote, serve (hot-swapped under load, challenger in shadow), roll back, batch-score a
file — every alias change in the history and the audit chain."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app
from tests.support.fraud_world import World, generate_world
from tests.support.http import AdminClient

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(customers=250, days=45, seed=5)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, world: World) -> Path:
    """A data dir holding the world's history and two trained models (LightGBM, logistic)."""
    home = tmp_path_factory.mktemp("models")
    history = home / "history.ndjson"
    history.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in world.events))
    assert _run(home, "import", "events", str(history), "--no-progress").returncode == 0
    cutoff = (world.end.date()).isoformat()
    common = ["--cutoff", cutoff, "--maturity", "2d", "--test-days", "10", "--gap-days", "2"]
    trained = _run(home, "train", *common, "--author", "ana", "--note", "first")
    assert trained.returncode == 0, trained.stderr
    assert "registered fraud@1" in trained.stdout and "ROC AUC" in trained.stdout
    baseline = _run(home, "train", *common, "--kind", "logistic", "--author", "ana")
    assert baseline.returncode == 0, baseline.stderr
    return home


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update({"RISKLOOP_DATA_DIR": str(home / "data"), "COLUMNS": "200"})
    return subprocess.run(
        [RISKLOOP, *args], env=env, cwd=home, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def rl(home: Path) -> Iterator[Riskloop]:
    app = build(Settings.from_env({"RISKLOOP_DATA_DIR": str(home / "data")}))
    yield app
    app.close()


def _payment(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"live-{n}",
        "event_type": "card_payment",
        "occurred_at": "2026-07-20T12:00:00Z",
        "customer_id": "cus-1",
        "amount": 125_000,
        "currency": "EUR",
        "merchant": {"id": "m-3", "mcc": "5411", "country": "DE", "terminal_id": "t-3"},
        "card": {"pan": "4111111111111111"},
        "channel": "card_not_present",
        "auth_result": "approved",
        "device": {"id": f"dev-new-{n}"},
        **extra,
    }


def _wait_until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _ref(model: str | None) -> str | None:
    """``fraud@1`` of ``fraud@1+917af757`` (a scorer's version names its content too)."""
    return model.split("+")[0] if model else None


def test_a_trained_model_is_registered_with_card_and_lineage(home: Path) -> None:
    listed = orjson.loads(_run(home, "models", "list", "--json").stdout)
    assert [(m["ref"], m["kind"], m["aliases"]) for m in listed] == [
        ("fraud@1", "lightgbm", []),
        ("fraud@2", "logistic", []),
    ]
    assert listed[0]["roc_auc"] > 0.8
    shown = orjson.loads(_run(home, "models", "show", "fraud@1").stdout)
    lineage = shown["lineage"]
    assert len(lineage["data_snapshot"]) == 64 and lineage["feature_set"].startswith("default@1+")
    assert lineage["code"]["lightgbm"] and shown["created_by"] == "ana"
    card = _run(home, "models", "card", "fraud@1").stdout
    for heading in ("# Model card: fraud@1", "## Performance", "## Segments", "## Reason codes"):
        assert heading in card
    assert "logistic baseline" in card and "card precision@100" in card


def test_serving_follows_promotion_without_dropping_a_request(rl: Riskloop) -> None:
    with AdminClient(create_app(rl, follow_every_s=0.1)) as client:
        assert client.get("/v1/models").json()["serving"] == {}
        before = client.post("/v1/decisions", json=_payment(0)).json()
        assert before["model"].startswith("points@1")  # the built-in model until a promotion

        promote = {"version": 1, "author": "ana", "reason": "beats rules on the test window"}
        r = client.put("/v1/models/fraud/aliases/champion", json=promote)
        assert r.status_code == 200, r.text
        first = client.post("/v1/decisions", json=_payment(1)).json()
        assert _ref(first["model"]) == "fraud@1"
        assert 1 <= len(first["contributions"]) <= 4
        assert all(c["reason"].startswith("HIGH_") for c in first["contributions"])

        shadow = {"version": 2, "author": "ana", "reason": "compare the baseline live"}
        assert client.put("/v1/models/fraud/aliases/challenger", json=shadow).status_code == 200
        both = client.post("/v1/decisions", json=_payment(2)).json()
        assert _ref(both["model"]) == "fraud@1"
        assert _ref(both["challenger"]["model"]) == "fraud@2"
        assert 0 <= both["challenger"]["score"] <= 1

        # Swap the champion while decisions keep coming: every one is answered, each by one
        # model, and the later ones by the new champion.
        seen: list[tuple[int, str | None]] = []
        stop = threading.Event()

        def load() -> None:
            n = 100
            while not stop.is_set():
                n += 1
                resp = client.post("/v1/decisions", json=_payment(n))
                seen.append((resp.status_code, _ref(resp.json().get("model"))))

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        try:
            _wait_until(lambda: len(seen) >= 20)
            swap = {"version": 2, "author": "bo", "reason": "canary passed"}
            assert client.put("/v1/models/fraud/aliases/champion", json=swap).status_code == 200
            mark = len(seen)
            _wait_until(lambda: len(seen) >= mark + 20)
        finally:
            stop.set()
            worker.join(timeout=30)
        assert {status for status, _ in seen} == {201}
        assert {model for _, model in seen} == {"fraud@1", "fraud@2"}
        assert {model for _, model in seen[mark + 1 :]} == {"fraud@2"}

        back = client.post(
            "/v1/models/fraud/aliases/champion/rollback",
            json={"author": "bo", "reason": "decline rate doubled"},
        )
        assert back.status_code == 200 and back.json()["version"] == 1
        again = client.post("/v1/decisions", json=_payment(9999)).json()
        assert _ref(again["model"]) == "fraud@1"

        changes = client.get("/v1/models/fraud/aliases").json()["changes"]
        assert [(c["alias"], c["previous"], c["version"], c["actor"]) for c in changes] == [
            ("champion", None, 1, "ana"),
            ("challenger", None, 2, "ana"),
            ("champion", 1, 2, "bo"),
            ("champion", 2, 1, "bo"),
        ]
        assert changes[-1]["reason"] == "decline rate doubled"
        audit = client.get("/v1/audit", params={"kind": "model"}).json()["entries"]
        assert [e["action"] for e in audit if e["action"].startswith("model.")][-4:] == [
            "model.champion",
            "model.challenger",
            "model.champion",
            "model.champion",
        ]

        shadow = client.get("/v1/models/fraud/shadow", params={"review_rate": 0.05}).json()
        assert shadow["decisions"] >= 21  # every decision scored by both
        assert shadow["challengers"] and all(_ref(m) == "fraud@2" for m in shadow["challengers"])
        assert shadow["psi_status"] in {"ok", "warn", "alert"}
        assert shadow["at_champion_review_rate"]["champion_flags"] >= 1
        assert {"champion", "challenger", "fraud"} <= set(shadow["labels"])
        bad = client.get("/v1/models/fraud/shadow", params={"review_rate": 2})
        assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "review_rate"

        card = client.get("/v1/models/fraud/versions/1/card")
        assert card.status_code == 200 and "data:image/png;base64," in card.text
        assert card.headers["content-security-policy"].startswith("default-src 'none'")
        md = client.get("/v1/models/fraud/versions/1/card", params={"format": "md"})
        assert md.text.startswith("# Model card: fraud@1")


def test_the_shadow_report_from_the_cli(home: Path) -> None:
    """Runs after the serving test (file order), which recorded challenger scores."""
    done = _run(home, "models", "shadow", "fraud", "--since", "2026-01-01")
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout)
    assert report["decisions"] >= 21 and report["psi_status"] in {"ok", "warn", "alert"}
    assert _run(home, "models", "shadow", "fraud", "--review-rate", "3").returncode == 2


def test_alias_changes_refuse_bad_input_with_the_field_named(rl: Riskloop) -> None:
    with AdminClient(create_app(rl)) as client:
        ok = {"author": "ana", "reason": "r"}
        cases = [
            ("/v1/models/fraud/aliases/boss", {"version": 1, **ok}, 422, "alias"),
            ("/v1/models/fraud/aliases/champion", {"version": 77, **ok}, 404, None),
            ("/v1/models/fraud/aliases/champion", {"version": "1", **ok}, 422, "version"),
            ("/v1/models/fraud/aliases/champion", {"version": 1, "author": "ana"}, 422, "reason"),
            ("/v1/models/fraud/aliases/champion", {"version": 1, "reason": "r"}, 422, "author"),
            ("/v1/models/fraud/aliases/champion", {"version": 1, "x": 1, **ok}, 422, "x"),
        ]
        for path, body, status, field in cases:
            r = client.put(path, json=body)
            assert r.status_code == status, (body, r.text)
            if field:
                assert field in [e["field"] for e in r.json()["error"]["errors"]], r.text
        nothing = client.post("/v1/models/nobody/aliases/champion/rollback", json=ok)
        assert nothing.status_code == 409
        assert client.get("/v1/models/fraud/versions/99").status_code == 404
        assert client.get("/v1/models/fraud/versions/1/card?format=pdf").status_code == 422


def test_train_refuses_a_cutoff_with_nothing_to_learn(home: Path) -> None:
    early = _run(home, "train", "--cutoff", "2026-06-02", "--maturity", "1d")
    assert early.returncode == 1
    assert "cutoff" in early.stderr
    bad = _run(home, "train", "--cutoff", "2026-08-01", "--kind", "forest", "--name", "A B")
    assert bad.returncode == 1 and "kind:" in bad.stderr and "name:" in bad.stderr
    alias = _run(home, "train", "--cutoff", "2026-08-01", "--promote", "boss")
    assert alias.returncode == 2 and "promote" in alias.stderr


def test_batch_scoring_replays_history_then_scores_the_file(home: Path, world: World) -> None:
    payments = [e for e in world.events if e["event_type"] == "card_payment"]
    cut = len(world.events) - 200
    (home / "before.ndjson").write_bytes(
        b"".join(orjson.dumps(e) + b"\n" for e in world.events[:cut])
    )
    later = list(world.events[cut:])
    (home / "later.ndjson").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in later))
    out = home / "scores.parquet"
    scored = _run(
        home,
        "score",
        str(home / "later.ndjson"),
        "--model",
        "fraud@1",
        "--history",
        str(home / "before.ndjson"),
        "--out",
        str(out),
    )
    assert scored.returncode == 0, scored.stderr
    table = pq.read_table(out).to_pylist()
    expected = [e["event_id"] for e in later if e["event_type"] == "card_payment"]
    assert [r["event_id"] for r in table] == expected and payments
    assert all(_ref(r["model"]) == "fraud@1" and 0 <= r["score"] <= 1 for r in table)
    assert any(r["reason_1"] and r["reason_1"].startswith("HIGH_") for r in table)
    # The point-in-time features need the history: without it the velocity is different.
    alone = home / "alone.csv"
    assert (
        _run(
            home, "score", str(home / "later.ndjson"), "--model", "fraud@1", "--out", str(alone)
        ).returncode
        == 0
    )
    header, *rows = alone.read_text().splitlines()
    assert header.startswith("event_id,event_type,occurred_at,model,score,reason_1")
    assert len(rows) == len(expected)
    assert [r.split(",")[4] for r in rows] != [str(r["score"]) for r in table]
    assert "4111111111111111" not in out.read_bytes().decode("latin-1")


@pytest.mark.parametrize("store", ["file", "sqlite"])
def test_a_version_exports_to_a_local_mlflow_store(home: Path, store: str) -> None:
    from mlflow.tracking import MlflowClient

    target = home / f"mlflow-{store}"
    target.mkdir(exist_ok=True)
    uri = f"file://{target}/mlruns" if store == "file" else f"sqlite:///{target}/mlflow.db"
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps the file store opt-in
    try:
        done = _run(home, "models", "export-mlflow", "fraud@1", "--tracking-uri", uri)
        assert done.returncode == 0, done.stderr
        assert "registered model fraud version 1" in done.stdout
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        [run] = client.search_runs(
            [client.get_experiment_by_name("riskloop").experiment_id]  # type: ignore[union-attr]
        )
        assert run.info.run_name == "fraud@1"
        assert run.data.metrics["test.roc_auc"] > 0.8
        assert run.data.params["lineage.feature_set"].startswith("default@1+")
        files = {f.path for f in client.list_artifacts(run.info.run_id, "riskloop")}
        assert {"riskloop/model.txt", "riskloop/card.md", "riskloop/pr.png"} <= files
        version = client.get_model_version("fraud", "1")
        assert version.run_id == run.info.run_id
    finally:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
