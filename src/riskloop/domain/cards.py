"""Card numbers: the Luhn check digit, used to recognise a PAN at the edge and in logs.

>>> luhn_valid("4111111111111111")
True
>>> luhn_valid("4111111111111112")
False
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A run of digits, optionally grouped by single spaces or dashes ("2 4111 1111 1111 1111").
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_SEPARATOR = re.compile(r"[ -]")


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _group_spans(groups: list[str]) -> Iterator[tuple[int, int]]:
    """(first, last) group indexes of each card number in a run, left to right."""
    i = 0
    while i < len(groups):
        found = None
        total = 0
        for j in range(i, len(groups)):
            total += len(groups[j])
            if total > 19:
                break
            if total >= 13 and luhn_valid("".join(groups[i : j + 1])):
                found = (i, j)
        if found:
            yield found
            i = found[1] + 1
        else:
            i += 1


def card_numbers(text: str) -> list[tuple[int, int, str]]:
    """Where card numbers stand in ``text``: (start, end, digits) for each.

    A card number is 13-19 digits passing the Luhn check, possibly grouped by spaces or
    dashes, and may share a run with other numbers ("qty 2 4111 1111 1111 1111"), so every
    span of whole groups is tried. An unbroken run of more than 19 digits is a different
    number (a trace id), not searched for windows: nearly every such run holds some
    Luhn-valid window.

    >>> card_numbers("qty 2 4111 1111 1111 1111, order 1234567890123")
    [(6, 25, '4111111111111111')]
    """
    found: list[tuple[int, int, str]] = []
    for run in _DIGIT_RUN.finditer(text):
        chunk = run.group(0)
        if sum(c.isdigit() for c in chunk) < 13:
            continue
        groups, starts, pos = [], [], 0
        for piece in _SEPARATOR.split(chunk):
            starts.append(pos)
            groups.append(piece)
            pos += len(piece) + 1
        for first, last in _group_spans(groups):
            start = run.start() + starts[first]
            end = run.start() + starts[last] + len(groups[last])
            found.append((start, end, "".join(groups[first : last + 1])))
    return found
