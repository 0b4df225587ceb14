"""Masking what a person reads: Luhn-valid card numbers and e-mail addresses, in text and in
every log record (message, arguments and traceback)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from riskloop.vault.masking import MaskingFilter, mask_pan, mask_text

PAN = "4111111111111111"
MASKED = "411111******1111"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"card {PAN}", f"card {MASKED}"),
        ("card 4111 1111 1111 1111 ok", f"card {MASKED} ok"),
        ("card 4111-1111-1111-1111.", f"card {MASKED}."),
        ("amex 378282246310005", "amex 378282*****0005"),
        ("mc=5555555555554444,visa=4012888888881881", "mc=555555******4444,visa=401288******1881"),
        (f"{PAN} then 2024", f"{MASKED} then 2024"),
        (f"2024 {PAN}", f"2024 {MASKED}"),
    ],
)
def test_masks_luhn_valid_pans(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567890123",  # 13 digits, fails Luhn
        "order 4111111111111112",  # one digit off
        "phone 0049 30 1234 5678 9",
        "short 411111111111",  # 12 digits: too short to be a PAN
        "ref 41111111111111111111",  # 20 digits: longer than any PAN
        "a1b2c3",
    ],
)
def test_leaves_digit_runs_that_are_not_pans(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize("text", [f"qty 2 {PAN}", "retry 12 4111 1111 1111 1111"])
def test_masks_a_pan_that_follows_a_short_number(text: str) -> None:
    assert PAN not in mask_text(text).replace(" ", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from ada@example.com", "from a***@example.com"),
        ("Ada.Lovelace+risk@mail.example.co.uk!", "A***@mail.example.co.uk!"),
        ("two: a@b.io, bob@example.org", "two: a***@b.io, b***@example.org"),
    ],
)
def test_masks_email_addresses(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_leaves_text_without_pans_or_emails_alone() -> None:
    assert mask_text("declined: velocity 5 in 1h @ merchant") == (
        "declined: velocity 5 in 1h @ merchant"
    )


def test_mask_pan_keeps_bin_and_last_four() -> None:
    assert mask_pan(PAN) == MASKED
    assert mask_pan("4111111111111111111") == "411111*********1111"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("riskloop.tests.masking")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    masking = MaskingFilter()
    logger.addFilter(masking)
    yield logger, stream
    logger.removeFilter(masking)
    logger.removeHandler(handler)
    logger.propagate = True


def test_masks_pan_in_log_args(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("charging %s for %d", PAN, 4599)
    assert stream.getvalue() == f"INFO charging {MASKED} for 4599\n"


def test_masks_pan_and_email_in_log_message(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.warning("card 4111 1111 1111 1111 of ada@example.com")
    assert stream.getvalue() == f"WARNING card {MASKED} of a***@example.com\n"


def test_masks_pan_in_exception_traceback(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    try:
        raise ValueError(f"bad card {PAN} for ada@example.com")
    except ValueError:
        logger.exception("import failed")
    out = stream.getvalue()
    assert PAN not in out
    assert "ada@example.com" not in out
    assert f"ValueError: bad card {MASKED} for a***@example.com" in out
    assert out.startswith("ERROR import failed\nTraceback (most recent call last):")


def test_leaves_a_clean_record_unchanged(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.debug("batch of %d events in %.1f ms", 3, 1.25)
    assert stream.getvalue() == "DEBUG batch of 3 events in 1.2 ms\n"


def test_the_filter_never_drops_a_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "pan %s", (PAN,), None)
    assert MaskingFilter().filter(record) is True
    assert record.getMessage() == f"pan {MASKED}"
    assert record.args is None
