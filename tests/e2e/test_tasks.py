"""Tasks as operators meet them: over HTTP (raise, list, work, Alertmanager's webhook, a
clear 422 for bad input), from the ``riskloop tasks`` commands, as a chat notification on a
real local webhook (one failed attempt, retried later), and left behind by a failed job."""

from __future__ import annotations

import http.server
import json
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskloop.adapters.sql.tasks import SqlTaskStore
from riskloop.adapters.webhook import WebhookNotifier, backoff, payload
from riskloop.bootstrap import Riskloop, build
from riskloop.cases.tasks import MemoryTaskStore, Task, TaskService
from riskloop.config import Settings
from riskloop.entrypoints.cli import app as cli
from riskloop.entrypoints.http import create_app
from tests.support.http import AdminClient

PAN = "4111111111111111"


@pytest.fixture
def client(rl: Riskloop) -> Iterator[TestClient]:
    with AdminClient(create_app(rl), raise_server_exceptions=False) as c:
        yield c


def _errors(r: httpx.Response) -> list[str]:
    assert r.status_code == 422, r.text
    return [e["field"] for e in r.json()["error"]["errors"]]


def _task(**extra: Any) -> dict[str, Any]:
    return {"kind": "job_failure", "title": "Nightly backfill failed", "actor": "cron", **extra}


# -- HTTP ------------------------------------------------------------------------------------


def test_raise_list_and_work_a_task_over_http(client: TestClient) -> None:
    r = client.post("/v1/tasks", json=_task(key="job:backfill", detail={"rows": 3}))
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["status"] == "open" and task["occurrences"] == 1 and task["overdue"] is False
    assert task["runbook_url"] == "docs/runbooks.md#job-failure"

    again = client.post("/v1/tasks", json=_task(key="job:backfill"))
    assert again.status_code == 200 and again.json()["id"] == task["id"]
    assert again.json()["occurrences"] == 2

    manual = client.post(
        "/v1/tasks",
        json={
            "kind": "manual",
            "title": "Rotate the webhook token",
            "owner": "ana",
            "due_at": "2020-01-01T00:00:00Z",
            "runbook_url": "https://wiki.example.com/rotate",
            "actor": "ana",
        },
    )
    assert manual.status_code == 201 and manual.json()["overdue"] is True

    listed = client.get("/v1/tasks").json()["tasks"]
    assert [t["id"] for t in listed] == [manual.json()["id"], task["id"]]
    assert [t["id"] for t in client.get("/v1/tasks?overdue=true").json()["tasks"]] == [
        manual.json()["id"]
    ]
    assert client.get("/v1/tasks", params={"owner": "ana"}).json()["tasks"][0]["owner"] == "ana"
    assert client.get("/v1/tasks", params={"kind": "alert"}).json()["tasks"] == []
    assert len(client.get("/v1/tasks", params={"limit": 1, "offset": 1}).json()["tasks"]) == 1

    url = f"/v1/tasks/{task['id']}"
    taken = client.patch(url, json={"status": "in_progress", "actor": "bob", "expected_version": 2})
    assert taken.status_code == 200, taken.text
    assert (taken.json()["owner"], taken.json()["version"]) == ("bob", 3)
    stale = client.patch(url, json={"status": "done", "actor": "eve", "expected_version": 2})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    done = client.patch(url, json={"status": "done", "note": "re-ran it", "actor": "bob"})
    assert done.json()["status"] == "done"
    assert done.json()["notes"][0]["text"] == "re-ran it"
    assert client.get(url).json() == done.json()
    assert client.get("/v1/tasks", params={"status": "done"}).json()["tasks"][0]["id"] == task["id"]


def test_an_owner_and_due_time_can_be_cleared_over_http(client: TestClient) -> None:
    task = client.post("/v1/tasks", json=_task(owner="ana")).json()
    cleared = client.patch(
        f"/v1/tasks/{task['id']}", json={"owner": None, "due_at": None, "actor": "ana"}
    ).json()
    assert cleared["owner"] is None and cleared["due_at"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "fire"}, ["kind"]),
        ({"kind": None}, ["kind"]),
        ({"title": ""}, ["title"]),
        ({"title": 7}, ["title"]),
        ({"actor": ""}, ["actor"]),
        ({"owner": 5}, ["owner"]),
        ({"detail": [1]}, ["detail"]),
        ({"detail": {"x": "\u0000"}}, ["detail"]),
        ({"due_at": "tomorrow"}, ["due_at"]),
        ({"due_at": "2026-05-01T12:00:00"}, ["due_at"]),
        ({"due_at": "0001-01-01T00:00:00+05:00"}, ["due_at"]),
        ({"runbook_url": "file:///etc/passwd"}, ["runbook_url"]),
        ({"key": ""}, ["key"]),
        ({"colour": "red"}, ["colour"]),
    ],
)
def test_bad_task_bodies_are_422_naming_the_field(
    client: TestClient, body: dict[str, Any], fields: list[str]
) -> None:
    assert _errors(client.post("/v1/tasks", json=_task(**body))) == fields
    assert client.get("/v1/tasks").json()["tasks"] == []


def test_bad_requests_are_422_or_404_never_500(client: TestClient) -> None:
    task = client.post("/v1/tasks", json=_task()).json()
    url = f"/v1/tasks/{task['id']}"
    assert _errors(client.post("/v1/tasks", content=b"{not json")) == ["body"]
    assert _errors(client.post("/v1/tasks", json=[1])) == ["body"]
    assert _errors(client.patch(url, json={"status": "closed", "actor": "a"})) == ["status"]
    assert _errors(client.patch(url, json={"status": 1, "actor": "a"})) == ["status"]
    assert _errors(client.patch(url, json={"status": "done"})) == ["actor"]
    assert _errors(client.patch(url, json={"expected_version": "1", "actor": "a"})) == [
        "expected_version"
    ]
    assert _errors(client.patch(url, json={"note": "", "actor": "a"})) == ["note"]
    reopen = client.patch(url, json={"status": "in_progress", "actor": "a"})
    assert reopen.status_code == 200
    assert _errors(client.patch(url, json={"status": "open", "actor": "a"})) == ["status"]
    assert _errors(client.get("/v1/tasks?status=closed")) == ["status"]
    assert _errors(client.get("/v1/tasks?limit=0")) == ["limit"]
    assert _errors(client.get("/v1/tasks?overdue=maybe")) == ["overdue"]
    assert _errors(client.get(f"/v1/tasks/{2**63}")) == ["task_id"]
    assert client.get("/v1/tasks/999").status_code == 404
    assert client.patch("/v1/tasks/999", json={"note": "x", "actor": "a"}).status_code == 404


# -- Alertmanager --------------------------------------------------------------------------


def _alert(status: str, fingerprint: str, **annotations: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "DecisionLatencyHigh", "severity": "page", "instance": "api-1"},
        "annotations": {"summary": "p99 decision latency above 250 ms", **annotations},
        "startsAt": "2026-05-01T10:00:00Z",
        "endsAt": "2026-05-01T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
        "fingerprint": fingerprint,
    }


def _notification(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DecisionLatencyHigh"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "riskloop",
        "groupLabels": {"alertname": "DecisionLatencyHigh"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def test_alertmanager_firing_alerts_become_tasks_once_each(client: TestClient) -> None:
    runbook = "https://runbooks.example.com/latency"
    payload = _notification(
        _alert("firing", "a1b2c3d4e5f60718", runbook_url=runbook), _alert("firing", "ffff0000")
    )
    first = client.post("/v1/tasks/alertmanager", json=payload)
    assert first.status_code == 200, first.text
    ids = first.json()["raised"]
    again = client.post("/v1/tasks/alertmanager", json=payload)  # Alertmanager repeats
    assert again.json()["raised"] == ids
    tasks = client.get("/v1/tasks", params={"kind": "alert"}).json()["tasks"]
    assert len(tasks) == 2 and {t["occurrences"] for t in tasks} == {2}
    latency = client.get(f"/v1/tasks/{ids[0]}").json()
    assert latency["key"] == "alert:a1b2c3d4e5f60718"
    assert latency["title"] == "DecisionLatencyHigh: p99 decision latency above 250 ms"
    assert latency["runbook_url"] == runbook
    assert latency["detail"]["labels"]["severity"] == "page"
    assert client.get(f"/v1/tasks/{ids[1]}").json()["runbook_url"] == "docs/runbooks.md#alert"
    # alert tasks are due in 4 hours by default
    due = datetime.fromisoformat(latency["due_at"])
    assert timedelta(hours=3) < due - datetime.now(UTC) <= timedelta(hours=4)


def test_a_resolved_alert_notes_its_task_and_leaves_it_open(client: TestClient) -> None:
    raised = client.post("/v1/tasks/alertmanager", json=_notification(_alert("firing", "abc")))
    [task_id] = raised.json()["raised"]
    resolved = client.post(
        "/v1/tasks/alertmanager",
        json={**_notification(_alert("resolved", "abc"), _alert("resolved", "never-seen"))},
    )
    assert resolved.json() == {"raised": [], "resolved_noted": [task_id]}
    task = client.get(f"/v1/tasks/{task_id}").json()
    assert task["status"] == "open"
    assert task["notes"][0]["actor"] == "alertmanager"
    assert "resolved in Alertmanager (ended 2026-05-01T10:30:00Z)" in task["notes"][0]["text"]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, ["alerts"]),
        ({"alerts": {}}, ["alerts"]),
        ({"alerts": [1]}, ["alerts[0]"]),
        ({"alerts": [{**_alert("firing", "x"), "status": "pending"}]}, ["alerts[0].status"]),
        ({"alerts": [{**_alert("firing", "x"), "fingerprint": ""}]}, ["alerts[0].fingerprint"]),
        ({"alerts": [{**_alert("firing", "x"), "labels": {"a": 1}}]}, ["alerts[0].labels"]),
        ({"alerts": [{**_alert("firing", "x"), "annotations": []}]}, ["alerts[0].annotations"]),
        ({"alerts": [{**_alert("firing", "x"), "startsAt": 5}]}, ["alerts[0].startsAt"]),
        (
            {"alerts": [_alert("firing", "ok"), _alert("firing", "y", runbook_url="ftp://x")]},
            ["alerts[1].annotations.runbook_url"],
        ),
    ],
)
def test_bad_alertmanager_payloads_are_422_and_raise_nothing(
    client: TestClient, payload: dict[str, Any], fields: list[str]
) -> None:
    assert _errors(client.post("/v1/tasks/alertmanager", json=payload)) == fields
    assert client.get("/v1/tasks").json()["tasks"] == []


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``riskloop ...`` in-process; the root logger (which the CLI re-configures) restored."""
    for name in list(os.environ):
        if name.startswith("RISKLOOP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RISKLOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(cli, list(args))

    yield invoke
    root.handlers[:], root.level = handlers, level


def test_tasks_from_the_command_line(run: Any) -> None:
    added = run(
        "tasks",
        "add",
        "screening_hit",
        "Possible match: J. Doe",
        "--key",
        "screen:c1",
        "--owner",
        "ana",
        "--due",
        "2h",
        "--actor",
        "ana",
    )
    assert added.exit_code == 0, added.output
    assert "task #1 open" in added.stdout
    again = run("tasks", "add", "screening_hit", "Possible match: J. Doe", "--key", "screen:c1")
    assert "seen 2 times" in again.stdout
    run(
        "tasks",
        "add",
        "manual",
        "Rotate keys",
        "--due",
        "2020-01-01T00:00:00+00:00",
        "--runbook",
        "https://wiki.example.com/keys",
    )

    listed = run("tasks", "list")
    assert listed.exit_code == 0 and "Possible match" in listed.stdout and "Rotate" in listed.stdout
    overdue = _json_lines(run("tasks", "list", "--overdue", "--json").stdout)
    assert [t["title"] for t in overdue] == ["Rotate keys"]
    mine = _json_lines(
        run("tasks", "list", "--owner", "ana", "--kind", "screening_hit", "--json").stdout
    )
    assert [t["occurrences"] for t in mine] == [2]

    updated = run(
        "tasks",
        "update",
        "1",
        "--status",
        "in_progress",
        "--note",
        "checking",
        "--due",
        "-",
        "--actor",
        "bob",
    )
    assert updated.exit_code == 0, updated.output
    assert "in_progress" in updated.stdout and "bob: checking" in updated.stdout
    shown = run("tasks", "show", "1")
    assert "owner: ana" in shown.stdout and "due: -" in shown.stdout
    done = run("tasks", "done", "1", "--actor", "bob", "--note", "false positive")
    assert done.exit_code == 0 and "task #1 done" in done.stdout
    assert _json_lines(run("tasks", "list", "--status", "done", "--json").stdout)[0]["id"] == 1


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Objects printed one after another (rich pretty-prints each over several lines)."""
    decoder, out, i = json.JSONDecoder(), [], 0
    text = text.strip()
    while i < len(text):
        obj, end = decoder.raw_decode(text, i)
        out.append(obj)
        i = end
        while i < len(text) and text[i].isspace():
            i += 1
    return out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["tasks", "add", "fire", "x"], 2, "kind: one of alert"),
        (["tasks", "add", "manual", ""], 2, "title: must be text"),
        (["tasks", "add", "manual", "x", "--due", "soon"], 2, "--due: a time like"),
        (["tasks", "add", "manual", "x", "--due", "99999999999d"], 2, "--due"),
        (["tasks", "add", "manual", "x", "--runbook", "ftp://x"], 2, "runbook_url: must be"),
        (["tasks", "list", "--status", "closed"], 2, "status: one of open"),
        (["tasks", "show", "0"], 2, ""),
        (["tasks", "show", "42"], 1, "task '42' not found"),
        (["tasks", "update", "42", "--note", "x"], 1, "not found"),
    ],
)
def test_bad_command_lines_exit_cleanly(run: Any, args: list[str], code: int, message: str) -> None:
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_refused_transition_exits_2_naming_the_status(run: Any) -> None:
    run("tasks", "add", "manual", "x")
    run("tasks", "done", "1")
    result = run("tasks", "update", "1", "--status", "in_progress")
    assert result.exit_code == 2 and "status: cannot go from done to in_progress" in result.stderr


def test_a_failed_training_run_leaves_a_job_failure_task(run: Any) -> None:
    trained = run("train", "--cutoff", "2026-01-01", "--author", "cron")
    assert trained.exit_code == 1  # nothing to train on: refused
    [task] = _json_lines(run("tasks", "list", "--kind", "job_failure", "--json").stdout)
    assert task["key"] == "job:train" and task["title"].startswith("Job 'train' failed")
    assert task["detail"]["job"] == "train" and task["detail"]["message"]
    run("train", "--cutoff", "2026-01-01")
    [again] = _json_lines(run("tasks", "list", "--kind", "job_failure", "--json").stdout)
    assert again["occurrences"] == 2


# -- the webhook -----------------------------------------------------------------------------


class Hook:
    """A chat webhook on 127.0.0.1: answers 500 to the first ``fail`` posts, then 200."""

    def __init__(self, fail: int) -> None:
        hook = self
        self.fail = fail
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.received = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(hook.statuses) < hook.fail else 200
                hook.statuses.append(status)
                hook.bodies.append(orjson.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                if status == 200:
                    hook.received.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0KEN-S3CRET"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook(fail=1)
    yield h
    h.close()


@pytest.fixture
def hooked(tmp_path: Path, hook: Hook) -> Iterator[Riskloop]:
    app = build(
        Settings.from_env(
            {"RISKLOOP_DATA_DIR": str(tmp_path / "data"), "RISKLOOP_TASK_WEBHOOK_URL": hook.url}
        )
    )
    yield app
    app.close()


def test_a_failed_delivery_is_retried_later_and_never_leaks(
    hooked: Riskloop, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    assert hooked.notifier is not None
    task = hooked.tasks.raise_task(
        "job_failure",
        f"Import of card {PAN} failed",
        key="job:import",
        detail={"customer": "jo@example.com", "pan": PAN},
        owner="ana",
        actor="cron",
    )
    store = SqlTaskStore(hooked.engine)
    now = task.updated_at + timedelta(seconds=1)
    with caplog.at_level(logging.WARNING):
        assert hooked.notifier.deliver_due(now) == 0
    [failed] = store.notifications(task.id)
    assert (failed.attempts, failed.last_error, failed.delivered_at) == (1, "HTTP 500", None)
    assert failed.next_attempt_at == now + backoff(1)
    assert hooked.notifier.deliver_due(now + timedelta(seconds=1)) == 0  # not yet due
    assert hooked.notifier.deliver_due(now + backoff(1)) == 1
    [delivered] = store.notifications(task.id)
    assert delivered.delivered_at is not None and delivered.attempts == 2
    assert hooked.notifier.deliver_due(now + timedelta(hours=2)) == 0  # delivered once

    assert hook.statuses == [500, 200]
    body = hook.bodies[-1]
    assert body["task"]["id"] == task.id and body["task"]["kind"] == "job_failure"
    assert f"#{task.id}" in body["text"] and "docs/runbooks.md#job-failure" in body["text"]
    sent = json.dumps(hook.bodies)
    for secret in (PAN, "jo@example.com", "ana"):
        assert secret not in sent
    assert "T0KEN-S3CRET" not in caplog.text and "attempt 1 failed (HTTP 500)" in caplog.text
    assert "T0KEN-S3CRET" not in repr(hooked.notifier) + repr(hooked.settings)
    assert hooked.tasks.get(task.id or 0) == task  # delivery never touches the task


def test_an_unreachable_webhook_is_recorded_without_its_url(
    rl: Riskloop, caplog: pytest.LogCaptureFixture
) -> None:
    class Url:
        def get(self) -> str:
            return "http://127.0.0.1:9/hooks/T0KEN-S3CRET"  # discard port: refused

    store = SqlTaskStore(rl.engine)
    notifier = WebhookNotifier(store, Url(), timeout_s=2, max_attempts=2)
    task = rl.tasks.raise_task("alert", "x", key="alert:u", actor="a")
    t = task.updated_at
    assert notifier.deliver_due(t) == 0
    assert notifier.deliver_due(t + timedelta(hours=1)) == 0
    [note] = store.notifications(task.id)
    assert note.attempts == 2 and note.last_error and "URLError" in note.last_error
    assert "T0KEN" not in note.last_error and "T0KEN" not in caplog.text
    assert "giving up" in caplog.text
    assert notifier.deliver_due(t + timedelta(days=1)) == 0  # exhausted: left alone


def test_the_server_delivers_notifications_while_it_runs(hooked: Riskloop, hook: Hook) -> None:
    hook.fail = 0
    with AdminClient(create_app(hooked)) as client:
        r = client.post("/v1/tasks", json=_task(key="job:live"))
        assert r.status_code == 201
        assert hook.received.wait(10), "the notifier did not deliver"
    assert hook.bodies[0]["task"]["id"] == r.json()["id"]
    assert hooked.notifier is not None and hooked.notifier._thread is None  # stopped


@pytest.mark.parametrize("url", ["ftp://example.com/x", "hooks.example.com/x", "http://"])
def test_the_webhook_setting_must_be_an_http_url(url: str) -> None:
    from riskloop.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"RISKLOOP_TASK_WEBHOOK_URL": url})
    assert caught.value.variable == "RISKLOOP_TASK_WEBHOOK_URL"
    assert "example.com" not in str(caught.value)


def test_a_webhook_url_stays_secret_in_settings() -> None:
    s = Settings.from_env({"RISKLOOP_TASK_WEBHOOK_URL": "https://hooks.example.com/T0KEN"})
    assert s.task_webhook_url is not None
    assert s.task_webhook_url.get() == "https://hooks.example.com/T0KEN"
    assert "T0KEN" not in repr(s)
    assert Settings.from_env({}).task_webhook_url is None


def test_notifier_start_is_idempotent_and_stop_joins(hooked: Riskloop) -> None:
    notifier = hooked.notifier
    assert notifier is not None
    notifier.start()
    thread = notifier._thread
    notifier.start()
    assert notifier._thread is thread
    notifier.stop()
    assert thread is not None and not thread.is_alive()


def test_only_alerts_and_failed_jobs_send_their_title() -> None:
    tasks = TaskService(MemoryTaskStore())
    hit = tasks.raise_task("screening_hit", "Possible match: Jane Doe", key="s:1", actor="s")
    alert = tasks.raise_task("alert", "DiskFull: 95 %", key="a:1", actor="am")
    assert "Jane" not in json.dumps(payload(hit, "created"))
    assert payload(hit, "created")["task"]["title"] is None
    assert payload(alert, "reopened")["text"].startswith(
        f"[riskloop] alert task #{alert.id} re-opened: DiskFull: 95 %"
    )


def test_a_notification_without_its_task_is_not_retried_forever() -> None:
    class Orphans(MemoryTaskStore):
        def get(self, task_id: int) -> Task | None:
            return None

    store = Orphans()
    TaskService(store).raise_task("alert", "x", key="a", actor="a")

    class Url:
        def get(self) -> str:
            return "http://127.0.0.1:9/x"

    notifier = WebhookNotifier(store, Url())
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert notifier.deliver_due(now) == 0
    [note] = store.notifications()
    assert note.last_error == "task not found" and note.next_attempt_at > now + timedelta(days=365)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://", "ftp://x/y"])
def test_the_notifier_refuses_a_non_http_url(url: str) -> None:
    class Url:
        def get(self) -> str:
            return url

    with pytest.raises(ValueError, match="http"):
        WebhookNotifier(MemoryTaskStore(), Url())
