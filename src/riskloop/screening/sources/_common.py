"""What the list parsers share: reading a file whatever its encoding, the error that names
file and line, and the date / identifier helpers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from riskloop.errors import FieldError, InvalidInput
from riskloop.screening.normalize import normalize_identifier


def bad(path: Path, where: int | str, reason: str) -> InvalidInput:
    """The parse error of every list format: ``field`` is ``FILE:LINE`` (or ``FILE:RECORD``)."""
    return InvalidInput([FieldError(f"{path}:{where}", reason)])


def read_text(path: Path) -> str:
    """The file as text: UTF-8 when it is, else Windows-1252 (OFAC's legacy files), with the
    DOS end-of-file mark (Ctrl-Z) some of them end with removed."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise bad(path, 0, "no such file") from None
    except OSError as exc:
        raise bad(path, 0, f"cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.rstrip("\x1a\r\n \t") + "\n"


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """Non-empty values, first occurrence kept, order kept."""
    return tuple(dict.fromkeys(v for v in values if v))


def identifier(value: str) -> str:
    """A document number as matched (upper-case alphanumerics), or "" when it has no digit
    or is too short to identify anyone."""
    v = normalize_identifier(value)
    return v if len(v) >= 4 and any(c.isdigit() for c in v) else ""


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DATE = re.compile(r"^(?:(\d{1,2})\s+)?(?:([A-Za-z]{3})[A-Za-z]*\.?\s+)?(\d{4})$")
_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
MAX_RANGE_YEARS = 10  # "DOB 1960 to 1965" lists every year; wider ranges keep their ends


def date_prefix(text: str) -> str | None:
    """ "15 Jan 1970" / "Jan 1970" / "1970" / "1970-01-15" -> "1970-01-15" / "1970-01" /
    "1970" / "1970-01-15"; None when it is not a date."""
    text = text.strip().rstrip(".")
    iso = _ISO.match(text[:10])
    if iso:
        y, m, d = iso.groups()
        if (m and not 1 <= int(m) <= 12) or (d and not 1 <= int(d) <= 31):
            return None
        return "-".join(x for x in (y, m, d) if x)
    match = _DATE.match(text)
    if not match:
        return None
    day, month, year = match.groups()
    if month is None:
        return year if day is None else None
    num = _MONTHS.get(month.casefold())
    if num is None:
        return None
    if day is None:
        return f"{year}-{num:02d}"
    return f"{year}-{num:02d}-{int(day):02d}" if 1 <= int(day) <= 31 else None


def year_range(first: int, last: int) -> list[str]:
    if last < first:
        first, last = last, first
    if last - first <= MAX_RANGE_YEARS:
        return [str(y) for y in range(first, last + 1)]
    return [str(first), str(last)]
