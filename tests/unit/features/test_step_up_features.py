"""Step-up features of the default set (challenge results counted per customer; new device
and speed across logins and account changes), and the ``step_up`` label a challenge result
carries reaching live state, backfills, training sets and batch scoring the same way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskloop.domain.events import StoredEvent
from riskloop.features import FeatureEngine, FeatureResult, MemoryState, parse_feature_set
from riskloop.features.loader import load_feature_set
from riskloop.intake import validate_event
from riskloop.scoring.builtin import PointsScorer, Term
from riskloop.service.batch_score import score_stream
from riskloop.service.features import FeatureService
from riskloop.training.dataset import build_training_set
from riskloop.vault import Keyring, MemoryKeyStore, Vault

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BERLIN = {"lat": 52.52, "lon": 13.405, "country": "DE"}
NEW_YORK = {"lat": 40.71, "lon": -74.01, "country": "US"}
LONDON = {"lat": 51.51, "lon": -0.13, "country": "GB"}
STEP_UP = ("customer_challenges_failed_24h", "customer_challenges_passed_30d")


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _login(event_id: str, minutes: float, device: str, geo: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "login",
        "occurred_at": _at(minutes),
        "customer_id": "cus-1",
        "success": True,
        "device": {"id": device},
        "ip": "192.0.2.1",
        "geo": geo,
    }


def _change(event_id: str, minutes: float, device: str, geo: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "account_change",
        "occurred_at": _at(minutes),
        "customer_id": "cus-1",
        "change": "phone",
        "new_phone": "+44 20 7946 0958",
        "device": {"id": device},
        "geo": geo,
    }


def _transfer(event_id: str, minutes: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "transfer",
        "occurred_at": _at(minutes),
        "rail": "sepa_instant",
        "customer_id": "cus-1",
        "account_id": "acc-1",
        "amount": 250_000,
        "currency": "EUR",
        "payee": {"iban": "DE89370400440532013000"},
    }


def _result(event_id: str, minutes: float, challenged: str, result: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "challenge_result",
        "occurred_at": _at(minutes),
        "customer_id": "cus-1",
        "challenged_event_id": challenged,
        "method": "mfa",
        "result": result,
    }


STORY = [
    _login("l1", 0, "dev-home", BERLIN),
    _login("l2", 30, "dev-evil", NEW_YORK),  # challenged...
    _result("c1", 32, "l2", "failed"),  # ...and failed: l2 is labelled fraud
    _change("a1", 35, "dev-new", LONDON),  # a device never seen, far from New York
    _change("a2", 36, "dev-evil", LONDON),  # a device seen at a login
    _transfer("t1", 40),
    _result("c2", 41, "t1", "abandoned"),
    _result("c3", 42, "t1", "passed"),  # t1 labelled not fraud
    _result("c4", 43, "t1", "expired"),
    _login("l3", 45, "dev-home", BERLIN),
    _login("l4", 25 * 60, "dev-home", BERLIN),  # a day later: the failures are out of 24h
]


def _stored(events: list[dict[str, Any]]) -> list[StoredEvent]:
    vault = Vault(Keyring.open(MemoryKeyStore()))
    out = []
    for seq, payload in enumerate(events, start=1):
        s = vault.protect(validate_event(payload), source="t")
        out.append(
            StoredEvent(
                s.event_id,
                s.event_type,
                s.schema_version,
                s.occurred_at,
                s.data,
                s.pii,
                s.fingerprint,
                s.source,
                ingested_at=s.occurred_at,
                seq=seq,
            )
        )
    return out


class _NoLog:
    """The features' log is not read here: the events are handed over one by one."""

    def scan(self, *, after_seq: int = 0, limit: int = 1000) -> list[StoredEvent]:
        return []


def _live(fs: Any, stream: list[StoredEvent]) -> dict[str, dict[str, Any]]:
    service = FeatureService(FeatureEngine(fs, MemoryState()), _NoLog(), follow_log=False)  # type: ignore[arg-type]
    out: dict[str, dict[str, Any]] = {}
    for stored in stream:
        result = service.observe(stored)
        if result is not None and result.values is not None:
            out[stored.event_id] = result.values
    return out


def _offline(fs: Any, stream: list[StoredEvent]) -> dict[str, dict[str, Any]]:
    service = FeatureService(FeatureEngine(fs, MemoryState()), _NoLog(), follow_log=False)  # type: ignore[arg-type]
    out: dict[str, dict[str, Any]] = {}

    def keep(stored: StoredEvent, result: FeatureResult) -> None:
        if result.values is not None:
            out[stored.event_id] = result.values

    stats = service.replay(iter(stream), keep)
    assert stats.labels == 2  # c1 and c3; abandoned and expired carry none
    return out


@pytest.fixture(scope="module")
def served() -> dict[str, dict[str, Any]]:
    return _live(load_feature_set(), _stored(STORY))


def test_failed_abandoned_and_expired_results_count_for_the_customers_next_events(
    served: dict[str, dict[str, Any]],
) -> None:
    assert [served[e][STEP_UP[0]] for e in ("l2", "a1", "t1", "l3", "l4")] == [0, 1, 1, 3, 0]
    assert [served[e][STEP_UP[1]] for e in ("l2", "t1", "l3", "l4")] == [0, 0, 1, 1]


def test_challenge_results_are_counted_but_get_no_features_of_their_own(
    served: dict[str, dict[str, Any]],
) -> None:
    assert served["c1"] == {} and served["c2"] == {}  # counted (above), nothing to output
    assert set(STEP_UP) <= set(served["t1"]) and set(STEP_UP) <= set(served["a1"])


def test_an_account_change_from_a_device_not_seen_at_logins_or_changes_is_new(
    served: dict[str, dict[str, Any]],
) -> None:
    assert served["a1"]["account_change_new_device"] == 1
    assert served["a2"]["account_change_new_device"] == 0  # l2 was on dev-evil
    # New York (l2, 5 minutes before) to London: ~5,570 km in 5 minutes.
    assert served["a1"]["account_change_speed_kmh"] == pytest.approx(5570 * 12, rel=0.01)
    assert served["a2"]["account_change_speed_kmh"] == pytest.approx(0.0, abs=1.0)
    assert "login_new_device" not in served["a1"]
    # Logins keep their own meaning: only earlier logins count for them.
    assert served["l3"]["login_new_device"] == 0 and served["l2"]["login_new_device"] == 1


def test_online_and_offline_agree_on_the_step_up_stream(
    served: dict[str, dict[str, Any]],
) -> None:
    assert _offline(load_feature_set(), _stored(STORY)) == served


def _with_login_fraud_rate() -> Any:
    """A set with a label-based feature over logins, so the step_up label shows in values."""
    return parse_feature_set(
        {
            "name": "t",
            "version": 1,
            "features": [
                {
                    "name": "customer_login_fraud_rate_7d",
                    "kind": "label_rate",
                    "entity": "customer",
                    "window": "7d",
                    "events": ["login"],
                },
                {
                    "name": "customer_challenges_failed_24h",
                    "entity": "customer",
                    "agg": "count",
                    "window": "24h",
                    "events": ["challenge_result"],
                    "where": {"result": {"in": ["failed", "abandoned", "expired"]}},
                    "for": ["login"],
                },
            ],
        }
    )


def test_the_step_up_label_reaches_live_state_training_and_batch_scoring_alike() -> None:
    fs, stream = _with_login_fraud_rate(), _stored(STORY)
    live = _live(fs, stream)
    # l2's failed challenge labelled it fraud before l3: one of l3's two earlier logins.
    assert live["l3"]["customer_login_fraud_rate_7d"] == pytest.approx(1 / 2)
    assert live["l2"]["customer_login_fraud_rate_7d"] == 0.0
    assert _offline(fs, stream) == live
    assert live["l3"]["customer_challenges_failed_24h"] == 3

    training = build_training_set(
        stream, fs, event_type="login", cutoff=T0 + timedelta(days=2), maturity=timedelta(0)
    )
    assert dict(zip(training.event_ids, training.y.tolist(), strict=True)) == {
        "l1": 0,
        "l2": 1,
        "l3": 0,
        "l4": 0,
    }
    l3 = training.event_ids.index("l3")
    for name, value in live["l3"].items():  # the challenge results are counted there too
        assert training.x[l3, training.features.index(name)] == pytest.approx(value)

    terms = [
        Term("customer_login_fraud_rate_7d", 4.0),
        Term("customer_challenges_failed_24h", 1.0, scale=3),
    ]
    scorer = PointsScorer("rate", terms, bias=-2.0)

    def everything() -> Iterator[tuple[StoredEvent, bool]]:
        return ((s, True) for s in stream)

    scored = {r["event_id"]: r["score"] for r in score_stream(everything(), fs, scorer, "login")}
    assert scored == {e: scorer.score(live[e]).value for e in ("l1", "l2", "l3", "l4")}
    assert scored["l3"] > scored["l1"]
