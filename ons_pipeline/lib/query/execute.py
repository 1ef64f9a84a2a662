"""Run a :class:`QueryModel` on InfluxDB (InfluxQL over the v1 HTTP API) and type the answer.

The result has one stable shape whatever the query: columns (time, tags, values; each with its
kind and unit from the schema) and rows, sorted by time then tags unless the model orders them.
Series of several statements (calendar windows, subquery transforms) are merged on (time, tags);
SQL's global ORDER BY / LIMIT are applied here when InfluxQL cannot (it orders by time only and
limits per series).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from ons_pipeline.lib.influx.client import (
    NO_RETRY,
    AuthError,
    InfluxClient,
    InfluxConfig,
    InfluxError,
    InfluxTimeoutError,
    MalformedResponseError,
    QueryError,
    TlsError,
)
from ons_pipeline.lib.ons_time import ONS_TIMEZONE
from ons_pipeline.lib.query import rollups as routing
from ons_pipeline.lib.query.errors import (
    BackendTimeout,
    BackendUnavailable,
    ExecutionError,
    QueryRejected,
)
from ons_pipeline.lib.query.influxql import Statement, combine_plan, statements
from ons_pipeline.lib.query.model import (
    PERIOD_COLUMN,
    Agg,
    Aggregation,
    QueryModel,
    evaluate,
    leaves,
    zone_info,
)
from ons_pipeline.lib.query.rollups import AnswerSource
from ons_pipeline.lib.rollup.spec import MONTH, RollupTable

log = logging.getLogger(__name__)


class QueryRunner(Protocol):
    """Anything that runs InfluxQL like ``ons_pipeline.lib.influx.client.InfluxClient.query``."""

    def query(
        self, influxql: str, database: str | None = ..., epoch: str | None = ...
    ) -> list[dict[str, Any]]: ...


def execution_error(exc: InfluxError, query: str) -> ExecutionError:
    """The domain error of an InfluxDB client failure while running ``query``. Messages name the
    kind of failure only: the client's own text (URL, host) stays in the server's log."""
    if not isinstance(exc, QueryError):  # a query InfluxDB refused is the caller's business
        log.warning("InfluxDB query failed: %s", exc)
    if isinstance(exc, InfluxTimeoutError):
        return BackendTimeout(f"InfluxDB did not answer within {exc.timeout:g} s", query=query)
    if isinstance(exc, QueryError):
        message = exc.server_message or str(exc)
        if message.startswith("database not found"):
            return BackendUnavailable(f"InfluxDB: {message}", code="influx_error", query=query)
        return QueryRejected(f"InfluxDB rejected the query: {message}", query=query)
    if isinstance(exc, AuthError):
        return BackendUnavailable(
            f"InfluxDB refused this server's credentials (HTTP {exc.status})",
            code="influx_auth",
            query=query,
        )
    if isinstance(exc, MalformedResponseError):
        return BackendUnavailable(
            "InfluxDB answered without a JSON query result", code="influx_error", query=query
        )
    if exc.status is not None:
        return BackendUnavailable(
            f"InfluxDB answered HTTP {exc.status}", code="influx_error", query=query
        )
    reason = " (TLS failure)" if isinstance(exc, TlsError) else ""
    return BackendUnavailable(
        f"InfluxDB is unreachable{reason}", code="influx_unreachable", query=query
    )


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "time" | "tag" | "value"
    unit: str = ""


@dataclass(frozen=True)
class QueryResult:
    """Typed rows of a query: ``time`` as integer ns (UTC), tags as str or None, values."""

    model: QueryModel
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    influxql: str
    elapsed_ms: float
    source: AnswerSource | None = None  # which measurement answered (raw or rollups)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _sort_key(values: Sequence[Any]) -> tuple[Any, ...]:
    # None sorts last, numbers and strings each among themselves
    return tuple((v is None, v if v is not None else 0) for v in values)


def _rows(result: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Each row of one statement's result (column → value), with the tags of its series."""
    for series in result.get("series", []) or []:
        series_tags = series.get("tags") or {}
        columns = series.get("columns", [])
        for values in series.get("values", []):
            yield series_tags, dict(zip(columns, values, strict=False))


def _combine(
    model: QueryModel, stmts: Sequence[Statement], by_id: dict[int, dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """One row per group from the partial aggregates of every period's statement; for a
    profile, one row per local hour of the day (or ISO weekday) and group, from the hourly (or
    daily) partials."""
    plan = combine_plan(model)
    tags = model.result_tags()
    zone = zone_info(model.timezone or ONS_TIMEZONE)
    acc: dict[tuple[Any, ...], dict[str, Any]] = {}
    for index in range(len(stmts)):
        for series_tags, row in _rows(by_id.get(index, {})):
            key = tuple(
                None if series_tags.get(t) in (None, "") else str(series_tags[t]) for t in tags
            )
            if model.profile is not None:
                local = datetime.fromtimestamp(int(row["time"]) / 1e9, UTC).astimezone(zone)
                slot_name = (
                    f"{local.hour:02d}:00" if model.by_hour_of_day else str(local.isoweekday())
                )
                key = (slot_name, *key)
            slot = acc.setdefault(key, {})
            for part in plan:
                value = row.get(part.alias)
                if value is None:
                    continue
                old = slot.get(part.alias)
                if old is None:
                    slot[part.alias] = value
                elif part.func in (Aggregation.SUM, Aggregation.COUNT):
                    slot[part.alias] = old + value
                elif part.func is Aggregation.MAX:
                    slot[part.alias] = max(old, value)
                else:
                    slot[part.alias] = min(old, value)
    moment = None if model.profile is not None else min(p.start for p in model.periods)
    rows = []
    for key, slot in acc.items():
        if model.profile is not None:
            moment, key = key[0], key[1:]
        leaf_values: dict[str, float | None] = {}
        for part in plan:
            value = slot.get(part.alias)
            if part.func is Aggregation.COUNT and part.leaf.startswith("mean("):
                total = leaf_values.get(part.leaf)
                leaf_values[part.leaf] = total / value if total is not None and value else None
            else:
                leaf_values[part.leaf] = value
        values = [evaluate(sel.expr, leaf_values) for sel in model.selections]
        rows.append((moment, *key, *values))
    return rows


def _merge(
    model: QueryModel, stmts: Sequence[Statement], by_id: dict[int, dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Rows keyed by (time, tags) from each statement's series (a row's columns may come from
    several statements)."""
    tags = model.result_tags()
    aliases = [s.alias for s in model.selections]
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    order: list[tuple[Any, ...]] = []
    for index, stmt in enumerate(stmts):
        for series_tags, row in _rows(by_id.get(index, {})):
            moment = stmt.label if stmt.label is not None else row.get("time")
            tag_values = []
            for tag in tags:
                if tag == PERIOD_COLUMN and model.compared:
                    value = stmt.period
                else:
                    value = series_tags.get(tag, row.get(tag))
                tag_values.append(None if value in (None, "") else str(value))
            key = (moment, *tag_values)
            if key not in merged:
                merged[key] = {}
                order.append(key)
            for alias in stmt.aliases:
                merged[key][alias] = row.get(alias)
    return [(*key, *(merged[key].get(a) for a in aliases)) for key in order]


def _difference_label(model: QueryModel) -> str:
    assert model.difference is not None
    _, a, b = model.difference
    return f"{a} − {b}"


def _differences(model: QueryModel, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A row ``a − b`` for each time (and other tags) where both groups have a row."""
    assert model.difference is not None
    tag, a, b = model.difference
    tags = model.result_tags()
    at = 1 + tags.index(tag)
    width = 1 + len(tags)
    pairs: dict[tuple[Any, ...], dict[str, tuple[Any, ...]]] = {}
    for row in rows:
        if row[at] in (a, b):
            key = (*row[:at], *row[at + 1 : width])
            pairs.setdefault(key, {})[row[at]] = row
    out = []
    for key, found in pairs.items():
        if a not in found or b not in found:
            continue
        values = [
            None if x is None or y is None else x - y
            for x, y in zip(found[a][width:], found[b][width:], strict=True)
        ]
        out.append((*key[:at], _difference_label(model), *key[at:], *values))
    return out


def _window_filtered(model: QueryModel, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The windows whose value passes the model's window filter; counted, one row per group
    that has windows at all (0 when none passed), at the range's start."""
    wf = model.window_filter
    assert wf is not None
    tags = model.result_tags()
    width = 1 + len(tags)
    if model.difference is not None:  # the difference's windows alone
        at = 1 + tags.index(model.difference[0])
        rows = [row for row in rows if row[at] == _difference_label(model)]
    kept = [row for row in rows if wf.passes(row[width])]
    if not wf.count:
        return kept
    counts: dict[tuple[Any, ...], int] = {tuple(row[1:width]): 0 for row in rows}
    for row in kept:
        counts[tuple(row[1:width])] += 1
    # each count at its period's start (periods compared: the period is the first tag)
    starts = {p.label: p.start for p in model.periods} if model.compared else {}
    return [
        (starts.get(key[0], model.time_range.start) if starts else model.time_range.start, *key, n)
        for key, n in counts.items()
    ]


def merge_results(
    model: QueryModel, stmts: Sequence[Statement], results: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Rows (time, result tags..., selection values...) from the statements' results."""
    by_id = {int(r.get("statement_id", i)): r for i, r in enumerate(results)}
    merge = _combine if model.combine_periods or model.profile is not None else _merge
    rows = merge(model, stmts, by_id)
    if model.difference is not None:
        rows += _differences(model, rows)
    if model.window_filter is not None:
        rows = _window_filtered(model, rows)
    return arrange(model, rows)


def arrange(model: QueryModel, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows (time, result tags..., values...) in the model's order, limited and projected."""
    tags = model.result_tags()
    columns = model.result_columns()
    if model.order_by:
        for okey in reversed(model.order_by):
            i = columns.index(okey.column)
            rows.sort(key=lambda r, i=i: _sort_key([r[i]]), reverse=okey.descending)
            if okey.descending:  # keep None last even when descending
                rows.sort(key=lambda r, i=i: r[i] is None)
    elif model.top is not None:
        vi, sign = len(columns) - 1, 1 if model.top.bottom else -1
        top_i = columns.index(model.top.tag)
        keys = [0, *(i for i in range(1, 1 + len(tags)) if i != top_i)]
        rows.sort(
            key=lambda r: (_sort_key([r[i] for i in keys]), r[vi] is None, sign * (r[vi] or 0))
        )
    else:
        rows.sort(key=lambda r: _sort_key(r[: 1 + len(tags)]))
    if model.limit is not None:
        rows = rows[: model.limit]
    if model.output_columns is not None:
        picks = [columns.index(c) for c in model.output_columns]
        rows = [tuple(r[i] for i in picks) for r in rows]
    return rows


def result_columns(model: QueryModel) -> tuple[Column, ...]:
    units = model.units()
    tags = set(model.result_tags())
    cols = []
    for name in model.output_columns or model.result_columns():
        if name == model.time_alias and model.profile is not None:
            # the local hour of the day ("00:00" … "23:00") or ISO weekday ("1" Monday … "7")
            cols.append(Column(name, "tag"))
        elif name == model.time_alias:
            cols.append(Column(name, "time", "ns"))
        elif name in tags:
            cols.append(Column(name, "tag"))
        else:
            cols.append(Column(name, "value", units.get(name, "")))
    return tuple(cols)


def execute(
    model: QueryModel,
    client: QueryRunner | str,
    database: str | None = None,
    retention_policy: str | None = None,
    *,
    rollups: Mapping[str, RollupTable] | None = None,
) -> QueryResult:
    """Render ``model`` as InfluxQL, run it, return typed rows.

    ``client`` is an ``InfluxClient`` (or anything with its ``query`` method) or a base URL (a
    client without credentials or retries is opened for the call). With ``rollups`` (the
    rolled-up tables), a routable model is answered from them (:mod:`.rollups`) and the result's
    ``source`` says so; otherwise, and when their coverage is incomplete, from the raw
    measurement; the result's ``influxql`` is the InfluxQL that ran (on the rollups, or the
    model's own). Failures raise :class:`~ons_pipeline.lib.query.errors.ExecutionError`.
    """
    if isinstance(client, str):
        with InfluxClient(InfluxConfig(url=client), NO_RETRY) as own:
            # "" sends no db parameter, as the caller asked for none
            return _execute(model, own, database or "", retention_policy, rollups)
    return _execute(model, client, database, retention_policy, rollups)


def _execute(
    model: QueryModel,
    runner: QueryRunner,
    database: str | None,
    retention_policy: str | None,
    rollups: Mapping[str, RollupTable] | None,
) -> QueryResult:
    reason = "rollups not used"
    if rollups is not None:
        began = time.perf_counter()
        routed = _from_rollups(model, runner, database, rollups)
        if isinstance(routed, tuple):
            rows, source = routed
            elapsed = (time.perf_counter() - began) * 1000
            text = source.influxql or ""
            return QueryResult(model, result_columns(model), rows, text, elapsed, source)
        reason = routed
    stmts = statements(model, retention_policy)
    text = ";\n".join(s.text for s in stmts)
    began = time.perf_counter()
    try:
        results = runner.query(text, database=database, epoch="ns")
    except InfluxError as exc:
        raise execution_error(exc, text) from None
    elapsed = (time.perf_counter() - began) * 1000
    rows = merge_results(model, stmts, results)
    if _counts_under_condition(model) and (not rows or model.group_tags):
        began = time.perf_counter()
        rows, again = _with_zero_counts(model, rows, runner, database, retention_policy)
        text, elapsed = f"{text};\n{again}", elapsed + (time.perf_counter() - began) * 1000
    source = AnswerSource.raw(model, reason, retention_policy)
    return QueryResult(model, result_columns(model), rows, text, elapsed, source)


def _counts_under_condition(model: QueryModel) -> bool:
    """Every selection counts points under a condition on their values, in one bucket, and the
    rows are as InfluxDB groups them (no ranking, ordering, limit or projection)."""
    found = [leaf for s in model.selections for leaf in leaves(s.expr)]
    return bool(
        model.value_filters
        and model.window is None
        and not model.periods
        and model.top is None
        and not model.order_by
        and model.limit is None
        and model.output_columns is None
        and found
        and all(isinstance(leaf, Agg) and leaf.func is Aggregation.COUNT for leaf in found)
    )


def _with_zero_counts(
    model: QueryModel,
    rows: list[tuple[Any, ...]],
    runner: QueryRunner,
    database: str | None,
    retention_policy: str | None,
) -> tuple[list[tuple[Any, ...]], str]:
    """InfluxDB gives no row to a group none of whose points met the condition, where the answer
    is 0: each group that has points at all gets its row (no data in the range stays no row,
    never a 0). Also returns the query that found the groups."""
    unfiltered = replace(model, value_filters=())
    stmts = statements(unfiltered, retention_policy)
    text = ";\n".join(s.text for s in stmts)
    try:
        results = runner.query(text, database=database, epoch="ns")
    except InfluxError as exc:
        raise execution_error(exc, text) from None
    width = 1 + len(model.result_tags())
    zero = [evaluate(s.expr, {str(leaf): 0 for leaf in leaves(s.expr)}) for s in model.selections]
    present = {row[1:width] for row in rows}
    missing = [
        (*row[:width], *zero)
        for row in merge_results(unfiltered, stmts, results)
        if row[1:width] not in present
    ]
    out = rows + missing
    out.sort(key=lambda row: _sort_key(row[1:width]))
    return out, text


def _from_rollups(
    model: QueryModel,
    runner: QueryRunner,
    database: str | None,
    rollups: Mapping[str, RollupTable],
) -> tuple[list[tuple[Any, ...]], AnswerSource] | str:
    """The rows and their source when the rollups answer ``model``, else why not."""
    rt = rollups.get(model.table)
    if rt is None:
        return f"table {model.table} has no rollups"
    reason = ""
    for months in (True, False):
        try:
            plan = routing.plan(model, rt, months=months)
        except routing.NotRoutable as exc:
            return str(exc)
        text = ";\n".join(routing.statements(plan))
        try:
            results = runner.query(text, database=database, epoch="ns")
        except QueryError as exc:  # e.g. the rollup policy does not exist yet
            return f"rollups unreadable ({exc.server_message or exc})"
        except InfluxError as exc:
            raise execution_error(exc, text) from None
        synthetic = routing.answer(plan, results)
        if synthetic is None:
            reason = "rollup coverage incomplete over the range"
            if months and MONTH in plan.levels:
                continue  # the days alone may be covered
            return reason
        rows = merge_results(model, routing.raw_statements(plan), synthetic)
        levels = plan.levels
        read = " + ".join(f"{r.buckets} {r.level} bucket(s)" for r in plan.reads)
        source = AnswerSource(
            "rollup",
            tuple(_qualified(rt.policy, rt.measurement(level)) for level in levels),
            f"the window and grain allow it: {read or 'no bucket to read'}",
            levels,
            {level: sum(r.buckets for r in plan.reads if r.level == level) for level in levels},
            text,
        )
        return rows, source
    return reason


def _qualified(policy: str | None, name: str) -> str:
    return f"{policy}.{name}" if policy else name
