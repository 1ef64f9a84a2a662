"""The query model: one typed intermediate form for every query language of the project.

A :class:`QueryModel` reads one table (= one InfluxDB measurement, see ``schema.tables()``): its
selections are expressions over the table's fields (aggregations, arithmetic, one transform on
top), filtered by tags and field values, over a half-open time range ``[start, end)``, optionally
grouped by a time window and by tags, with fill, top-N, ordering and limit. It is validated
against the schema when built: a field or tag the loader never writes cannot be queried.

A model may also ask the same thing over several ``periods`` (each a half-open range with a
label): compared side by side (rows tagged with a ``period`` column), or combined into one answer
per group (``combine_periods``, e.g. the weekends of a month; only sums, counts, means, minima and
maxima combine). Units follow aggregation: a sum of hourly MWmed is energy in MWh.

``by_hour_of_day`` asks for a profile: one row per local hour of the day (0–23) over the whole
range, each the combination of that hour's values on every day (means from sums and counts);
InfluxDB's windows run along time, so the hours of each day are read and combined after.
``by_day_of_week`` does the same with local days: one row per ISO weekday ("1" Monday … "7").
With combined ``periods`` (the weekdays of a month), a profile is made of those days only.

``difference`` (tag, a, b) adds, beside the rows of groups ``a`` and ``b`` of ``tag``, a row
``a − b`` of their values at each time ("the SE-NE spread": InfluxQL cannot subtract across
series); only means and sums, whose difference is the aggregate of the difference when both
groups have values at the same times.

``extreme_times`` answers each maximum, minimum, first or last value in a statement of its own,
so that each comes with the time of its point ("the lowest and the highest load yesterday, with
their times"): one row per such time, the other aggregates together in a row at the range's
start (InfluxDB gives a statement of several aggregates the start of its range as time).

``window_start_times``: a lone maximum or minimum per fixed time window is stamped with its
window's start, as SQL's ``bin()`` groups it, instead of its point's time ("the peak of each
day, and when").

``window_filter`` keeps the time windows whose one aggregate passes a comparison ("the days of
2024 whose mean load passed 80 GW"), or counts them per group (``count``: the ``windows``
column): InfluxQL compares values before aggregating, so the windows are read and compared
after (the rollups answer the windows the same way). With a ``difference``, it compares the
difference's rows alone ("the half-hours when the South's CMO was above the Southeast's");
over compared periods, each period's windows apart.

Every expression has a canonical text form (``mean(val_cmo)``, ``mean(a) / (mean(a) + mean(b)) *
100``, ``moving_average(mean(val_carga), 3)``) that :func:`parse_expr` reads back; ``to_dict`` /
``from_dict`` give a stable JSON form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ons_pipeline.lib import schema
from ons_pipeline.lib.ons_time import to_ns
from ons_pipeline.lib.schema import MeasureType, TableSpec

NS_PER_SECOND = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ModelError(ValueError):
    """The query model is invalid (unknown field or tag, inconsistent options, bad value)."""


class Aggregation(StrEnum):
    """Aggregate functions, named as in InfluxQL."""

    MEAN = "mean"
    MAX = "max"
    MIN = "min"
    SUM = "sum"
    COUNT = "count"
    FIRST = "first"
    LAST = "last"
    MEDIAN = "median"
    SPREAD = "spread"
    STDDEV = "stddev"


class TransformKind(StrEnum):
    """Transformations applied to a selection's series (InfluxQL names)."""

    MOVING_AVERAGE = "moving_average"
    DERIVATIVE = "derivative"
    DIFFERENCE = "difference"
    CUMULATIVE_SUM = "cumulative_sum"


class Fill(StrEnum):
    """What an empty time window yields: nothing, null, the previous value, interpolation, or
    a constant (``fill_value``)."""

    NONE = "none"
    NULL = "null"
    PREVIOUS = "previous"
    LINEAR = "linear"
    VALUE = "value"


class FilterOp(StrEnum):
    """Tag filter operators: ``=`` (any of the values), ``!=`` (none of them), ``~=`` (equal to
    one of the values ignoring case and accents)."""

    EQ = "="
    NE = "!="
    IEQ = "~="


_VALUE_OPS = ("=", "!=", "<", "<=", ">", ">=")
_BIN_OPS = ("+", "-", "*", "/")

# -- durations --------------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^(\d+)(ns|us|ms|s|m|h|d|w|mo|y)$")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_SECOND,
    "m": 60 * NS_PER_SECOND,
    "h": 3_600 * NS_PER_SECOND,
    "d": 86_400 * NS_PER_SECOND,
    "w": 7 * 86_400 * NS_PER_SECOND,
}
# windows of weeks start on Monday (ISO 8601), local time; both engines align windows to the Unix
# epoch, a Thursday, so a week window is shifted by four days
WEEK_OFFSET = "4d"


@dataclass(frozen=True, order=True)
class Duration:
    """A window or derivative unit: a positive count of a unit (``ns`` … ``w``, or the calendar
    units ``mo`` and ``y``). Text form ``30m``, ``1h``, ``1d``, ``1mo``."""

    count: int
    unit: str

    def __post_init__(self) -> None:
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count <= 0:
            raise ModelError(f"a duration needs a positive integer count, not {self.count!r}")
        if self.unit not in (*_UNIT_NS, "mo", "y"):
            raise ModelError(f"unknown duration unit {self.unit!r}")

    @classmethod
    def parse(cls, text: str | Duration) -> Duration:
        if isinstance(text, Duration):
            return text
        match = _DURATION_RE.match(str(text).strip())
        if not match:
            raise ModelError(f"not a duration: {text!r} (expected e.g. 30m, 1h, 1d, 1w, 1mo, 1y)")
        return cls(int(match.group(1)), match.group(2))

    @property
    def is_calendar(self) -> bool:
        """Months and years have no fixed length."""
        return self.unit in ("mo", "y")

    @property
    def ns(self) -> int:
        if self.is_calendar:
            raise ModelError(f"{self} has no fixed length")
        return self.count * _UNIT_NS[self.unit]

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


# -- time -------------------------------------------------------------------------------------


def from_ns(ns: int) -> datetime:
    """UTC datetime of integer nanoseconds (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ns // 1_000)


def format_time(ns: int) -> str:
    """RFC 3339 in UTC, fraction only when needed: ``2024-01-01T00:00:00Z``."""
    seconds, frac = divmod(ns, NS_PER_SECOND)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str, default_tz: str = "UTC") -> int:
    """Nanoseconds of ``YYYY-MM-DD[(T| )HH:MM[:SS[.fffffffff]]][Z|±HH:MM]``.

    A time without offset is in ``default_tz``."""
    match = _RFC3339.match(text.strip())
    if not match:
        raise ModelError(f"not a timestamp: {text!r}")
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        naive = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError as exc:
        raise ModelError(f"not a valid timestamp: {text!r} ({exc})") from None
    if zone in (None, ""):
        moment = naive.replace(tzinfo=zone_info(default_tz))
    elif zone in ("Z", "z"):
        moment = naive.replace(tzinfo=UTC)
    else:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment = naive.replace(tzinfo=UTC) - sign * offset
    nanos = int((frac or "0").ljust(9, "0"))
    return to_ns(moment) + nanos


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ModelError(f"unknown time zone {name!r}") from None


@dataclass(frozen=True)
class TimeRange:
    """Half-open ``[start, end)`` in integer ns since the epoch (UTC); ``None`` = unbounded."""

    start: int | None = None
    end: int | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ModelError(f"time range {name} must be integer ns, not {value!r}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ModelError(
                f"empty time range [{format_time(self.start)}, {format_time(self.end)})"
            )

    @classmethod
    def between(cls, start: datetime | None, end: datetime | None) -> TimeRange:
        return cls(None if start is None else to_ns(start), None if end is None else to_ns(end))

    def to_dict(self) -> dict[str, str | None]:
        return {
            "start": None if self.start is None else format_time(self.start),
            "end": None if self.end is None else format_time(self.end),
        }


# -- expressions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """A field's raw values (no aggregation)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Agg:
    """An aggregate of one field over each group (time window × tag values)."""

    func: Aggregation
    field: str

    def __str__(self) -> str:
        return f"{self.func}({self.field})"


@dataclass(frozen=True)
class Const:
    value: float

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not math.isfinite(float(self.value)):
            raise ModelError(f"constants must be finite numbers, not {self.value!r}")

    def __str__(self) -> str:
        value = float(self.value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if self.op not in _BIN_OPS:
            raise ModelError(f"unknown operator {self.op!r}")

    def __str__(self) -> str:
        return (
            f"{_operand(self.left, self.op, False)} {self.op} {_operand(self.right, self.op, True)}"
        )


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _operand(expr: Expr, parent: str, right: bool) -> str:
    text = str(expr)
    if isinstance(expr, BinOp):
        mine, theirs = _PRECEDENCE[expr.op], _PRECEDENCE[parent]
        if mine < theirs or (right and mine == theirs):
            return f"({text})"
    if isinstance(expr, Const) and expr.value < 0:
        return f"({text})"
    return text


@dataclass(frozen=True)
class Transform:
    """A transformation of the series of ``arg``: ``moving_average`` (``n`` points),
    ``derivative`` (per ``unit``), ``difference``, ``cumulative_sum``. Only at the top of a
    selection."""

    kind: TransformKind
    arg: Expr
    n: int | None = None
    unit: Duration | None = None

    def __post_init__(self) -> None:
        if self.kind is TransformKind.MOVING_AVERAGE:
            if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 2:
                raise ModelError("moving_average needs a window of n >= 2 points")
        elif self.n is not None:
            raise ModelError(f"{self.kind} takes no point count")
        if self.kind is TransformKind.DERIVATIVE:
            if self.unit is None:
                raise ModelError("derivative needs a unit, e.g. 1h")
            if self.unit.is_calendar:
                raise ModelError("derivative needs a fixed unit (not months or years)")
        elif self.unit is not None:
            raise ModelError(f"{self.kind} takes no unit")
        if isinstance(self.arg, Transform) or _contains_transform(self.arg):
            raise ModelError("transforms cannot be nested")

    def __str__(self) -> str:
        if self.kind is TransformKind.MOVING_AVERAGE:
            return f"{self.kind}({self.arg}, {self.n})"
        if self.kind is TransformKind.DERIVATIVE:
            return f"{self.kind}({self.arg}, {self.unit})"
        return f"{self.kind}({self.arg})"


Expr = FieldRef | Agg | Const | BinOp | Transform


def _contains_transform(expr: Expr) -> bool:
    if isinstance(expr, Transform):
        return True
    if isinstance(expr, BinOp):
        return _contains_transform(expr.left) or _contains_transform(expr.right)
    return False


SELECTORS = frozenset({Aggregation.MAX, Aggregation.MIN, Aggregation.FIRST, Aggregation.LAST})


def is_selector(expr: Expr) -> bool:
    """A selection InfluxDB answers with the time of the point it selects, when it stands alone
    in its statement (a maximum, minimum, first or last value, or one times a constant: a flow
    asked against ONS's direction is ``-1 * min``)."""
    if isinstance(expr, BinOp) and expr.op == "*":
        sides = (expr.left, expr.right)
        return any(isinstance(x, Const) for x in sides) and any(is_selector(x) for x in sides)
    return isinstance(expr, Agg) and expr.func in SELECTORS


def leaves(expr: Expr) -> list[FieldRef | Agg]:
    """The field references and aggregates of an expression, left to right."""
    if isinstance(expr, FieldRef | Agg):
        return [expr]
    if isinstance(expr, BinOp):
        return leaves(expr.left) + leaves(expr.right)
    if isinstance(expr, Transform):
        return leaves(expr.arg)
    return []


def strip_transform(expr: Expr) -> tuple[Expr, Transform | None]:
    if isinstance(expr, Transform):
        return expr.arg, expr
    return expr, None


# -- parsing of the canonical text form --------------------------------------------------------

_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<dur>\d+(?:ns|us|ms|mo|s|m|h|d|w|y)\b)|(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/(),]))"
)


def _tokenize_expr(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _EXPR_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ModelError(f"cannot read expression {text!r} at position {pos}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        tokens.append((kind, value, match.start(kind)))
        pos = match.end()
    return tokens


class _ExprParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize_expr(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            where = token[2] if token else len(self.text)
            raise ModelError(f"expression {self.text!r}: expected {value or 'more'} at {where}")
        self.i += 1
        return token

    def parse(self) -> Expr:
        expr = self.additive()
        if self.peek() is not None:
            raise ModelError(f"expression {self.text!r}: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return expr

    def additive(self) -> Expr:
        left = self.term()
        while (token := self.peek()) and token[1] in ("+", "-"):
            self.i += 1
            left = BinOp(token[1], left, self.term())
        return left

    def term(self) -> Expr:
        left = self.unary()
        while (token := self.peek()) and token[1] in ("*", "/"):
            self.i += 1
            left = BinOp(token[1], left, self.unary())
        return left

    def unary(self) -> Expr:
        token = self.peek()
        if token and token[1] == "-":
            self.i += 1
            inner = self.unary()
            if isinstance(inner, Const):
                return Const(-inner.value)
            return BinOp("*", Const(-1), inner)
        return self.primary()

    def primary(self) -> Expr:
        kind, value, _ = self.take()
        if value == "(":
            inner = self.additive()
            self.take(")")
            return inner
        if kind == "num":
            return Const(float(value))
        if kind != "name":
            raise ModelError(f"expression {self.text!r}: unexpected {value!r}")
        nxt = self.peek()
        if not nxt or nxt[1] != "(":
            return FieldRef(value)
        self.take("(")
        if value in {a.value for a in Aggregation}:
            fname = self.take()[1]
            self.take(")")
            return Agg(Aggregation(value), fname)
        if value in {t.value for t in TransformKind}:
            kind_t = TransformKind(value)
            arg = self.additive()
            n: int | None = None
            unit: Duration | None = None
            if kind_t is TransformKind.MOVING_AVERAGE:
                self.take(",")
                n = int(float(self.take()[1]))
            elif kind_t is TransformKind.DERIVATIVE:
                self.take(",")
                unit = Duration.parse(self.take()[1])
            self.take(")")
            return Transform(kind_t, arg, n, unit)
        raise ModelError(f"expression {self.text!r}: unknown function {value!r}")


def parse_expr(text: str) -> Expr:
    """Read the canonical text form of an expression (the inverse of ``str(expr)``)."""
    return _ExprParser(text).parse()


# -- filters, options -------------------------------------------------------------------------


@dataclass(frozen=True)
class TagFilter:
    tag: str
    op: FilterOp
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ModelError(f"tag filter on {self.tag!r} has no values")
        for value in self.values:
            if not isinstance(value, str):
                raise ModelError(f"tag values are strings, not {value!r}")
            if "\x00" in value or "\r" in value:
                raise ModelError(f"tag value {value!r} contains NUL or CR")

    def __str__(self) -> str:
        values = ", ".join(repr(v) for v in self.values)
        return f"{self.tag} {self.op} ({values})"


@dataclass(frozen=True)
class ValueFilter:
    """Keep points whose ``field`` compares to ``value`` (before aggregation)."""

    field: str
    op: str
    value: float

    def __post_init__(self) -> None:
        if self.op not in _VALUE_OPS:
            raise ModelError(f"unknown comparison {self.op!r}")
        if isinstance(self.value, bool) or not math.isfinite(float(self.value)):
            raise ModelError(f"comparisons need a finite number, not {self.value!r}")

    def __str__(self) -> str:
        return f"{self.field} {self.op} {Const(self.value)}"


TOP_N_MAX = 1000  # the largest top-N: a ranking of every state, source or subsystem asks it


@dataclass(frozen=True)
class WindowFilter:
    """Keep the windows whose one selection compares to ``value`` (after aggregation: "the days
    whose mean load passed 80 GW"); with ``count``, one row per group: how many windows did."""

    op: str
    value: float
    count: bool = False

    def __post_init__(self) -> None:
        ValueFilter("_", self.op, self.value)  # the same comparisons, checked the same way

    def passes(self, value: float | None) -> bool:
        if value is None:
            return False
        return {
            "=": value == self.value,
            "!=": value != self.value,
            "<": value < self.value,
            "<=": value <= self.value,
            ">": value > self.value,
            ">=": value >= self.value,
        }[self.op]


WINDOWS_COLUMN = "windows"  # a window filter's count


@dataclass(frozen=True)
class TopN:
    """Keep the ``n`` values of ``tag`` with the largest (or smallest) aggregate."""

    n: int
    tag: str
    bottom: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or isinstance(self.n, bool) or not 1 <= self.n <= TOP_N_MAX:
            raise ModelError(f"top-N needs 1 <= n <= {TOP_N_MAX}, not {self.n!r}")


@dataclass(frozen=True)
class OrderKey:
    column: str
    descending: bool = False


@dataclass(frozen=True)
class Selection:
    expr: Expr
    alias: str

    def __post_init__(self) -> None:
        if not self.alias or "\x00" in self.alias or "\r" in self.alias or "\n" in self.alias:
            raise ModelError(f"invalid column alias {self.alias!r}")


@dataclass(frozen=True)
class Period:
    """One of several time ranges a model asks the same thing over: ``[start, end)`` in ns and a
    label (what the rows of this range are tagged with, e.g. ``2024-03``)."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ModelError(f"period bounds must be integer ns, not {value!r}")
        if self.end <= self.start:
            raise ModelError(f"empty period {self.label!r}")
        if not self.label or "\x00" in self.label or "\r" in self.label or "\n" in self.label:
            raise ModelError(f"invalid period label {self.label!r}")


PERIOD_COLUMN = "period"
MAX_PERIODS = 400
COMBINABLE = frozenset({Aggregation.MEAN, Aggregation.SUM, Aggregation.COUNT, Aggregation.MAX,
                        Aggregation.MIN})  # fmt: skip


def default_alias(expr: Expr, index: int = 0) -> str:
    if isinstance(expr, FieldRef):
        return expr.name
    if isinstance(expr, Agg):
        return f"{expr.func}_{expr.field}"
    if isinstance(expr, Transform) and isinstance(expr.arg, Agg | FieldRef):
        return f"{expr.kind}_{default_alias(expr.arg)}"
    return f"expr_{index}"


def _numeric(spec: TableSpec, fname: str) -> bool:
    return spec.field_spec(fname).type in (MeasureType.DOUBLE, MeasureType.BIGINT)


@dataclass(frozen=True)
class QueryModel:
    """One query over one table; see the module docstring. Validated when built."""

    table: str
    selections: tuple[Selection, ...]
    time_range: TimeRange = field(default_factory=TimeRange)
    tag_filters: tuple[TagFilter, ...] = ()
    value_filters: tuple[ValueFilter, ...] = ()
    window: Duration | None = None
    group_tags: tuple[str, ...] = ()
    fill: Fill = Fill.NONE
    fill_value: float | None = None
    timezone: str | None = None
    top: TopN | None = None
    order_by: tuple[OrderKey, ...] = ()
    limit: int | None = None
    time_alias: str = "time"
    output_columns: tuple[str, ...] | None = None
    periods: tuple[Period, ...] = ()
    combine_periods: bool = False
    by_hour_of_day: bool = False
    difference: tuple[str, str, str] | None = None
    by_day_of_week: bool = False
    extreme_times: bool = False
    window_filter: WindowFilter | None = None
    window_start_times: bool = False

    def __post_init__(self) -> None:
        self._validate()

    # -- validation ---------------------------------------------------------------------------
    @cached_property
    def spec(self) -> TableSpec:
        """The table's mapping as this model was validated against (looked up once)."""
        try:
            return schema.table(self.table)
        except schema.SchemaError as exc:
            raise ModelError(str(exc)) from None

    def _validate(self) -> None:
        spec = self.spec
        if not self.selections:
            raise ModelError("a query needs at least one selection")
        fields, tags = set(spec.field_names), set(spec.tags)
        aliases = [s.alias for s in self.selections]
        if len(set(aliases)) != len(aliases):
            raise ModelError(f"column aliases must be unique: {aliases}")
        reserved = {self.time_alias} | ({PERIOD_COLUMN} if self.periods else set())
        clash = set(aliases) & (tags | reserved)
        if clash:
            raise ModelError(f"aliases {sorted(clash)} clash with tag or time columns")
        kinds: set[str] = set()
        for sel in self.selections:
            inner, _ = strip_transform(sel.expr)
            if _contains_transform(inner):
                raise ModelError(f"{sel.expr}: a transform can only wrap a whole selection")
            found = leaves(sel.expr)
            if not found:
                raise ModelError(f"selection {sel.expr} reads no field")
            for leaf in found:
                name = leaf.field if isinstance(leaf, Agg) else leaf.name
                if name not in fields:
                    raise ModelError(
                        f"table {self.table!r} has no field {name!r} (the loader writes only "
                        f"{sorted(fields)})"
                    )
                if isinstance(leaf, Agg):
                    kinds.add("agg")
                    if leaf.func is not Aggregation.COUNT and not _numeric(spec, name):
                        raise ModelError(f"{leaf}: field {name!r} is not numeric")
                else:
                    kinds.add("raw")
        if len(kinds) > 1:
            raise ModelError("mixing aggregated and raw fields in one query is not supported")
        aggregated = kinds == {"agg"}
        for flt in self.tag_filters:
            if flt.tag not in tags:
                raise ModelError(f"table {self.table!r} has no tag {flt.tag!r}")
        for vf in self.value_filters:
            if vf.field not in fields:
                raise ModelError(f"table {self.table!r} has no field {vf.field!r}")
            if not _numeric(spec, vf.field):
                raise ModelError(f"value filter on non-numeric field {vf.field!r}")
        for tag in self.group_tags:
            if tag not in tags:
                raise ModelError(f"table {self.table!r} has no tag {tag!r} to group by")
        if len(set(self.group_tags)) != len(self.group_tags):
            raise ModelError("group-by tags are repeated")
        if self.window is not None and not aggregated:
            raise ModelError("a time window needs aggregated selections")
        if self.window is not None and self.time_range.start is None:
            raise ModelError("a time window needs a start time")
        if self.window is not None and self.window.is_calendar and self.time_range.end is None:
            raise ModelError("calendar windows (months, years) need an end time")
        if self.fill is Fill.VALUE:
            if self.fill_value is None or not math.isfinite(float(self.fill_value)):
                raise ModelError("fill 'value' needs a finite fill_value")
        elif self.fill_value is not None:
            raise ModelError("fill_value is only used with fill 'value'")
        if self.fill is not Fill.NONE and self.window is None:
            raise ModelError("fill applies to time windows: set a window")
        if self.timezone is not None:
            zone_info(self.timezone)
        for sel in self.selections:
            _, transform = strip_transform(sel.expr)
            if transform is not None and aggregated and self.window is None:
                raise ModelError(f"{sel.expr}: a transform of aggregates needs a time window")
        if self.top is not None:
            if len(self.selections) != 1:
                raise ModelError("top-N ranks one selection")
            expr = self.selections[0].expr
            if not isinstance(expr, Agg):
                raise ModelError("top-N ranks a single aggregate, e.g. sum(val_geracao)")
            if self.top.tag not in tags:
                raise ModelError(f"table {self.table!r} has no tag {self.top.tag!r}")
            if self.top.tag in self.group_tags:
                raise ModelError("the top-N tag is ranked, not grouped: remove it from group_tags")
            if self.fill is not Fill.NONE:
                raise ModelError("fill does not apply to top-N")
        self._validate_periods(aggregated)
        self._validate_profile(aggregated)
        self._validate_difference(aggregated)
        self._validate_extreme_times(aggregated)
        self._validate_window_filter(aggregated)
        if self.limit is not None and (
            not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 1
        ):
            raise ModelError(f"limit must be a positive integer, not {self.limit!r}")
        columns = set(self.result_columns())
        for key in self.order_by:
            if key.column not in columns:
                raise ModelError(f"cannot order by {key.column!r}: columns are {sorted(columns)}")
        if self.output_columns is not None:
            unknown = [c for c in self.output_columns if c not in columns]
            if unknown:
                raise ModelError(f"output columns {unknown} are not in {sorted(columns)}")

    def _validate_extreme_times(self, aggregated: bool) -> None:
        if not self.extreme_times:
            return
        if not aggregated or self.window is not None or self.top is not None:
            raise ModelError("extreme times need aggregates over the whole range: no window, top-N")
        if self.periods or self.profile is not None or self.difference is not None:
            raise ModelError("extreme times take no periods, profile or difference")
        if self.limit is not None or self.order_by:
            raise ModelError("extreme times take no ORDER BY or LIMIT (each extreme is its row)")
        if not any(is_selector(s.expr) for s in self.selections):
            raise ModelError("extreme times need a maximum, minimum, first or last value")

    def _validate_window_filter(self, aggregated: bool) -> None:
        if self.window_filter is None:
            return
        if not aggregated or self.window is None or len(self.selections) != 1:
            raise ModelError("a window filter compares one aggregate per time window")
        if isinstance(self.selections[0].expr, Transform) or self.fill is not Fill.NONE:
            raise ModelError("a window filter takes no transform or fill")
        if self.top is not None or self.combine_periods or self.profile is not None:
            raise ModelError("a window filter takes no top-N, combined periods or profile")
        if self.extreme_times:
            raise ModelError("a window filter takes no extreme times")

    def _validate_difference(self, aggregated: bool) -> None:
        if self.difference is None:
            return
        tag, a, b = self.difference
        if tag not in self.group_tags or a == b:
            raise ModelError(f"a difference of two groups needs {tag!r} grouped and two values")
        if not aggregated or self.top is not None:
            raise ModelError("a difference of two groups needs aggregates and no top-N")
        for sel in self.selections:
            for leaf in leaves(sel.expr):
                if isinstance(leaf, Agg) and leaf.func not in (Aggregation.MEAN, Aggregation.SUM):
                    raise ModelError(
                        f"{leaf}: the difference of two groups is kept for means and sums only"
                    )

    @property
    def profile(self) -> str | None:
        """The window a profile combines by its position ("1h": hour of the day, "1d": day of
        the week), or ``None``."""
        return "1h" if self.by_hour_of_day else "1d" if self.by_day_of_week else None

    def _validate_profile(self, aggregated: bool) -> None:
        if self.by_hour_of_day and self.by_day_of_week:
            raise ModelError("one profile at a time: by hour of the day or by day of the week")
        if self.profile is None:
            return
        if not aggregated:
            raise ModelError("a profile needs aggregated selections")
        if self.window is not None or self.top is not None:
            raise ModelError("a profile takes no window or top-N")
        if self.periods and not self.combine_periods:
            raise ModelError("a profile combines its periods (some days of the week): no compared")
        if self.fill is not Fill.NONE or self.order_by or self.limit is not None:
            raise ModelError("a profile takes no fill, ORDER BY or LIMIT")
        if self.time_range.start is None or self.time_range.end is None:
            raise ModelError("a profile needs a time range")
        self._require_combinable("profiles", "combine over the days or weeks of a profile")

    def _require_combinable(self, what: str, how: str) -> None:
        """Selections answered from partial aggregates: no transform, only recombinable ones."""
        for sel in self.selections:
            if isinstance(sel.expr, Transform):
                raise ModelError(f"{what} take no transform")
            for leaf in leaves(sel.expr):
                if isinstance(leaf, Agg) and leaf.func not in COMBINABLE:
                    raise ModelError(f"{leaf}: only {sorted(COMBINABLE)} {how}")

    def _validate_periods(self, aggregated: bool) -> None:
        if not self.periods:
            if self.combine_periods:
                raise ModelError("combine_periods needs periods")
            return
        if len(self.periods) > MAX_PERIODS:
            raise ModelError(f"at most {MAX_PERIODS} periods, not {len(self.periods)}")
        if not aggregated:
            raise ModelError("periods need aggregated selections")
        start, end = self.time_range.start, self.time_range.end
        if (
            start is None
            or end is None
            or start > min(p.start for p in self.periods)
            or end < max(p.end for p in self.periods)
        ):
            raise ModelError("the time range must cover every period")
        if self.combine_periods:
            ordered = sorted(self.periods, key=lambda p: p.start)
            if any(a.end > b.start for a, b in pairwise(ordered)):
                raise ModelError("combined periods must not overlap")
            if self.window is not None or self.top is not None:
                raise ModelError("combined periods give one value per group: no window or top-N")
            self._require_combinable("combined periods", "can be combined over periods")
        else:
            labels = [p.label for p in self.periods]
            if len(set(labels)) != len(labels):
                raise ModelError(f"period labels must be unique: {labels}")
            if self.order_by or self.limit is not None:
                raise ModelError("compared periods take no ORDER BY or LIMIT")

    # -- derived ------------------------------------------------------------------------------
    @property
    def compared(self) -> bool:
        """Several periods answered side by side (rows tagged with their period)."""
        return bool(self.periods) and not self.combine_periods

    @property
    def measurement(self) -> str:
        return self.spec.measurement

    @property
    def aggregated(self) -> bool:
        return isinstance(leaves(self.selections[0].expr)[0], Agg)

    def fields_used(self) -> list[str]:
        names: list[str] = []
        for sel in self.selections:
            for leaf in leaves(sel.expr):
                name = leaf.field if isinstance(leaf, Agg) else leaf.name
                if name not in names:
                    names.append(name)
        return names

    def result_tags(self) -> tuple[str, ...]:
        """Tag columns of the result: the top-N tag, then group tags (raw: every table tag)."""
        period = (PERIOD_COLUMN,) if self.compared else ()
        if self.top is not None:
            return (*period, self.top.tag, *self.group_tags)
        if not self.aggregated:
            return self.group_tags or self.spec.tags
        return (*period, *self.group_tags)

    def value_columns(self) -> tuple[str, ...]:
        """The value columns: the selections, or the count of a counting window filter."""
        if self.window_filter is not None and self.window_filter.count:
            return (WINDOWS_COLUMN,)
        return tuple(s.alias for s in self.selections)

    def result_columns(self) -> tuple[str, ...]:
        """Columns of the result before ``output_columns``: time, tags, values."""
        return (self.time_alias, *self.result_tags(), *self.value_columns())

    def units(self) -> dict[str, str]:
        """Unit of each value column, from the schema (``""`` for counts and ratios)."""
        if self.window_filter is not None and self.window_filter.count:
            return {WINDOWS_COLUMN: ""}
        return {s.alias: expr_unit(self.spec, s.expr, self.window) for s in self.selections}

    def with_range(self, start: int, end: int) -> QueryModel:
        """The same query over ``[start, end)`` alone (no periods)."""
        return replace(self, time_range=TimeRange(start, end), periods=(), combine_periods=False)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Stable JSON form (expressions as canonical text)."""
        return {
            "table": self.table,
            "measurement": self.measurement,
            "select": [{"expr": str(s.expr), "as": s.alias} for s in self.selections],
            "time_range": self.time_range.to_dict(),
            "where": [
                {"tag": f.tag, "op": str(f.op), "values": list(f.values)} for f in self.tag_filters
            ],
            "value_filters": [
                {"field": f.field, "op": f.op, "value": f.value} for f in self.value_filters
            ],
            "window": None if self.window is None else str(self.window),
            "group_by": list(self.group_tags),
            "fill": str(self.fill),
            "fill_value": self.fill_value,
            "timezone": self.timezone,
            "top": None
            if self.top is None
            else {"n": self.top.n, "tag": self.top.tag, "bottom": self.top.bottom},
            "order_by": [{"column": k.column, "desc": k.descending} for k in self.order_by],
            "limit": self.limit,
            "time_alias": self.time_alias,
            "output_columns": None if self.output_columns is None else list(self.output_columns),
            "periods": [
                {"start": format_time(p.start), "end": format_time(p.end), "label": p.label}
                for p in self.periods
            ],
            "combine_periods": self.combine_periods,
            "by_hour_of_day": self.by_hour_of_day,
            "by_day_of_week": self.by_day_of_week,
            "extreme_times": self.extreme_times,
            "window_start_times": self.window_start_times,
            "difference": None
            if self.difference is None
            else dict(zip(("tag", "minuend", "subtrahend"), self.difference, strict=True)),
            "window_filter": None
            if self.window_filter is None
            else {
                "op": self.window_filter.op,
                "value": self.window_filter.value,
                "count": self.window_filter.count,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryModel:
        """Build (and validate) a model from :meth:`to_dict`'s form."""
        try:
            selections = []
            for i, item in enumerate(data["select"]):
                if isinstance(item, str):
                    expr = parse_expr(item)
                    selections.append(Selection(expr, default_alias(expr, i)))
                else:
                    expr = parse_expr(item["expr"])
                    selections.append(Selection(expr, item.get("as") or default_alias(expr, i)))
            tr = data.get("time_range") or {}
            top = data.get("top")
            return cls(
                table=data["table"],
                selections=tuple(selections),
                time_range=TimeRange(
                    parse_time(tr["start"]) if tr.get("start") else None,
                    parse_time(tr["end"]) if tr.get("end") else None,
                ),
                tag_filters=tuple(
                    TagFilter(f["tag"], FilterOp(f.get("op", "=")), tuple(f["values"]))
                    for f in data.get("where", [])
                ),
                value_filters=tuple(
                    ValueFilter(f["field"], f["op"], float(f["value"]))
                    for f in data.get("value_filters", [])
                ),
                window=Duration.parse(data["window"]) if data.get("window") else None,
                group_tags=tuple(data.get("group_by", ())),
                fill=Fill(data.get("fill", "none")),
                fill_value=data.get("fill_value"),
                timezone=data.get("timezone"),
                top=None
                if not top
                else TopN(int(top["n"]), top["tag"], bool(top.get("bottom", False))),
                order_by=tuple(
                    OrderKey(k["column"], bool(k.get("desc", False)))
                    for k in data.get("order_by", [])
                ),
                limit=data.get("limit"),
                time_alias=data.get("time_alias", "time"),
                output_columns=tuple(data["output_columns"])
                if data.get("output_columns")
                else None,
                periods=tuple(
                    Period(parse_time(p["start"]), parse_time(p["end"]), str(p["label"]))
                    for p in data.get("periods") or ()
                ),
                combine_periods=bool(data.get("combine_periods", False)),
                by_hour_of_day=bool(data.get("by_hour_of_day", False)),
                by_day_of_week=bool(data.get("by_day_of_week", False)),
                extreme_times=bool(data.get("extreme_times", False)),
                window_start_times=bool(data.get("window_start_times", False)),
                difference=None
                if not data.get("difference")
                else (
                    str(data["difference"]["tag"]),
                    str(data["difference"]["minuend"]),
                    str(data["difference"]["subtrahend"]),
                ),
                window_filter=None
                if not data.get("window_filter")
                else WindowFilter(
                    str(data["window_filter"]["op"]),
                    float(data["window_filter"]["value"]),
                    bool(data["window_filter"].get("count", False)),
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"invalid query model: {type(exc).__name__}: {exc}") from None


_INTENSIVE = frozenset({"%", "%MLT", "R$/MWh"})
_POWER = frozenset({"MWmed", "MW"})
_THOUSANDS = {"MWh": "GWh", "MW": "GW", "MWmed": "GWmed", "MWh/d": "GWh/d"}
_MILLIONS = {"MWh": "TWh", "MW": "TW", "MWmed": "TWmed", "MWh/d": "TWh/d"}
HOURS_A_DAY = 24  # a mean power (MWmed) × 24 h: the energy of a mean day (MWh/d)


def agg_unit(spec: TableSpec, agg: Agg) -> str:
    """Unit of an aggregate: a sum of average power over its samples is energy (hourly MWmed or
    MW summed = MWh; other grains say so, e.g. ``MWmed×1d``); a sum of a percentage or a price
    has no unit; counts have none; every other aggregate keeps the field's unit."""
    unit = spec.field_spec(agg.field).unit
    if agg.func is Aggregation.COUNT:
        return ""
    if agg.func is Aggregation.SUM:
        if unit in _POWER:
            seconds = int(spec.grain.total_seconds())
            if seconds == 3600:
                return "MWh"
            if seconds % 86400 == 0:
                return f"{unit}×{seconds // 86400}d"
            if seconds % 3600 == 0:
                return f"{unit}×{seconds // 3600}h"
            return f"{unit}×{seconds // 60}min"
        if unit in _INTENSIVE:
            return ""
    return unit


def expr_unit(spec: TableSpec, expr: Expr, window: Duration | None = None) -> str:
    """Unit of an expression's values, derived from the fields' units in the schema."""
    if isinstance(expr, FieldRef):
        return spec.field_spec(expr.name).unit
    if isinstance(expr, Agg):
        grain_ns = int(spec.grain.total_seconds()) * NS_PER_SECOND
        if (
            expr.func is Aggregation.SUM
            and window is not None
            and not window.is_calendar
            and grain_ns >= _UNIT_NS["d"]
            and window.ns <= grain_ns
        ):
            # one sample per series in each window: the sum adds series (the SIN's daily
            # inflow is the subsystems' MWmed summed), not durations
            return spec.field_spec(expr.field).unit
        return agg_unit(spec, expr)
    if isinstance(expr, Const):
        return ""
    if isinstance(expr, Transform):
        inner = expr_unit(spec, expr.arg, window)
        if expr.kind is TransformKind.DERIVATIVE:
            return f"{inner}/{expr.unit}" if inner else f"1/{expr.unit}"
        return inner
    left, right = expr_unit(spec, expr.left, window), expr_unit(spec, expr.right, window)
    if expr.op in ("+", "-"):
        return left if left == right or not right else right if not left else f"{left}?{right}"
    if expr.op == "*":
        if isinstance(expr.right, Const) and expr.right.value == 100 and left == "":
            return "%"
        if isinstance(expr.right, Const) and expr.right.value == HOURS_A_DAY and left in _POWER:
            return "MWh/d"
        return left or right if not (left and right) else f"{left}·{right}"
    if left == right:
        return ""
    if isinstance(expr.right, Const) and expr.right.value == 1000 and left in _THOUSANDS:
        return _THOUSANDS[left]
    if isinstance(expr.right, Const) and expr.right.value == 1_000_000 and left in _MILLIONS:
        return _MILLIONS[left]
    if isinstance(expr.right, Const) and left == "MWh" and float(expr.right.value).is_integer():
        # hourly energy over a whole number of hours (several plants' average output: their
        # energy ÷ the period's hours): a mean power
        return "MWmed"
    return f"{left}/{right}" if right else left


def evaluate(
    expr: Expr, values: Mapping[str, float | None], *, by_zero: float | None = None
) -> float | None:
    """Value of an aggregate expression given each leaf's value (keyed by its canonical text);
    ``None`` when a leaf is missing, ``by_zero`` when a division is by zero (InfluxQL's own
    arithmetic gives 0)."""
    if isinstance(expr, Agg | FieldRef):
        return values.get(str(expr))
    if isinstance(expr, Const):
        return float(expr.value)
    if isinstance(expr, Transform):
        raise ModelError("transforms cannot be evaluated on single values")
    left = evaluate(expr.left, values, by_zero=by_zero)
    right = evaluate(expr.right, values, by_zero=by_zero)
    if left is None or right is None:
        return None
    if expr.op == "+":
        return left + right
    if expr.op == "-":
        return left - right
    if expr.op == "*":
        return left * right
    return by_zero if right == 0 else left / right
