"""Group commit: each caller gets its own result, concurrent callers share batches, a
failed batch fails exactly its callers, and a lone caller commits on its own thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from riskloop.adapters.sql.group_commit import GroupCommit


class Writer:
    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.threads: list[int] = []
        self.fail_on = fail_on
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.gate.wait()
        self.batches.append(list(items))
        self.threads.append(threading.get_ident())
        if self.fail_on is not None and self.fail_on in items:
            raise OSError("disk full")
        return [i * 10 for i in items]


def test_a_lone_caller_commits_inline() -> None:
    writer = Writer()
    group = GroupCommit(writer)
    assert group.submit(4) == 40
    assert writer.batches == [[4]]
    assert writer.threads == [threading.get_ident()]


def test_concurrent_callers_share_batches_and_get_their_own_results() -> None:
    writer = Writer()
    group = GroupCommit(writer)
    writer.gate.clear()  # hold the first commit so the others queue up behind it
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(group.submit, i) for i in range(200)]
        deadline = time.monotonic() + 10
        while len(group._pending) < 10 and time.monotonic() < deadline:
            time.sleep(0.001)  # until callers queue behind the held commit
        writer.gate.set()
        results = [f.result(timeout=10) for f in futures]
    assert results == [i * 10 for i in range(200)]
    assert sorted(i for b in writer.batches for i in b) == list(range(200))
    assert max(len(b) for b in writer.batches) >= 10  # queued callers shared a commit


def test_a_failed_batch_fails_its_callers_and_the_next_one_works() -> None:
    writer = Writer(fail_on=3)
    group = GroupCommit(writer)
    with pytest.raises(OSError, match="disk full"):
        group.submit(3)
    assert group.submit(5) == 50
