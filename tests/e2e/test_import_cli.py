"""`riskloop import events` end to end, as a user runs it: NDJSON, CSV and Parquet files,
the per-batch acknowledgements and the JSON summary, dead letters with their reasons,
idempotent re-runs, reused ids, sensitive authentication data, and bad command lines or
settings that stop before anything is touched."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from riskloop.adapters.sql.schema import dead_letters
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from tests.support.factories import HOLDER, PANS, card_payment, kyc_record, transfer

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
ACK = re.compile(
    r"^committed batch (\d+): read=(\d+) accepted=(\d+) duplicate=(\d+) rejected=(\d+)$"
)
CONFLICT = "event_id: already used with a different body"
FORBIDDEN = "sensitive authentication data (CVV, track data, PIN) must never be sent"


# -- helpers ------------------------------------------------------------------------------


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    """A clean environment: no RISKLOOP_* from the caller's shell, only ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env["RISKLOOP_DATA_DIR"] = str(settings.data_dir)
    if not settings.is_sqlite:
        env["RISKLOOP_DATABASE_URL"] = settings.database_url.get()
    env.update(extra)
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RISKLOOP, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON summary printed after the rich tables (the last block of stdout)."""
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout[result.stdout.index("\n{") + 1 :])
    return summary


def _acks(result: subprocess.CompletedProcess[str]) -> list[tuple[int, ...]]:
    return [
        tuple(int(g) for g in m.groups())
        for line in result.stderr.splitlines()
        if (m := ACK.match(line.strip()))
    ]


def _import(
    settings: Settings, path: Path, *options: str, **env: str
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    result = _cli(_env(settings, **env), "import", "events", str(path), "--no-progress", *options)
    return _summary(result), result


def _counts(summary: dict[str, Any]) -> tuple[int, int, int, int]:
    return summary["read"], summary["accepted"], summary["duplicate"], summary["rejected"]


def _write_ndjson(path: Path, rows: list[Any]) -> Path:
    """Rows may be dicts (written as JSON) or raw strings (written as they are)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _app(settings: Settings) -> Riskloop:
    return build(settings, rebuild_features=False)


def _letters_by_source(rl: Riskloop) -> dict[str, str]:
    return {d.source: d.reason for d in rl.dead_letters.list(limit=1000)}


def _one_line(text: str) -> str:
    """rich wraps long messages; join them back for matching."""
    return " ".join(text.replace("│", " ").split())


# -- NDJSON -------------------------------------------------------------------------------


def test_ndjson_import_counts_dead_letters_and_is_idempotent_on_rerun(
    any_settings: Settings, tmp_path: Path
) -> None:
    good = [card_payment() for _ in range(4)] + [transfer(), kyc_record()]
    no_merchant = card_payment()
    del no_merchant["merchant"]
    rows: list[Any] = [
        *good,  # lines 1-6
        "{not json",  # line 7
        card_payment(amount=-5),  # line 8
        card_payment(card={"pan": "4111111111111112", "holder_name": HOLDER}),  # line 9: Luhn
        no_merchant,  # line 10
        card_payment(occurred_at="2026-11-01T12:00:00"),  # line 11: no timezone
        good[0],  # line 12: the very same event again
        "",  # line 13: blank lines are skipped, not counted
    ]
    src = _write_ndjson(tmp_path / "events.ndjson", rows)

    first, result = _import(any_settings, src, "--batch-size", "5")
    assert _counts(first) == (12, 6, 1, 5)
    assert first["reasons"] == {
        "invalid JSON": 1,
        "amount: Input should be greater than or equal to 0": 1,
        "card.pan: card number fails the Luhn check": 1,
        "merchant: required": 1,
        "occurred_at: Input should have timezone info": 1,
    }
    # One acknowledgement per committed batch (5 + 5 + 2 records), cumulative counts.
    assert _acks(result) == [(1, 5, 5, 0, 0), (2, 10, 6, 0, 4), (3, 12, 6, 1, 5)]

    expected_letters = {
        "file:events.ndjson:7": "line 7: invalid JSON",
        "file:events.ndjson:8": "amount: Input should be greater than or equal to 0",
        "file:events.ndjson:9": "card.pan: card number fails the Luhn check",
        "file:events.ndjson:10": "merchant: required",
        "file:events.ndjson:11": "occurred_at: Input should have timezone info",
    }
    rl = _app(any_settings)
    try:
        assert rl.events.count() == 6
        assert {e["event_id"] for e in good} == {e.event_id for e in rl.events.scan(limit=100)}
        assert _letters_by_source(rl) == expected_letters
        opened = {d.source: rl.vault.open_dead_letter(d) for d in rl.dead_letters.list()}
        assert opened["file:events.ndjson:7"] == "{not json"  # kept as read, sealed
        assert opened["file:events.ndjson:8"]["amount"] == -5
    finally:
        rl.close()

    again, result = _import(any_settings, src, "--batch-size", "5")
    assert _counts(again) == (12, 0, 7, 5)
    assert again["reasons"] == first["reasons"]
    assert _acks(result)[-1] == (3, 12, 0, 7, 5)
    rl = _app(any_settings)
    try:
        assert rl.events.count() == 6
        assert rl.dead_letters.count() == 5  # a re-run does not copy the rejects again
        assert _letters_by_source(rl) == expected_letters
    finally:
        rl.close()


def test_reused_event_id_with_a_different_body_is_rejected(
    any_settings: Settings, tmp_path: Path
) -> None:
    original = card_payment(amount=1000)
    changed = {**original, "amount": 999}
    fresh = card_payment()
    # In one file (even one batch): the first body wins, the second is a conflict.
    first, _ = _import(any_settings, _write_ndjson(tmp_path / "a.ndjson", [original, changed]))
    assert _counts(first) == (2, 1, 0, 1)
    assert first["reasons"] == {CONFLICT: 1}
    # Across files: the stored body still wins, the new event is accepted beside it.
    second, _ = _import(
        any_settings, _write_ndjson(tmp_path / "b.ndjson", [fresh, changed, original])
    )
    assert _counts(second) == (3, 1, 1, 1)
    assert second["reasons"] == {CONFLICT: 1}

    rl = _app(any_settings)
    try:
        assert rl.events.count() == 2
        stored = rl.events.get(original["event_id"])
        assert stored is not None
        assert stored.data["amount"] == 1000
        letters = _letters_by_source(rl)
        assert letters == {"file:a.ndjson:2": CONFLICT, "file:b.ndjson:2": CONFLICT}
        assert "already used with a different body" in letters["file:b.ndjson:2"]
        bodies = [rl.vault.open_dead_letter(d) for d in rl.dead_letters.list()]
        assert [b["amount"] for b in bodies] == [999, 999]  # the rejected body, sealed
    finally:
        rl.close()


# -- CSV ----------------------------------------------------------------------------------


def test_csv_with_renamed_dotted_and_constant_columns(settings: Settings, tmp_path: Path) -> None:
    shop = {"merchant.id": "m-1", "merchant.mcc": "5411", "merchant.country": "DE"}
    rows: list[dict[str, str]] = [
        {"txn_id": "t-1", "ts": "2026-11-01T10:00:00Z", "amount": "1250", "currency": "EUR"}
        | shop
        | {"pan": PANS[0], "holder": HOLDER, "channel": "card_present"},
        # A PAN as printed on the card, a lower-case currency and an empty optional cell.
        {"txn_id": "t-2", "ts": "2026-11-01T10:01:00+02:00", "amount": "99", "currency": "usd"}
        | {"merchant.id": "m-2", "merchant.mcc": "5999", "merchant.country": "US"}
        | {"pan": "5555 5555 5555 4444", "holder": "", "channel": "card_not_present"},
        # An empty required cell counts as absent.
        {"txn_id": "t-3", "ts": "2026-11-01T10:02:00Z", "amount": "10", "currency": "EUR"}
        | shop
        | {"merchant.mcc": "", "pan": PANS[1], "holder": "", "channel": "card_present"},
    ]
    src = tmp_path / "payments.csv"
    with src.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    summary, _ = _import(
        settings,
        src,
        "--map",
        "txn_id=event_id",
        "--map",
        "ts=occurred_at",
        "--map",
        "pan=card.pan",
        "--map",
        "holder=card.holder_name",
        "--set",
        "event_type=card_payment",
    )
    assert _counts(summary) == (3, 2, 0, 1)
    assert summary["reasons"] == {"merchant.mcc: required": 1}

    rl = _app(settings)
    try:
        assert rl.events.count() == 2
        t1, t2 = rl.events.get("t-1"), rl.events.get("t-2")
        assert t1 is not None and t2 is not None
        assert t1.event_type == "card_payment"
        assert t1.data["amount"] == 1250  # a CSV cell becomes the contract's integer
        assert t1.data["merchant"] == {"id": "m-1", "mcc": "5411", "country": "DE"}
        assert t1.data["card"]["bin"] == PANS[0][:8]
        assert t1.data["card"]["last4"] == PANS[0][-4:]
        assert "pan" not in t1.data["card"]
        assert "holder_name" not in t1.data["card"]  # sealed, not in the clear record
        assert rl.vault.reveal(t1)["card"]["holder_name"] == HOLDER
        assert t2.data["currency"] == "USD"
        assert t2.data["card"]["last4"] == "4444"
        assert t2.occurred_at == datetime(2026, 11, 1, 8, 1, tzinfo=UTC)
        assert "holder_name" not in rl.vault.reveal(t2)["card"]
        assert _letters_by_source(rl) == {"file:payments.csv:4": "merchant.mcc: required"}
    finally:
        rl.close()


# -- Parquet ------------------------------------------------------------------------------


def test_parquet_with_nested_struct_columns_and_native_types(
    settings: Settings, tmp_path: Path
) -> None:
    when = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    table = pa.table(
        {
            "event_id": ["pq-1", "pq-2", "pq-3"],
            "event_type": ["card_payment"] * 3,
            "occurred_at": pa.array([when] * 3, type=pa.timestamp("us", tz="UTC")),
            "amount": pa.array([100, 250, -1], type=pa.int64()),
            "currency": ["EUR"] * 3,
            "merchant": [
                {"id": "m-1", "mcc": "5411", "country": "DE", "name": "Corner Shop"},
                {"id": "m-2", "mcc": "5999", "country": "FR", "name": None},
                {"id": "m-1", "mcc": "5411", "country": "DE", "name": None},
            ],
            "card": [
                {"pan": PANS[0], "holder_name": HOLDER},
                {"pan": PANS[2], "holder_name": None},
                {"pan": PANS[3], "holder_name": None},
            ],
            "channel": ["card_present", "card_not_present", "card_present"],
            "email": [None, "pq@example.com", None],
        }
    )
    src = tmp_path / "events.parquet"
    pq.write_table(table, src)

    summary, _ = _import(settings, src)
    assert _counts(summary) == (3, 2, 0, 1)
    assert summary["reasons"] == {"amount: Input should be greater than or equal to 0": 1}

    rl = _app(settings)
    try:
        first, second = rl.events.get("pq-1"), rl.events.get("pq-2")
        assert first is not None and second is not None
        assert first.occurred_at == when
        assert first.data["merchant"]["name"] == "Corner Shop"
        assert first.data["card"]["last4"] == PANS[0][-4:]
        assert second.data["card"]["bin"] == PANS[2][:6]  # 15 digits: PCI allows 6 + 4
        assert "name" not in second.data["merchant"]  # a null struct field is absent
        assert rl.vault.reveal(first)["card"]["holder_name"] == HOLDER
        assert rl.vault.reveal(second)["email"] == "pq@example.com"
        assert _letters_by_source(rl) == {
            "file:events.parquet:3": "amount: Input should be greater than or equal to 0"
        }
    finally:
        rl.close()


def test_parquet_with_dotted_flat_columns_and_explicit_format(
    settings: Settings, tmp_path: Path
) -> None:
    table = pa.table(
        {
            "id": ["flat-1", "flat-2"],
            "occurred_at": ["2026-11-01T12:00:00Z", "2026-11-01T12:05:00Z"],
            "account_id": ["acc-1", "acc-2"],
            "amount": pa.array([5000, 7000], type=pa.int64()),
            "currency": ["EUR", "EUR"],
            "payee.iban": ["DE89370400440532013000", None],
            "payee.wallet_id": [None, "w-7"],
            "payee.bank_country": ["DE", None],
        }
    )
    src = tmp_path / "transfers.bin"  # a suffix that says nothing: --format decides
    pq.write_table(table, src)

    summary, _ = _import(
        settings,
        src,
        "--format",
        "parquet",
        "--map",
        "id=event_id",
        "--set",
        "event_type=transfer",
        "--set",
        "rail=sepa",
    )
    assert _counts(summary) == (2, 2, 0, 0)
    assert summary["reasons"] == {}

    rl = _app(settings)
    try:
        one, two = rl.events.get("flat-1"), rl.events.get("flat-2")
        assert one is not None and two is not None
        assert one.data["rail"] == "sepa"
        assert one.data["payee"]["bank_country"] == "DE"
        assert "iban" not in one.data["payee"]  # sealed; a match hash stays
        assert "iban_hash" in one.data["payee"]
        assert rl.vault.reveal(one)["payee"]["iban"] == "DE89370400440532013000"
        assert two.data["payee"] == {"wallet_id": "w-7"}
    finally:
        rl.close()


# -- bad command lines and settings: exit 2, nothing touched ------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--format", "xml"], "--format must be ndjson, csv or parquet"),
        (["--map", "txn_id"], "--map: expected NAME=VALUE, got 'txn_id'"),
        (["--map", "txn_id=9lives"], "--map: '9lives' is not a field path"),
        (["--set", "event_type"], "--set: expected NAME=VALUE, got 'event_type'"),
        (["--batch-size", "0"], "--batch-size"),
    ],
    ids=[
        "unknown-format",
        "map-without-equals",
        "map-to-bad-path",
        "set-without-equals",
        "batch-0",
    ],
)
def test_bad_option_exits_2_naming_it(
    settings: Settings, tmp_path: Path, options: list[str], expected: str
) -> None:
    src = _write_ndjson(tmp_path / "events.ndjson", [card_payment()])
    result = _cli(_env(settings), "import", "events", str(src), "--no-progress", *options)
    assert result.returncode == 2, result.stderr
    assert expected in _one_line(result.stderr)
    assert result.stdout == ""
    assert not settings.data_dir.exists()  # rejected before a database was even opened


def test_nonexistent_file_exits_2_naming_it(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-events.ndjson"
    result = _cli(_env(settings, COLUMNS="250"), "import", "events", str(missing))
    assert result.returncode == 2
    message = _one_line(result.stderr)
    assert "no-such-events.ndjson" in message
    assert "does not exist" in message
    assert not settings.data_dir.exists()


def test_file_of_unknown_suffix_without_format_exits_2(settings: Settings, tmp_path: Path) -> None:
    src = tmp_path / "events.txt"
    src.write_text(json.dumps(card_payment()) + "\n")
    result = _cli(_env(settings), "import", "events", str(src))
    assert result.returncode == 2
    assert "cannot tell the format of events.txt; use --format" in _one_line(result.stderr)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("RISKLOOP_PORT", "abc", "RISKLOOP_PORT: expected an integer"),
        (
            "RISKLOOP_DATABSE_URL",
            "postgresql://riskloop:s3cret-pw@db.internal/riskloop",
            "RISKLOOP_DATABSE_URL: unknown setting",
        ),
        (
            "RISKLOOP_DATABASE_URL",
            "mysql://riskloop:s3cret-pw@db.internal/riskloop",
            "RISKLOOP_DATABASE_URL: expected a sqlite:/// or postgresql:// URL",
        ),
        ("RISKLOOP_LOG_LEVEL", "LOUD", "RISKLOOP_LOG_LEVEL: expected one of debug"),
    ],
    ids=["port-not-a-number", "misspelt-variable", "unsupported-database", "log-level"],
)
def test_invalid_setting_exits_2_naming_the_variable(
    settings: Settings, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    src = _write_ndjson(tmp_path / "events.ndjson", [card_payment()])
    result = _cli(_env(settings, **{variable: value}), "import", "events", str(src))
    assert result.returncode == 2, result.stderr
    message = _one_line(result.stderr)
    assert "invalid setting" in message
    assert expected in message
    assert "s3cret-pw" not in result.stdout + result.stderr  # a URL's password never echoes
    assert not settings.data_dir.exists()


# -- sensitive authentication data --------------------------------------------------------

CID = "8362"  # an Amex 4-digit card identification number


def _dead_letter_table_bytes(rl: Riskloop) -> bytes:
    """Every column a CVV could hide in. Not the fingerprint (a 64-digit hex digest) nor the
    time (microsecond digits): a 4-digit needle turned up there by chance (about 1 run in
    300), and neither can hold a value in clear."""
    skip = {"fingerprint", "received_at"}
    with rl.engine.connect() as conn:
        rows = conn.execute(select(dead_letters)).mappings().all()
    assert rows
    return b"\x00".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
        for row in rows
        for k, v in row.items()
        if k not in skip
    )


def _assert_cid_nowhere(rl: Riskloop, result: subprocess.CompletedProcess[str]) -> None:
    assert CID.encode() not in _dead_letter_table_bytes(rl)
    for letter in rl.dead_letters.list():
        opened = json.dumps(rl.vault.open_dead_letter(letter))
        assert CID not in opened, f"CVV kept (sealed) in dead letter {letter.source}"
    assert CID not in result.stdout + result.stderr


def test_cvv_is_rejected_and_never_kept_even_sealed(settings: Settings, tmp_path: Path) -> None:
    amex = PANS[2]
    with_cvv = card_payment(card={"pan": amex, "holder_name": HOLDER, "cvv": CID})
    with_cvc2 = card_payment(card={"pan": amex}, metadata={"note": "x"})
    with_cvc2["CVC2"] = CID  # any spelling, anywhere in the record
    assert CID not in json.dumps({**with_cvv, "card": {}})  # the needle is only the CVV
    src = _write_ndjson(tmp_path / "cvv.ndjson", [card_payment(), with_cvv, with_cvc2])

    summary, result = _import(settings, src)
    assert _counts(summary) == (3, 1, 0, 2)
    assert summary["reasons"] == {f"card.cvv: {FORBIDDEN}": 1, f"CVC2: {FORBIDDEN}": 1}

    rl = _app(settings)
    try:
        assert rl.events.count() == 1
        assert rl.events.get(with_cvv["event_id"]) is None
        assert _letters_by_source(rl) == {
            "file:cvv.ndjson:2": f"card.cvv: {FORBIDDEN}",
            "file:cvv.ndjson:3": f"CVC2: {FORBIDDEN}",
        }
        opened = {d.source: rl.vault.open_dead_letter(d) for d in rl.dead_letters.list()}
        # The rest of the reject is kept (sealed) for investigation, without the CVV.
        assert opened["file:cvv.ndjson:2"]["card"] == {"pan": amex, "holder_name": HOLDER}
        assert "CVC2" not in opened["file:cvv.ndjson:3"]
        _assert_cid_nowhere(rl, result)
    finally:
        rl.close()


def test_cvv_in_an_unreadable_json_line_is_not_kept(settings: Settings, tmp_path: Path) -> None:
    broken = json.dumps({"event_id": "b-1", "card": {"pan": PANS[2], "cvv": CID}})[:-1]
    src = _write_ndjson(tmp_path / "broken.ndjson", [broken])
    summary, result = _import(settings, src)
    assert _counts(summary) == (1, 0, 0, 1)
    rl = _app(settings)
    try:
        assert rl.dead_letters.count() == 1
        _assert_cid_nowhere(rl, result)
    finally:
        rl.close()


def test_cvv_column_in_an_unreadable_csv_row_is_not_kept(
    settings: Settings, tmp_path: Path
) -> None:
    src = tmp_path / "ragged.csv"
    src.write_text(
        "event_id,event_type,occurred_at,amount,currency,merchant.id,merchant.mcc,"
        "merchant.country,card.pan,card.cvv,channel\n"
        f"r-1,card_payment,2026-11-01T10:00:00Z,100,EUR,m-1,5411,DE,{PANS[2]},{CID},"
        "card_present,ONE-CELL-TOO-MANY\n"
    )
    summary, result = _import(settings, src)
    assert summary["reasons"] == {"more cells than header columns": 1}
    rl = _app(settings)
    try:
        _assert_cid_nowhere(rl, result)
    finally:
        rl.close()
