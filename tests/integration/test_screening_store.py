"""The screening store on SQLite and PostgreSQL: list versions keep history and race safely,
hits are recorded once per entry content, an older KYC record never overwrites a newer one,
and a re-screen that crashed half-way is finished by the next run, tasks included."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from riskloop.bootstrap import Riskloop
from riskloop.errors import ConflictError
from riskloop.ledger.audit import AuditEntry
from riskloop.screening.model import EntityKind, ListEntry
from riskloop.screening.records import Hit, KycProfile
from tests.support.factories import kyc_record

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _entry(entry_id: str, name: str, *aliases: str) -> ListEntry:
    from riskloop.screening.model import Alias

    return ListEntry(
        "test_list", entry_id, EntityKind.PERSON, name, tuple(Alias(a) for a in aliases)
    )


def test_list_versions_keep_history(any_rl: Riskloop) -> None:
    s = any_rl.screening
    v1 = s.save(
        "test_list",
        [_entry("1", "Ivan Petrov"), _entry("2", "Anna Smirnova")],
        origin="a.csv",
        actor="ana",
    )
    v2 = s.save(
        "test_list",
        [_entry("1", "Ivan Petrov", "Ivan Petroff"), _entry("3", "Oleg Ivanov")],
        origin="b.csv",
        actor="ana",
    )
    assert (v1.version, v2.version) == (1, 2)
    assert (v2.diff["added"], v2.diff["removed"], v2.diff["changed"]) == (1, 1, 1)
    store = any_rl.screening.store
    assert set(store.current_digests("test_list")) == {"1", "3"}
    old = store.entries_at("test_list", 1, ["1", "2", "3"])
    assert set(old) == {"1", "2"} and old["1"][1]["aliases"] == []
    new = store.entries_at("test_list", 2, ["1", "2", "3"])
    assert set(new) == {"1", "3"} and len(new["1"][1]["aliases"]) == 1
    unchanged = s.save(
        "test_list",
        [_entry("1", "Ivan Petrov", "Ivan Petroff"), _entry("3", "Oleg Ivanov")],
        origin="b.csv",
        actor="ana",
    )
    assert unchanged.changed is False and unchanged.version == 2
    history = store.history("test_list")
    assert [h["version"] for h in history] == [2, 1]
    assert history[0]["origin"] == "b.csv"


def test_two_loads_of_the_same_version_one_wins(any_rl: Riskloop) -> None:
    store = any_rl.screening.store
    meta = {
        "source": "race",
        "version": 1,
        "loaded_at": NOW,
        "loaded_by": "a",
        "origin": "x",
        "digest": "0" * 64,
        "entries": 1,
        "diff": {},
    }
    audit = AuditEntry("a", "screening.list.load", "screening_list", "race@1", {}, NOW)
    store.save_version(meta, [("1", "d1", {"x": 1})], [], audit)
    with pytest.raises(ConflictError):
        store.save_version(meta, [("1", "d2", {"x": 2})], [], audit)
    assert store.current_digests("race") == {"1": "d1"}  # the loser wrote nothing


def test_hits_are_recorded_once_per_entry_content(any_rl: Riskloop) -> None:
    store = any_rl.screening.store
    hit = Hit("cus-1", "ofac_sdn", "7001", "d1", 1, 0.9, {"name": "PETROV, Ivan"})
    (first,) = store.record_hits([hit], NOW)
    assert first.id is not None
    assert store.record_hits([hit], NOW) == []
    changed = Hit("cus-1", "ofac_sdn", "7001", "d2", 2, 0.88, {"name": "PETROV, Ivan"})
    assert len(store.record_hits([changed], NOW)) == 1
    assert [h.entry_digest for h in store.untasked_hits(["cus-1"])] == ["d1", "d2"]
    assert store.close_hits("ofac_sdn", ["7001"], NOW) == 2
    assert store.hits(status="open") == []


def test_concurrent_hit_recording_stores_one(any_rl: Riskloop) -> None:
    store = any_rl.screening.store
    hit = Hit("cus-2", "ofac_sdn", "7001", "d1", 1, 0.9, {"name": "PETROV, Ivan"})
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def record() -> None:
        barrier.wait()
        try:
            store.record_hits([hit], NOW)
        except Exception as exc:  # a unique-key loss surfaces as a storage error
            errors.append(exc)

    threads = [threading.Thread(target=record) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.hits(customer_id="cus-2")) == 1


def test_an_older_kyc_record_never_overwrites_a_newer_one(any_rl: Riskloop) -> None:
    store = any_rl.screening.store
    newer = KycProfile("cus-9", "person", "e2", NOW, "verified", "high", None, None, updated_at=NOW)
    older = KycProfile(
        "cus-9",
        "person",
        "e1",
        NOW - timedelta(days=3),
        "pending",
        None,
        None,
        None,
        updated_at=NOW,
    )
    assert store.save_profile(newer, None) is True
    assert store.save_profile(older, None) is False
    found = store.profile("cus-9")
    assert found is not None and found[0].event_id == "e2" and found[0].risk_rating == "high"


def test_a_crashed_rescreen_is_finished_by_the_next_run(
    any_rl: Riskloop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rl = any_rl
    rl.screening.save("test_list", [_entry("1", "Ivan Petrov")], origin="a", actor="ana")
    for i, first in enumerate(["Ivan", "Maria", "Ivan"]):
        person = {"first_name": first, "last_name": "Petrov"}
        rl.ingestor.ingest(kyc_record(customer_id=f"cus-{i}", person=person))

    raised = rl.tasks.raise_task

    def crash(*args: object, **kwargs: object) -> object:
        raise RuntimeError("killed mid-way")

    monkeypatch.setattr(rl.tasks, "raise_task", crash)
    with pytest.raises(RuntimeError):
        rl.kyc.sync()  # profiles stored, hits recorded, then the process "dies"
    assert len(rl.screening.hits(status="open")) == 2
    monkeypatch.setattr(rl.tasks, "raise_task", raised)

    report = rl.screening.rescreen()
    assert report.screened == 3 and report.new_hits == 0  # the hits were already stored
    assert report.tasks == 2  # and their tasks are raised now, once
    assert rl.screening.rescreen().tasks == 0
    assert {t.key for t in rl.tasks.list(kind="screening_hit")} == {
        "screening:cus-0",
        "screening:cus-2",
    }


def test_a_pep_hit_counts_towards_the_pep_status_however_the_list_spells_it(
    any_rl: Riskloop,
) -> None:
    """Decisions and profiles must agree on which entries are PEPs (one rule for both)."""
    store = any_rl.screening.store
    hits = [
        Hit("cus-a", "opensanctions", "p1", "d1", 1, 0.9, {"programs": ["role.pep"]}),
        Hit("cus-b", "local", "p2", "d2", 1, 0.9, {"programs": ["PEP"]}),
        Hit("cus-c", "ofac_sdn", "7001", "d3", 1, 0.9, {"programs": ["SDGT"]}),
    ]
    store.record_hits(hits, NOW)
    found = store.open_hit_customers(["cus-a", "cus-b", "cus-c"])
    assert found == {"cus-a": {"pep:open"}, "cus-b": {"pep:open"}, "cus-c": {"sanctions:open"}}
