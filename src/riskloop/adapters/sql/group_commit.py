"""Group commit: concurrent writers share one transaction (one fsync) instead of queueing
for one each. No background thread: the first caller to arrive leads, commits everything
pending, and hands leadership to a waiting caller once its own item is durable — so a lone
caller commits inline, and under load a commit carries every request that arrived during
the previous one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class _Slot(Generic[In, Out]):
    __slots__ = ("done", "error", "item", "promoted", "result")

    def __init__(self, item: In) -> None:
        self.item = item
        self.done = threading.Event()
        self.promoted = False
        self.result: Out | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[In, Out]):
    def __init__(self, write: Callable[[Sequence[In]], Sequence[Out]], *, max_batch: int = 256):
        self._write = write  # one transaction for the batch; results in the same order
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Slot[In, Out]] = []
        self._leading = False

    def submit(self, item: In) -> Out:
        slot: _Slot[In, Out] = _Slot(item)
        with self._lock:
            self._pending.append(slot)
            lead = not self._leading
            self._leading = True
        if not lead:
            slot.done.wait()
            if not slot.promoted:
                return self._outcome(slot)
        while not slot.done.is_set() or slot.promoted:
            slot.promoted = False
            with self._lock:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
            self._commit(batch)
        with self._lock:
            if self._pending:
                nxt = self._pending[0]
                nxt.promoted = True
                nxt.done.set()
            else:
                self._leading = False
        return self._outcome(slot)

    def _commit(self, batch: list[_Slot[In, Out]]) -> None:
        try:
            results = self._write([s.item for s in batch])
        except BaseException as exc:  # every waiter must wake up, with the error
            for s in batch:
                s.error = exc
                s.done.set()
            return
        for s, r in zip(batch, results, strict=True):
            s.result = r
            s.done.set()

    @staticmethod
    def _outcome(slot: _Slot[In, Out]) -> Out:
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result
