"""Reading query strings and form posts: every value is checked here, and every problem is
collected with its field name, so a page can show all of them beside their inputs (a 422,
never a 500)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import Request

from riskloop.errors import FieldError, InvalidInput


class _Values(Protocol):
    """A query string or a posted form (both have ``getlist`` for repeated names)."""

    def get(self, key: str, /) -> Any: ...
    def getlist(self, key: str, /) -> list[Any]: ...


class Fields:
    """Values by name (a query string or a form), checked one by one; ``done()`` raises
    every problem found at once.

    >>> f = Fields({"limit": "x", "outcome": "review"})
    >>> f.choice("outcome", ("approve", "review")), f.integer("limit", 1, 10, default=5)
    ('review', 5)
    >>> f.done()
    Traceback (most recent call last):
    ...
    riskloop.errors.InvalidInput: limit: a whole number from 1 to 10
    """

    def __init__(self, values: _Values | Mapping[str, str]) -> None:
        self.values = values
        self.errors: list[FieldError] = []

    def fail(self, name: str, reason: str) -> None:
        self.errors.append(FieldError(name, reason))

    def raw(self, name: str) -> str:
        value = self.values.get(name)
        return value.strip() if isinstance(value, str) else ""

    def many(self, name: str) -> list[str]:
        getlist = getattr(self.values, "getlist", None)
        found = getlist(name) if getlist is not None else [self.values.get(name)]
        return [v.strip() for v in found if isinstance(v, str) and v.strip()]

    def text(self, name: str, most: int, *, required: bool = False) -> str:
        value = self.raw(name)
        if required and not value:
            self.fail(name, "required")
        elif len(value) > most:
            self.fail(name, f"at most {most} characters")
            return ""
        return value

    def choice(self, name: str, options: Iterable[str]) -> str | None:
        value = self.raw(name)
        allowed = tuple(options)
        if not value:
            return None
        if value not in allowed:
            self.fail(name, f"one of {', '.join(allowed)}")
            return None
        return value

    def integer(self, name: str, least: int, most: int, *, default: int) -> int:
        value = self.raw(name)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            number = least - 1
        if not least <= number <= most:
            self.fail(name, f"a whole number from {least} to {most}")
            return default
        return number

    def moment(self, name: str) -> datetime | None:
        """A date and time: ISO 8601 with a timezone, or as a browser's ``datetime-local``
        input sends it (``2026-11-01T12:00``), which the dashboard shows and reads as UTC."""
        value = self.raw(name)
        if not value:
            return None
        try:
            found = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(name, "a date and time, e.g. 2026-11-01T12:00 (UTC)")
            return None
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


async def form_fields(request: Request) -> Fields:
    """The posted form (urlencoded, as htmx sends it)."""
    return Fields(await request.form())


def query_fields(request: Request) -> Fields:
    return Fields(request.query_params)


def local_input(moment: datetime | None) -> str:
    """A time as a ``datetime-local`` input's value (UTC, to the minute).

    >>> local_input(datetime(2026, 11, 1, 12, 30, tzinfo=UTC))
    '2026-11-01T12:30'
    """
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
