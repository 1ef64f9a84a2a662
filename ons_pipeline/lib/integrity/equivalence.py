"""Identical query results: the platform's Timestream SQL on the source vs InfluxQL on InfluxDB.

Before traffic moves to InfluxDB (the dual-read check), every query shape the replaced platform
issued must answer the same. The *reference* side runs the Timestream SQL itself with DuckDB, over
the exported Parquet partitions (views named ``"<database>"."<table>"`` exposing ``time``, the
dimensions, the measures, ``measure_name`` and, for the legacy single-measure tables,
``measure_value``; ``bin``/``from_iso8601_timestamp``/``from_milliseconds``/``ago`` as macros, and
duration literals such as ``1h`` rewritten as intervals). The *target* side translates the same SQL
to the query model and InfluxQL (``ons_pipeline.lib.query``) and runs it on InfluxDB.

Results are compared column by column, after sorting both sides by all their columns unless the
query has a LIMIT (then the order is part of the answer):

* exact: times, dimensions, ``count``, ``min``, ``max``, ``first``, ``last`` and raw values (floats
  compared by value; a zero's sign cannot survive InfluxDB's JSON answer);
* within a proven bound: ``sum`` and ``avg``. Floating-point addition is not associative, so two
  engines adding the same n values in different orders may differ in the last bits. For any
  summation order, |computed − exact| ≤ γ(n−1)·Σ|xᵢ| with γ(k) = k·u/(1 − k·u) and u = 2⁻⁵³
  (Higham, *Accuracy and Stability of Numerical Algorithms*, §4.2), so the two answers differ by at
  most 2·γ(n−1)·Σ|xᵢ|; a mean, one division more, by 2·(γ(n−1)·Σ|xᵢ|/n + u·max|xᵢ|). n, Σ|xᵢ| and
  max|xᵢ| are computed per result row by DuckDB (same filters and groups). Over days of ONS data
  the bounds stay below ~1e-5 MWmed (differences seen: ~1e-9), far below the data's resolution
  (1e-3): a lost, duplicated or altered value still fails the comparison, reordering never does.
* other expressions (stddev, arithmetic over aggregates): relative 1e-9, a heuristic.
"""

from __future__ import annotations

import math
import re
import struct
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.query.execute import QueryRunner
from ons_pipeline.lib.query.model import Agg, Aggregation, FieldRef, FilterOp, QueryModel
from ons_pipeline.lib.query.timestream_sql import SqlTranslation, execute_sql, parse_sql
from ons_pipeline.lib.schema import TIME_COLUMN, MeasureType, Source, TableSpec, table

U = 2.0**-53
HEURISTIC_REL = 1e-9
MAX_MISMATCHES = 10
EXACT_AGGS = {
    Aggregation.COUNT,
    Aggregation.MIN,
    Aggregation.MAX,
    Aggregation.FIRST,
    Aggregation.LAST,
}

_DURATION = re.compile(r"(?<![\w.])(\d+)(ns|us|ms|s|m|h|d)\b")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_UNITS = {
    "us": "microseconds",
    "ms": "milliseconds",
    "s": "seconds",
    "m": "minutes",
    "h": "hours",
    "d": "days",
}


class EquivalenceError(RuntimeError):
    """The comparison could not run (no Parquet, DuckDB or InfluxDB error)."""


def gamma(n: int) -> float:
    """γ(n) = n·u / (1 − n·u): the relative error bound of n floating-point additions."""
    return n * U / (1 - n * U) if n > 0 else 0.0


def to_duckdb_sql(sql: str) -> str:
    """Timestream SQL → DuckDB SQL: duration literals (``1h``) outside quotes become intervals."""

    def convert(text: str) -> str:
        def interval(match: re.Match[str]) -> str:
            count, unit = match.group(1), match.group(2)
            if unit == "ns":
                raise EquivalenceError(f"DuckDB intervals have no nanoseconds: {match.group(0)}")
            return f"INTERVAL '{count} {_UNITS[unit]}'"

        return _DURATION.sub(interval, text)

    out, pos = [], 0
    for match in _QUOTED.finditer(sql):
        out.append(convert(sql[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(convert(sql[pos:]))
    return "".join(out)


# -- the reference engine -------------------------------------------------------------------------


class DuckDBSource:
    """DuckDB over Parquet files, with Timestream's databases, tables and functions."""

    def __init__(self) -> None:
        import duckdb

        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET threads = 1")  # two shared cores: do not compete with InfluxDB
        self.con.execute("CREATE MACRO bin(t, i) AS time_bucket(i, t, TIMESTAMP '1970-01-01')")
        self.con.execute(
            "CREATE MACRO from_iso8601_timestamp(s) AS CAST(CAST(s AS TIMESTAMPTZ) AS TIMESTAMP_NS)"
        )
        self.con.execute(
            "CREATE MACRO from_milliseconds(n) AS CAST(make_timestamp(n * 1000) AS TIMESTAMP_NS)"
        )
        self.con.execute("CREATE MACRO ago(i) AS CAST(now() AS TIMESTAMP) - i")
        self._tmp = tempfile.TemporaryDirectory(prefix="ons-equivalence-")
        self.tables: dict[str, str] = {}

    def __enter__(self) -> DuckDBSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def register(self, spec: TableSpec, database: str, files: Sequence[str | Path]) -> None:
        """Expose ``files`` (canonical partitions) as ``"<database>"."<table>"``."""
        paths = [str(f) for f in files]
        if not paths:  # an empty view of the right shape
            empty = Path(self._tmp.name) / f"{spec.name}-empty.parquet"
            pq.write_table(spec.arrow_schema().empty_table(), empty)
            paths = [str(empty)]
        listing = ", ".join(_literal(p) for p in paths)
        columns = [f"CAST({_ident(TIME_COLUMN)} AS TIMESTAMP_NS) AS {_ident(TIME_COLUMN)}"]
        columns += [_ident(t) for t in spec.tags]
        columns += [_ident(f) for f in spec.field_names]
        columns.append(f"{_literal(spec.measure_name)} AS measure_name")
        if spec.source is Source.LEGACY:
            columns.append(f"{_ident('value')} AS measure_value")
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(database)}")
        self.con.execute(
            f"CREATE OR REPLACE VIEW {_ident(database)}.{_ident(spec.name)} AS SELECT "
            f"{', '.join(columns)} FROM read_parquet([{listing}], union_by_name = true)"
        )
        self.tables[spec.name] = database

    def query(self, sql: str) -> tuple[list[str], pa.Table]:
        """Run DuckDB SQL; column names and an Arrow table (ns timestamps kept exact)."""
        try:
            result = self.con.sql(sql).to_arrow_table()
        except Exception as exc:  # duckdb raises its own error classes
            raise EquivalenceError(f"DuckDB: {exc}") from None
        return list(result.schema.names), result

    def run_timestream(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run Timestream SQL; rows with timestamps as integer ns (UTC)."""
        names, result = self.query(to_duckdb_sql(sql))
        columns = []
        for column in result.columns:
            if pa.types.is_timestamp(column.type):
                column = pc.cast(pc.cast(column, pa.timestamp("ns")), pa.int64())
            columns.append(column.to_pylist())
        return names, list(zip(*columns, strict=True)) if columns else []


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- the suite ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryCase:
    """One query shape of the platform, as Timestream SQL."""

    name: str
    table: str
    sql: str
    description: str = ""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def database_of(spec: TableSpec, databases: Mapping[str, str]) -> str:
    """The table's Timestream database: its mapping's, else its source's (ONS by default)."""
    return spec.database or databases.get(spec.source.value) or databases[Source.ONS.value]


def standard_suite(
    tables: Iterable[str],
    first: date,
    last: date,
    databases: Mapping[str, str],
    sample_tags: Mapping[str, Mapping[str, str]] | None = None,
) -> list[QueryCase]:
    """The platform's query shapes over ``[first, last]`` for each table.

    ``databases`` maps a source (``ons``/``legacy``) to its Timestream database;
    ``sample_tags`` gives, per table, a tag value known to exist (for filters).
    """
    start, end = day_window(first).start, day_window(last).end
    within = (
        f"time >= from_iso8601_timestamp('{_iso(start)}') "
        f"AND time < from_iso8601_timestamp('{_iso(end)}')"
    )
    inclusive = (
        f"time BETWEEN from_iso8601_timestamp('{_iso(start)}') "
        f"AND from_iso8601_timestamp('{_iso(end - timedelta(seconds=1))}')"
    )
    cases: list[QueryCase] = []
    for name in tables:
        spec = table(name)
        source = f'"{database_of(spec, databases)}"."{spec.name}"'
        samples = dict((sample_tags or {}).get(name, {}))
        if spec.source is Source.LEGACY:
            cases += _legacy_cases(spec, source, within, inclusive, samples)
        else:
            cases += _ons_cases(spec, source, within, samples)
    return cases


def _ons_cases(
    spec: TableSpec, source: str, within: str, samples: Mapping[str, str]
) -> list[QueryCase]:
    n = spec.name
    numeric = [f.name for f in spec.fields if f.type in (MeasureType.DOUBLE, MeasureType.BIGINT)]
    if not spec.tags or not numeric:
        return []  # the shapes group by a dimension and aggregate a number
    tag = spec.tags[0]
    f0 = numeric[0]
    window = "1d" if spec.grain >= timedelta(days=1) else "1h"
    cases = [
        QueryCase(
            f"{n}: {window} mean and count per {tag}",
            n,
            f"SELECT {tag}, bin(time, {window}) AS t, avg({f0}) AS mean_v, count({f0}) AS n "
            f"FROM {source} WHERE {within} GROUP BY {tag}, bin(time, {window}) "
            f"ORDER BY t, {tag}",
            "aggregate over bin(time, ...) per subsystem",
        ),
        QueryCase(
            f"{n}: daily max/min/sum of every measure",
            n,
            "SELECT bin(time, 1d) AS day, "
            + ", ".join(
                f"max({f}) AS max_{i}, min({f}) AS min_{i}, sum({f}) AS sum_{i}"
                for i, f in enumerate(numeric)
            )
            + f" FROM {source} WHERE {within} GROUP BY bin(time, 1d) ORDER BY day",
            "daily extremes and totals",
        ),
    ]
    value = samples.get(tag)
    if value is not None:
        cases.append(
            QueryCase(
                f"{n}: filtered on {tag} = {value!r}, daily sum",
                n,
                f"SELECT bin(time, 1d) AS day, sum({f0}) AS total, count({f0}) AS n "
                f"FROM {source} WHERE {within} AND {tag} = '{value}' "
                "GROUP BY bin(time, 1d) ORDER BY day",
                "dimension filter",
            )
        )
        cases.append(
            QueryCase(
                f"{n}: raw points of {tag} = {value!r}",
                n,
                f"SELECT time, {', '.join(spec.tags)}, {', '.join(numeric)} "
                f"FROM {source} WHERE {within} AND {tag} = '{value}' ORDER BY time",
                "raw selection (no aggregation)",
            )
        )
    cases.append(
        QueryCase(
            f"{n}: count of {f0} > 1000 per {tag}",
            n,
            f"SELECT {tag}, count({f0}) AS n, max({f0}) AS top FROM {source} "
            f"WHERE {within} AND {f0} > 1000 GROUP BY {tag} ORDER BY {tag}",
            "measure filter",
        )
    )
    rank_tag = "nom_usina" if spec.name == "geracao_usina" else tag
    limit = 10 if spec.name == "geracao_usina" else 3
    cases.append(
        QueryCase(
            f"{n}: top {limit} {rank_tag} by total {f0}",
            n,
            f"SELECT {rank_tag}, sum({f0}) AS total FROM {source} WHERE {within} "
            f"GROUP BY {rank_tag} ORDER BY total DESC LIMIT {limit}",
            "top-N",
        )
    )
    if spec.name == "geracao_usina":
        cases.append(
            QueryCase(
                f"{n}: daily generation per plant type",
                n,
                f"SELECT nom_tipousina, bin(time, 1d) AS day, sum(val_geracao) AS total, "
                f"avg(val_geracao) AS mean_v, max(val_geracao) AS peak FROM {source} "
                f"WHERE {within} GROUP BY nom_tipousina, bin(time, 1d) "
                "ORDER BY day, nom_tipousina",
                "aggregate per plant type",
            )
        )
    return cases


def _legacy_cases(
    spec: TableSpec, source: str, within: str, inclusive: str, samples: Mapping[str, str]
) -> list[QueryCase]:
    n = spec.name
    kind = spec.tags[2]  # energy_source | consumer_type | line_id
    cases = [
        QueryCase(
            f"{n}: hourly mean per region and {kind}",
            n,
            f"SELECT region, {kind}, bin(time, 1h) AS hour, avg(measure_value::double) AS mean_v "
            f"FROM {source} WHERE measure_name = 'value' AND {inclusive} "
            f"GROUP BY region, {kind}, bin(time, 1h) ORDER BY hour, region, {kind}",
            "the platform's hourly aggregate (BETWEEN, measure_value::double)",
        ),
        QueryCase(
            f"{n}: records and extremes per region",
            n,
            f"SELECT region, count(*) AS records, max(measure_value::double) AS max_v, "
            f"min(measure_value::double) AS min_v, sum(measure_value::double) AS total "
            f"FROM {source} WHERE {within} GROUP BY region ORDER BY region",
            "count(*) and extremes",
        ),
    ]
    region = samples.get("region")
    if region is not None:
        cases.append(
            QueryCase(
                f"{n}: raw records of region {region!r}",
                n,
                f"SELECT time, region, {kind}, measurement_type, measure_name, "
                f"measure_value::double FROM {source} WHERE {within} AND region = '{region}' "
                "AND measure_name = 'value' ORDER BY time",
                "the platform's raw time-series query",
            )
        )
    cases.append(
        QueryCase(
            f"{n}: top 3 {kind} by total",
            n,
            f"SELECT {kind}, sum(measure_value::double) AS total FROM {source} WHERE {within} "
            f"GROUP BY {kind} ORDER BY total DESC LIMIT 3",
            "top-N",
        )
    )
    return cases


# -- comparison -----------------------------------------------------------------------------------


@dataclass
class CaseResult:
    case: QueryCase
    passed: bool
    source_rows: int = 0
    influx_rows: int = 0
    influxql: str = ""
    mismatches: list[str] = field(default_factory=list)
    exact_values: int = 0
    bounded_values: int = 0
    max_diff: float = 0.0
    max_bound: float = 0.0
    source_seconds: float = 0.0
    influx_seconds: float = 0.0
    error: str | None = None

    def describe(self) -> str:
        mark = "ok  " if self.passed else "FAIL"
        head = (
            f"{mark} {self.case.name}: {self.source_rows} row(s) in DuckDB, {self.influx_rows} "
            f"in InfluxDB; {self.exact_values} values exact, {self.bounded_values} within bound"
        )
        if self.bounded_values:
            head += f" (max |Δ| {self.max_diff:.3g}, max bound {self.max_bound:.3g})"
        lines = [head]
        if self.error:
            lines.append(f"     error: {self.error}")
        lines += [f"     {m}" for m in self.mismatches]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.case.name,
            "table": self.case.table,
            "sql": self.case.sql,
            "influxql": self.influxql,
            "passed": self.passed,
            "source_rows": self.source_rows,
            "influx_rows": self.influx_rows,
            "exact_values": self.exact_values,
            "bounded_values": self.bounded_values,
            "max_diff": self.max_diff,
            "max_bound": self.max_bound,
            "mismatches": self.mismatches,
            "error": self.error,
        }


@dataclass
class EquivalenceReport:
    results: list[CaseResult]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        head = (
            f"query equivalence: {len(self.results) - len(self.failed)}/{len(self.results)} "
            f"query shapes identical ({self.seconds:.1f} s)"
        )
        return "\n".join([head, *(r.describe() for r in self.results)])

    def markdown(self) -> str:
        lines = [
            f"**Query equivalence**: {len(self.results) - len(self.failed)} of "
            f"{len(self.results)} query shapes give identical results",
            "",
            "| | query | rows (DuckDB / InfluxDB) | exact | within bound | max Δ / bound |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.results:
            ratio = f"{r.max_diff:.2g} / {r.max_bound:.2g}" if r.bounded_values else ""
            lines.append(
                f"| {'✅' if r.passed else '❌'} | {r.case.name} | {r.source_rows} / "
                f"{r.influx_rows} | {r.exact_values} | {r.bounded_values} | {ratio} |"
            )
        for r in self.failed:
            lines += ["", f"❌ **{r.case.name}**", "```sql", r.case.sql, "```"]
            lines += [f"- {m}" for m in ([r.error] if r.error else []) + r.mismatches]
        return "\n".join(lines)


def _rule(translation: SqlTranslation, column: str) -> str:
    """How a result column is compared: exact | sum | mean | heuristic."""
    model = translation.model
    for sel in model.selections:
        if sel.alias != column:
            continue
        expr = sel.expr
        if isinstance(expr, FieldRef):
            return "exact"
        if isinstance(expr, Agg):
            if expr.func in EXACT_AGGS:
                return "exact"
            if expr.func is Aggregation.SUM:
                return "sum"
            if expr.func is Aggregation.MEAN:
                return "mean"
        return "heuristic"
    return "exact"  # time, dimensions, constants


def _agg_field(translation: SqlTranslation, column: str) -> str | None:
    for sel in translation.model.selections:
        if sel.alias == column and isinstance(sel.expr, Agg):
            return sel.expr.field
    return None


def _bounds_sql(translation: SqlTranslation, source: str, fields: list[str]) -> tuple[str, int]:
    """DuckDB SQL giving n, Σ|x| and max|x| per result row of the query (same filters, groups)."""
    model: QueryModel = translation.model
    legacy = model.spec.source is Source.LEGACY
    keys: list[str] = []
    if model.window is not None:
        keys.append(f"bin(time, INTERVAL '{_interval(str(model.window))}') AS _t")
    keys += [_ident(t) for t in model.result_tags()]
    stats = []
    for i, f in enumerate(fields):
        col = _ident("measure_value" if legacy and f == "value" else f)
        stats.append(f"count({col}) AS n_{i}, sum(abs({col})) AS s_{i}, max(abs({col})) AS m_{i}")
    conditions = []
    if model.time_range.start is not None:
        conditions.append(f"epoch_ns(time) >= {model.time_range.start}")
    if model.time_range.end is not None:
        conditions.append(f"epoch_ns(time) < {model.time_range.end}")
    for flt in model.tag_filters:
        values = ", ".join(_literal(v) for v in flt.values)
        tag = _ident(flt.tag)
        if flt.op is FilterOp.EQ:
            conditions.append(f"{tag} IN ({values})")
        elif flt.op is FilterOp.NE:
            conditions.append(f"({tag} IS NULL OR {tag} NOT IN ({values}))")
        else:
            lowered = ", ".join(_literal(v.lower()) for v in flt.values)
            conditions.append(f"lower({tag}) IN ({lowered})")
    for vf in model.value_filters:
        col = _ident("measure_value" if legacy and vf.field == "value" else vf.field)
        op = "<>" if vf.op == "!=" else vf.op
        conditions.append(f"{col} {op} {vf.value!r}")
    where = " WHERE " + " AND ".join(conditions) if conditions else ""
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    select = ", ".join([*keys, *stats])
    return f"SELECT {select} FROM {source}{where}{group}", len(keys)


def _interval(window: str) -> str:
    match = re.fullmatch(r"(\d+)(us|ms|s|m|h|d)", window)
    if not match:
        raise EquivalenceError(f"window {window} has no DuckDB interval")
    return f"{match.group(1)} {_UNITS[match.group(2)]}"


def _bound(rule: str, n: int, abs_sum: float, abs_max: float) -> float:
    if rule == "sum":
        return 2 * gamma(max(n - 1, 0)) * abs_sum
    if rule == "mean":
        return 2 * (gamma(max(n - 1, 0)) * abs_sum / max(n, 1) + U * abs_max)
    return 0.0


def _equal_exact(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) and math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        return float(a) == float(b) if (isinstance(a, float) or isinstance(b, float)) else a == b
    if a in (None, "") and b in (None, ""):
        return True
    return a == b


def _sort_key(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple((v is None, str(type(v).__name__), v if v is not None else 0) for v in row)


def _bits(value: float) -> str:
    return struct.pack("<d", value).hex()


def run_case(
    case: QueryCase,
    duck: DuckDBSource,
    client: QueryRunner,
    database: str | None = None,
) -> CaseResult:
    """Run one query shape on both sides and compare the answers."""
    result = CaseResult(case, passed=False)
    try:
        translation = parse_sql(case.sql, datetime.now(UTC))
        began = time.perf_counter()
        names, source_rows = duck.run_timestream(case.sql)
        result.source_seconds = time.perf_counter() - began
        began = time.perf_counter()
        answer = execute_sql(translation, client, database)
        result.influx_seconds = time.perf_counter() - began
    except Exception as exc:  # any side failing fails the case, with the reason
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.influxql = answer.influxql
    influx_rows = [tuple(r) for r in answer.rows]
    result.source_rows, result.influx_rows = len(source_rows), len(influx_rows)
    columns = list(translation.columns) or [c.name for c in answer.columns]
    if len(names) != len(columns):
        result.mismatches.append(f"DuckDB returned columns {names}, InfluxDB {columns}")
        return result
    if len(source_rows) != len(influx_rows):
        result.mismatches.append(
            f"row counts differ: {len(source_rows)} in DuckDB, {len(influx_rows)} in InfluxDB"
        )
    rules = [_rule(translation, c) for c in columns]
    if translation.model.limit is None:
        keyed = [i for i, r in enumerate(rules) if r == "exact"]
        order = lambda row: _sort_key([row[i] for i in keyed] + list(row))  # noqa: E731
        source_rows = sorted(source_rows, key=order)
        influx_rows = sorted(influx_rows, key=order)
    bounds = _row_bounds(translation, duck, columns, rules)
    key_columns = [i for i, c in enumerate(columns) if c == translation.model.time_alias]
    key_columns += [i for i, c in enumerate(columns) if c in translation.model.result_tags()]
    for index, (src, dst) in enumerate(zip(source_rows, influx_rows, strict=False)):
        row_key = tuple(_norm_key(src[i]) for i in key_columns)
        for i, (column, rule) in enumerate(zip(columns, rules, strict=True)):
            a, b = src[i], dst[i]
            if rule == "exact":
                result.exact_values += 1
                if not _equal_exact(a, b):
                    _mismatch(result, index, column, a, b, "exact")
                continue
            result.bounded_values += 1
            if a is None or b is None:
                if a is not b:
                    _mismatch(result, index, column, a, b, "null on one side")
                continue
            diff = abs(float(a) - float(b))
            if rule == "heuristic":
                limit = HEURISTIC_REL * max(abs(float(a)), abs(float(b)))
            else:
                stats = bounds.get(column, {}).get(row_key)
                if stats is None:
                    _mismatch(result, index, column, a, b, "no bound for this row")
                    continue
                limit = _bound(rule, *stats)
            result.max_diff = max(result.max_diff, diff)
            result.max_bound = max(result.max_bound, limit)
            if diff > limit:
                _mismatch(result, index, column, a, b, f"|Δ| {diff:.3g} > bound {limit:.3g}")
    result.passed = not result.mismatches
    return result


def _norm_key(value: Any) -> Any:
    return None if value == "" else value


def _row_bounds(
    translation: SqlTranslation, duck: DuckDBSource, columns: list[str], rules: list[str]
) -> dict[str, dict[tuple[Any, ...], tuple[int, float, float]]]:
    wanted = [c for c, r in zip(columns, rules, strict=True) if r in ("sum", "mean")]
    fields = sorted({f for c in wanted if (f := _agg_field(translation, c)) is not None})
    if not fields:
        return {}
    spec = translation.model.spec
    source = f"{_ident(duck.tables[spec.name])}.{_ident(spec.name)}"
    sql, nkeys = _bounds_sql(translation, source, fields)
    _, table_ = duck.query(sql)
    columns_ = []
    for column in table_.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.cast(pc.cast(column, pa.timestamp("ns")), pa.int64())
        columns_.append(column.to_pylist())
    rows = list(zip(*columns_, strict=True)) if columns_ else []
    per_field: dict[str, dict[tuple[Any, ...], tuple[int, float, float]]] = {f: {} for f in fields}
    for row in rows:
        key = tuple(_norm_key(v) for v in row[:nkeys])
        for i, f in enumerate(fields):
            n, s, m = row[nkeys + 3 * i : nkeys + 3 * i + 3]
            per_field[f][key] = (int(n or 0), float(s or 0.0), float(m or 0.0))
    return {c: per_field.get(_agg_field(translation, c) or "", {}) for c in wanted}


def _mismatch(result: CaseResult, index: int, column: str, a: Any, b: Any, why: str) -> None:
    if len(result.mismatches) >= MAX_MISMATCHES:
        return
    shown_a = f"{a!r} (bits {_bits(a)})" if isinstance(a, float) else repr(a)
    shown_b = f"{b!r} (bits {_bits(b)})" if isinstance(b, float) else repr(b)
    result.mismatches.append(
        f"row {index}, {column}: DuckDB {shown_a} ≠ InfluxDB {shown_b} ({why})"
    )


def run_suite(
    cases: Iterable[QueryCase],
    duck: DuckDBSource,
    client: QueryRunner,
    database: str | None = None,
) -> EquivalenceReport:
    began = time.perf_counter()
    results = [run_case(case, duck, client, database) for case in cases]
    return EquivalenceReport(results, time.perf_counter() - began)


def sample_tag_values(duck: DuckDBSource, tables: Iterable[str]) -> dict[str, dict[str, str]]:
    """Per table, the first value of each of its first tags (for filtered query shapes)."""
    out: dict[str, dict[str, str]] = {}
    for name in tables:
        spec = table(name)
        if name not in duck.tables:
            continue
        source = f"{_ident(duck.tables[name])}.{_ident(name)}"
        picks = {}
        for tag in spec.tags[:1] + (("region",) if "region" in spec.tags else ()):
            _, result = duck.query(
                f"SELECT min({_ident(tag)}) AS v FROM {source} WHERE {_ident(tag)} <> ''"
            )
            value = result.column(0)[0].as_py() if result.num_rows else None
            if value is not None:
                picks[tag] = value
        out[name] = picks
    return out


def compare_days(
    store: ParquetStore,
    client: QueryRunner,
    tables: Sequence[str],
    first: date,
    last: date,
    databases: Mapping[str, str],
    influx_database: str | None = None,
    extra_cases: Sequence[QueryCase] = (),
) -> EquivalenceReport:
    """The standard suite (plus ``extra_cases``) over the exported days of ``tables``."""
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    with tempfile.TemporaryDirectory(prefix="ons-equivalence-") as tmp, DuckDBSource() as duck:
        for name in tables:
            spec = table(name)
            files = [
                path for day in days for path in store.download(Partition(name, day), Path(tmp))
            ]
            duck.register(spec, database_of(spec, databases), files)
        samples = sample_tag_values(duck, tables)
        cases = standard_suite(tables, first, last, databases, samples) + list(extra_cases)
        return run_suite(cases, duck, client, influx_database)
