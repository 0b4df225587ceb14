"""Reading a ``/metrics`` scrape the way Prometheus does."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

_SELECTOR = re.compile(r"(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>.*)\})?")


def value(text: str, selector: str) -> float:
    """The sum of the samples a selector matches, as PromQL's ``sum(name{a="b"})``: a
    sample matches when it carries every label given (and maybe more). 0 when none does."""
    m = _SELECTOR.fullmatch(selector)
    assert m is not None, selector
    wanted = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == m["name"] and wanted.items() <= s.labels.items()
    )


def families(text: str) -> set[str]:
    """The names of the metric families a scrape holds."""
    return {f.name for f in text_string_to_metric_families(text)}
