"""How long each kind of data is kept, and what happens to it after.

Events follow their contract (``retention_days``, ``retention_action``); other data that
holds personal data has its own rule here. ``RISKLOOP_RETENTION`` overrides any of them,
e.g. ``login=400:delete,card_payment=3650,dead_letters=30``. A contract may not keep its
events for less time than the active feature set looks back at them: features are rebuilt
from the event log, so a shorter retention would change them (docs/retention.md).

>>> parse_retention("login=400:delete, dead_letters=30")
(('login', 400, 'delete'), ('dead_letters', 30, None))
>>> p = retention_policy((("login", 400, None),))
>>> p.events["login"].days, p.events["login"].action, p.events["login"].overridden
(400, 'delete', True)
>>> p.other["dead_letters"].days
90
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from riskloop.domain.labels import LABEL_EVENT_TYPES
from riskloop.errors import ConfigError
from riskloop.features import FeatureSet
from riskloop.intake import EVENT_TYPES, RETENTION_ACTIONS, latest

SETTING = "RISKLOOP_RETENTION"
FEATURE_SETTING = "RISKLOOP_FEATURE_SET"
MAX_DAYS = 36_500
DAY_S = 86_400

Override = tuple[str, int, str | None]


@dataclass(frozen=True, slots=True)
class OtherData:
    days: int
    action: str  # the only thing that can be done to it
    what: str


# Personal data kept outside the event log, by the name the setting uses.
OTHER: dict[str, OtherData] = {
    # An expired session is useless (the access service refuses it): removed at once, and
    # not settable.
    "sessions": OtherData(0, "delete", "sessions that expired before"),
    # Rejected input, sealed: long enough to fix the source and re-import (and for the
    # freshness check's 8-day violation windows), not for ever.
    "dead_letters": OtherData(90, "delete", "rejected input (sealed payload)"),
    # Failed logins: the lockout needs 15 minutes; security investigations a month.
    "auth_failures": OtherData(30, "delete", "failed logins (username, client address)"),
    # Analysts' notes name people: shredded 7 years after the case was resolved (SAR
    # record keeping is 5 years from filing); the timeline entry stays.
    "case_notes": OtherData(2555, "shred", "sealed notes of cases resolved before"),
    # A suppression's note explains a dismissed sanctions hit: kept 7 years after the
    # suppression ended (revoked or expired).
    "suppression_notes": OtherData(2555, "shred", "sealed notes of suppressions ended before"),
}
NAMES: tuple[str, ...] = (*EVENT_TYPES, *(k for k, o in OTHER.items() if o.days))


@dataclass(frozen=True, slots=True)
class Rule:
    name: str  # an event type or a key of OTHER
    days: int
    action: str  # delete, anonymise (events); delete, shred (other data)
    overridden: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"days": self.days, "action": self.action, "overridden": self.overridden}


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    events: Mapping[str, Rule]
    other: Mapping[str, Rule]

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": {k: r.as_dict() for k, r in self.events.items()},
            "other": {k: r.as_dict() for k, r in self.other.items()},
        }


def _entry(item: str) -> Override:
    name, sep, rest = item.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"{item!r}: expected NAME=DAYS or NAME=DAYS:ACTION")
    if name not in NAMES:
        raise ValueError(f"{name!r}: unknown; one of {', '.join(NAMES)}")
    days_text, _, action_text = rest.partition(":")
    try:
        days = int(days_text.strip())
    except ValueError:
        raise ValueError(f"{name}: days must be an integer") from None
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"{name}: days must be from 1 to {MAX_DAYS}")
    action = action_text.strip().lower() or None
    allowed = RETENTION_ACTIONS if name in EVENT_TYPES else (OTHER[name].action,)
    if action is not None and action not in allowed:
        raise ValueError(f"{name}: action must be {' or '.join(allowed)}")
    return name, days, action


def parse_retention(raw: str) -> tuple[Override, ...]:
    """``NAME=DAYS[:ACTION],...``; a name given twice is refused (ValueError)."""
    entries = tuple(_entry(p) for p in raw.split(",") if p.strip())
    seen: set[str] = set()
    for name, _, _ in entries:
        if name in seen:
            raise ValueError(f"{name}: given twice")
        seen.add(name)
    return entries


def retention_policy(overrides: Iterable[Override] = ()) -> RetentionPolicy:
    given = {name: (days, action) for name, days, action in overrides}
    events = {}
    for event_type in EVENT_TYPES:
        spec = latest(event_type)
        days, action = given.get(event_type, (spec.retention_days, None))
        events[event_type] = Rule(
            event_type, days, action or spec.retention_action, event_type in given
        )
    other = {
        name: Rule(name, given.get(name, (o.days, None))[0], o.action, name in given)
        for name, o in OTHER.items()
    }
    return RetentionPolicy(events, other)


def days_needed(feature_set: FeatureSet) -> dict[str, int]:
    """The fewest days each event type must be kept for the feature set to be rebuilt
    from the log: its longest window over that type, plus the lateness allowed."""
    longest: dict[str, int] = {}
    for f in feature_set.features:
        # A label rate counts the labels of the events in its window, which arrive later.
        reads = set(f.events) | (set(LABEL_EVENT_TYPES) if f.kind == "label_rate" else set())
        for event_type in reads:
            longest[event_type] = max(longest.get(event_type, 0), f.window_s or 0)
    return {t: math.ceil((s + feature_set.lateness_s) / DAY_S) for t, s in longest.items() if s > 0}


def check_feature_windows(policy: RetentionPolicy, feature_set: FeatureSet) -> None:
    """ConfigError naming the setting to change when an event type would be purged while
    a feature still reads it."""
    needed = days_needed(feature_set)
    for event_type, rule in policy.events.items():
        need = needed.get(event_type, 0)
        if rule.days >= need:
            continue
        if rule.overridden:
            raise ConfigError(
                SETTING,
                f"{event_type}={rule.days} is shorter than the {need} days the feature set "
                f"{feature_set.name!r} looks back at {event_type} events (its longest window "
                "plus lateness); features are rebuilt from the event log",
            )
        raise ConfigError(
            FEATURE_SETTING,
            f"the feature set {feature_set.name!r} looks back {need} days at {event_type} "
            f"events, longer than their retention of {rule.days} days; shorten the window or "
            f"set {SETTING}={event_type}={need}",
        )


__all__ = [
    "NAMES",
    "OTHER",
    "RetentionPolicy",
    "Rule",
    "check_feature_windows",
    "days_needed",
    "parse_retention",
    "retention_policy",
]
