"""Time-based splits: train on the past, leave a gap, test on a later window.

A random split would let the model see the same cards, merchants and fraud campaigns on both
sides and overstate what it will do next week. The gap keeps the last training events (whose
labels were the least mature) away from the test window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskloop.errors import FieldError, InvalidInput

DAY_MS = 86_400_000


@dataclass(frozen=True)
class TimeSplit:
    train: np.ndarray  # boolean masks over the rows
    test: np.ndarray
    train_end_ms: int
    test_start_ms: int
    test_end_ms: int


def time_split(
    occurred_ms: np.ndarray, y: np.ndarray, *, test_days: float, gap_days: float
) -> TimeSplit:
    """The last ``test_days`` of the data are the test window; ``gap_days`` before it are
    left out; everything earlier trains."""
    if test_days <= 0 or gap_days < 0:
        raise InvalidInput([FieldError("test_days", "test days must be > 0 and gap days >= 0")])
    if len(occurred_ms) == 0:
        raise InvalidInput([FieldError("cutoff", "no events old enough to train on")])
    end = int(occurred_ms.max()) + 1
    test_start = end - int(test_days * DAY_MS)
    train_end = test_start - int(gap_days * DAY_MS)
    test = occurred_ms >= test_start
    train = occurred_ms < train_end
    for name, mask in (("train", train), ("test", test)):
        if not mask.any():
            raise InvalidInput([FieldError("test_days", f"the {name} window holds no events")])
        if not y[mask].any() or y[mask].all():
            raise InvalidInput(
                [FieldError("cutoff", f"the {name} window needs both fraud and good labels")]
            )
    return TimeSplit(train, test, train_end, test_start, end)
