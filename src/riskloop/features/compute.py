"""Feature arithmetic over one entity's history, shared by every state backend.

Times are integer milliseconds since the epoch, exact in every backend (Redis scores are
doubles and its Lua prints numbers with 14 digits). A backend hands over an
:class:`EntityView`: the entity's earlier-arrived events sorted by time (``ts``, ``rows``),
the times of those already labelled fraud, and ``floor``, the oldest time every backend is
sure to still hold. In-process and Redis state therefore give bit-for-bit the same numbers.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from riskloop.features.definitions import Condition, Feature

Value = float | int | str | bool | None
Row = tuple[Any, ...]  # (event_type, column values...)

_EARTH_KM = 6371.0088
_MIN_HOURS = 1.0 / 60.0  # speeds are measured over at least a minute: no division by zero


class EntityView(NamedTuple):
    """A NamedTuple: one is built per entity per event, and tuples are cheap to build."""

    ts: Sequence[int]
    rows: Sequence[Row]
    fraud: Sequence[int]
    floor: float  # may be -inf


def compile_path(path: str) -> Callable[[dict[str, Any]], Any]:
    """A fast getter for a dotted path (paths are read for every event)."""
    parts = path.split(".")
    if len(parts) == 1:
        (a,) = parts
        return lambda d: d.get(a)
    if len(parts) == 2:
        a, b = parts

        def two(d: dict[str, Any]) -> Any:
            inner = d.get(a)
            return inner.get(b) if isinstance(inner, dict) else None

        return two
    return lambda d: get_path(d, path)


def get_path(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _check(cond: Condition) -> Callable[[Any], bool]:
    v = cond.value
    op = cond.op
    if op == "eq":
        return lambda x: x == v
    if op == "ne":
        return lambda x: x != v
    if op == "in":
        return lambda x: x in v
    if op == "not_in":
        return lambda x: x not in v
    if op == "exists":
        return lambda x: (x is not None) == bool(v if v is not None else True)

    def compare(x: Any) -> bool:
        if not isinstance(x, int | float) or isinstance(x, bool):
            return False
        if op == "lt":
            return bool(x < v)
        if op == "le":
            return bool(x <= v)
        if op == "gt":
            return bool(x > v)
        return bool(x >= v)

    return compare


def haversine_km(a: Sequence[float], b: Sequence[float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def _predicate(checks: list[tuple[int, Callable[[Any], bool]]]) -> Callable[[Row], bool]:
    if len(checks) == 1:
        ((col, check),) = checks
        return lambda row: check(row[col])
    return lambda row: all(check(row[col]) for col, check in checks)


Memo = dict[Any, Any]


class CompiledFeature:
    """A feature bound to its entity's column layout, ready to evaluate many times.

    Features of one event that share entity, window and conditions share the work: the
    window's bounds, the matching rows and the column values are computed once per event and
    kept in ``memo`` (pass a fresh dict per event)."""

    def __init__(
        self, feature: Feature, columns: dict[str, int], entity_types: frozenset[str]
    ) -> None:
        self.feature = feature
        self.name = feature.name
        self.window = (feature.window_s or 0) * 1000
        self.types = frozenset(feature.events)
        self.column = columns[feature.field] if feature.field else -1
        self.geo_column = columns.get("geo", -1)
        checks = [(columns[c.field], _check(c)) for c in feature.where]
        signature: list[Any] = [(c.field, c.op, c.value) for c in feature.where]
        if set(entity_types) - self.types:
            checks.insert(0, (0, self.types.__contains__))
            signature.insert(0, tuple(sorted(self.types)))
        # With no condition at all, a count is a difference of two indexes.
        self.plain = not checks
        self._match: Callable[[Row], bool] = _predicate(checks) if checks else (lambda row: True)
        self.group = (feature.entity, self.window, tuple(signature))
        self.span_key = (feature.entity, self.window)
        self.value_key = (self.group, self.column)
        self.number_key = (self.group, self.column, "num")
        if feature.kind == "aggregate" and feature.agg == "count":
            self.evaluate = self._evaluate_count  # type: ignore[method-assign]

    def _bounds(self, view: EntityView, t: int) -> tuple[int, int]:
        hi = bisect_right(view.ts, t)
        # An event older than the floor (later than the lateness allows) has an empty window,
        # as in Redis; without the min, history not yet trimmed would make it negative.
        return min(bisect_right(view.ts, max(t - self.window, view.floor)), hi), hi

    def _span(self, view: EntityView, t: int, memo: Memo) -> tuple[int, int]:
        got = memo.get(self.span_key)
        if got is None:
            got = memo[self.span_key] = self._bounds(view, t)
        return got

    def _evaluate_count(
        self, view: EntityView | None, t: int, data: dict[str, Any], memo: Memo | None = None
    ) -> Value:
        if view is None:
            return 0
        return self._count(view, t, {} if memo is None else memo)

    def _rows(self, view: EntityView, t: int, memo: Memo) -> Sequence[Row]:
        got = memo.get(self.group)
        if got is None:
            lo, hi = self._span(view, t, memo)
            got = view.rows[lo:hi]
            if not self.plain:
                got = [r for r in got if self._match(r)]
            memo[self.group] = got
        return got

    def _count(self, view: EntityView, t: int, memo: Memo) -> int:
        if self.plain:
            lo, hi = self._span(view, t, memo)
            return hi - lo
        return len(self._rows(view, t, memo))

    def _values(self, rows: Sequence[Row], memo: Memo) -> list[Any]:
        got = memo.get(self.value_key)
        if got is None:
            col = self.column
            got = memo[self.value_key] = [r[col] for r in rows if r[col] is not None]
        return got

    def _numbers(self, rows: Sequence[Row], memo: Memo) -> tuple[list[float], float | None]:
        key = self.number_key
        got = memo.get(key)
        if got is None:
            nums = [
                v
                for v in self._values(rows, memo)
                if isinstance(v, int | float) and not isinstance(v, bool)
            ]
            got = memo[key] = (nums, sum(nums) / len(nums) if nums else None)
        return got

    def evaluate(
        self, view: EntityView | None, t: int, data: dict[str, Any], memo: Memo | None = None
    ) -> Value:
        memo = {} if memo is None else memo
        f = self.feature
        if f.kind == "first_seen":
            value = get_path(data, f.field or "")
            if value is None:
                return None
            if view is None:
                return 1
            return 0 if value in self._values(self._rows(view, t, memo), memo) else 1
        if view is None:
            return (
                0 if f.kind == "aggregate" and f.agg in ("count", "count_distinct", "sum") else None
            )
        if f.kind == "label_rate":
            total = self._count(view, t, memo)
            if total == 0:
                return None
            low = max(t - self.window, view.floor)
            return (bisect_right(view.fraud, t) - bisect_right(view.fraud, low)) / total
        lo, hi = self._span(view, t, memo)
        if f.kind == "geo_velocity":
            return self._geo(view, lo, hi, t, data)
        agg = f.agg
        if agg == "count":
            return self._count(view, t, memo)
        if agg in ("last", "time_since_last"):
            for i in range(hi - 1, lo - 1, -1):
                if self._match(view.rows[i]):
                    if agg == "time_since_last":
                        return (t - view.ts[i]) / 1000.0
                    return view.rows[i][self.column]  # type: ignore[no-any-return]
            return None
        rows = self._rows(view, t, memo)
        if agg == "count_distinct":
            return len(set(self._values(rows, memo)))
        nums, mean = self._numbers(rows, memo)
        if mean is None:
            return 0 if agg == "sum" else None
        if agg == "sum":
            return sum(nums)
        if agg == "min":
            return min(nums)
        if agg == "max":
            return max(nums)
        if agg == "mean":
            return mean
        return math.sqrt(sum((x - mean) ** 2 for x in nums) / len(nums))  # population std

    def _geo(self, view: EntityView, lo: int, hi: int, t: int, data: dict[str, Any]) -> Value:
        here = data.get("geo")
        if not isinstance(here, dict) or "lat" not in here:
            return None
        for i in range(hi - 1, lo - 1, -1):
            row = view.rows[i]
            there = row[self.geo_column]
            if there is not None and self._match(row):
                km = haversine_km((here["lat"], here["lon"]), there)
                if self.feature.unit == "km":
                    return km
                return km / max((t - view.ts[i]) / 3_600_000.0, _MIN_HOURS)
        return None


def derive(feature: Feature, values: dict[str, Value], data: dict[str, Any]) -> Value:
    args: list[float] = []
    for name in feature.inputs:
        v = get_path(data, name[6:]) if name.startswith("event.") else values.get(name)
        if not isinstance(v, int | float) or isinstance(v, bool):
            return None
        args.append(float(v))
    if feature.op == "ratio":
        return args[0] / args[1] if args[1] else None
    if feature.op == "diff":
        return args[0] - args[1]
    return (args[0] - args[1]) / args[2] if args[2] else None
