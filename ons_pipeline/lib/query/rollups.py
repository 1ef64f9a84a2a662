"""Answer a query model from the rollups when its window and grain allow it, with the answer the
raw measurement gives.

A model is *routable* when every aggregate is a mean, sum, count, minimum or maximum of a
rolled-up field, it filters by tags only (no value filters, top-N, transforms or fill), and every
time bound it aggregates over — its range, each calendar window (months, years), each period, or
each day of a ``1d`` window — falls on a local midnight of the rollups' time zone (what questions
produce: "in 2023", "monthly from 2018 to 2024"). Each such interval is read as whole local months
from ``<measurement>_1mo`` plus the days at its edges from ``<measurement>_1d``, and only when the
coverage measurement says every one of those buckets was published; otherwise, or when anything
else prevents it, the raw measurement answers (the reason is reported).

The answer is computed as InfluxQL computes the raw one, statement by statement
(:func:`~ons_pipeline.lib.query.influxql.statements`), then merged by the same code
(:func:`~ons_pipeline.lib.query.execute.merge_results`): a mean is the sum of the sums over the
sum of the counts (never a mean of means); a count is the sum of the counts; a minimum or maximum
is the extreme of the extremes, and when InfluxQL reports the time of the point (a lone selector)
it is the first time that point holds the extreme; a group with no value of any selected field
has no row; arithmetic between aggregates follows InfluxQL (x / 0 = 0; null in, null out).
Counts, minima, maxima and times are equal to the raw answer; sums and means equal it within the
floating-point summation bound (different summation order).

``1d`` windows are routed only when the range has no UTC-offset change (InfluxDB 1.x labels the
windows around a DST end differently from the calendar: the raw answer is kept there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ons_pipeline.lib.influx.client import quote_ident, quote_literal
from ons_pipeline.lib.query.influxql import (
    MAX_CALENDAR_STATEMENTS,
    Statement,
    combine_plan,
    tag_conditions,
    windowed_extreme,
)
from ons_pipeline.lib.query.model import (
    Agg,
    Aggregation,
    BinOp,
    Duration,
    Expr,
    FieldRef,
    Fill,
    FilterOp,
    QueryModel,
    Transform,
    evaluate,
    leaves,
)
from ons_pipeline.lib.rollup.spec import (
    COUNT,
    DAY,
    MAX,
    MAX_TIME,
    MIN,
    MIN_TIME,
    MONTH,
    SUM,
    RollupTable,
    column,
    coverage_query,
)

ROUTABLE = frozenset(
    {Aggregation.MEAN, Aggregation.SUM, Aggregation.COUNT, Aggregation.MIN, Aggregation.MAX}
)
SELECTORS = frozenset({Aggregation.MIN, Aggregation.MAX})
ONE_DAY = Duration(1, "d")
_ONE_DAY = timedelta(days=1)
MAX_STATEMENTS = 400


@dataclass(frozen=True)
class AnswerSource:
    """Which measurement answered a model: ``raw`` (the table's own) or ``rollup`` (with the
    levels read and the InfluxQL that ran), and why."""

    kind: str  # "raw" | "rollup"
    measurements: tuple[str, ...]
    reason: str
    levels: tuple[str, ...] = ()
    buckets: Mapping[str, int] = field(default_factory=dict)
    influxql: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "measurements": list(self.measurements),
            "reason": self.reason,
            "levels": list(self.levels),
            "buckets": dict(self.buckets),
            "influxql": self.influxql,
        }

    @classmethod
    def raw(cls, model: QueryModel, reason: str, retention_policy: str | None) -> AnswerSource:
        name = model.measurement
        return cls("raw", (f"{retention_policy}.{name}" if retention_policy else name,), reason)


@dataclass(frozen=True)
class Cell:
    """What one raw statement aggregates over: ``[lo, hi)``, per local day when ``daily``; its
    calendar label and period label, as the statement carries them."""

    lo: int
    hi: int
    daily: bool = False
    partials: bool = False  # a combined-periods statement (partial aggregates)
    label: int | None = None
    period: str | None = None


@dataclass(frozen=True)
class Read:
    """One range of one rollup level to read, and how many buckets it must cover."""

    level: str
    start: int
    end: int
    buckets: int


@dataclass
class Plan:
    """A routable model's reads and cells (one cell per raw statement)."""

    model: QueryModel
    rt: RollupTable
    cells: list[Cell]
    pieces: list[tuple[list[int], list[int]]]  # per cell: month starts, day starts
    reads: list[Read]
    needs: dict[str, set[str]]  # per field: the rollup stats read

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(level for level in (MONTH, DAY) if any(r.level == level for r in self.reads))


class NotRoutable(Exception):
    """The model is answered from the raw measurement; the message says why."""


# -- planning -------------------------------------------------------------------------------


def _check_model(model: QueryModel, rt: RollupTable) -> None:
    if model.profile is not None:
        raise NotRoutable(
            "a profile by hour of the day or day of the week reads the raw measurement"
        )
    if model.extreme_times:
        raise NotRoutable("extremes each with its time read the raw measurement")
    numeric = {f.name for f in rt.fields}
    for sel in model.selections:
        if isinstance(sel.expr, Transform) or any(
            isinstance(e, Transform) for e in _walk(sel.expr)
        ):
            raise NotRoutable("transforms read the raw series")
        for leaf in leaves(sel.expr):
            if isinstance(leaf, FieldRef):
                raise NotRoutable("raw values (no aggregate) are read from the raw measurement")
            if leaf.func not in ROUTABLE:
                raise NotRoutable(f"{leaf.func} is not kept by the rollups")
            if leaf.field not in numeric:
                raise NotRoutable(f"field {leaf.field} is not rolled up")
    if model.value_filters:
        raise NotRoutable("value filters need the raw points")
    if model.top is not None:
        raise NotRoutable("top-N rankings read the raw measurement")
    if model.fill is not Fill.NONE:
        raise NotRoutable("fill needs the raw measurement's windows")
    if model.time_range.start is None or model.time_range.end is None:
        raise NotRoutable("an open time range")


def _walk(expr: Expr) -> list[Expr]:
    if isinstance(expr, BinOp):
        return [expr, *_walk(expr.left), *_walk(expr.right)]
    if isinstance(expr, Transform):
        return [expr, *_walk(expr.arg)]
    return [expr]


def cells(model: QueryModel, rt: RollupTable) -> list[Cell]:
    """One cell per statement of :func:`~ons_pipeline.lib.query.influxql.statements`."""
    if model.periods:
        if model.combine_periods:
            return [Cell(p.start, p.end, partials=True, period=p.label) for p in model.periods]
        out: list[Cell] = []
        for p in model.periods:
            out += [replace(c, period=p.label) for c in cells(model.with_range(p.start, p.end), rt)]
        return out
    start, end = model.time_range.start, model.time_range.end
    assert start is not None and end is not None
    window = model.window
    if window is None:
        return [Cell(start, end)]
    zone = model.timezone or "UTC"
    if zone != rt.timezone:
        raise NotRoutable(f"windows in {zone}, the rollups are days and months of {rt.timezone}")
    if window.is_calendar:
        return _calendar_cells(rt, window, start, end)
    if window == ONE_DAY:
        if rt.source.grain >= timedelta(days=1):
            raise NotRoutable("daily windows of a daily table: its own points are the days")
        if _offset_changes(rt, start, end):
            raise NotRoutable("daily windows across a UTC-offset change (DST) read the raw data")
        return [Cell(start, end, daily=True)]
    raise NotRoutable(f"a {window} window is finer than or not aligned with the rollups")


def _calendar_cells(rt: RollupTable, window: Duration, start: int, end: int) -> list[Cell]:
    """:func:`~ons_pipeline.lib.query.influxql.calendar_periods` over the rollups' cached local
    day starts (the same windows and labels, in the rollups' zone)."""
    months = window.count * (12 if window.unit == "y" else 1)
    first = rt.local_date(start)
    index = first.year * 12 if window.unit == "y" else (first.year * 12 + first.month - 1)
    index = index // months * months if window.unit != "y" else index
    out: list[Cell] = []
    label = rt.day_start_ns(date(index // 12, index % 12 + 1, 1))
    while label < end:
        index += months
        following = rt.day_start_ns(date(index // 12, index % 12 + 1, 1))
        lo, hi = max(label, start), min(following, end)
        if lo < hi:
            out.append(Cell(lo, hi, label=label))
        if len(out) > MAX_CALENDAR_STATEMENTS:
            raise NotRoutable(f"more than {MAX_CALENDAR_STATEMENTS} calendar windows")
        label = following
    return out


def _offset_changes(rt: RollupTable, start: int, end: int) -> bool:
    first = _moment(start).astimezone(rt.zone).utcoffset()
    day = rt.local_date(start)
    last = rt.local_date(end - 1)
    while day <= last:
        if datetime(day.year, day.month, day.day, 12, tzinfo=rt.zone).utcoffset() != first:
            return True
        day += timedelta(days=1)
    return _moment(end - 1).astimezone(rt.zone).utcoffset() != first


def _moment(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1_000)


def _decompose(rt: RollupTable, lo: int, hi: int, months: bool) -> tuple[list[int], list[int]]:
    """``[lo, hi)`` (local day starts) as whole local months plus the days outside them."""
    month_starts: list[int] = []
    day_starts: list[int] = []
    day, last = rt.local_date(lo), rt.local_date(hi)
    while day < last:
        start = rt.day_start_ns(day)
        if months and day.day == 1:
            following = _next_month(day)
            if following <= last:
                month_starts.append(start)
                day = following
                continue
        day_starts.append(start)
        day += _ONE_DAY
    return month_starts, day_starts


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _reads(rt: RollupTable, level: str, starts: set[int]) -> list[Read]:
    """Contiguous runs of bucket starts as reads (a gap starts a new read)."""
    reads: list[Read] = []
    for start in sorted(starts):
        day = rt.local_date(start)
        end = rt.day_start_ns(_next_month(day) if level == MONTH else day + _ONE_DAY)
        if reads and reads[-1].end == start:
            last = reads[-1]
            reads[-1] = Read(level, last.start, end, last.buckets + 1)
        else:
            reads.append(Read(level, start, end, 1))
    return reads


def _needs(model: QueryModel) -> dict[str, set[str]]:
    needs: dict[str, set[str]] = {}
    for sel in model.selections:
        for leaf in leaves(sel.expr):
            assert isinstance(leaf, Agg)
            stats = needs.setdefault(leaf.field, {COUNT})
            if leaf.func in (Aggregation.MEAN, Aggregation.SUM):
                stats.add(SUM)
            elif leaf.func is Aggregation.MAX:
                stats |= {MAX, MAX_TIME}
            elif leaf.func is Aggregation.MIN:
                stats |= {MIN, MIN_TIME}
    return needs


def plan(model: QueryModel, rt: RollupTable, months: bool = True) -> Plan:
    """The reads that answer ``model`` from ``rt``'s rollups; raises :class:`NotRoutable`."""
    _check_model(model, rt)
    found = cells(model, rt)
    pieces = []
    month_starts: set[int] = set()
    day_starts: set[int] = set()
    for cell in found:
        for bound in (cell.lo, cell.hi):
            if not rt.is_day_start(bound):
                raise NotRoutable(
                    f"{_moment(bound):%Y-%m-%d %H:%M}Z is not a local midnight of {rt.timezone}"
                )
        m, d = _decompose(rt, cell.lo, cell.hi, months and not cell.daily)
        pieces.append((m, d))
        month_starts.update(m)
        day_starts.update(d)
    reads = _reads(rt, MONTH, month_starts) + _reads(rt, DAY, day_starts)
    if 2 * len(reads) > MAX_STATEMENTS:
        raise NotRoutable(f"{len(reads)} separate ranges: more statements than worth it")
    return Plan(model, rt, found, pieces, reads, _needs(model))


# -- the request --------------------------------------------------------------------------------


def _source(rt: RollupTable, level: str) -> str:
    name = quote_ident(rt.measurement(level))
    return f"{quote_ident(rt.policy)}.{name}" if rt.policy else name


def statements(p: Plan) -> list[str]:
    """Per read: its coverage count, then its rollup rows (one request for all)."""
    columns = [column(f, stat) for f, stats in sorted(p.needs.items()) for stat in sorted(stats)]
    tags = tag_conditions(p.model)
    by_tags = [quote_ident(t) for t in p.model.group_tags]
    if not _one_series_per_group(p) and all(
        stat in (COUNT, SUM) for stats in p.needs.values() for stat in stats
    ):
        # counts and sums of many series (a table of plants): InfluxDB adds each bucket's
        # rows up, one row per group and bucket (a bucket starts at a local midnight); with one
        # series per group its rows are already that, and reading them costs the server less
        select = ", ".join(f"sum({quote_ident(c)}) AS {quote_ident(c)}" for c in columns)
        group = (
            f" GROUP BY {', '.join(['time(1d)', *by_tags])} fill(none)"
            f" tz({quote_literal(p.rt.timezone)})"
        )
    else:
        select = ", ".join(quote_ident(c) for c in columns)
        group = f" GROUP BY {', '.join(by_tags)}" if by_tags else ""
    out = []
    for read in p.reads:
        out.append(coverage_query(p.rt, read.level, read.start, read.end, p.rt.policy))
        where = " AND ".join([f"time >= {read.start}", f"time < {read.end}", *tags])
        out.append(f"SELECT {select} FROM {_source(p.rt, read.level)} WHERE {where}{group}")
    return out


def _one_series_per_group(p: Plan) -> bool:
    """Every tag that identifies a series is grouped by or fixed to one value: each group is
    (but for a renamed description tag) one series. Only the request's cost depends on it —
    :func:`answer` adds up whatever rows a bucket has."""
    fixed = {
        f.tag
        for f in p.model.tag_filters
        if f.op in (FilterOp.EQ, FilterOp.IEQ) and len(f.values) == 1
    }
    grouped = set(p.model.group_tags)
    return all(t in fixed or t in grouped for t in p.rt.source.identity_tags)


_STAT_ORDER = (COUNT, SUM, MIN, MIN_TIME, MAX, MAX_TIME)


@dataclass
class _Stats:
    """Running aggregates of one field over buckets."""

    count: int = 0
    total: float | int = 0
    low: Any = None
    low_time: int = 0
    high: Any = None
    high_time: int = 0

    def add(self, values: Sequence[Any]) -> None:
        """One bucket's (count, sum, min, min_time, max, max_time); unread stats are None."""
        count, total, low, low_t, high, high_t = values
        if not count:
            return
        self.count += int(count)
        if total is not None:
            self.total += total
        if low is not None and (
            self.low is None or low < self.low or (low == self.low and low_t < self.low_time)
        ):
            self.low, self.low_time = low, int(low_t)
        if high is not None and (
            self.high is None or high > self.high or (high == self.high and high_t < self.high_time)
        ):
            self.high, self.high_time = high, int(high_t)


def _json_number(value: Any) -> Any:
    """A number as InfluxDB's JSON gives it back to Python: whole floats come back as ints."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _leaf(func: Aggregation, stats: _Stats | None) -> Any:
    if stats is None or stats.count == 0:
        return None
    if func is Aggregation.COUNT:
        return stats.count
    if func is Aggregation.SUM:
        return stats.total
    if func is Aggregation.MEAN:
        return stats.total / stats.count
    if func is Aggregation.MAX:
        return stats.high
    return stats.low


def _lone_selector(model: QueryModel) -> Agg | None:
    """The one aggregate of the statement when it is a selector: InfluxQL then reports the time
    of the point it selected instead of the range's start."""
    distinct = {str(leaf): leaf for s in model.selections for leaf in leaves(s.expr)}
    if len(distinct) == 1:
        only = next(iter(distinct.values()))
        if isinstance(only, Agg) and only.func in SELECTORS:
            return only
    return None


def answer(p: Plan, results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The raw statements' results, computed from the rollup request's ``results``; ``None``
    when a read's coverage is incomplete."""
    by_id = {int(r.get("statement_id", i)): r for i, r in enumerate(results)}
    fields = list(p.needs)
    # per bucket: (group key, per field its (count, sum, min, min_time, max, max_time))
    rows: dict[tuple[str, int], list[tuple[tuple[str, ...], list[list[Any]]]]] = {}
    for index, read in enumerate(p.reads):
        coverage = by_id.get(2 * index, {}).get("series") or []
        covered = int(coverage[0]["values"][0][1]) if coverage else 0
        if covered != read.buckets:
            return None
        for series in by_id.get(2 * index + 1, {}).get("series") or []:
            tags = series.get("tags") or {}
            key = tuple(str(tags.get(t) or "") for t in p.model.group_tags)
            names = series.get("columns", [])
            where = {name: i for i, name in enumerate(names)}
            picks = [[where.get(column(f, stat)) for stat in _STAT_ORDER] for f in fields]
            time_at = where["time"]
            level = read.level
            for values in series.get("values", []):
                stats = [[None if i is None else values[i] for i in pick] for pick in picks]
                rows.setdefault((level, int(values[time_at])), []).append((key, stats))
    model = p.model
    lone = _lone_selector(model)
    aggs = [leaf for s in model.selections for leaf in leaves(s.expr) if isinstance(leaf, Agg)]
    out: list[dict[str, Any]] = []
    for index, (cell, (months, days)) in enumerate(zip(p.cells, p.pieces, strict=True)):
        windows: dict[int, list[tuple[str, int]]] = {}
        if cell.daily:
            for start in days:
                windows[start] = [(DAY, start)]
        else:
            windows[cell.lo] = [(MONTH, m) for m in months] + [(DAY, d) for d in days]
        series_out: dict[tuple[str, ...], list[list[Any]]] = {}
        for moment, buckets in windows.items():
            groups: dict[tuple[str, ...], dict[str, _Stats]] = {}
            for bucket in buckets:
                for key, per_field in rows.get(bucket, []):
                    stats = groups.get(key)
                    if stats is None:
                        stats = groups[key] = {name: _Stats() for name in fields}
                    for name, values in zip(fields, per_field, strict=True):
                        stats[name].add(values)
            for key, stats in groups.items():
                row = _row(model, cell, moment, stats, lone, aggs)
                if row is not None:
                    series_out.setdefault(key, []).append(row)
        series = []
        for key in sorted(series_out):
            item: dict[str, Any] = {
                "name": model.measurement,
                "columns": ["time", *_aliases(model, cell)],
                "values": sorted(series_out[key], key=lambda r: r[0]),
            }
            if model.group_tags:
                item["tags"] = dict(zip(model.group_tags, key, strict=True))
            series.append(item)
        out.append({"statement_id": index, "series": series} if series else {"statement_id": index})
    return out


def raw_statements(p: Plan) -> list[Statement]:
    """The raw statements' shape (aliases, calendar label, period; no text), one per cell: what
    :func:`~ons_pipeline.lib.query.execute.merge_results` needs to merge the answer."""
    return [
        Statement("", tuple(_aliases(p.model, cell)), cell.label, cell.period) for cell in p.cells
    ]


def _aliases(model: QueryModel, cell: Cell) -> list[str]:
    if cell.partials:
        return [part.alias for part in combine_plan(model)]
    return [s.alias for s in model.selections]


def _row(
    model: QueryModel,
    cell: Cell,
    moment: int,
    stats: Mapping[str, _Stats],
    lone: Agg | None,
    aggs: Sequence[Agg],
) -> list[Any] | None:
    if cell.partials:
        plan_ = combine_plan(model)
        values = [_leaf(part.func, stats.get(part.field)) for part in plan_]
        if all(v is None for v in values):
            return None
        return [moment, *(_json_number(v) for v in values)]
    leaf_values = {str(leaf): _leaf(leaf.func, stats.get(leaf.field)) for leaf in aggs}
    if all(v is None for v in leaf_values.values()):
        return None
    time = moment
    # a daily window's lone maximum or minimum is asked as top/bottom: at its point's time
    if lone is not None and (not cell.daily or windowed_extreme(model) is not None):
        found = stats.get(lone.field)
        if found is not None and found.count:
            time = found.high_time if lone.func is Aggregation.MAX else found.low_time
    # As InfluxQL evaluates it: x / 0 = 0; null in, null out.
    values = [_json_number(evaluate(s.expr, leaf_values, by_zero=0)) for s in model.selections]
    return [time, *values]


# -- comparing answers ----------------------------------------------------------------------------

_U = 2.0**-53


def _gamma(n: int) -> float:
    return n * _U / (1 - n * _U) if n > 0 else 0.0


def summation_bound(func: Aggregation, n: int, magnitude: float) -> float:
    """How far two sums (or means) of the same ``n`` values of absolute value at most
    ``magnitude`` may differ when added in different orders: 2·γ(n−1)·n·M for a sum, 2·(γ(n−1)·M
    + u·M) for a mean (Higham, §4.2; Σ|xᵢ| ≤ n·M)."""
    if func is Aggregation.SUM:
        return 2 * _gamma(max(n - 1, 0)) * n * magnitude
    if func is Aggregation.MEAN:
        return 2 * (_gamma(max(n - 1, 0)) * magnitude + _U * magnitude)
    return 0.0


def answers_equal(
    model: QueryModel,
    raw: Sequence[Sequence[Any]],
    routed: Sequence[Sequence[Any]],
    n: int,
    magnitude: float,
) -> tuple[bool, str]:
    """Whether a routed answer equals the raw one: same rows, times, tags, counts, extremes;
    a lone sum or mean within :func:`summation_bound` (``n`` values of at most ``magnitude``),
    other arithmetic over sums or means within a relative 1e-9. ``(equal, first difference)``."""
    if len(raw) != len(routed):
        return False, f"{len(raw)} rows raw, {len(routed)} routed"
    columns = list(model.output_columns or model.result_columns())
    rules: dict[str, tuple[str, float]] = {}
    for sel in model.selections:
        found = leaves(sel.expr)
        if isinstance(sel.expr, Agg) and sel.expr.func in (Aggregation.SUM, Aggregation.MEAN):
            rules[sel.alias] = ("bound", summation_bound(sel.expr.func, n, magnitude))
        elif any(
            isinstance(x, Agg) and x.func in (Aggregation.SUM, Aggregation.MEAN) for x in found
        ):
            rules[sel.alias] = ("relative", 1e-9)
    for index, (a, b) in enumerate(zip(raw, routed, strict=True)):
        for name, x, y in zip(columns, a, b, strict=True):
            kind, limit = rules.get(name, ("exact", 0.0))
            if kind == "exact" or x is None or y is None:
                if x != y:
                    return False, f"row {index} {name}: raw {x!r}, routed {y!r}"
                continue
            allowed = limit if kind == "bound" else limit * max(abs(x), abs(y))
            if abs(x - y) > allowed:
                return False, f"row {index} {name}: |{x!r} - {y!r}| > {allowed:.3g}"
    return True, ""
