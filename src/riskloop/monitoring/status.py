"""The verdict of a check: ``ok``, ``warn``, ``alert``, or ``insufficient_data`` when there
was too little to judge (never an alert: a quiet night is not a drift).

>>> worst([Status.OK, Status.INSUFFICIENT_DATA, Status.WARN])
<Status.WARN: 'warn'>
>>> worst([Status.INSUFFICIENT_DATA]), worst([])
(<Status.INSUFFICIENT_DATA: 'insufficient_data'>, <Status.OK: 'ok'>)
>>> Status.INSUFFICIENT_DATA.stored
'ok'
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    ALERT = "alert"
    INSUFFICIENT_DATA = "insufficient_data"

    @property
    def stored(self) -> str:
        """The status a stored report carries (``ok``, ``warn`` or ``alert``)."""
        return "ok" if self is Status.INSUFFICIENT_DATA else self.value


_RANK = {Status.INSUFFICIENT_DATA: 0, Status.OK: 1, Status.WARN: 2, Status.ALERT: 3}


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status; ``insufficient_data`` only when nothing could be judged."""
    found = list(statuses)
    return max(found, key=_RANK.__getitem__) if found else Status.OK


def graded(value: float | None, warn: float | None, alert: float | None) -> Status:
    """``alert`` at or above ``alert``, ``warn`` at or above ``warn`` (None: never).

    >>> graded(0.3, 0.1, 0.25), graded(0.12, 0.1, 0.25), graded(None, 0.1, 0.25)
    (<Status.ALERT: 'alert'>, <Status.WARN: 'warn'>, <Status.OK: 'ok'>)
    """
    if value is None:
        return Status.OK
    if alert is not None and value >= alert:
        return Status.ALERT
    if warn is not None and value >= warn:
        return Status.WARN
    return Status.OK
