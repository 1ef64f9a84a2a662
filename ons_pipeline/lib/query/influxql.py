"""Render a :class:`QueryModel` as InfluxQL (every engine: 1.x, 2.x/3.x v1 API, Timestream).

Identifiers are always double-quoted and string literals single-quoted, with ``\\``, quotes and
newlines escaped; tag matches ignoring case become anchored regexes whose every punctuation
character is escaped. No value can end a literal early, so no input can inject InfluxQL.

What InfluxQL cannot say in one statement is split into several, which :mod:`execute` merges:
calendar windows (months, years) become one statement per period; a transform of an arithmetic
expression (``moving_average(mean(a) / mean(b), 3)``) runs over a subquery in a statement of its
own. Top-N ranks the rows of a subquery grouped by the ranked tag. A model over several periods
(InfluxQL has no OR of time ranges) runs one statement per period: compared periods tag their rows
with the period, combined periods select partial aggregates (a mean as its sum and count) that
:mod:`execute` combines.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ons_pipeline.lib.influx.client import quote_ident, quote_literal
from ons_pipeline.lib.ons_time import to_ns
from ons_pipeline.lib.query.model import (
    WEEK_OFFSET,
    Agg,
    Aggregation,
    BinOp,
    Const,
    Duration,
    Expr,
    FieldRef,
    Fill,
    FilterOp,
    ModelError,
    Period,
    QueryModel,
    Selection,
    TagFilter,
    Transform,
    format_time,
    from_ns,
    is_selector,
    leaves,
    zone_info,
)
from ons_pipeline.lib.query.text import fold_char

MAX_CALENDAR_STATEMENTS = 600


class RenderError(ValueError):
    """The model cannot be expressed in the target language."""


# -- quoting ----------------------------------------------------------------------------------


def re2_escape(text: str) -> str:
    """Escape every ASCII punctuation character for RE2 (Go regexp); newline as ``\\n``."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch.isascii() and not ch.isalnum() and ch != " " and ch.isprintable():
            out.append("\\" + ch)
        elif ch == "\x00" or ch == "\r":
            raise ModelError(f"text to match cannot contain NUL or CR: {text!r}")
        else:
            out.append(ch)
    return "".join(out)


def regex_literal(pattern: str) -> str:
    """An InfluxQL ``/regex/`` literal: only ``/`` needs escaping (as ``\\/``)."""
    if "\n" in pattern or "\r" in pattern:
        raise ModelError("a regex literal cannot contain a raw newline")
    escaped, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            escaped.append(pattern[i : i + 2])
            i += 2
            continue
        escaped.append("\\/" if ch == "/" else ch)
        i += 1
    return "/" + "".join(escaped) + "/"


# the letters Portuguese (and names written in it) accent, with their accented forms
_ACCENTED = {
    "a": "aáàâãä", "e": "eéèêë", "i": "iíìîï", "o": "oóòôõö", "u": "uúùûü", "c": "cç", "n": "nñ",
}  # fmt: skip


def _letter(ch: str) -> str:
    variants = _ACCENTED.get(fold_char(ch)) if ch.isalpha() else None
    return f"[{variants}]" if variants else re2_escape(ch)


def ieq_pattern(values: tuple[str, ...]) -> str:
    """RE2 pattern matching exactly one of ``values``, ignoring case and accents ("Tucurui"
    matches "Tucuruí", "SAO" matches "São")."""
    return "(?i)^(?:" + "|".join("".join(_letter(ch) for ch in v) for v in values) + ")$"


def number(value: float) -> str:
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ModelError(f"not a finite number: {value!r}")
    return text


def time_literal(ns: int) -> str:
    return "'" + format_time(ns) + "'"


# -- statements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One InfluxQL statement: the selection aliases it yields and, for calendar periods, the
    time label (ns) its rows get (InfluxDB would label them with the period's start too); for a
    model over several periods, the period's label."""

    text: str
    aliases: tuple[str, ...]
    label: int | None = None
    period: str | None = None


@dataclass(frozen=True)
class Partial:
    """A partial aggregate of a combined-periods statement: the leaf it serves (canonical text),
    the aggregate computed per period and the column alias it is selected as."""

    leaf: str
    func: Aggregation
    field: str
    alias: str


def combine_plan(model: QueryModel) -> list[Partial]:
    """The partial aggregates that combine over periods into the model's leaves (a mean is its
    sum and its count)."""
    plan: list[Partial] = []
    seen: list[str] = []
    for sel in model.selections:
        for leaf in leaves(sel.expr):
            key = str(leaf)
            if key in seen or not isinstance(leaf, Agg):
                continue
            seen.append(key)
            i = len(seen) - 1
            if leaf.func is Aggregation.MEAN:
                plan.append(Partial(key, Aggregation.SUM, leaf.field, f"_c{i}_sum"))
                plan.append(Partial(key, Aggregation.COUNT, leaf.field, f"_c{i}_count"))
            else:
                plan.append(Partial(key, leaf.func, leaf.field, f"_c{i}_{leaf.func}"))
    return plan


def _expr(expr: Expr) -> str:
    if isinstance(expr, FieldRef):
        return quote_ident(expr.name)
    if isinstance(expr, Agg):
        return f"{expr.func}({quote_ident(expr.field)})"
    if isinstance(expr, Const):
        return number(expr.value)
    if isinstance(expr, BinOp):
        return f"({_expr(expr.left)} {expr.op} {_expr(expr.right)})"
    if isinstance(expr, Transform):
        return _transform(expr, _expr(expr.arg))
    raise RenderError(f"cannot render {expr!r}")


def _transform(t: Transform, arg: str) -> str:
    if t.n is not None:
        return f"{t.kind}({arg}, {t.n})"
    if t.unit is not None:
        return f"{t.kind}({arg}, {t.unit})"
    return f"{t.kind}({arg})"


def _needs_subquery(sel: Selection) -> bool:
    return isinstance(sel.expr, Transform) and not isinstance(sel.expr.arg, Agg | FieldRef)


def _tag_condition(flt: TagFilter) -> str:
    tag = quote_ident(flt.tag)
    if flt.op is FilterOp.IEQ:
        return f"{tag} =~ {regex_literal(ieq_pattern(flt.values))}"
    if flt.op is FilterOp.EQ:
        terms = [f"{tag} = {quote_literal(v)}" for v in flt.values]
        return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
    return " AND ".join(f"{tag} != {quote_literal(v)}" for v in flt.values)


def tag_conditions(model: QueryModel) -> list[str]:
    """The model's tag filters as InfluxQL conditions (one per filter, ANDed by the caller)."""
    return [_tag_condition(f) for f in model.tag_filters]


def _where(model: QueryModel, start: int | None, end: int | None) -> str:
    conditions = []
    if start is not None:
        conditions.append(f"time >= {time_literal(start)}")
    if end is not None:
        conditions.append(f"time < {time_literal(end)}")
    conditions += [_tag_condition(f) for f in model.tag_filters]
    conditions += [
        f"{quote_ident(v.field)} {'<>' if v.op == '!=' else v.op} {number(v.value)}"
        for v in model.value_filters
    ]
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def _time_only(start: int | None, end: int | None) -> str:
    conditions = []
    if start is not None:
        conditions.append(f"time >= {time_literal(start)}")
    if end is not None:
        conditions.append(f"time < {time_literal(end)}")
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def _group(window: Duration | None, tags: tuple[str, ...], fill: str | None) -> str:
    parts = ([_time_group(window)] if window is not None else []) + [quote_ident(t) for t in tags]
    text = " GROUP BY " + ", ".join(parts) if parts else ""
    if window is not None and fill:
        text += f" fill({fill})"
    return text


def _time_group(window: Duration) -> str:
    """``time(window)``; weeks start on Monday (InfluxDB aligns windows to the epoch, a
    Thursday: ``time(1w)`` alone runs Thursday to Wednesday)."""
    return f"time({window}, {WEEK_OFFSET})" if window.unit == "w" else f"time({window})"


def _fill(model: QueryModel) -> str:
    if model.fill is Fill.VALUE:
        return number(model.fill_value or 0.0)
    return str(model.fill)


def _tz(model: QueryModel) -> str:
    if model.timezone and model.window is not None:
        return f" tz({quote_literal(model.timezone)})"
    return ""


def _source(model: QueryModel, retention_policy: str | None) -> str:
    if retention_policy:
        return f"{quote_ident(retention_policy)}.{quote_ident(model.measurement)}"
    return quote_ident(model.measurement)


def limit_pushdown(model: QueryModel) -> bool:
    """Whether LIMIT can be left to InfluxDB: one series, ordered by time only."""
    if model.limit is None or model.top is not None:
        return False
    if model.window is not None and model.window.is_calendar:
        return False
    if model.aggregated and model.group_tags:
        return False
    if not model.aggregated and any(isinstance(s.expr, Transform) for s in model.selections):
        return False
    return all(k.column == model.time_alias for k in model.order_by) and len(model.order_by) <= 1


def _order_limit(model: QueryModel) -> str:
    text = ""
    first = model.order_by[0] if len(model.order_by) == 1 else None
    if first is not None and first.column == model.time_alias and first.descending:
        text += " ORDER BY time DESC"
    if limit_pushdown(model):
        text += f" LIMIT {model.limit}"
    return text


def windowed_extreme(model: QueryModel) -> Agg | None:
    """The one maximum or minimum of a model grouped by fixed windows: InfluxQL stamps ``max()``
    with its window's start, so it is asked as ``top(f, 1)`` / ``bottom(f, 1)``, which keep the
    time of the point (the earliest of equal values), unless the model asks for the window's
    start."""
    if (
        model.window is None
        or model.window.is_calendar
        or model.window_start_times
        or len(model.selections) != 1
    ):
        return None
    expr = model.selections[0].expr
    if isinstance(expr, Agg) and expr.func in (Aggregation.MAX, Aggregation.MIN):
        return expr
    return None


def _select_list(sels: list[Selection], extra: list[str] | None = None) -> str:
    items = [f"{_expr(s.expr)} AS {quote_ident(s.alias)}" for s in sels]
    return ", ".join(items + (extra or []))


def _plain_statement(
    model: QueryModel,
    sels: list[Selection],
    start: int | None,
    end: int | None,
    window: Duration | None,
    rp: str | None,
) -> str:
    source = _source(model, rp)
    if model.aggregated:
        group = _group(window, model.group_tags, _fill(model) if window else None)
        extreme = windowed_extreme(model) if window is not None else None
        if extreme is not None:  # each window's extreme at its own time
            func = "top" if extreme.func is Aggregation.MAX else "bottom"
            items = f"{func}({quote_ident(extreme.field)}, 1) AS {quote_ident(sels[0].alias)}"
            return f"SELECT {items} FROM {source}{_where(model, start, end)}{group}"
        return f"SELECT {_select_list(sels)} FROM {source}{_where(model, start, end)}{group}"
    has_transform = any(isinstance(s.expr, Transform) for s in sels)
    tags = model.result_tags()
    if has_transform:
        # transforms of raw values run per series: group by every tag that distinguishes one
        group = _group(None, tuple(tags), None)
        return f"SELECT {_select_list(sels)} FROM {source}{_where(model, start, end)}{group}"
    extra = [f"{quote_ident(t)}::tag" for t in tags]
    return f"SELECT {_select_list(sels, extra)} FROM {source}{_where(model, start, end)}"


def _subquery_statement(
    model: QueryModel, sel: Selection, start: int | None, end: int | None, rp: str | None
) -> str:
    assert isinstance(sel.expr, Transform)
    inner_sel = Selection(sel.expr.arg, "_v")
    if model.aggregated:
        group = _group(model.window, model.group_tags, _fill(model) if model.window else None)
        tags = model.group_tags
    else:
        group = _group(None, model.result_tags(), None)
        tags = model.result_tags()
    inner = (
        f"SELECT {_select_list([inner_sel])} FROM {_source(model, rp)}"
        f"{_where(model, start, end)}{group}"
    )
    outer_sel = f"{_transform(sel.expr, quote_ident('_v'))} AS {quote_ident(sel.alias)}"
    return f"SELECT {outer_sel} FROM ({inner}){_time_only(start, end)}{_group(None, tags, None)}"


def _top_statement(
    model: QueryModel, start: int | None, end: int | None, window: Duration | None, rp: str | None
) -> str:
    assert model.top is not None
    sel = model.selections[0]
    inner_tags = (model.top.tag, *model.group_tags)
    inner = (
        f"SELECT {_expr(sel.expr)} AS {quote_ident('_v')} FROM {_source(model, rp)}"
        f"{_where(model, start, end)}{_group(window, inner_tags, None)}"
    )
    func = "bottom" if model.top.bottom else "top"
    outer = (
        f"{func}({quote_ident('_v')}, {quote_ident(model.top.tag)}, {model.top.n}) "
        f"AS {quote_ident(sel.alias)}"
    )
    return (
        f"SELECT {outer} FROM ({inner}){_time_only(start, end)}"
        f"{_group(window, model.group_tags, None)}"
    )


def calendar_periods(model: QueryModel) -> list[tuple[int, int, int]]:
    """``(lo, hi, label)`` of each calendar window (months/years, in the model's zone) in range:
    ``[lo, hi)`` is the window clipped to the range, ``label`` the window's start (as InfluxQL
    labels fixed windows)."""
    window = model.window
    assert window is not None and window.is_calendar
    start, end = model.time_range.start, model.time_range.end
    assert start is not None and end is not None
    zone = zone_info(model.timezone or "UTC")
    local = from_ns(start).astimezone(zone)
    months = window.count * (12 if window.unit == "y" else 1)
    if window.unit == "y":
        cursor = datetime(local.year, 1, 1, tzinfo=zone)
    else:
        index = (local.year * 12 + local.month - 1) // months * months
        cursor = datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)
    periods: list[tuple[int, int, int]] = []
    while to_ns(cursor) < end:
        index = cursor.year * 12 + cursor.month - 1 + months
        nxt = datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)
        lo, hi = max(to_ns(cursor), start), min(to_ns(nxt), end)
        if lo < hi:
            periods.append((lo, hi, to_ns(cursor)))
        if len(periods) > MAX_CALENDAR_STATEMENTS:
            raise RenderError(
                f"more than {MAX_CALENDAR_STATEMENTS} calendar windows: narrow the time range"
            )
        cursor = nxt
    return periods


def _partial_items(plan: list[Partial]) -> str:
    return ", ".join(f"{p.func}({quote_ident(p.field)}) AS {quote_ident(p.alias)}" for p in plan)


def _combined_statement(model: QueryModel, period: Period, rp: str | None) -> Statement:
    plan = combine_plan(model)
    items = _partial_items(plan)
    text = (
        f"SELECT {items} FROM {_source(model, rp)}{_where(model, period.start, period.end)}"
        f"{_group(None, model.group_tags, None)}"
    )
    return Statement(text, tuple(p.alias for p in plan), None, period.label)


def _profile_statement(model: QueryModel, rp: str | None) -> Statement:
    """Each local hour's (or day's) partial aggregates over the range, combined by hour of the
    day (or day of the week) after."""
    plan = combine_plan(model)
    items = _partial_items(plan)
    start, end = model.time_range.start, model.time_range.end
    window = model.profile or "1h"
    text = (
        f"SELECT {items} FROM {_source(model, rp)}{_where(model, start, end)}"
        f"{_group(Duration.parse(window), model.group_tags, 'none')}"
    )
    if model.timezone:  # local days and hours
        text += f" tz({quote_literal(model.timezone)})"
    return Statement(text, tuple(p.alias for p in plan))


def statements(model: QueryModel, retention_policy: str | None = None) -> list[Statement]:
    """The InfluxQL statements that answer ``model`` (usually one)."""
    start, end = model.time_range.start, model.time_range.end
    rp = retention_policy
    if model.profile is not None:  # over some days: each run of them, combined after
        parts = [model.with_range(p.start, p.end) for p in model.periods] or [model]
        return [_profile_statement(part, rp) for part in parts]
    if model.periods:
        if model.combine_periods:
            return [_combined_statement(model, p, rp) for p in model.periods]
        out = []
        for p in model.periods:
            for stmt in statements(model.with_range(p.start, p.end), rp):
                out.append(replace(stmt, period=p.label))
        return out
    if model.window is not None and model.window.is_calendar:
        if any(isinstance(s.expr, Transform) for s in model.selections):
            raise RenderError("InfluxQL has no calendar windows: transforms over months/years")
        if model.fill is not Fill.NONE:
            raise RenderError("InfluxQL has no calendar windows: fill over months/years")
        out = []
        for lo, hi, label in calendar_periods(model):
            if model.top is not None:
                text = _top_statement(model, lo, hi, None, rp)
            else:
                text = _plain_statement(model, list(model.selections), lo, hi, None, rp)
            aliases = tuple(s.alias for s in model.selections)
            out.append(Statement(text + _order_limit(model), aliases, label))
        return out
    if model.top is not None:
        text = _top_statement(model, start, end, model.window, rp) + _tz(model)
        return [Statement(text, (model.selections[0].alias,))]
    direct = [s for s in model.selections if not _needs_subquery(s)]
    nested = [s for s in model.selections if _needs_subquery(s)]
    # with extreme_times, each selector alone: InfluxDB then gives it its point's time
    groups = [direct]
    if model.extreme_times:
        alone = [[s] for s in direct if is_selector(s.expr)]
        groups = [[s for s in direct if not is_selector(s.expr)], *alone]
    out = []
    for group in (g for g in groups if g):
        text = _plain_statement(model, group, start, end, model.window, rp)
        out.append(
            Statement(text + _order_limit(model) + _tz(model), tuple(s.alias for s in group))
        )
    for sel in nested:
        text = _subquery_statement(model, sel, start, end, rp)
        out.append(Statement(text + _order_limit(model) + _tz(model), (sel.alias,)))
    return out


def render_influxql(model: QueryModel, retention_policy: str | None = None) -> str:
    """The InfluxQL text of ``model`` (statements separated by ``;``)."""
    return ";\n".join(s.text for s in statements(model, retention_policy))
