"""Task notifications delivered to a chat webhook (Slack, Mattermost, anything that takes
``{"text": ...}``), drained from the outbox the task store writes.

Delivery is at least once: a notification is marked delivered only after a 2xx answer, so a
crash between sending and marking sends it again. A failed attempt is recorded with its
error and retried after an exponential backoff (2^attempts seconds, at most an hour) until
``max_attempts``; it never changes the task. The payload names the task, its kind, status,
due time and runbook — never its detail, owner or notes — and the webhook URL (a secret: it
carries the token) is never logged or recorded. Titles go out only for alerts and failed
jobs (a screening hit's title may name a customer).
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson

from riskloop.cases.tasks import NotificationOutbox, Task, TaskKind, TaskNotification
from riskloop.vault import mask_text

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 3600
_TITLED = frozenset({TaskKind.ALERT, TaskKind.JOB_FAILURE})
LEASE = timedelta(minutes=2)  # longer than one delivery can take (timeout_s per row)


class SecretUrl(Protocol):
    """A URL that shows only through ``get`` (``riskloop.config.Secret``)."""

    def get(self) -> str: ...


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt.

    >>> [int(backoff(n).total_seconds()) for n in (1, 2, 5, 12, 40)]
    [2, 4, 32, 3600, 3600]
    """
    return timedelta(seconds=min(2 ** min(attempts, 32), MAX_BACKOFF_S))


def payload(task: Task, event: str) -> dict[str, Any]:
    """The message: what a person needs to pick the task up, and nothing personal. Only
    tasks about machines (alerts, failed jobs) carry their title; a screening hit's or a
    case's title may name a customer, so those say only which task to open."""
    verb = "re-opened" if event == "reopened" else "opened"
    title = task.title if task.kind in _TITLED else None
    due = f", due {task.due_at:%Y-%m-%d %H:%M} UTC" if task.due_at else ""
    runbook = f" — runbook: {task.runbook_url}" if task.runbook_url else ""
    what = f": {title}" if title else ""
    return {
        "text": f"[riskloop] {task.kind.value} task #{task.id} {verb}{what}{due}{runbook}",
        "task": {
            "id": task.id,
            "event": event,
            "kind": task.kind.value,
            "title": title,
            "status": task.status.value,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "runbook_url": task.runbook_url,
            "occurrences": task.occurrences,
        },
    }


class WebhookNotifier:
    """Drains ``store``'s outbox to ``url``: :meth:`deliver_due` makes one pass;
    :meth:`start` runs passes on a daemon thread every ``poll_s`` until :meth:`stop`."""

    def __init__(
        self,
        store: NotificationOutbox,
        url: SecretUrl,
        *,
        timeout_s: float = 5,
        max_attempts: int = 8,
        poll_s: float = 1.0,
        batch: int = 50,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        parts = urlsplit(url.get())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the webhook URL must be an http:// or https:// URL")
        if max_attempts < 1 or timeout_s <= 0:
            raise ValueError("max_attempts and timeout_s must be positive")
        self.store = store
        self.url = url
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.poll_s = poll_s
        self.batch = batch
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _post(self, body: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310  # http(s) only, checked in __init__
            self.url.get(),
            data=orjson.dumps(body),
            headers={"Content-Type": "application/json", "User-Agent": "riskloop"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
            response.read()

    def _error(self, exc: Exception) -> str:
        """The failure in words that never hold the URL (its path is often the token)."""
        if isinstance(exc, urllib.error.HTTPError):
            words = f"HTTP {exc.code}"
        elif isinstance(exc, urllib.error.URLError):
            words = f"URLError: {exc.reason}"
        else:
            words = f"{type(exc).__name__}: {exc}"
        return mask_text(words.replace(self.url.get(), "<webhook>"))[:500]

    def deliver_one(self, note: TaskNotification, now: datetime) -> bool:
        task = self.store.get(note.task_id)
        if task is None:  # cannot happen (same transaction); do not retry forever
            self.store.mark_failed(note.id, "task not found", now + timedelta(days=3650))
            return False
        try:
            self._post(payload(task, note.event))
        except Exception as exc:  # any failure is a failed attempt, retried later
            error = self._error(exc)
            wait = backoff(note.attempts + 1)
            self.store.mark_failed(note.id, error, now + wait)
            last = note.attempts + 1 >= self.max_attempts
            log.warning(
                "task %s notification attempt %d failed (%s); %s",
                note.task_id,
                note.attempts + 1,
                error,
                "giving up" if last else f"retrying in {int(wait.total_seconds())} s",
            )
            return False
        self.store.mark_delivered(note.id, self.clock())
        return True

    def deliver_due(self, now: datetime | None = None) -> int:
        """One pass over the notifications due at ``now``; how many were delivered."""
        now = now or self.clock()
        claimed = self.store.claim_due(now, now + LEASE, self.max_attempts, self.batch)
        return sum(self.deliver_one(note, now) for note in claimed)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.deliver_due()
            except Exception:  # the store may be down; the next pass retries
                log.exception("task notification pass failed")

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="task-notifier", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def __repr__(self) -> str:
        return f"WebhookNotifier(url={self.url!r})"
