"""Masking for anything a person may read: logs, error messages, CLI output.

>>> mask_text("card 4111 1111 1111 1111 by ada@example.com")
'card 411111******1111 by a***@example.com'
>>> mask_text("order 1234567890123")
'order 1234567890123'
"""

from __future__ import annotations

import logging
import re

from riskloop.domain.cards import card_numbers

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_pan(pan: str) -> str:
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def mask_cards(text: str) -> str:
    """Every card number in ``text`` (see :func:`riskloop.domain.cards.card_numbers`) masked
    to its first six and last four digits, its separators dropped."""
    spans = card_numbers(text)
    if not spans:
        return text
    out, pos = [], 0
    for start, end, digits in spans:
        out += [text[pos:start], mask_pan(digits)]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def mask_text(text: str) -> str:
    return _EMAIL.sub(r"\1***@\2", mask_cards(text))


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
