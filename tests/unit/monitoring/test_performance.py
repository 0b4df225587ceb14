"""Delayed-label performance: cohorts by decision day, judged only once labels had time."""

from __future__ import annotations

from datetime import date, timedelta

from riskloop.monitoring.performance import Cohorts, PerformanceThresholds

DAY = date(2026, 3, 1)


def _cohort(
    book: Cohorts, day: date, *, fraud: int, caught: int, good: int, flagged_good: int
) -> None:
    for i in range(fraud):
        book.add(
            day, flagged=i < caught, fraud=True, score=0.9 - i * 0.001, amount=1000, currency="EUR"
        )
    for i in range(good):
        book.add(
            day, flagged=i < flagged_good, fraud=False, score=0.2 + (0.5 if i < flagged_good else 0)
        )


def test_figures_of_a_cohort() -> None:
    book = Cohorts()
    _cohort(book, DAY, fraud=10, caught=6, good=90, flagged_good=4)
    book.add(DAY, flagged=False, fraud=True, score=None)  # no amount known, not scored
    report = book.report(DAY + timedelta(days=45))
    c = report["cohorts"][0]
    assert (c["day"], c["maturity_days"], c["mature"]) == ("2026-03-01", 45, True)
    assert (c["decisions"], c["flagged"], c["fraud"], c["flagged_fraud"]) == (101, 10, 11, 6)
    assert c["precision"] == 0.6 and c["recall"] == round(6 / 11, 6)
    assert c["flag_rate"] == round(10 / 101, 6) and c["fraud_rate"] == round(11 / 101, 6)
    assert c["fraud_amount"] == {"caught": {"EUR": 6000.0}, "missed": {"EUR": 4000.0}, "unknown": 1}
    assert c["average_precision"] == 1.0  # every fraud scored above every good
    assert "young cohorts undercount fraud" in report["note"]
    assert report["total"]["decisions"] == 101 and report["mature"]["cohorts"] == 1


def test_average_precision_needs_fraud_and_good() -> None:
    book = Cohorts()
    _cohort(book, DAY, fraud=0, caught=0, good=20, flagged_good=2)
    c = book.report(DAY)["cohorts"][0]
    assert c["average_precision"] is None and c["recall"] is None and c["precision"] == 0.0


def test_without_floors_the_report_is_informational() -> None:
    book = Cohorts()
    _cohort(book, DAY, fraud=50, caught=0, good=50, flagged_good=0)
    assert book.report(DAY + timedelta(days=90))["status"] == "ok"


def test_floors_judge_mature_cohorts_only() -> None:
    floors = PerformanceThresholds(recall_warn=0.6, recall_alert=0.3, mature_after_days=30)
    as_of = DAY + timedelta(days=40)
    book = Cohorts()
    _cohort(book, DAY, fraud=20, caught=16, good=100, flagged_good=5)  # mature, recall 0.8
    _cohort(book, as_of - timedelta(days=2), fraud=20, caught=0, good=100, flagged_good=0)
    report = book.report(as_of, floors)
    assert [c["mature"] for c in report["cohorts"]] == [True, False]
    assert report["mature"]["recall"] == 0.8 and report["total"]["recall"] == 0.4
    assert report["status"] == "ok"  # the young cohort's missed fraud is not judged

    old = Cohorts()
    _cohort(old, DAY, fraud=20, caught=8, good=100, flagged_good=5)  # recall 0.4
    assert old.report(as_of, floors)["status"] == "warn"
    _cohort(old, DAY + timedelta(days=1), fraud=30, caught=0, good=10, flagged_good=0)
    worse = old.report(as_of, floors)
    assert worse["status"] == "alert" and "recall" in worse["reasons"][0]


def test_too_few_mature_fraud_labels_is_insufficient_data() -> None:
    floors = PerformanceThresholds(precision_alert=0.5, min_fraud=10)
    book = Cohorts()
    _cohort(book, DAY, fraud=5, caught=0, good=100, flagged_good=50)
    report = book.report(DAY + timedelta(days=60), floors)
    assert report["status"] == "insufficient_data"
    _cohort(book, DAY, fraud=5, caught=0, good=0, flagged_good=0)
    assert book.report(DAY + timedelta(days=60), floors)["status"] == "alert"
