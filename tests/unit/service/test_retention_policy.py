"""The retention policy: each contract's default action, ``RISKLOOP_RETENTION`` overrides
refused with the variable named when malformed, and a retention shorter than what the
feature set looks back at refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskloop.config import Settings
from riskloop.errors import ConfigError
from riskloop.features import load_feature_set
from riskloop.intake import json_schema, latest
from riskloop.service.retention_policy import (
    check_feature_windows,
    days_needed,
    retention_policy,
)


@pytest.mark.parametrize(
    ("event_type", "days", "action"),
    [
        ("card_payment", 2555, "anonymise"),
        ("transfer", 2555, "anonymise"),
        ("login", 365, "delete"),
        ("account_change", 1825, "delete"),
        ("challenge_result", 2555, "anonymise"),
        ("kyc_record", 1825, "delete"),
        ("credit_application", 2555, "anonymise"),
        ("dispute", 2555, "anonymise"),
        ("ledger_entry", 2555, "anonymise"),
        ("label", 2555, "anonymise"),
    ],
)
def test_each_contract_says_what_happens_after_its_retention(
    event_type: str, days: int, action: str
) -> None:
    rule = retention_policy().events[event_type]
    assert (rule.days, rule.action, rule.overridden) == (days, action, False)
    assert json_schema(latest(event_type))["x-retention-action"] == action


def test_the_defaults_fit_the_default_feature_set() -> None:
    # Settings skips loading the features when neither changed, on the strength of this.
    fs = load_feature_set(None)
    check_feature_windows(retention_policy(), fs)
    needed = days_needed(fs)
    assert needed["login"] == 91  # login_new_device: 90 days, plus 10 minutes of lateness
    assert needed["transfer"] == 181  # payee_first_transfer: 180 days


def test_overrides_are_parsed_and_applied() -> None:
    s = Settings.from_env(
        {"RISKLOOP_RETENTION": "login=400:ANONYMISE, card_payment=3650 ,dead_letters=30:delete"}
    )
    assert s.retention == (
        ("login", 400, "anonymise"),
        ("card_payment", 3650, None),
        ("dead_letters", 30, "delete"),
    )
    policy = retention_policy(s.retention)
    assert (policy.events["login"].action, policy.events["login"].overridden) == (
        "anonymise",
        True,
    )
    assert policy.events["card_payment"].action == "anonymise"  # the contract's default
    assert policy.other["dead_letters"].days == 30
    assert policy.other["sessions"].days == 0  # always: once expired


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("login", "expected NAME=DAYS or NAME=DAYS:ACTION"),
        ("logins=30", "'logins': unknown; one of account_change"),
        ("sessions=3", "'sessions': unknown"),
        ("login=thirty", "login: days must be an integer"),
        ("login=0", "login: days must be from 1 to 36500"),
        ("login=400:erase", "login: action must be delete or anonymise"),
        ("dead_letters=30:anonymise", "dead_letters: action must be delete"),
        ("case_notes=30:delete", "case_notes: action must be shred"),
        ("login=400,login=500", "login: given twice"),
        ("login=30:delete", "login=30 is shorter than the 91 days"),
    ],
)
def test_a_bad_retention_setting_names_the_variable(raw: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"RISKLOOP_RETENTION": raw})
    assert info.value.variable == "RISKLOOP_RETENTION"
    assert reason in info.value.reason


def test_a_feature_set_looking_back_further_than_a_default_retention_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "features.yaml"
    path.write_text(
        "name: long\nversion: 1\nfeatures:\n"
        "  - {name: logins_2y, entity: customer, agg: count, window: 730d, events: [login]}\n"
    )
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"RISKLOOP_FEATURE_SET": str(path)})
    assert info.value.variable == "RISKLOOP_FEATURE_SET"
    assert "RISKLOOP_RETENTION=login=731" in info.value.reason
    kept = Settings.from_env({"RISKLOOP_FEATURE_SET": str(path), "RISKLOOP_RETENTION": "login=731"})
    assert kept.retention == (("login", 731, None),)
