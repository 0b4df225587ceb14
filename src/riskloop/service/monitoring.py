"""Monitoring use cases: run the drift, performance and freshness checks over time windows,
store each report, and turn what needs a person into a task.

Windows are half-open ``[start, end)`` and select decisions by ``decided_at`` (when the
platform decided, what the model saw then), events by ``occurred_at`` (freshness) and
records by arrival (contract violations). By default the
current window is the last 24 hours and the reference the 7 days before it; delayed-label
performance reads the last 60 days (younger cohorts have few labels). Every window can be
given explicitly.

Each report is stored (``monitor_reports``). Every ``alert`` — and every ``warn`` when
``task_on_warn`` — raises an ``alert`` task with a stable key (``drift:<event
type>:<feature>``, ``drift:<event type>:score``, ``performance:<event type>``,
``freshness:<event type>``, ``violations:<source>``), so a drift that persists over runs is
one task with more occurrences, not one task per run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from riskloop.cases.ports import TaskSink
from riskloop.cases.tasks import TaskKind
from riskloop.errors import FieldError, InvalidInput
from riskloop.intake import EVENT_TYPES
from riskloop.ledger.records import Decision
from riskloop.monitoring.drift import DriftResult, DriftThresholds, FeatureDrift, Sample, compare
from riskloop.monitoring.freshness import (
    FreshnessThresholds,
    contract_violations,
    event_freshness,
)
from riskloop.monitoring.performance import FLAGGED, Cohorts, PerformanceThresholds
from riskloop.monitoring.ports import (
    KINDS,
    DeadLetterStats,
    DecisionSource,
    EventStats,
    Report,
    ReportStore,
)
from riskloop.monitoring.status import Status, worst

ACTOR = "monitoring"
RUNBOOK_ANCHORS = {  # sections of docs/runbooks.md
    "drift": "drift",
    "performance": "performance",
    "freshness": "freshness",
    "violations": "contract-violations",
}


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def window(start: object, end: object, name: str) -> Window:
    """A checked window: both ends timezone-aware, ``end`` after ``start`` (``InvalidInput``
    naming ``<name>.start`` or ``<name>.end`` otherwise)."""
    for part, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime):
            raise InvalidInput([FieldError(f"{name}.{part}", "must be a date and time")])
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput([FieldError(f"{name}.{part}", "must carry a timezone")])
    assert isinstance(start, datetime)
    assert isinstance(end, datetime)
    try:
        found = Window(start.astimezone(UTC), end.astimezone(UTC))
    except OverflowError:
        raise InvalidInput([FieldError(name, "out of range")]) from None
    if found.end <= found.start:
        raise InvalidInput([FieldError(f"{name}.end", "must be after the start")])
    return found


def _event_type(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in EVENT_TYPES:
        return value
    raise InvalidInput([FieldError("event_type", f"one of {', '.join(EVENT_TYPES)}")])


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MonitoringService:
    def __init__(
        self,
        *,
        reports: ReportStore,
        decisions: DecisionSource,
        events: EventStats,
        dead_letters: DeadLetterStats,
        labels: Callable[[], Mapping[str, bool]],  # each labelled event's verdict now
        tasks: TaskSink,
        clock: Callable[[], datetime] = _utcnow,
        drift: DriftThresholds | None = None,
        performance: PerformanceThresholds | None = None,
        freshness: FreshnessThresholds | None = None,
        current_span: timedelta = timedelta(days=1),
        reference_span: timedelta = timedelta(days=7),
        performance_span: timedelta = timedelta(days=60),
        task_on_warn: bool = False,
        runbooks: str = "docs/runbooks.md",
        max_drift_decisions: int = 200_000,  # per window; more are sampled down to it
        max_performance_decisions: int = 2_000_000,
    ) -> None:
        self.max_drift_decisions = max_drift_decisions
        self.max_performance_decisions = max_performance_decisions
        self.reports_store = reports
        self.decisions = decisions
        self.events = events
        self.dead_letters = dead_letters
        self.labels = labels
        self.tasks = tasks
        self.clock = clock
        self.drift_thresholds = drift or DriftThresholds()
        self.performance_thresholds = performance or PerformanceThresholds()
        self.freshness_thresholds = freshness or FreshnessThresholds()
        self.current_span = current_span
        self.reference_span = reference_span
        self.performance_span = performance_span
        self.task_on_warn = task_on_warn
        self.runbooks = runbooks

    # -- windows ---------------------------------------------------------------------------

    def windows(
        self, reference: Window | None = None, current: Window | None = None
    ) -> tuple[Window, Window]:
        """``(reference, current)``: the defaults where not given; a reference that ends
        after the current window starts is refused (the two would share decisions)."""
        now = self.clock()
        cur = current or Window(now - self.current_span, now)
        try:
            ref = reference or Window(cur.start - self.reference_span, cur.start)
        except OverflowError:
            raise InvalidInput([FieldError("current.start", "out of range")]) from None
        if ref.end > cur.start:
            raise InvalidInput([FieldError("reference.end", "must not be after current.start")])
        return ref, cur

    # -- the checks ------------------------------------------------------------------------

    def drift(
        self,
        *,
        event_type: str | None = None,
        reference: Window | None = None,
        current: Window | None = None,
    ) -> list[Report]:
        """One report per event type with decisions in either window (or the one asked)."""
        et = _event_type(event_type)
        ref, cur = self.windows(reference, current)
        before, after = self._samples(ref, et), self._samples(cur, et)
        out = []
        for name in [et] if et else sorted(set(before) | set(after)):
            result = compare(
                before.get(name, Sample()), after.get(name, Sample()), self.drift_thresholds
            )
            body = {
                "event_type": name,
                "reference": ref.as_dict(),
                "current": cur.as_dict(),
                "timestamp": "decided_at",
                "thresholds": self.drift_thresholds.as_dict(),
                **result.as_dict(),
            }
            report = self._store("drift", name, result.status, body)
            self._drift_tasks(report, result)
            out.append(report)
        return out

    def _share(self, w: Window, event_type: str | None, cap: int) -> float:
        """The share of a window's decisions to read so that about ``cap`` are: a
        distribution is estimated as well from 200,000 decisions as from 7 million, and an
        hourly check must not parse a week of traffic."""
        n = self.decisions.count_between(w.start, w.end, event_type=event_type)
        return 1.0 if n <= cap else cap / n

    def _samples(self, w: Window, event_type: str | None) -> dict[str, Sample]:
        samples: dict[str, Sample] = {}
        share = self._share(w, event_type, self.max_drift_decisions)
        for d in self.decisions.decided_between(
            w.start, w.end, event_type=event_type, sample=share
        ):
            sample = samples.get(d.event_type)
            if sample is None:
                sample = samples[d.event_type] = Sample()
            sample.add(d.features, d.score)
        return samples

    def _drift_tasks(self, report: Report, result: DriftResult) -> None:
        for f in (*result.features, result.score):
            if self._raises(f.status):
                what = "score" if f is result.score else f.feature
                self._task(
                    report,
                    key=f"drift:{report.scope}:{what}",
                    title=f"Drift {f.status.value}: {report.scope} {what}",
                    detail=_drift_detail(f),
                )

    def performance(
        self, *, event_type: str | None = None, current: Window | None = None
    ) -> list[Report]:
        """Delayed-label performance by decision-day cohort, one report per event type."""
        et = _event_type(event_type)
        now = self.clock()
        w = current or Window(now - self.performance_span, now)
        known = self.labels()
        books: dict[str, Cohorts] = {}
        share = self._share(w, et, self.max_performance_decisions)
        for d in self.decisions.decided_between(w.start, w.end, event_type=et, sample=share):
            fraud = known.get(d.event_id) is True
            amount, currency = self._amount(d) if fraud else (None, None)
            book = books.get(d.event_type)
            if book is None:
                book = books[d.event_type] = Cohorts()
            book.add(
                d.decided_at.astimezone(UTC).date(),
                flagged=d.outcome.value in FLAGGED,
                fraud=fraud,
                score=d.score,
                amount=amount,
                currency=currency,
            )
        out = []
        for name in [et] if et else sorted(books):
            found = books.get(name, Cohorts()).report(now.date(), self.performance_thresholds)
            status = Status(found["status"])
            body = {
                "event_type": name,
                "current": w.as_dict(),
                "timestamp": "decided_at",
                "thresholds": self.performance_thresholds.as_dict(),
                **found,
            }
            report = self._store("performance", name, status, body)
            if self._raises(status):
                detail = {"reasons": found["reasons"], "mature": _brief(found["mature"])}
                self._task(
                    report,
                    key=f"performance:{name}",
                    title=f"Performance {status.value}: {name}",
                    detail=detail,
                )
            out.append(report)
        return out

    def _amount(self, d: Decision) -> tuple[float | None, str | None]:
        """The amount of a fraud decision: from its feature snapshot when it has one, else
        from its event (one lookup per fraud decision, which are few)."""
        amount = d.features.get("amount")
        if isinstance(amount, int | float) and not isinstance(amount, bool):
            currency = d.features.get("currency")
            return float(amount), currency if isinstance(currency, str) else None
        event = self.events.get(d.event_id)
        data = event.data if event is not None else {}
        amount, currency = data.get("amount"), data.get("currency")
        if isinstance(amount, int | float) and not isinstance(amount, bool):
            return float(amount), currency if isinstance(currency, str) else None
        return None, None

    def freshness(
        self,
        *,
        event_type: str | None = None,
        reference: Window | None = None,
        current: Window | None = None,
    ) -> Report:
        """Freshness per event type as of the current window's end, and (for all event
        types) the contract-violation rate per source in the current window."""
        et = _event_type(event_type)
        ref, cur = self.windows(reference, current)

        def only(found: Mapping[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in found.items() if et is None or k == et}

        rows = event_freshness(
            cur.end,
            last_event=only(self.events.last_event_times(cur.end)),
            reference=only(self.events.counts_by_type(ref.start, ref.end)),
            current=only(self.events.counts_by_type(cur.start, cur.end)),
            reference_span=ref.span,
            current_span=cur.span,
            thresholds=self.freshness_thresholds,
        )
        sources: list[dict[str, Any]] = []
        if et is None:
            sources = contract_violations(
                self.events.counts_by_source(cur.start, cur.end),
                self.dead_letters.counts_by_source(cur.start, cur.end),
                self.freshness_thresholds,
            )
        status = worst(Status(r["status"]) for r in (*rows, *sources))
        body = {
            "event_type": et,
            "reference": ref.as_dict(),
            "current": cur.as_dict(),
            "timestamp": "occurred_at (freshness), ingested_at (violations)",
            "thresholds": self.freshness_thresholds.as_dict(),
            "status": status.value,
            "event_types": rows,
            "sources": sources,
        }
        report = self._store("freshness", et or "", status, body)
        for r in rows:
            if self._raises(Status(r["status"])):
                title = f"Freshness {r['status']}: {r['event_type']}"
                self._task(report, key=f"freshness:{r['event_type']}", title=title, detail=r)
        for r in sources:
            if self._raises(Status(r["status"])):
                title = f"Contract violations {r['status']}: {r['source']}"
                self._task(report, key=f"violations:{r['source']}", title=title, detail=r)
        return report

    # -- reading reports -------------------------------------------------------------------

    def reports(
        self, *, kind: str | None = None, scope: str | None = None, limit: int = 20
    ) -> list[Report]:
        """The newest reports first."""
        if kind is not None and kind not in KINDS:
            raise InvalidInput([FieldError("kind", f"one of {', '.join(KINDS)}")])
        if scope is not None and (not isinstance(scope, str) or len(scope) > 64):
            raise InvalidInput([FieldError("scope", "an event type, or empty for all")])
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInput([FieldError("limit", "an integer from 1 to 1000")])
        return self.reports_store.latest(kind=kind, scope=scope, limit=limit)

    # -- shared ----------------------------------------------------------------------------

    def _store(self, kind: str, scope: str, status: Status, body: dict[str, Any]) -> Report:
        report = Report(kind, scope, status.stored, self.clock(), body)
        return self.reports_store.add(report)

    def _raises(self, status: Status) -> bool:
        return status is Status.ALERT or (self.task_on_warn and status is Status.WARN)

    def runbook(self, check: str) -> str:
        return f"{self.runbooks}#{RUNBOOK_ANCHORS[check]}"

    def _task(self, report: Report, *, key: str, title: str, detail: Mapping[str, Any]) -> None:
        runbook = self.runbook(key.split(":", 1)[0])
        self.tasks.raise_task(
            TaskKind.ALERT.value,
            title[:200],
            key=key[:200],
            detail={"report_id": report.id, "kind": report.kind, "runbook": runbook, **detail},
            # The task store takes only http(s) links; a relative runbook stays in the
            # detail and the task links the generic alert runbook.
            runbook_url=runbook if runbook.startswith(("http://", "https://")) else None,
            actor=ACTOR,
        )


def _drift_detail(f: FeatureDrift) -> dict[str, Any]:
    keep = (
        "feature",
        "status",
        "psi",
        "chi2_p_value",
        "ks_statistic",
        "ks_p_value",
        "missing_reference",
        "missing_current",
        "mean_reference",
        "mean_current",
        "new_categories",
        "reasons",
    )
    found = f.as_dict()
    return {k: found[k] for k in keep}


def _brief(figures: Mapping[str, Any]) -> dict[str, Any]:
    keys: Iterable[str] = ("cohorts", "decisions", "fraud", "precision", "recall")
    return {k: figures.get(k) for k in keys}
