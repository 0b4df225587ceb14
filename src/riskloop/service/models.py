"""Model use cases: train and register, promote and roll back, and serve.

Serving (:class:`ModelSlots`) maps each event type to its champion and challenger scorers.
The mapping is an immutable dict replaced whole when an alias changes (checked every second
by the server's follower thread and right after a promotion through this process), so a
decision in flight keeps the models it started with and no request is dropped or mixed.
A model that cannot be loaded leaves the previous one serving and is logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from riskloop.credit.inputs import CREDIT_TYPES
from riskloop.domain.events import StoredEvent
from riskloop.errors import RiskloopError
from riskloop.features import FeatureSet
from riskloop.ledger.ports import DecisionLedger
from riskloop.ledger.records import Decision
from riskloop.scoring.port import Scorer
from riskloop.training.registry import AliasChange, ModelRegistry, ModelVersion

if TYPE_CHECKING:  # training pulls in LightGBM, scikit-learn and matplotlib: load on use
    from riskloop.training.run import TrainResult, TrainSpec

log = logging.getLogger(__name__)

ScorerLoader = Callable[[ModelVersion, bytes], Scorer]


class ModelSlots:
    def __init__(self, registry: ModelRegistry, load: ScorerLoader, default: Scorer | None) -> None:
        self.registry = registry
        self.load = load
        self.default = default
        self._slots: dict[str, tuple[Scorer | None, Scorer | None]] = {}
        self._seen: dict[tuple[str, str], int] = {}
        self._cache: dict[str, Scorer] = {}
        self._failed: set[str] = set()
        self._lock = threading.Lock()  # one refresh at a time; readers never wait
        self._ready = False  # models load on first use, not in every CLI command

    def for_event(self, event_type: str) -> tuple[Scorer | None, Scorer | None]:
        if not self._ready:
            self._ready = True
            try:
                self.refresh()
            except RiskloopError as exc:  # the registry is unreadable: the default serves
                log.error("serving models not loaded: %s", exc)  # and the follower retries
        return self._slots.get(event_type, (self._default_for(event_type), None))

    def _default_for(self, event_type: str) -> Scorer | None:
        """The fraud model never scores a credit application: a PD comes from a credit model
        or there is none (and a person underwrites)."""
        return None if event_type in CREDIT_TYPES else self.default

    def serving(self) -> dict[str, dict[str, str | None]]:
        return {
            event_type: {
                "champion": champion.version if champion else None,
                "challenger": challenger.version if challenger else None,
            }
            for event_type, (champion, challenger) in self._slots.items()
        }

    def _scorer(self, version: ModelVersion) -> Scorer | None:
        cached = self._cache.get(version.ref)
        if cached is not None:
            return cached
        try:
            scorer = self.load(version, self.registry.artifact(version))
        except (RiskloopError, ValueError, OSError) as exc:
            if version.ref not in self._failed:
                log.error("model %s cannot be loaded: %s", version.ref, exc)
                self._failed.add(version.ref)
            return None
        self._cache[version.ref] = scorer
        return scorer

    def refresh(self) -> bool:
        """Follow the registry's aliases; True when what serves changed."""
        with self._lock:
            self._ready = True
            aliases = self.registry.aliases()
            if aliases == self._seen and not self._failed:
                return False
            versions = {(v.name, v.version): v for v in self.registry.versions()}
            order = {
                (c.name, c.alias): i for i, c in enumerate(self.registry.history())
            }  # the latest promotion wins when two models claim one event type
            slots: dict[str, list[Scorer | None]] = {}
            self._failed.clear()
            for (name, alias), number in sorted(aliases.items(), key=lambda kv: order[kv[0]]):
                version = versions.get((name, number))
                if version is None:
                    continue
                scorer = self._scorer(version)
                if scorer is None:
                    previous = self._slots.get(version.event_type, (None, None))
                    scorer = previous[0 if alias == "champion" else 1]
                slot = slots.setdefault(
                    version.event_type, [self._default_for(version.event_type), None]
                )
                slot[0 if alias == "champion" else 1] = scorer
            changed = {k: (v[0], v[1]) for k, v in slots.items()} != self._slots
            self._slots = {k: (v[0], v[1]) for k, v in slots.items()}
            self._seen = aliases
            live = {s.version for pair in self._slots.values() for s in pair if s is not None}
            self._cache = {k: v for k, v in self._cache.items() if k in live}
            return changed


class ModelService:
    def __init__(
        self,
        registry: ModelRegistry,
        slots: ModelSlots,
        log_source: Callable[[], Iterable[StoredEvent]],
        feature_set: FeatureSet,
    ) -> None:
        self.registry = registry
        self.slots = slots
        self.log_source = log_source
        self.feature_set = feature_set

    def train(
        self,
        spec: TrainSpec,
        *,
        author: str,
        note: str = "",
        on_events: Callable[[int], None] | None = None,
    ) -> tuple[ModelVersion, TrainResult]:
        """Train on the event log and register the result with its card (not promoted)."""
        from riskloop.training.card import (
            mean_abs_contributions,
            render_html,
            render_markdown,
            render_plots,
        )
        from riskloop.training.run import train

        log = self.log_source()
        if on_events is not None:
            log = _counted(log, on_events)
        result = train(log, self.feature_set, spec)
        importance = mean_abs_contributions(result.model, result.test.x)
        descriptions = {f.name: f.description for f in self.feature_set.features}
        images = render_plots(result, list(importance))

        def files(ref: str) -> dict[str, bytes]:
            markdown = render_markdown(ref, result, descriptions, list(importance))
            return {
                result.model.artifact_name: result.model.artifact,
                "card.md": markdown.encode(),
                "card.html": render_html(markdown, images).encode(),
                **images,
            }

        version = self.registry.register(
            name=spec.name,
            kind=result.model.kind,
            event_type=spec.event_type,
            features=result.model.features,
            artifact_name=result.model.artifact_name,
            files=files,
            author=author,
            metrics=result.metrics,
            lineage=result.lineage,
            params=result.model.params,
            note=note,
        )
        return version, result

    def promote(
        self, name: str, version: int, *, alias: str, author: str, reason: str
    ) -> AliasChange:
        change = self.registry.promote(name, version, alias=alias, author=author, reason=reason)
        self.slots.refresh()
        return change

    def retire(self, name: str, alias: str, *, author: str, reason: str) -> AliasChange:
        change = self.registry.set_alias(name, alias, None, author=author, reason=reason)
        self.slots.refresh()
        return change

    def rollback(self, name: str, *, alias: str, author: str, reason: str) -> AliasChange:
        change = self.registry.rollback(name, alias=alias, author=author, reason=reason)
        self.slots.refresh()
        return change

    def shadow_report(
        self,
        name: str,
        decisions: Iterable[Decision],
        labels: Mapping[str, bool],
        *,
        review_rate: float = 0.01,
    ) -> dict[str, Any]:
        """Champion against challenger on the recorded decisions where both scored."""
        from riskloop.training.compare import shadow_report

        prefix = f"{name}@"
        rows = [
            (d.event_id, d.score, d.challenger.model, d.challenger.score)
            for d in decisions
            if d.challenger is not None
            and d.score is not None
            and d.challenger.model.startswith(prefix)
        ]
        return shadow_report(rows, labels, review_rate=review_rate)

    def scorer(self, ref: str) -> tuple[Scorer, str]:
        """A registered version (``name@version``) as a scorer, and the event type it scores
        (backtests and canaries); ``NotFound`` or ``ValueError`` if it cannot serve."""
        name, _, number = ref.partition("@")
        if not number.isdigit():
            raise ValueError(f"{ref!r} is not name@version")
        version = self.registry.version(name, int(number))
        return self.slots.load(version, self.registry.artifact(version)), version.event_type

    def champion_of(self, event_type: str) -> str | None:
        champion, _ = self.slots.for_event(event_type)
        return champion.version if champion is not None else None

    def promote_ref(self, ref: str, *, author: str, reason: str) -> None:
        name, _, number = ref.partition("@")
        self.promote(name, int(number), alias="champion", author=author, reason=reason)

    def card(self, name: str, version: int, fmt: str) -> bytes:
        return self.registry.file(self.registry.version(name, version), f"card.{fmt}")

    def overview(self) -> list[dict[str, Any]]:
        aliases = self.registry.aliases()
        out = []
        for v in self.registry.versions():
            held = sorted(a for (n, a), num in aliases.items() if n == v.name and num == v.version)
            test: Mapping[str, Any] = v.metrics.get("test", {})
            out.append(
                {
                    "name": v.name,
                    "version": v.version,
                    "ref": v.ref,
                    "kind": v.kind,
                    "event_type": v.event_type,
                    "aliases": held,
                    "created_at": v.created_at.isoformat(),
                    "created_by": v.created_by,
                    "roc_auc": test.get("roc_auc"),
                    "average_precision": test.get("average_precision"),
                }
            )
        return out


def _counted(
    events: Iterable[StoredEvent], tick: Callable[[int], None], every: int = 5000
) -> Iterator[StoredEvent]:
    """Report progress every ``every`` events (and the rest at the end)."""
    n = 0
    for event in events:
        n += 1
        if n == every:
            tick(n)
            n = 0
        yield event
    tick(n)


def recorded(ledger: DecisionLedger, since: datetime | None = None) -> Iterator[Decision]:
    """Every recorded decision from ``since`` on, oldest first (ids are time-ordered)."""
    after = "" if since is None else f"dec_{int(since.timestamp() * 1000):012x}"
    while batch := ledger.scan(after=after, limit=2000):
        yield from batch
        after = batch[-1].decision_id
