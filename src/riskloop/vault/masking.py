"""Masking for anything a person may read: logs, error messages, CLI output.

>>> mask_text("card 4111 1111 1111 1111 by ada@example.com")
'card 411111******1111 by a***@example.com'
>>> mask_text("order 1234567890123")
'order 1234567890123'
"""

from __future__ import annotations

import logging
import re

from riskloop.domain.cards import luhn_valid

# A run of digits, optionally grouped by single spaces or dashes ("2 4111 1111 1111 1111").
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_pan(pan: str) -> str:
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def _card_spans(groups: list[str]) -> list[tuple[int, int]]:
    """(first, last) group indexes of each card number in a run, left to right.

    A card number may share its run with other numbers ("qty 2 4111 1111 1111 1111"), so
    every span of whole groups with 13-19 digits is tried. An unbroken run of more than 19
    digits is a different number (a trace id), not searched for windows: nearly every such
    run holds some Luhn-valid window, and masking them all would garble every long id."""
    spans: list[tuple[int, int]] = []
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
            spans.append(found)
            i = found[1] + 1
        else:
            i += 1
    return spans


def _mask_run(m: re.Match[str]) -> str:
    text = m.group(0)
    if sum(c.isdigit() for c in text) < 13:
        return text
    parts = re.split(r"([ -])", text)  # groups at even indexes, separators at odd
    groups = parts[0::2]
    for first, last in _card_spans(groups):
        # The card number becomes one masked token; its inner separators go.
        parts[2 * first] = mask_pan("".join(groups[first : last + 1]))
        for k in range(2 * first + 1, 2 * last + 1):
            parts[k] = ""
    return "".join(parts)


def mask_text(text: str) -> str:
    return _EMAIL.sub(r"\1***@\2", _DIGIT_RUN.sub(_mask_run, text))


class MaskingFilter(logging.Filter):
    """Masks PANs and e-mail addresses in every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text is formatted later by the handler; mask it now instead.
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
