"""The vault at the edge: what it hands to storage holds no PAN and no clear PII, yet reveal()
gives the PII back, match hashes group spellings, and fingerprints spot changed bodies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from riskloop.domain.events import StoredEvent
from riskloop.errors import VaultError
from riskloop.intake import validate_event
from riskloop.vault import Keyring, MemoryKeyStore, Vault
from riskloop.vault.hashing import card_bin, pan_token
from tests.unit.factories import (
    EMAIL,
    HOLDER,
    IBAN,
    PHONE,
    VISA_PAN,
    account_change,
    card_payment,
    dispute,
    kyc_record,
    ledger_entry,
    login,
    transfer,
)

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def vault() -> Vault:
    return Vault(Keyring.open(MemoryKeyStore()))


def _protect(vault: Vault, payload: dict[str, Any], source: str = "api") -> StoredEvent:
    return vault.protect(validate_event(payload), source=source)


def _stored_bytes(stored: StoredEvent) -> bytes:
    return orjson.dumps(stored.data)


def test_card_payment_pan_becomes_token_bin_and_last4(vault: Vault) -> None:
    stored = _protect(vault, card_payment())
    card = stored.data["card"]
    assert "pan" not in card
    assert card["token"] == pan_token(vault.keyring.token_key, VISA_PAN)
    assert card["bin"] == "41111111"
    assert card["last4"] == "1111"
    assert card["country"] == "DE"
    assert "holder_name" not in card


def test_card_payment_email_is_replaced_by_its_match_hash(vault: Vault) -> None:
    stored = _protect(vault, card_payment())
    assert "email" not in stored.data
    assert stored.data["email_hash"] == vault.match_hash("email", EMAIL)


def test_card_payment_stored_data_holds_no_pan_email_or_holder_name(vault: Vault) -> None:
    stored = _protect(
        vault, card_payment(card={"pan": "4111 1111 1111 1111", "holder_name": HOLDER})
    )
    raw = _stored_bytes(stored)
    assert VISA_PAN.encode() not in raw
    assert EMAIL.encode() not in raw
    assert HOLDER.encode() not in raw
    assert b"Lovelace" not in raw


def test_stored_event_carries_the_envelope_identity_and_source(vault: Vault) -> None:
    payload = card_payment()
    stored = _protect(vault, payload, source="file:batch.ndjson")
    assert stored.event_id == payload["event_id"]
    assert (stored.event_type, stored.schema_version) == ("card_payment", 1)
    assert stored.occurred_at == datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    assert stored.source == "file:batch.ndjson"
    assert stored.pii is not None
    assert stored.pii.key_version == 1
    assert HOLDER.encode() not in stored.pii.ciphertext


def test_reveal_restores_pii_but_not_the_pan(vault: Vault) -> None:
    stored = _protect(vault, card_payment())
    revealed = vault.reveal(stored)
    assert revealed["email"] == EMAIL
    assert revealed["card"]["holder_name"] == HOLDER
    assert "pan" not in revealed["card"]
    assert revealed["card"]["last4"] == "1111"
    assert VISA_PAN not in orjson.dumps(revealed).decode()


def test_reveal_does_not_change_the_stored_data(vault: Vault) -> None:
    stored = _protect(vault, card_payment())
    before = orjson.dumps(stored.data)
    vault.reveal(stored)
    assert orjson.dumps(stored.data) == before


def test_reveal_of_an_event_without_pii_gives_its_data(vault: Vault) -> None:
    stored = _protect(vault, login())
    assert stored.pii is None
    assert vault.reveal(stored) == stored.data
    assert stored.data["device"]["id"] == "dev-1"


def test_pii_sealed_for_one_event_does_not_open_for_another(vault: Vault) -> None:
    a, b = _protect(vault, card_payment()), _protect(vault, card_payment())
    swapped = dataclasses.replace(b, pii=a.pii)
    with pytest.raises(VaultError, match="ciphertext failed authentication"):
        vault.reveal(swapped)


def test_same_event_twice_gives_the_same_fingerprint(vault: Vault) -> None:
    payload = card_payment()
    assert _protect(vault, payload).fingerprint == _protect(vault, dict(payload)).fingerprint


def test_spellings_the_contract_normalises_give_the_same_fingerprint(vault: Vault) -> None:
    payload = card_payment()
    respelled = {
        **payload,
        "currency": "eur",
        "card": {**payload["card"], "pan": "4111-1111-1111-1111"},
    }
    assert _protect(vault, payload).fingerprint == _protect(vault, respelled).fingerprint


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 4600},
        {"email": "grace.hopper@example.com"},
        {"card": {"pan": "5555555555554444", "holder_name": HOLDER, "country": "DE"}},
        {"metadata": {"a": 1}},
    ],
)
def test_one_changed_field_gives_a_different_fingerprint(
    vault: Vault, change: dict[str, Any]
) -> None:
    payload = card_payment()
    assert (
        _protect(vault, payload).fingerprint != _protect(vault, {**payload, **change}).fingerprint
    )


def test_fingerprints_differ_across_keyrings() -> None:
    payload = card_payment()
    a = Vault(Keyring.open(MemoryKeyStore())).protect(validate_event(payload), source="api")
    b = Vault(Keyring.open(MemoryKeyStore())).protect(validate_event(payload), source="api")
    assert a.fingerprint != b.fingerprint


def test_transfer_payee_name_iban_and_reference_are_sealed(vault: Vault) -> None:
    stored = _protect(vault, transfer())
    assert stored.data["payee"] == {
        "bank_country": "DE",
        "iban_hash": vault.match_hash("iban", IBAN),
    }
    assert "reference" not in stored.data
    raw = _stored_bytes(stored)
    assert IBAN.encode() not in raw
    assert b"Babbage" not in raw
    revealed = vault.reveal(stored)
    assert revealed["payee"]["name"] == "Charles Babbage"
    assert revealed["payee"]["iban"] == IBAN
    assert revealed["reference"] == "rent november"


def test_iban_hash_matches_across_spacing(vault: Vault) -> None:
    spaced = "DE89 3704 0044 0532 0130 00"
    stored = _protect(vault, transfer(payee={"iban": spaced}))
    assert (
        stored.data["payee"]["iban_hash"] == _protect(vault, transfer()).data["payee"]["iban_hash"]
    )


def test_kyc_person_fields_are_sealed(vault: Vault) -> None:
    stored = _protect(vault, kyc_record())
    person = stored.data["person"]
    assert person == {
        "address": {"country": "GB"},
        "document": {
            "type": "passport",
            "issuing_country": "GB",
            "number_hash": vault.match_hash("document_number", "X1234567Q"),
        },
        "email_hash": vault.match_hash("email", EMAIL),
        "phone_hash": vault.match_hash("phone", PHONE),
    }
    raw = _stored_bytes(stored)
    for secret in (
        b"Ada",
        b"Lovelace",
        b"1815-12-10",
        b"St James",
        b"London",
        b"X1234567Q",
        b"7946",
    ):
        assert secret not in raw
    revealed = vault.reveal(stored)["person"]
    assert (revealed["first_name"], revealed["last_name"]) == ("Ada", "Lovelace")
    assert revealed["date_of_birth"] == "1815-12-10"
    assert revealed["address"]["line1"] == "12 St James's Square"
    assert revealed["document"]["number"] == "X1234567Q"
    assert revealed["phone"] == PHONE


def test_an_email_hash_matches_across_event_types_and_case(vault: Vault) -> None:
    paid = _protect(vault, card_payment(email="Ada.Lovelace@Example.com"))
    changed = _protect(vault, account_change(new_email=EMAIL))
    assert paid.data["email_hash"] == changed.data["new_email_hash"]
    assert "new_email" not in changed.data


def test_dispute_with_a_client_token_keeps_it(vault: Vault) -> None:
    stored = _protect(vault, dispute())
    assert stored.data["card"] == {"token": "client-tok-1", "bin": "411111", "last4": "1111"}
    assert stored.pii is None


def test_ledger_description_is_sealed(vault: Vault) -> None:
    stored = _protect(vault, ledger_entry())
    assert "description" not in stored.data
    assert vault.reveal(stored)["description"] == "card purchase"


def test_card_bin_in_storage_matches_the_pan_length(vault: Vault) -> None:
    stored = _protect(vault, card_payment(card={"pan": "378282246310005"}))
    assert stored.data["card"]["bin"] == card_bin("378282246310005") == "378282"
    assert stored.data["card"]["last4"] == "0005"


def test_dead_letter_roundtrips_and_holds_no_clear_input(vault: Vault) -> None:
    raw = {"event_type": "card_payment", "card": {"pan": VISA_PAN}, "email": EMAIL}
    letter = vault.dead_letter(raw, reason="card.pan: bad", source="file:x.csv", now=NOW)
    assert (letter.source, letter.reason, letter.received_at) == (
        "file:x.csv",
        "card.pan: bad",
        NOW,
    )
    assert VISA_PAN.encode() not in letter.payload.ciphertext
    assert EMAIL.encode() not in letter.payload.ciphertext
    assert vault.open_dead_letter(letter) == raw


def test_dead_letter_of_non_json_values_stores_them_as_text(vault: Vault) -> None:
    letter = vault.dead_letter({"at": NOW, "n": 1}, reason="r", source="s", now=NOW)
    assert vault.open_dead_letter(letter) == {"at": "2026-11-02T08:00:00+00:00", "n": 1}


def test_the_same_rejected_input_gets_the_same_fingerprint(vault: Vault) -> None:
    a = vault.dead_letter({"b": 1, "a": 2}, reason="r1", source="s", now=NOW)
    b = vault.dead_letter({"a": 2, "b": 1}, reason="r2", source="s", now=NOW)
    assert a.fingerprint == b.fingerprint
    assert (
        a.fingerprint
        != vault.dead_letter({"a": 2, "b": 1}, reason="r", source="t", now=NOW).fingerprint
    )
    assert a.fingerprint != vault.dead_letter({"a": 3}, reason="r", source="s", now=NOW).fingerprint


def test_dead_letter_with_a_changed_fingerprint_does_not_open(vault: Vault) -> None:
    letter = vault.dead_letter({"x": 1}, reason="r", source="s", now=NOW)
    other = vault.dead_letter({"x": 2}, reason="r", source="s", now=NOW)
    moved = dataclasses.replace(letter, fingerprint=other.fingerprint)
    with pytest.raises(VaultError):
        vault.open_dead_letter(moved)


def test_tokens_and_hashes_are_never_mistaken_for_stray_card_numbers() -> None:
    """Regression: the hex of a token can hold a Luhn-valid run of 13+ digits; the stray
    card-number scrub must not mask it (about 1 token in 700 did)."""
    import random

    from riskloop.vault.hashing import match_hash, pan_token
    from tests.support.streams import luhn_complete

    rng = random.Random(4)
    vault = Vault(Keyring.open(MemoryKeyStore()))
    for i in range(3000):
        pan = luhn_complete("411111", 16, rng)
        email = f"user{i}@example.com"
        stored = vault.protect(
            validate_event(card_payment(card={"pan": pan}, email=email)), source="t"
        )
        assert stored.data["card"]["token"] == pan_token(vault.keyring.token_key, pan)
        assert stored.data["email_hash"] == match_hash(vault.keyring.match_key, "email", email)


def test_a_stray_card_number_is_tokenized_or_masked() -> None:
    vault = Vault(Keyring.open(MemoryKeyStore()))
    stored = vault.protect(
        validate_event(
            card_payment(
                customer_id="5555555555554444", metadata={"note": "refund 4111 1111 1111 1111"}
            )
        ),
        source="t",
    )
    assert stored.data["customer_id"].startswith("tok_")
    assert stored.data["metadata"]["note"] == "refund 411111******1111"


@pytest.mark.parametrize("value", [4111111111111111, 4111111111111111.0])
def test_a_card_number_sent_as_a_number_is_tokenized(value: float) -> None:
    vault = Vault(Keyring.open(MemoryKeyStore()))
    stored = vault.protect(
        validate_event(card_payment(metadata={"ref": value, "lat": 52.49622635442601})),
        source="t",
    )
    assert stored.data["metadata"]["ref"] == pan_token(vault.keyring.token_key, "4111111111111111")
    assert stored.data["metadata"]["lat"] == 52.49622635442601  # other numbers untouched
    assert "4111111111111111" not in orjson.dumps(stored.data).decode()
