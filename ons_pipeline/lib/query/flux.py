"""Render a :class:`QueryModel` as Flux (InfluxDB 2.x, Timestream for InfluxDB v2).

Each aggregate or field of a selection becomes one stream (filter the field, group by the
requested tags, aggregate per window); a selection with arithmetic unions its streams, pivots them
side by side and maps the expression; a transform follows. The selections are pivoted into one
wide table (``_time``, tags, one column per selection alias), like InfluxQL's answer. Strings are
double-quoted with ``\\``, ``"`` and ``${`` escaped (:func:`flux_string`); case-insensitive tag
matches compare ``strings.toLower`` of the tag with lower-cased literals, so no input can inject
Flux.

Several periods: compared periods render the query once per period (its own ``range``) and tag
each period's rows with a ``period`` column; combined periods read the union of the ranges as
one stream (its ``_start``/``_stop`` set to the whole range), so every aggregate spans them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ons_pipeline.lib.query.influxql import ieq_pattern
from ons_pipeline.lib.query.model import (
    PERIOD_COLUMN,
    WEEK_OFFSET,
    Agg,
    Aggregation,
    BinOp,
    Const,
    Expr,
    FieldRef,
    Fill,
    FilterOp,
    ModelError,
    QueryModel,
    Selection,
    TagFilter,
    Transform,
    TransformKind,
    format_time,
    leaves,
    strip_transform,
)

_INDENT = "\n    |> "


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def flux_string(value: str) -> str:
    """A Flux string: a literal with ``\\``, ``"``, ``${`` and control characters escaped.

    Flux's scanner reads a ``$`` and the character after it as one unit, so ``"$\\"`` or
    ``"$\\""`` would end (or not end) the literal somewhere else than its parser thinks; where
    ``$`` comes before an escape, the string is split there into literals joined with ``+``."""
    if "\x00" in value:
        raise ModelError("Flux strings cannot contain NUL")
    literals: list[str] = []
    current: list[str] = []
    for index, char in enumerate(value):
        text = (
            "\\$" if char == "$" and value.startswith("{", index + 1) else _ESCAPES.get(char, char)
        )
        if text.startswith("\\") and current and current[-1] == "$":
            literals.append("".join(current))
            current = []
        current.append(text)
    literals.append("".join(current))
    if len(literals) == 1:
        return f'"{literals[0]}"'
    return "(" + " + ".join(f'"{text}"' for text in literals) + ")"


def flux_float(value: float) -> str:
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ModelError(f"not a finite number: {value!r}")
    return text if not text.startswith("-") else f"({text})"


def flux_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(flux_string(v) for v in values) + "]"


def column(name: str) -> str:
    return f"r[{flux_string(name)}]"


@dataclass
class _Ctx:
    imports: set[str] = field(default_factory=set)
    defs: list[str] = field(default_factory=list)  # values the filters use, before the data
    blocks: list[str] = field(default_factory=list)
    counter: int = 0
    data: str = "data"

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


def _tag_predicate(flt: TagFilter, ctx: _Ctx) -> str:
    col = column(flt.tag)
    if flt.op is FilterOp.IEQ:  # one compiled pattern, as InfluxQL's (case and accents ignored)
        ctx.imports.add("regexp")
        name = ctx.name("names")
        ctx.defs.append(f"{name} = regexp.compile(v: {flux_string(ieq_pattern(flt.values))})")
        return f"{col} =~ {name}"
    if flt.op is FilterOp.EQ:
        return " or ".join(f"{col} == {flux_string(v)}" for v in flt.values)
    return " and ".join(f"{col} != {flux_string(v)}" for v in flt.values)


def _base(model: QueryModel, bucket: str, ctx: _Ctx) -> str:
    start = model.time_range.start
    args = [f"start: {format_time(start) if start is not None else '1970-01-01T00:00:00Z'}"]
    if model.time_range.end is not None:
        args.append(f"stop: {format_time(model.time_range.end)}")
    steps = [
        f"from(bucket: {flux_string(bucket)})",
        f"range({', '.join(args)})",
        f"filter(fn: (r) => r._measurement == {flux_string(model.measurement)})",
    ]
    steps += [f"filter(fn: (r) => {_tag_predicate(f, ctx)})" for f in model.tag_filters]
    return _INDENT.join(steps)


def _combined_base(model: QueryModel, bucket: str, ctx: _Ctx) -> str:
    """The union of the periods' ranges, as one range (the model's) for the aggregates."""
    parts = [_base(model.with_range(p.start, p.end), bucket, ctx) for p in model.periods]
    start, end = model.time_range.start, model.time_range.end
    assert start is not None and end is not None
    union = (
        "union(tables: [\n        "
        + ",\n        ".join(part.replace("\n", "\n        ") for part in parts)
        + ",\n    ])"
    )
    return _INDENT.join(
        [
            union,
            f"map(fn: (r) => ({{r with _start: {format_time(start)}, _stop: {format_time(end)}}}))",
        ]
    )


def _leaf_source(model: QueryModel, fname: str) -> list[str]:
    """Steps from ``data`` to the points of one field (value filters applied)."""
    if not model.value_filters:
        return [f"filter(fn: (r) => r._field == {flux_string(fname)})"]
    needed = [fname] + [v.field for v in model.value_filters if v.field != fname]
    needed = list(dict.fromkeys(needed))
    field_test = " or ".join(f"r._field == {flux_string(n)}" for n in needed)
    steps = [
        f"filter(fn: (r) => {field_test})",
        'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    ]
    for vf in model.value_filters:
        op = "==" if vf.op == "=" else vf.op
        steps.append(f"filter(fn: (r) => exists {column(vf.field)})")
        steps.append(f"filter(fn: (r) => {column(vf.field)} {op} {flux_float(vf.value)})")
    steps.append(f"filter(fn: (r) => exists {column(fname)})")
    steps.append(
        f"map(fn: (r) => ({{r with _value: float(v: {column(fname)}), "
        f"_field: {flux_string(fname)}}}))"
    )
    steps.append(f"drop(columns: {flux_list(needed)})")
    return steps


def _every(model: QueryModel) -> str:
    """The window of ``aggregateWindow``; weeks start on Monday (see ``WEEK_OFFSET``)."""
    window = model.window
    assert window is not None
    return f"{window}, offset: {WEEK_OFFSET}" if window.unit == "w" else str(window)


def _agg_call(func: Aggregation) -> str:
    return f"{func}()"


def _window_steps(model: QueryModel, func: Aggregation, ctx: _Ctx) -> list[str]:
    assert model.window is not None
    create_empty = model.fill not in (Fill.NONE, Fill.LINEAR)
    steps = [
        f"aggregateWindow(every: {_every(model)}, fn: {func}, "
        f'createEmpty: {"true" if create_empty else "false"}, timeSrc: "_start")',
        "toFloat()",
    ]
    if model.fill is Fill.PREVIOUS:
        steps.append("fill(usePrevious: true)")
    elif model.fill is Fill.VALUE:
        steps.append(f"fill(value: {flux_float(model.fill_value or 0.0)})")
    elif model.fill is Fill.LINEAR:
        ctx.imports.add("interpolate")
        steps.append(f"interpolate.linear(every: {model.window})")
    return steps


def _group_columns(tags: tuple[str, ...] | list[str]) -> str:
    return flux_list(["_start", "_stop", *tags])


def _leaf_stream(model: QueryModel, leaf: Agg | FieldRef, label: str, ctx: _Ctx) -> str:
    name = ctx.name("leaf")
    fname = leaf.field if isinstance(leaf, Agg) else leaf.name
    steps = [ctx.data, *_leaf_source(model, fname)]
    if isinstance(leaf, FieldRef):
        steps.append(f"group(columns: {_group_columns(model.result_tags())})")
        steps.append('sort(columns: ["_time"])')
    else:
        steps.append(f"group(columns: {_group_columns(model.group_tags)})")
        if model.window is not None:
            steps += _window_steps(model, leaf.func, ctx)
        else:
            steps.append(_agg_call(leaf.func))
            steps.append('duplicate(column: "_start", as: "_time")')
            steps.append("toFloat()")
    steps.append(f'set(key: "_field", value: {flux_string(label)})')
    ctx.blocks.append(f"{name} = " + _INDENT.join(steps))
    return name


def _expr_code(expr: Expr, labels: dict[str, str]) -> str:
    if isinstance(expr, Agg | FieldRef):
        return column(labels[str(expr)])
    if isinstance(expr, Const):
        return flux_float(expr.value)
    if isinstance(expr, BinOp):
        return f"({_expr_code(expr.left, labels)} {expr.op} {_expr_code(expr.right, labels)})"
    raise ModelError(f"cannot render {expr} inside an expression")


def _transform_step(t: Transform) -> str:
    if t.kind is TransformKind.MOVING_AVERAGE:
        return f"movingAverage(n: {t.n})"
    if t.kind is TransformKind.DERIVATIVE:
        return f"derivative(unit: {t.unit}, nonNegative: false)"
    if t.kind is TransformKind.DIFFERENCE:
        return "difference(nonNegative: false)"
    return "cumulativeSum()"


def _selection_stream(model: QueryModel, sel: Selection, ctx: _Ctx) -> str:
    inner, transform = strip_transform(sel.expr)
    if isinstance(inner, Agg | FieldRef):
        stream = _leaf_stream(model, inner, sel.alias, ctx)
        if transform is None:
            return stream
        name = ctx.name("sel")
        ctx.blocks.append(f"{name} = {stream}{_INDENT}{_transform_step(transform)}")
        return name
    labels: dict[str, str] = {}
    streams = []
    for leaf in leaves(inner):
        key = str(leaf)
        if key not in labels:
            labels[key] = f"_l{len(labels)}"
            streams.append(_leaf_stream(model, leaf, labels[key], ctx))
    name = ctx.name("sel")
    steps = [
        f"union(tables: [{', '.join(streams)}])" if len(streams) > 1 else streams[0],
        'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        f"map(fn: (r) => ({{r with _value: {_expr_code(inner, labels)}}}))",
        f"drop(columns: {flux_list(list(labels.values()))})",
    ]
    if transform is not None:
        steps.append(_transform_step(transform))
    steps.append(f'set(key: "_field", value: {flux_string(sel.alias)})')
    ctx.blocks.append(f"{name} = " + _INDENT.join(steps))
    return name


def _top_stream(model: QueryModel, ctx: _Ctx) -> str:
    assert model.top is not None
    sel = model.selections[0]
    assert isinstance(sel.expr, Agg)
    ranked = (model.top.tag, *model.group_tags)
    steps = [ctx.data, *_leaf_source(model, sel.expr.field)]
    steps.append(f"group(columns: {_group_columns(ranked)})")
    if model.window is not None:
        steps.append(
            f"aggregateWindow(every: {_every(model)}, fn: {sel.expr.func}, createEmpty: false, "
            'timeSrc: "_start")'
        )
        steps.append(f"group(columns: {flux_list(['_time', *model.group_tags])})")
    else:
        steps.append(_agg_call(sel.expr.func))
        steps.append('duplicate(column: "_start", as: "_time")')
        steps.append(f"group(columns: {_group_columns(model.group_tags)})")
    steps.append("toFloat()")
    func = "bottom" if model.top.bottom else "top"
    steps.append(f"{func}(n: {model.top.n})")
    steps.append(f'set(key: "_field", value: {flux_string(sel.alias)})')
    name = ctx.name("top")
    ctx.blocks.append(f"{name} = " + _INDENT.join(steps))
    return name


def _streams(model: QueryModel, ctx: _Ctx) -> list[str]:
    if model.top is not None:
        return [_top_stream(model, ctx)]
    return [_selection_stream(model, sel, ctx) for sel in model.selections]


def render_flux(model: QueryModel, bucket: str = "ons") -> str:
    """The Flux program answering ``model`` from ``bucket`` (one ``yield``)."""
    if (
        model.profile is not None
        or model.difference is not None
        or model.extreme_times
        or model.window_filter is not None
    ):
        raise ModelError(
            "a profile by hour of the day, a difference of two groups, extremes with their "
            "times or windows compared after aggregating are rendered as InfluxQL only"
        )
    ctx = _Ctx()
    bases: list[tuple[str, str]] = []
    if model.compared:
        streams = []
        for i, period in enumerate(model.periods, 1):
            sub = model.with_range(period.start, period.end)
            ctx.data = f"data{i}"
            bases.append((ctx.data, _base(sub, bucket, ctx)))
            for stream in _streams(sub, ctx):
                name = ctx.name("period")
                ctx.blocks.append(
                    f"{name} = {stream}{_INDENT}"
                    f"set(key: {flux_string(PERIOD_COLUMN)}, value: {flux_string(period.label)})"
                )
                streams.append(name)
    else:
        base = _combined_base(model, bucket, ctx) if model.periods else _base(model, bucket, ctx)
        bases.append(("data", base))
        streams = _streams(model, ctx)
    tags = list(model.result_tags())
    steps = [f"union(tables: [{', '.join(streams)}])" if len(streams) > 1 else streams[0]]
    steps.append(
        f'pivot(rowKey: {flux_list(["_time", *tags])}, columnKey: ["_field"], '
        'valueColumn: "_value")'
    )
    steps.append(
        f"keep(columns: {flux_list(['_time', *tags, *(s.alias for s in model.selections)])})"
    )
    if model.order_by or model.limit is not None:
        steps.append("group()")
        names = {model.time_alias: "_time"}
        if model.order_by:
            desc = {k.descending for k in model.order_by}
            if len(desc) > 1:
                raise ModelError("Flux sorts all columns one way: mixed ASC/DESC is not supported")
            cols = [names.get(k.column, k.column) for k in model.order_by]
            steps.append(f"sort(columns: {flux_list(cols)}, desc: {str(desc.pop()).lower()})")
        else:
            steps.append(f"sort(columns: {flux_list(['_time', *tags])})")
        if model.limit is not None:
            steps.append(f"limit(n: {model.limit})")
    steps.append('yield(name: "result")')
    lines = [f"import {flux_string(name)}" for name in sorted(ctx.imports)]
    if model.timezone and model.window is not None:
        lines.append('import "timezone"')
        lines.append("")
        lines.append(f"option location = timezone.location(name: {flux_string(model.timezone)})")
    if lines:
        lines.append("")
    if ctx.defs:
        lines += [*ctx.defs, ""]
    for name, base in bases:
        lines.append(f"{name} = {base}")
        lines.append("")
    lines += [block + "\n" for block in ctx.blocks]
    lines.append(_INDENT.join(steps))
    return "\n".join(lines) + "\n"
