"""Monitoring: metrics, drift (PSI/KS), delayed-label performance, freshness, alerts.

Pure computations over what the service reads (decision windows, event-log aggregates,
labels); ``service/monitoring.py`` runs them, stores the reports and raises the tasks.
"""

from riskloop.monitoring.drift import (
    Column,
    DriftResult,
    DriftThresholds,
    FeatureDrift,
    Sample,
    category_psi,
    compare,
    compare_column,
)
from riskloop.monitoring.freshness import (
    FreshnessThresholds,
    contract_violations,
    event_freshness,
)
from riskloop.monitoring.performance import Cohorts, PerformanceThresholds
from riskloop.monitoring.ports import KINDS, MemoryReportStore, Report, ReportStore
from riskloop.monitoring.status import Status, worst

__all__ = [
    "KINDS",
    "Cohorts",
    "Column",
    "DriftResult",
    "DriftThresholds",
    "FeatureDrift",
    "FreshnessThresholds",
    "MemoryReportStore",
    "PerformanceThresholds",
    "Report",
    "ReportStore",
    "Sample",
    "Status",
    "category_psi",
    "compare",
    "compare_column",
    "contract_violations",
    "event_freshness",
    "worst",
]
