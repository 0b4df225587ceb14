"""``GET /metrics`` in the Prometheus text format. The decision path counts in plain
counters (``Pipeline.stats``, no I/O library in the core); a collector reads them at scrape
time. Latency histograms, drift and the rest of monitoring come with the monitoring issue."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from riskloop.bootstrap import Riskloop


class DecisionCollector(Collector):
    def __init__(self, rl: Riskloop) -> None:
        self.rl = rl

    def collect(self) -> Iterator[CounterMetricFamily]:
        stats = dict(self.rl.decisions.pipeline.stats)
        outcomes = CounterMetricFamily(
            "riskloop_decisions", "Decisions made by this process, by outcome", labels=["outcome"]
        )
        fallbacks = CounterMetricFamily(
            "riskloop_decision_fallbacks",
            "Decisions that fell back (features or model unavailable, deadline passed)",
            labels=["reason"],
        )
        for key, n in sorted(stats.items()):
            kind, _, name = key.partition(":")
            if kind == "outcome":
                outcomes.add_metric([name], n)
            elif kind == "fallback":
                fallbacks.add_metric([name], n)
        failures = CounterMetricFamily(
            "riskloop_feature_state_failures",
            "Events whose feature update failed (failed open; see features rebuild)",
        )
        failures.add_metric([], self.rl.features.failures)
        yield outcomes
        yield fallbacks
        yield failures


def router(rl: Riskloop) -> APIRouter:
    registry = CollectorRegistry()
    registry.register(DecisionCollector(rl))
    api = APIRouter(tags=["health"])

    @api.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return api
