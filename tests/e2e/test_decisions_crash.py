"""``kill -9`` of the server under decision load: every decision a client received is in
the ledger afterwards, unchanged, with its event; a retry after the restart returns the
same decision instead of deciding again."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from riskloop.bootstrap import build
from riskloop.config import Settings
from tests.support.factories import PANS, card_payment
from tests.support.http import cli_key

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
PLAYBOOK = Path(__file__).parents[2] / "examples" / "playbook.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update(RISKLOOP_DATA_DIR=str(settings.data_dir), RISKLOOP_PORT=str(port))
    proc = subprocess.Popen([RISKLOOP, "serve"], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    proc.kill()
    raise AssertionError("server did not start")


def _post(
    conn: http.client.HTTPConnection, body: dict[str, Any], key: str
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    conn.request("POST", "/v1/decisions", json.dumps(body), headers)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def test_every_answered_decision_survives_kill_9(settings: Settings) -> None:
    setup = subprocess.run(
        [RISKLOOP, "rules", "load", str(PLAYBOOK), "--author", "crash-test"],
        env={**os.environ, "RISKLOOP_DATA_DIR": str(settings.data_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert setup.returncode == 0, setup.stderr
    key = cli_key({**os.environ, "RISKLOOP_DATA_DIR": str(settings.data_dir)})
    port = _free_port()
    proc = _start(settings, port)
    answered: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            send(conn, worker)
        finally:
            conn.close()

    def send(conn: http.client.HTTPConnection, worker: int) -> None:
        i = 0
        while not stop.is_set():
            event = card_payment(
                event_id=f"kill-{worker}-{i}",
                card={"pan": PANS[i % len(PANS)], "country": "DE"},
                amount=100 + i,
            )
            i += 1
            try:
                status, body = _post(conn, event, key)
            except (OSError, http.client.HTTPException, ValueError):
                return  # the server died mid-request: that one was not answered
            assert status == 201, body
            with lock:
                answered[body["event_id"]] = body

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(answered) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: requests are in flight
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(answered) >= 150

    rl = build(settings)
    try:
        for event_id, body in answered.items():
            stored = rl.ledger.for_event(event_id)
            assert stored is not None, f"answered decision for {event_id} lost"
            assert stored.decision_id == body["decision_id"]
            assert stored.outcome.value == body["outcome"]
            assert list(stored.reasons) == body["reasons"]
            assert rl.events.get(event_id) is not None
        # No event has two decisions; the ledger holds at most what was sent.
        everything = rl.ledger.scan(limit=100_000)
        assert len({d.event_id for d in everything}) == len(everything)
    finally:
        rl.close()

    proc = _start(settings, port)  # restart: a retry gets the decision it never saw, once
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        some = next(iter(answered.values()))
        retry = card_payment(
            event_id=some["event_id"],
            card={
                "pan": PANS[int(some["event_id"].rsplit("-", 1)[1]) % len(PANS)],
                "country": "DE",
            },
            amount=100 + int(some["event_id"].rsplit("-", 1)[1]),
        )
        status, body = _post(conn, retry, key)
        conn.close()
        assert status == 200
        assert body["replayed"] is True
        assert body["decision_id"] == some["decision_id"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
