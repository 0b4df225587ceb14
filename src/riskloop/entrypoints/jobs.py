"""The job catalogue and the embedded scheduler thread.

Every job here runs on the schedule in ``RISKLOOP_SCHEDULE`` inside ``riskloop serve``, and
as ``riskloop jobs run NAME`` from cron, Airflow or a Kubernetes CronJob; both take the same
lease in ``job_runs``, so a job never runs twice at once across processes and hosts
(docs/operations.md#scheduling).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from riskloop.adapters.sql.jobs import SqlJobRuns
from riskloop.bootstrap import Riskloop
from riskloop.service.schedule import Job, Scheduler, Summary

log = logging.getLogger(__name__)

AUTHOR = "scheduler"
RETRAIN_REASON = "scheduled retrain"


def _train(rl: Riskloop) -> Summary:
    """Retrain with `riskloop train`'s defaults, cut off now, and set the new version as
    the challenger: it is scored in shadow and never serves until someone promotes it."""
    from riskloop.training.run import TrainSpec

    name, event_type = rl.settings.retrain_model, rl.settings.retrain_event_type
    # The job exists only when both are set.
    assert name is not None
    assert event_type is not None
    spec = TrainSpec(cutoff=datetime.now(UTC), name=name, event_type=event_type)
    version, result = rl.models.train(spec, author=AUTHOR, note=RETRAIN_REASON)
    rl.models.promote(
        name, version.version, alias="challenger", author=AUTHOR, reason=RETRAIN_REASON
    )
    test = result.metrics["test"]
    return {
        "model": version.ref,
        "alias": "challenger",
        "rows": result.lineage["rows"],
        "fraud": result.lineage["fraud"],
        "test_roc_auc": test["roc_auc"],
        "test_average_precision": test["average_precision"],
    }


def _refresh_lists(rl: Riskloop) -> Summary:
    loaded = []
    for location in rl.settings.screening_lists:
        fmt, sep, rest = location.partition(":")
        fmt_given = sep and fmt in ("ofac", "un", "ftm")
        result = rl.screening.load(
            rest if fmt_given else location, fmt=fmt if fmt_given else None, actor=AUTHOR
        )
        loaded.append(result.as_dict() | {"diff": None})
    report = rl.screening.rescreen()
    return {"lists": loaded, "rescreen": report.as_dict()}


def _retention(rl: Riskloop) -> Summary:
    report = rl.retention.run(actor=AUTHOR)
    return {"run_id": report.run_id, **report.totals()}


def jobs(rl: Riskloop) -> list[Job]:
    """Every job this process can run, each with a default interval (``RISKLOOP_SCHEDULE``
    picks the jobs ``serve`` runs and their intervals). Add a job by appending it."""
    catalogue = [
        Job(
            "labels-resolve",
            timedelta(minutes=15),
            rl.labels.resolve_pending,
            "match pending labels (sent with card, amount and day) to payments that arrived "
            "since; same as `riskloop labels resolve`",
        ),
        Job(
            "labels-sync",
            timedelta(minutes=5),
            lambda: {"indexed": rl.labels.sync()},
            "index label events the label index lacks (a server also does this every 30 s)",
        ),
        Job(
            "cases-sync",
            timedelta(minutes=1),
            lambda: rl.cases.sync().as_dict(),
            "open cases for new review decisions, finish label write-backs, raise SLA tasks "
            "(a server also does this every second); same as `riskloop cases sync`",
        ),
        Job(
            "canary-check",
            timedelta(seconds=rl.settings.canary_check_seconds),
            lambda: {"checks": rl.canaries.check()},
            "judge running canaries against their guardrails: roll back, advance, promote "
            "(a server also does this every RISKLOOP_CANARY_CHECK_SECONDS); same as "
            "`riskloop canary check`",
        ),
        Job(
            "drift",
            timedelta(hours=1),
            lambda: {"reports": [r.status for r in rl.monitoring.drift()]},
            "feature and score drift of the last day against the week before (PSI, KS); "
            "alerts become tasks; same as `riskloop monitor drift`",
        ),
        Job(
            "performance",
            timedelta(days=1),
            lambda: {"reports": [r.status for r in rl.monitoring.performance()]},
            "precision, recall and average precision by decision day as labels mature; "
            "same as `riskloop monitor performance`",
        ),
        Job(
            "freshness",
            timedelta(minutes=15),
            lambda: {"status": rl.monitoring.freshness().status},
            "time since each event type's last event, contract-violation rates; alerts "
            "become tasks; same as `riskloop monitor freshness`",
        ),
        Job(
            "kyc-sync",
            timedelta(minutes=1),
            lambda: rl.kyc.sync().as_dict(),
            "project new kyc_record events into KYC profiles and screen the customers whose "
            "profile changed; same as `riskloop kyc sync`",
        ),
        Job(
            "rescreen",
            timedelta(minutes=15),
            lambda: rl.screening.rescreen().as_dict(),
            "screen every customer not yet screened against the current list versions (after "
            "a list load, only its added and changed entries); same as `riskloop rescreen`",
            lease=timedelta(hours=2),
        ),
        Job(
            "kyc-reviews",
            timedelta(days=1),
            lambda: {"due": len(rl.kyc.due_reviews())},
            "raise a review task for each customer whose periodic KYC review is due",
        ),
        Job(
            "retention",
            timedelta(days=1),
            lambda: _retention(rl),
            "delete or anonymise the events and other personal data past their retention, "
            "except what legal holds keep; same as `riskloop retention run`",
            # Batches commit as they go: a run cut off by its lease loses nothing.
            lease=timedelta(hours=6),
        ),
    ]
    if rl.settings.screening_lists:
        catalogue.append(
            Job(
                "lists-refresh",
                timedelta(days=1),
                lambda: _refresh_lists(rl),
                "reload the sanctions lists in RISKLOOP_SCREENING_LISTS (a new version only "
                "if an entry changed), then re-screen the customers",
                lease=timedelta(hours=2),
            )
        )
    if rl.settings.retrain_model is not None and rl.settings.retrain_event_type is not None:
        catalogue.append(
            Job(
                "train",
                timedelta(days=7),
                lambda: _train(rl),
                f"retrain {rl.settings.retrain_model} for {rl.settings.retrain_event_type} "
                "events and set it as the challenger (shadow, never champion)",
                # Long enough for a big replay; a run killed mid-way is retried after it.
                lease=timedelta(hours=12),
            )
        )
    return catalogue


def unavailable(rl: Riskloop) -> dict[str, str]:
    """Jobs that exist but are not set up here, and what they need."""
    missing = {}
    if rl.settings.retrain_model is None:
        missing["train"] = "set RISKLOOP_RETRAIN_MODEL and RISKLOOP_RETRAIN_EVENT_TYPE"
    if not rl.settings.screening_lists:
        missing["lists-refresh"] = "set RISKLOOP_SCREENING_LISTS to the files or URLs to reload"
    return missing


def owner_id(role: str) -> str:
    """Who holds a lease, as operators read it: role, host, process (and a nonce, since a
    process may run several schedulers)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:100]


def scheduler(rl: Riskloop, *, owner: str | None = None) -> Scheduler:
    """The catalogue on ``RISKLOOP_SCHEDULE`` over the ``job_runs`` table; a schedule naming
    an unknown job is a ConfigError naming the setting."""
    return Scheduler.from_schedule(
        jobs(rl),
        rl.settings.schedule,
        SqlJobRuns(rl.engine),
        hints=unavailable(rl),
        tasks=rl.tasks,
        owner=owner or owner_id("serve"),
    )


def run_scheduler(sched: Scheduler, stop: threading.Event, every_s: float) -> None:
    """Tick every ``every_s`` seconds until ``stop`` is set (after the job in hand)."""
    while not stop.wait(every_s):
        try:
            sched.tick()
        except Exception:  # tick records job failures itself; this is anything else
            log.exception("scheduler tick failed; trying again")


class EmbeddedScheduler:
    """The ``scheduler`` daemon thread of ``riskloop serve``."""

    def __init__(self, sched: Scheduler, every_s: float) -> None:
        self.scheduler = sched
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return  # one app started twice (two test clients): still one scheduler
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_scheduler,
            args=(self.scheduler, self._stop, self.every_s),
            name="scheduler",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():  # a long job: its lease expires if we are killed
                log.warning("scheduler still running a job at shutdown")


def embedded_scheduler(rl: Riskloop, *, every_s: float = 5.0) -> EmbeddedScheduler | None:
    """The thread to start with the server, or ``None`` when the schedule is ``off``."""
    sched = scheduler(rl)
    return EmbeddedScheduler(sched, every_s) if sched.active else None
