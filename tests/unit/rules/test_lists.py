"""Lists: values normalised (cards and e-mails only as tokens and hashes), membership by
exact value or CIDR range, expiry honoured, country lists over every country field."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskloop.errors import InvalidInput
from riskloop.rules.lists import (
    ListEntry,
    ListIndex,
    ListType,
    Protector,
    list_from_dict,
    normalise_value,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
PROTECT = Protector(pan_token=lambda pan: f"tok_{pan[-4:]}", email_hash=lambda e: f"h_{len(e)}")


@pytest.mark.parametrize(
    ("list_type", "raw", "stored"),
    [
        (ListType.CARD_TOKEN, "4111 1111 1111 1111", "tok_1111"),
        (ListType.CARD_TOKEN, "tok_abc", "tok_abc"),
        (ListType.EMAIL_HASH, "ada@example.com", "h_15"),
        (ListType.EMAIL_HASH, "h_" + "a" * 32, "h_" + "a" * 32),
        (ListType.IP, "203.0.113.7", "203.0.113.7/32"),
        (ListType.IP, "203.0.113.7/24", "203.0.113.0/24"),
        (ListType.IP, "2001:db8::1/64", "2001:db8::/64"),
        (ListType.BIN, "411111", "411111"),
        (ListType.COUNTRY, "kp", "KP"),
        (ListType.DEVICE, " dev-1 ", "dev-1"),
    ],
)
def test_values_are_normalised(list_type: ListType, raw: str, stored: str) -> None:
    assert normalise_value(list_type, raw, PROTECT) == stored


@pytest.mark.parametrize(
    ("list_type", "raw", "reason"),
    [
        (ListType.CARD_TOKEN, "4111111111111112", "Luhn"),
        (ListType.EMAIL_HASH, "not-an-email", "e-mail address"),
        (ListType.IP, "300.1.1.1", "CIDR"),
        (ListType.BIN, "41111", "6 to 8 digits"),
        (ListType.COUNTRY, "XX", "ISO 3166"),
        (ListType.MERCHANT, "m 1", "id of"),
        (ListType.DEVICE, "", "non-empty"),
    ],
)
def test_bad_values_say_what_is_wrong(list_type: ListType, raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalise_value(list_type, raw, PROTECT)


def test_a_bad_list_definition_names_each_field() -> None:
    with pytest.raises(InvalidInput) as err:
        list_from_dict({"name": "Bad Name", "kind": "deny", "type": "phone", "colour": "red"})
    assert [e.field for e in err.value.errors] == ["colour", "name", "kind", "type"]


def _index(kind: str, list_type: str, *entries: tuple[str, datetime | None]) -> ListIndex:
    definition = list_from_dict({"name": "l", "kind": kind, "type": list_type})
    return ListIndex(
        [definition], [ListEntry("l", v, "", "t", NOW, expires) for v, expires in entries]
    )


def test_cidr_ranges_and_exact_addresses_match() -> None:
    index = _index(
        "block", "ip", ("198.51.100.0/24", None), ("203.0.113.7/32", None), ("2001:db8::/64", None)
    )
    assert index.contains("l", "198.51.100.250", NOW)
    assert not index.contains("l", "198.51.101.1", NOW)
    assert index.contains("l", "203.0.113.7", NOW)
    assert not index.contains("l", "203.0.113.8", NOW)
    assert index.contains("l", "2001:db8::dead:beef", NOW)
    assert not index.contains("l", "2001:db9::1", NOW)
    assert not index.contains("l", "not an ip", NOW)


def test_an_expired_entry_no_longer_matches() -> None:
    index = _index(
        "block", "device", ("old", NOW - timedelta(seconds=1)), ("new", NOW + timedelta(days=1))
    )
    assert not index.contains("l", "old", NOW)
    assert index.contains("l", "new", NOW)


def test_a_country_list_looks_at_every_country_field() -> None:
    index = _index("block", "country", ("KP", None))
    assert index.memberships({"merchant": {"country": "KP"}}, NOW) == {"l": True}
    assert index.memberships({"payee": {"bank_country": "KP"}}, NOW) == {"l": True}
    assert index.memberships({"geo": {"country": "DE"}}, NOW) == {"l": False}


@given(
    address=st.ip_addresses(v=4),
    network=st.ip_addresses(v=4),
    prefix=st.integers(min_value=8, max_value=32),
)
def test_cidr_membership_agrees_with_ipaddress(
    address: ipaddress.IPv4Address, network: ipaddress.IPv4Address, prefix: int
) -> None:
    net = ipaddress.ip_network(f"{network}/{prefix}", strict=False)
    index = _index("watch", "ip", (str(net), None))
    assert index.contains("l", str(address), NOW) == (address in net)
