"""The stream worker's circuit breaker: opens on a run of outage failures over different
messages, pauses, lets one probe through, doubles the pause on a failed probe, and closes on
a success. A single message failing on its own never opens it."""

from __future__ import annotations

import pytest

from riskloop.service.breaker import OutageBreaker, State


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_run_of_failures_over_different_messages_opens_it_and_stops_the_fetches() -> None:
    clock = Clock()
    b = OutageBreaker(threshold=3, first_pause=1.0, max_pause=4.0, clock=clock)
    assert b.allowance(8, 0) == (8, 0.0)
    assert not b.failed("m1") and not b.failed("m2")
    assert b.failed("m3")  # the third in a row
    assert b.state is State.OPEN and not b.closed
    assert b.allowance(8, 5) == (0, 1.0)
    assert not b.failed("m4")  # in flight when it opened: no longer pause
    clock.now += 1.0
    assert b.state is State.HALF_OPEN
    assert b.allowance(8, 1) == (0, 0.05)  # the probe waits for what is in flight
    assert b.allowance(8, 0) == (1, 0.0)  # one probe
    assert b.failed("m1")  # the probe failed: twice the pause
    assert b.allowance(8, 0) == (0, 2.0)
    clock.now += 2.0
    assert b.failed("m1")
    clock.now += 4.0
    assert b.failed("m1")
    assert b.pause == 4.0  # at most max_pause
    assert (b.opened, b.paused_seconds) == (4, 1.0 + 2.0 + 4.0 + 4.0)
    clock.now += 4.0
    b.succeeded()
    assert b.closed and b.pause == 1.0
    assert b.allowance(8, 0) == (8, 0.0)


def test_one_message_failing_alone_never_opens_it() -> None:
    b = OutageBreaker(threshold=3, clock=Clock())
    for _ in range(10):
        assert not b.failed("poison")
    assert b.closed


def test_a_success_between_failures_starts_the_run_again() -> None:
    b = OutageBreaker(threshold=3, clock=Clock())
    for key in ("a", "b", "ok", "c", "d", "ok", "e"):
        if key == "ok":
            b.succeeded()
        else:
            assert not b.failed(key)
    assert b.closed


def test_a_threshold_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        OutageBreaker(threshold=1)
