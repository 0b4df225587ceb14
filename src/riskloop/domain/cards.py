"""Card numbers: the Luhn check digit, used to recognise a PAN at the edge and in logs.

>>> luhn_valid("4111111111111111")
True
>>> luhn_valid("4111111111111112")
False
"""

from __future__ import annotations


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
