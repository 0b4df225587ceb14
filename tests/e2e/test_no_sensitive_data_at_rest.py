"""No card number and no plaintext PII at rest or in the logs.

Import, through the CLI at DEBUG log level, events carrying PANs, card holder names,
e-mails, IBANs and KYC person data, plus rejects carrying the same, then search every byte
riskloop wrote (the SQLite files, the keyring, every PostgreSQL row, the CLI's stdout and
stderr) for each secret. Each test also proves it could fail: the input holds every needle,
the tokens and last digits are found, and the vault gives the PII back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from tests.support.factories import (
    EMAIL,
    HOLDER,
    IBAN,
    PANS,
    card_payment,
    credit_application,
    kyc_record,
    transfer,
)

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))

IBAN_SPACED = " ".join(IBAN[i : i + 4] for i in range(0, len(IBAN), 4))
KYC = {
    "date_of_birth": "1815-12-10",
    "passport": "X1234567Q",
    "phone": "+44 20 7946 0958",
    "address": "12 St James's Square",
    "last_name": "Lovelace",
}
PAYEE = "Charles Babbage"
REFERENCE = "rent november"


def _spaced(pan: str) -> list[str]:
    """The ways a PAN is printed: groups of four, and Amex's 4-6-5."""
    forms = [" ".join(pan[i : i + 4] for i in range(0, len(pan), 4))]
    if len(pan) == 15:
        forms.append(f"{pan[:4]} {pan[4:10]} {pan[10:]}")
    return forms


def _needles() -> dict[str, bytes]:
    out: dict[str, str] = {}
    for pan in PANS:
        out[f"PAN {pan[:4]}..."] = pan
        for i, form in enumerate(_spaced(pan)):
            out[f"PAN {pan[:4]}... spaced#{i}"] = form
    out |= {"email": EMAIL, "holder": HOLDER, "iban": IBAN, "iban spaced": IBAN_SPACED}
    out |= {"payee name": PAYEE, "reference": REFERENCE, **KYC}
    return {k: v.encode() for k, v in out.items()}


def _events() -> tuple[list[dict[str, Any]], list[Any]]:
    """(events that are stored, records that are rejected); each carries secrets."""
    # Every PAN as digits and as printed (the contract strips the spaces).
    good: list[dict[str, Any]] = [
        card_payment(card={"pan": form, "holder_name": HOLDER, "country": "DE"})
        for pan in PANS
        for form in [pan, *_spaced(pan)]
    ]
    good.append(transfer())
    good.append(transfer(payee={"name": PAYEE, "iban": IBAN_SPACED, "bank_country": "DE"}))
    good.append(kyc_record())
    good.append(credit_application())
    bad: list[Any] = [
        card_payment(card={"pan": PANS[1], "holder_name": HOLDER}, amount=-5),
        card_payment(card={"number": PANS[3], "holder_name": HOLDER}),  # a wrong field name
        card_payment(card={"pan": _spaced(PANS[2])[-1]}, currency="EURO"),  # a spaced PAN
        transfer(currency="XYZW"),  # with the IBAN, payee and reference
        kyc_record(verification_status="maybe"),  # with the whole person
        credit_application(term_months=None),  # a loan needs its term; the whole applicant
        # A line that is not JSON at all, full of secrets: sealed as read.
        json.dumps({"card": {"pan": PANS[0]}, "email": EMAIL, "iban": IBAN})[:-1],
    ]
    return good, bad


GOOD, BAD = _events()


def _run_import(tmp_path: Path, settings: Settings) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "input" / "events.ndjson"
    src.parent.mkdir()
    lines = [json.dumps(r) if isinstance(r, dict) else r for r in [*GOOD, *BAD]]
    src.write_text("\n".join(lines) + "\n")
    # The needles are right: every one of them is in what we feed riskloop.
    input_bytes = src.read_bytes()
    assert [name for name, n in _needles().items() if n not in input_bytes] == []

    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env |= {"RISKLOOP_DATA_DIR": str(settings.data_dir), "RISKLOOP_LOG_LEVEL": "DEBUG"}
    if not settings.is_sqlite:
        env["RISKLOOP_DATABASE_URL"] = settings.database_url.get()
    result = subprocess.run(
        [RISKLOOP, "import", "events", str(src), "--no-progress", "--batch-size", "4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout[result.stdout.index("\n{") + 1 :])
    assert (summary["accepted"], summary["rejected"]) == (len(GOOD), len(BAD))
    # The logs really went to the captured stderr (or scanning it would prove little).
    assert "INFO riskloop.service.ingest: rejected" in result.stderr
    # The KYC projection keeps its own (sealed) copy of the subject for screening.
    kyc = subprocess.run(
        [RISKLOOP, "kyc", "sync"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert kyc.returncode == 0, kyc.stderr
    assert json.loads(kyc.stdout)["applied"] == 1
    result.stdout += kyc.stdout
    result.stderr += kyc.stderr
    return result


def _found(haystack: bytes) -> list[str]:
    return [name for name, needle in _needles().items() if needle in haystack]


def _assert_output_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert _found(result.stdout.encode()) == [], "in stdout"
    assert _found(result.stderr.encode()) == [], "in stderr (logs)"


def _assert_vault_gives_back(rl: Riskloop) -> list[str]:
    """The secrets were stored sealed, not dropped: reveal them. Returns the card tokens."""
    events = rl.events.scan(limit=1000)
    assert len(events) == len(GOOD)
    by_type: dict[str, list[Any]] = {}
    for e in events:
        by_type.setdefault(e.event_type, []).append(e)
    cards = by_type["card_payment"]
    assert {c.data["card"]["last4"] for c in cards} == {p[-4:] for p in PANS}
    for c in cards:
        revealed = rl.vault.reveal(c)
        assert revealed["email"] == EMAIL
        assert revealed["card"]["holder_name"] == HOLDER
        assert "pan" not in revealed["card"]  # the PAN is gone for good, only the token
    (kyc,) = by_type["kyc_record"]
    person = rl.vault.reveal(kyc)["person"]
    assert person["date_of_birth"] == KYC["date_of_birth"]
    assert person["document"]["number"] == KYC["passport"]
    assert person["phone"] == KYC["phone"]
    (application,) = by_type["credit_application"]
    assert rl.vault.reveal(application)["applicant"] == person
    assert {rl.vault.reveal(t)["payee"]["iban"] for t in by_type["transfer"]} == {
        IBAN,
        IBAN_SPACED,
    }
    profile = rl.kyc.get("cus-1", reveal=True)
    assert profile["subject_detail"]["names"] == ["Ada Lovelace"]
    assert profile["subject_detail"]["identifiers"] == [KYC["passport"]]
    letters = json.dumps([rl.vault.open_dead_letter(d) for d in rl.dead_letters.list()])
    assert PANS[1] in letters and PANS[3] in letters  # rejects are kept, sealed
    assert KYC["passport"] in letters
    return [c.data["card"]["token"] for c in cards]


# -- SQLite (embedded) --------------------------------------------------------------------


def test_sqlite_files_keyring_and_logs_hold_no_pan_or_pii(
    tmp_path: Path, settings: Settings, rl: Riskloop
) -> None:
    # ``rl`` keeps a connection open, so the import's WAL is not folded back and deleted
    # when the CLI exits: the -wal file is scanned too.
    result = _run_import(tmp_path, settings)
    _assert_output_clean(result)

    files = sorted(p for p in settings.data_dir.rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {"riskloop.db", "keyring.json"} <= names
    everything = b""
    for path in files:
        data = path.read_bytes()
        assert _found(data) == [], f"in {path.name}"
        everything += data

    # This scan can fail: what must be there is there.
    tokens = _assert_vault_gives_back(rl)
    assert len(set(tokens)) == len(PANS)  # one token per card, however it was written
    for token in tokens:
        assert token.encode() in everything
    for pan in PANS:
        stored = next(
            e for e in rl.events.scan(limit=100) if e.data.get("card", {}).get("last4") == pan[-4:]
        )
        assert stored.data["card"]["bin"].encode() in everything
    assert b'"last4":"1111"' in everything or b'"last4": "1111"' in everything


# -- PostgreSQL (scale-out) ---------------------------------------------------------------


def _postgres_dump(url: str) -> tuple[bytes, dict[str, int]]:
    """Every row of every table, as text (``row::text``) and as raw values (bytea as the
    bytes themselves, JSONB as its JSON)."""
    engine = create_engine(url)
    chunks: list[bytes] = []
    counts: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                as_text = conn.execute(text(f'SELECT t::text FROM "{table}" t')).scalars().all()
                chunks.extend(s.encode() for s in as_text)
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                counts[table] = len(rows)
                for row in rows:
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            chunks.append(bytes(value))
                        elif isinstance(value, dict | list):
                            chunks.append(json.dumps(value, ensure_ascii=False).encode())
                        else:
                            chunks.append(str(value).encode())
    finally:
        engine.dispose()
    return b"\x00".join(chunks), counts


def test_postgres_rows_and_logs_hold_no_pan_or_pii(tmp_path: Path, pg_settings: Settings) -> None:
    result = _run_import(tmp_path, pg_settings)
    _assert_output_clean(result)

    dump, counts = _postgres_dump(pg_settings.database_url.get())
    assert counts["event_log"] == len(GOOD)
    assert counts["dead_letters"] == len(BAD)
    assert _found(dump) == []
    for path in (p for p in pg_settings.data_dir.rglob("*") if p.is_file()):
        assert _found(path.read_bytes()) == [], f"in {path.name}"

    rl = build(pg_settings, rebuild_features=False)
    try:
        tokens = _assert_vault_gives_back(rl)
    finally:
        rl.close()
    for token in tokens:
        assert token.encode() in dump
    assert b"1111" in dump and PANS[0][:8].encode() in dump


# -- a PAN where no PAN belongs -----------------------------------------------------------


def test_a_pan_in_a_free_text_field_is_not_stored_in_clear(
    tmp_path: Path, settings: Settings
) -> None:
    stray = [
        card_payment(metadata={"note": f"refund to {PANS[1]}"}),
        card_payment(
            merchant={"id": "m-1", "mcc": "5411", "country": "DE", "name": f"card {PANS[2]}"}
        ),
        card_payment(customer_id=PANS[3]),
    ]
    src = tmp_path / "stray.ndjson"
    src.write_text("".join(json.dumps(e) + "\n" for e in stray))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env["RISKLOOP_DATA_DIR"] = str(settings.data_dir)
    result = subprocess.run(
        [RISKLOOP, "import", "events", str(src), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Rejected (and sealed in a dead letter) or masked: either way not in clear at rest.
    rest = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file())
    assert [pan for pan in PANS[1:] if pan.encode() in rest] == []
