"""Backtest use case: parse what the user asks for, build the candidate (rules and policies
as they would be, a registered model), replay the window, compare with production by the
labels known now, and keep the report (``riskloop backtest``, ``/v1/backtests``).

A backtest changes nothing in force; its spec, author and report are kept so a change can
later show the evidence it went live on.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from riskloop.domain.events import StoredEvent
from riskloop.errors import FieldError, InvalidInput, NotFound, RiskloopError
from riskloop.features import FeatureSet
from riskloop.intake.registry import EVENT_TYPES
from riskloop.policy.model import Policy
from riskloop.release.backtest import Candidate, Replayed, from_decisions, from_log
from riskloop.release.compare import Comparison, shadow_report
from riskloop.release.ports import BacktestStore
from riskloop.rules.model import rule_from_dict
from riskloop.scoring.port import Scorer
from riskloop.service.catalog import CatalogService
from riskloop.service.features import gc_paused
from riskloop.vault import mask_text

log = logging.getLogger(__name__)

SOURCES = ("decisions", "log")
_KEYS = {"since", "until", "event_type", "rules", "policies", "policy", "model", "source", "note"}


class RecordedWindow(Protocol):
    def with_events(
        self, *, after: str, before: str, event_types: list[str], limit: int = 5000
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]: ...


@dataclass(frozen=True)
class BacktestSpec:
    since: datetime
    until: datetime
    event_type: str | None
    rules: tuple[Mapping[str, Any], ...]
    policies: tuple[Mapping[str, Any], ...]
    policy: str | None  # id@version of a saved policy version
    model: str | None  # name@version of a registered model
    source: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "event_type": self.event_type,
            "rules": [dict(r) for r in self.rules],
            "policies": [dict(p) for p in self.policies],
            "policy": self.policy,
            "model": self.model,
            "source": self.source,
            "note": self.note,
        }


def _moment(doc: Mapping[str, Any], key: str) -> datetime:
    raw = doc.get(key)
    if raw is None:
        raise InvalidInput([FieldError(key, "required: an ISO 8601 time with a timezone")])
    if isinstance(raw, datetime):
        moment = raw
    else:
        try:
            moment = datetime.fromisoformat(str(raw))
        except ValueError:
            raise InvalidInput([FieldError(key, "must be an ISO 8601 time")]) from None
    if moment.tzinfo is None:
        raise InvalidInput([FieldError(key, "must carry a timezone")])
    return moment


def _ref(doc: Mapping[str, Any], key: str) -> str | None:
    raw = doc.get(key)
    if raw is None:
        return None
    name, _, number = str(raw).partition("@")
    if not isinstance(raw, str) or not name or not number.isdigit():
        raise InvalidInput([FieldError(key, "name@version, e.g. card-default@3")])
    return raw


def parse_spec(doc: Any) -> BacktestSpec:
    """Every problem is reported with its field; nothing is looked up yet."""
    if not isinstance(doc, dict):
        raise InvalidInput([FieldError("backtest", "must be an object")])
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise InvalidInput([FieldError(k, "unknown field") for k in unknown])
    since, until = _moment(doc, "since"), _moment(doc, "until")
    if until <= since:
        raise InvalidInput([FieldError("until", "must be after since")])
    event_type = doc.get("event_type")
    if event_type is not None and event_type not in EVENT_TYPES:
        raise InvalidInput([FieldError("event_type", f"one of {', '.join(EVENT_TYPES)}")])
    lists = {}
    for key in ("rules", "policies"):
        items = doc.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidInput([FieldError(key, "must be a list of objects")])
        lists[key] = tuple(items)
    source = doc.get("source") or "decisions"
    if source not in SOURCES:
        raise InvalidInput([FieldError("source", f"one of {', '.join(SOURCES)}")])
    note = doc.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise InvalidInput([FieldError("note", "text of at most 2000 characters")])
    spec = BacktestSpec(
        since,
        until,
        event_type,
        lists["rules"],
        lists["policies"],
        _ref(doc, "policy"),
        _ref(doc, "model"),
        source,
        note,
    )
    if not (spec.rules or spec.policies or spec.policy or spec.model):
        raise InvalidInput(
            [FieldError("rules", "give the candidate: rules, policies, a policy or a model")]
        )
    return spec


def _decision_id_at(moment: datetime) -> str:
    """Decision ids start with their time: the id range of a time range."""
    return f"dec_{int(moment.timestamp() * 1000):012x}"


class BacktestService:
    def __init__(
        self,
        *,
        catalog: CatalogService,
        recorded: RecordedWindow,
        log_source: Callable[[], Iterator[StoredEvent]],
        feature_set: FeatureSet,
        model: Callable[[str], tuple[Scorer, str]],  # name@version -> scorer, event type
        champion: Callable[[str], Scorer | None],  # event type -> the serving champion
        labels: Callable[[], Mapping[str, bool]],  # the verdicts known now
        store: BacktestStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.catalog = catalog
        self.recorded = recorded
        self.log_source = log_source
        self.feature_set = feature_set
        self.model = model
        self.champion = champion
        self.labels = labels
        self.store = store
        self.clock = clock

    def candidate(self, spec: BacktestSpec) -> tuple[Candidate, list[str], dict[str, Any]]:
        """The candidate, the event types it decides, and what it is (for the report)."""
        policies: list[Any] = list(spec.policies)
        if spec.policy is not None:
            pid, _, number = spec.policy.partition("@")
            try:
                versions = self.catalog.policy_versions(pid)
            except NotFound:
                raise InvalidInput([FieldError("policy", f"no policy {pid!r}")]) from None
            saved = [p for p in versions if p.version == int(number)]
            if not saved:
                raise InvalidInput([FieldError("policy", f"no version {spec.policy}")])
            policies.append(saved[0])
        try:
            playbook, changed = self.catalog.candidate(rules=spec.rules, policies=policies)
        except InvalidInput as exc:
            raise exc.prefixed("candidate") from None
        scorer, model_type = None, None
        if spec.model is not None:
            try:
                scorer, model_type = self.model(spec.model)
            except NotFound:
                raise InvalidInput([FieldError("model", f"no model {spec.model}")]) from None
            except ValueError as exc:  # a version this process cannot serve
                raise InvalidInput([FieldError("model", f"cannot be served: {exc}")]) from None
        ids = {q.id if isinstance(q, Policy) else q.get("id") for q in policies}
        types = {t for doc in spec.rules for t in _rule_types(doc)}
        types |= {t for t, plan in playbook.active.items() if plan.policy.id in ids}
        if model_type is not None:
            types.add(model_type)
        if spec.event_type is not None:
            types = {spec.event_type}
        if not types:
            raise InvalidInput([FieldError("event_type", "the candidate decides no event type")])
        described = {
            "policies": {
                t: playbook.active[t].policy.version_id
                for t in sorted(types)
                if t in playbook.active
            },
            "changed_rules": sorted(changed),
            "model": spec.model,
        }
        return Candidate(playbook, changed, scorer), sorted(types), described

    def run(
        self,
        spec: BacktestSpec,
        *,
        author: str,
        backtest_id: str | None = None,
        on_events: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Replay and compare; the report is stored under ``backtest_id`` (made if absent)."""
        candidate, types, described = self.candidate(spec)
        backtest_id = backtest_id or self.begin(spec, author)
        try:
            report = self._run(spec, candidate, types, on_events)
        except Exception as exc:
            self.store.fail(backtest_id, mask_text(f"{type(exc).__name__}: {exc}"), self.clock())
            raise
        production = self.catalog.playbook()
        report = {
            "backtest_id": backtest_id,
            "window": {"since": spec.since.isoformat(), "until": spec.until.isoformat()},
            "event_types": types,
            "source": spec.source,
            "change": described,
            "production": {
                t: production.active[t].policy.version_id for t in types if t in production.active
            },
            **report,
        }
        self.store.finish(backtest_id, report, self.clock())
        return report

    def begin(self, spec: BacktestSpec, author: str) -> str:
        backtest_id = "bt_" + secrets.token_hex(8)
        self.store.create(backtest_id, spec.as_dict(), author, self.clock())
        return backtest_id

    def start(self, spec: BacktestSpec, *, author: str) -> str:
        """Check the candidate now (bad input is the caller's 422), run in the background."""
        self.candidate(spec)
        backtest_id = self.begin(spec, author)

        def work() -> None:
            try:
                self.run(spec, author=author, backtest_id=backtest_id)
            except RiskloopError as exc:
                log.warning("backtest %s failed: %s", backtest_id, exc)
            except Exception:
                log.exception("backtest %s failed", backtest_id)

        threading.Thread(target=work, name=f"backtest-{backtest_id}", daemon=True).start()
        return backtest_id

    def _rows(self, spec: BacktestSpec, types: list[str]) -> Iterator[tuple[Any, Any]]:
        after, before = _decision_id_at(spec.since), _decision_id_at(spec.until)
        while batch := self.recorded.with_events(after=after, before=before, event_types=types):
            yield from batch
            after = batch[-1][0]["decision_id"]

    def _run(
        self,
        spec: BacktestSpec,
        candidate: Candidate,
        types: list[str],
        on_events: Callable[[int], None] | None,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        labels = self.labels()
        comparison = Comparison()
        replayed: Iterator[Replayed]
        if spec.source == "decisions":
            replayed = from_decisions(self._rows(spec, types), candidate)
        else:
            replayed = from_log(
                self.log_source(),
                self.feature_set,
                (self.catalog.playbook(), self.champion),
                candidate,
                start=spec.since,
                end=spec.until,
                event_types=frozenset(types),
            )
        n = 0
        with gc_paused():
            for r in replayed:
                comparison.add(r.amount, labels.get(r.event_id), r.baseline, r.candidate, r.hits)
                n += 1
                if on_events is not None and n % 10_000 == 0:
                    on_events(10_000)
        if on_events is not None:
            on_events(n % 10_000)
        seconds = time.perf_counter() - started
        return {
            **comparison.report(),
            "seconds": round(seconds, 3),
            "events_per_second": round(n / seconds) if seconds else None,
        }

    def shadow(
        self, since: datetime, until: datetime, event_type: str | None = None
    ) -> dict[str, Any]:
        """Shadow policies against production, and shadow rules, on the decisions recorded
        in the window."""
        types = [event_type] if event_type else list(EVENT_TYPES)
        window = BacktestSpec(since, until, event_type, (), (), None, None, "decisions", "")
        return {
            "window": {"since": since.isoformat(), "until": until.isoformat()},
            **shadow_report(self._rows(window, types), self.labels()),
        }

    def get(self, backtest_id: str) -> dict[str, Any]:
        found = self.store.get(backtest_id)
        if found is None:
            raise NotFound("backtest", backtest_id)
        return found

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.store.recent(limit)


def _rule_types(doc: Mapping[str, Any]) -> list[str]:
    try:
        return list(rule_from_dict(dict(doc), known_types=EVENT_TYPES).event_types)
    except InvalidInput:
        return []
