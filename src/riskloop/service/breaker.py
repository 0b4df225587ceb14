"""A circuit breaker for the stream worker: stop fetching while a shared service is down.

Without it a worker keeps taking messages during an outage, fails each one fast and
naks it, and every message's delivery count runs up until it is dead-lettered: a Redis or
PostgreSQL outage longer than the retry schedule (about 15 s by default) dead-lettered
the backlog. With it:

- **closed**: fetch as usual. An *outage failure* (the database, Redis or the bus; not a
  bad message) is noted by the message it happened to; a success clears the run.
- **open**: ``threshold`` outage failures in a row, over at least two different messages,
  open it. Nothing is fetched for ``pause`` seconds; the messages in flight fail and are
  naked as usual, but none is dead-lettered for an outage while the breaker is not closed.
- **half-open**: after the pause one message is let through as a probe. Its success
  closes the breaker; its outage failure opens it again for twice the pause (at most
  ``max_pause``).

One message failing again and again on its own (a poison message whose failure looks
like an outage) never opens it: the run needs two different messages, so such a message
is still dead-lettered after ``dead_after`` deliveries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class OutageBreaker:
    def __init__(
        self,
        *,
        threshold: int = 3,
        first_pause: float = 1.0,
        max_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 2:
            raise ValueError("threshold must be at least 2")
        self.threshold = threshold
        self.first_pause = max(first_pause, 0.01)
        self.max_pause = max(max_pause, self.first_pause)
        self.clock = clock
        self.pause = self.first_pause
        self.opened = 0  # times it opened: each is an outage seen
        self.paused_seconds = 0.0
        self._state = State.CLOSED
        self._run: list[str] = []  # the messages of the current run of outage failures
        self._until = 0.0

    @property
    def state(self) -> State:
        if self._state is State.OPEN and self.clock() >= self._until:
            self._state = State.HALF_OPEN
        return self._state

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    def allowance(self, free: int, in_flight: int) -> tuple[int, float]:
        """How many messages to fetch now (at most ``free``) and, when none, how long to
        wait before asking again."""
        state = self.state
        if state is State.CLOSED:
            return free, 0.0
        if state is State.OPEN:
            return 0, self._until - self.clock()
        return (1, 0.0) if in_flight == 0 else (0, 0.05)  # one probe at a time

    def failed(self, message: str) -> bool:
        """Note an outage failure of ``message`` (a key that tells messages apart); True if
        the breaker opened on it."""
        if self._state is not State.CLOSED:
            if self.state is State.HALF_OPEN:  # the probe failed: pause longer
                self.pause = min(self.pause * 2, self.max_pause)
                self._open()
                return True
            return False
        self._run.append(message)
        if len(self._run) >= self.threshold and len(set(self._run)) >= 2:
            self._open()
            return True
        return False

    def succeeded(self) -> None:
        self._run.clear()
        if self._state is not State.CLOSED:
            self._state = State.CLOSED
            self.pause = self.first_pause

    def _open(self) -> None:
        self._run.clear()
        self._state = State.OPEN
        self._until = self.clock() + self.pause
        self.opened += 1
        self.paused_seconds += self.pause
