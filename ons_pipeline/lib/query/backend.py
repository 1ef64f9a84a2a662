"""The query service's InfluxDB: InfluxQL over the v1 ``/query`` endpoint (every engine), Flux over
``/api/v2/query`` (2.x only — Flux is never sent to the InfluxQL endpoint), and one tabular result
type for every path.

No HTTP here: every request goes through :class:`~ons_pipeline.lib.influx.client.InfluxClient`
(auth, TLS, redaction, security events), with the caller's timeout and no retry (an interactive
answer within its budget). Failures become the domain's
:class:`~ons_pipeline.lib.query.errors.ExecutionError` (rejected, unavailable, timed out) or
:class:`~ons_pipeline.lib.query.errors.UnsupportedLanguage` (Flux on 1.x or 3.x).
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass, replace
from typing import Any

from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.client import (
    NO_RETRY,
    InfluxClient,
    InfluxConfig,
    InfluxError,
    InfluxTimeoutError,
)
from ons_pipeline.lib.query.errors import UnsupportedLanguage
from ons_pipeline.lib.query.execute import Column, QueryResult, QueryRunner, execution_error
from ons_pipeline.lib.query.model import (
    Agg,
    Aggregation,
    BinOp,
    Expr,
    FieldRef,
    QueryModel,
    parse_time,
    strip_transform,
)
from ons_pipeline.lib.query.rollups import AnswerSource
from ons_pipeline.lib.settings import InfluxSettings

AS_WRITTEN = "InfluxQL written by the user runs as written (never routed to the rollups)"
FLUX_RUN = "Flux runs as written or rendered, on the raw measurement"
# The API answers from a thread pool: keep more than the client's default of keep-alive sockets.
POOL_SIZE = 10


@dataclass
class ResultTable:
    """Typed rows: time as integer ns (UTC), tags as str/None, values as numbers (or str/bool)."""

    columns: list[Column]
    rows: list[list[Any]]
    query: str
    elapsed_ms: float
    model: QueryModel | None = None
    source: AnswerSource | None = None

    @classmethod
    def from_result(cls, result: QueryResult) -> ResultTable:
        return cls(
            columns=list(result.columns),
            rows=[list(r) for r in result.rows],
            query=result.influxql,
            elapsed_ms=result.elapsed_ms,
            model=result.model,
            source=result.source,
        )

    def to_query_result(self) -> QueryResult:
        assert self.model is not None
        rows = [tuple(r) for r in self.rows]
        return QueryResult(
            self.model, tuple(self.columns), rows, self.query, self.elapsed_ms, self.source
        )


# -- units of raw query columns ---------------------------------------------------------------

_AGG_PREFIX = re.compile(r"^(" + "|".join(a.value for a in Aggregation) + r"|mode|percentile|"
                         r"integral|top|bottom|sample|distinct)(?:_(.+))?$")  # fmt: skip


def _spec_for(measurement: str | None) -> schema.TableSpec | None:
    if not measurement:
        return None
    for spec in schema.tables().values():
        if spec.measurement == measurement:
            return spec
    return None


def column_unit(measurement: str | None, column: str) -> str:
    """Best-effort unit of a raw InfluxQL/Flux column from the schema: a field's own name, or an
    aggregate named after it (``mean_val_cmo``, or ``mean`` when the measurement has one field)."""
    spec = _spec_for(measurement)
    if spec is None:
        return ""
    fields = {f.name: f.unit for f in spec.fields}
    if column in fields:
        return fields[column]
    match = _AGG_PREFIX.match(column)
    if match:
        func, rest = match.group(1), match.group(2)
        if func in ("count", "distinct"):
            return ""
        if rest in fields:
            return fields[rest]
        if rest is None and len(fields) == 1:
            return next(iter(fields.values()))
    return ""


# -- value types --------------------------------------------------------------------------------

_ALWAYS_FLOAT = {"mean", "median", "stddev", "integral"}


def _field_is_double(spec: schema.TableSpec, name: str) -> bool | None:
    for f in spec.fields:
        if f.name == name:
            return f.type == schema.MeasureType.DOUBLE
    return None


def _expr_is_float(spec: schema.TableSpec, expr: Expr) -> bool | None:
    """Whether a model selection's values are floats (``None``: not known)."""
    inner, transform = strip_transform(expr)
    if transform is not None or isinstance(inner, BinOp):
        return True
    if isinstance(inner, Agg):
        if inner.func is Aggregation.COUNT:
            return False
        if inner.func.value in _ALWAYS_FLOAT:
            return True
        return _field_is_double(spec, inner.field)
    if isinstance(inner, FieldRef):
        return _field_is_double(spec, inner.name)
    return None


def _raw_column_is_float(specs: list[schema.TableSpec], column: str) -> bool | None:
    """Whether a raw InfluxQL column holds floats, by the schema of the measurements read: a
    field's own name, or an aggregate named after one (``max_val_cmo``, ``max`` of a
    one-field measurement); ``None`` when the schema does not tell."""
    answers = set()
    for spec in specs:
        answer = _field_is_double(spec, column)
        match = _AGG_PREFIX.match(column) if answer is None else None
        if match:
            func, rest = match.group(1), match.group(2)
            if func in ("count", "distinct"):
                answer = False if func == "count" else None
            elif func in _ALWAYS_FLOAT:
                answer = True
            elif rest is not None:
                answer = _field_is_double(spec, rest)
            elif len(spec.fields) == 1:
                answer = spec.fields[0].type == schema.MeasureType.DOUBLE
        answers.add(answer)
    return answers.pop() if len(answers) == 1 else None


def _specs_read(table: ResultTable) -> list[schema.TableSpec]:
    names = table.source.measurements if table.source is not None else ()
    specs = []
    for name in names:
        spec = _spec_for(name) or _spec_for(name.rsplit(".", 1)[-1])
        if spec is not None:
            specs.append(spec)
    return specs


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def with_float_columns(table: ResultTable) -> ResultTable:
    """``table`` with the values of its float columns as floats. InfluxDB's JSON writes a float
    field's whole values without a fraction (``0``, not ``0.0``), so a DOUBLE column came out as
    a mix of ints and floats. Float columns: by the query model (an aggregate of a DOUBLE field,
    a mean, arithmetic — not a count), else by the schema of the measurements read, else any
    column whose values are all numbers, at least one a float."""
    model = table.model
    selections = {s.alias: s.expr for s in model.selections} if model is not None else {}
    specs = _specs_read(table) if model is None else [model.spec]
    cast = []
    for i, column in enumerate(table.columns):
        if column.kind != "value":
            continue
        values = [row[i] for row in table.rows if row[i] is not None]
        if not all(_numeric(v) for v in values):
            continue
        if column.name in selections:
            assert model is not None
            is_float = _expr_is_float(model.spec, selections[column.name])
        else:
            is_float = _raw_column_is_float(specs, column.name) if specs else None
        if is_float is None:
            is_float = any(isinstance(v, float) for v in values)
        if is_float:
            cast.append(i)
    if not cast or not table.rows:
        return table
    rows = [list(row) for row in table.rows]
    for row in rows:
        for i in cast:
            if row[i] is not None:
                row[i] = float(row[i])
    return replace(table, rows=rows)


def table_from_influxql(
    results: list[dict[str, Any]], query: str, elapsed_ms: float
) -> ResultTable:
    """One table from the raw ``results`` of ``/query`` (``epoch=ns``): time, the union of the
    series' tags (and the columns that are tags of the mapped measurements read, as ``SELECT *``
    returns them), then value columns in order of appearance; ``_measurement`` and
    ``_statement`` columns are added only when several measurements or statements answered."""
    series_list: list[tuple[int, dict[str, Any]]] = []
    for index, result in enumerate(results):
        for series in result.get("series", []) or []:
            series_list.append((int(result.get("statement_id", index)), series))
    names = {s.get("name") for _, s in series_list}
    stmt_ids = {sid for sid, _ in series_list}
    has_time = any("time" in (s.get("columns") or []) for _, s in series_list)
    tags: list[str] = []
    values: list[str] = []
    for _, series in series_list:
        for tag in sorted((series.get("tags") or {}).keys()):
            if tag not in tags:
                tags.append(tag)
    for _, series in series_list:
        for col in series.get("columns") or []:
            if col != "time" and col not in values and col not in tags:
                values.append(col)
    extra_tags = (["_measurement"] if len(names) > 1 else []) + (
        ["_statement"] if len(stmt_ids) > 1 else []
    )
    # a tag read as a column (SELECT *, SELECT "tag"): a tag of every mapped measurement read
    specs = [spec for spec in (_spec_for(n) for n in names) if spec is not None]
    column_tags = [
        v
        for v in values
        if specs and all(v in s.tags and _field_is_double(s, v) is None for s in specs)
    ]
    values = [v for v in values if v not in column_tags]
    tags += column_tags
    measurement = next(iter(names)) if len(names) == 1 else None
    columns = ([Column("time", "time", "ns")] if has_time else []) + [
        Column(t, "tag") for t in [*extra_tags, *tags]
    ]
    columns += [Column(v, "value", column_unit(measurement, v)) for v in values]
    rows: list[list[Any]] = []
    for sid, series in series_list:
        cols = series.get("columns") or []
        series_tags = series.get("tags") or {}
        for raw in series.get("values") or []:
            record = dict(zip(cols, raw, strict=False))
            row: list[Any] = [record.get("time")] if has_time else []
            for t in extra_tags:
                row.append(series.get("name") if t == "_measurement" else str(sid))
            for t in tags:
                value = series_tags.get(t, record.get(t))
                row.append(None if value in (None, "") else value)
            row.extend(record.get(v) for v in values)
            rows.append(row)
    source = AnswerSource("as_written", tuple(sorted(n for n in names if n)), AS_WRITTEN)
    return ResultTable(columns, rows, query, elapsed_ms, source=source)


# -- Flux annotated CSV -----------------------------------------------------------------------

_FLUX_NUMERIC = {"double", "long", "unsignedLong"}
_FLUX_DROP = {"", "result", "table", "_start", "_stop"}


def _flux_value(text: str, datatype: str) -> Any:
    if text == "":
        return None
    if datatype in ("long", "unsignedLong"):
        return int(text)
    if datatype == "double":
        return float(text)
    if datatype == "boolean":
        return text == "true"
    if datatype.startswith("dateTime"):
        return parse_time(text)
    return text


def table_from_flux_csv(
    text: str, query: str, elapsed_ms: float, model: QueryModel | None = None
) -> ResultTable:
    """Parse InfluxDB 2.x annotated CSV (``#datatype``, ``#group``, ``#default`` + header) into one
    table: ``_time`` (as ``time``), string columns as tags, numeric/boolean columns as values."""
    units = model.units() if model is not None else {}
    time_alias = model.time_alias if model is not None else "time"
    columns: list[Column] = []
    index: dict[str, int] = {}
    rows: list[list[Any]] = []
    datatypes: list[str] = []
    header: list[str] | None = None
    for record in csv.reader(io.StringIO(text)):
        if not record or all(v == "" for v in record):
            header = None
            datatypes = []
            continue
        if record[0] == "#datatype":
            datatypes, header = record, None
            continue
        if record[0].startswith("#"):
            continue
        if header is None:
            header = record
            if not datatypes:
                datatypes = ["string"] * len(header)
            for name, dtype in zip(header, datatypes, strict=False):
                if name in _FLUX_DROP or name in index:
                    continue
                out = time_alias if name == "_time" else name
                if name == "_time":
                    col = Column(out, "time", "ns")
                elif dtype in _FLUX_NUMERIC or dtype == "boolean":
                    measurement = model.measurement if model is not None else None
                    col = Column(out, "value", units.get(out, column_unit(measurement, out)))
                else:
                    col = Column(out, "tag")
                index[name] = len(columns)
                columns.append(col)
                for row in rows:
                    row.append(None)
            continue
        row = [None] * len(columns)
        for name, dtype, value in zip(header, datatypes, record, strict=False):
            if name in index:
                row[index[name]] = _flux_value(value, dtype)
        rows.append(row)
    order = sorted(
        range(len(columns)), key=lambda i: ("time", "tag", "value").index(columns[i].kind)
    )
    measurements = (model.measurement,) if model is not None else ()
    return ResultTable(
        columns=[columns[i] for i in order],
        rows=[[row[i] for i in order] for row in rows],
        query=query,
        elapsed_ms=elapsed_ms,
        model=model,
        source=AnswerSource("as_written" if model is None else "raw", measurements, FLUX_RUN),
    )


# -- the backend ------------------------------------------------------------------------------


class InfluxBackend:
    """Runs InfluxQL (``/query``) and Flux (``/api/v2/query``, engine 2 only) for the query
    service, through one :class:`InfluxClient`."""

    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    @classmethod
    def connect(cls, influx: InfluxSettings) -> InfluxBackend:
        """A backend on the settings' audited client (TLS policy, credentials from the secret,
        refused credentials and TLS failures logged as security events)."""
        return cls(influx.client(pool_size=POOL_SIZE))

    @property
    def config(self) -> InfluxConfig:
        return self.client.config

    @property
    def engine(self) -> str:
        return self.config.engine

    @property
    def database(self) -> str:
        return self.config.database

    @property
    def retention_policy(self) -> str | None:
        return self.config.retention_policy

    @property
    def supports_flux(self) -> bool:
        return self.config.engine == "2"

    def close(self) -> None:
        self.client.close()

    def runner(self, timeout: float) -> QueryRunner:
        """A ``QueryRunner`` (for :func:`ons_pipeline.lib.query.execute.execute`) with this
        timeout and no retry."""
        return _Runner(self.client, timeout)

    def run_influxql(self, text: str, timeout: float) -> ResultTable:
        began = time.perf_counter()
        try:
            results = self.client.query(text, epoch="ns", timeout=timeout, retry=NO_RETRY)
        except InfluxError as exc:
            raise execution_error(exc, text) from None
        elapsed = (time.perf_counter() - began) * 1000
        return table_from_influxql(results, text, elapsed)

    def run_flux(self, flux: str, timeout: float, model: QueryModel | None = None) -> ResultTable:
        """Run Flux on a 2.x server; any other engine raises :class:`UnsupportedLanguage` before
        anything is sent."""
        if not self.supports_flux:
            raise UnsupportedLanguage(
                "flux_not_supported",
                f"Flux cannot run on InfluxDB engine {self.engine} (Flux exists only on 2.x)",
            )
        began = time.perf_counter()
        try:
            text = self.client.query_flux(flux, timeout=timeout, retry=NO_RETRY)
        except InfluxError as exc:
            raise execution_error(exc, flux) from None
        elapsed = (time.perf_counter() - began) * 1000
        return table_from_flux_csv(text, flux, elapsed, model)

    def ping(self, timeout: float = 2.0) -> dict[str, Any]:
        """``{"reachable": bool, "version": str | None, "error": str | None}``."""
        try:
            version = self.client.ping(timeout=timeout)
        except InfluxError as exc:
            if exc.status is not None:
                error = f"HTTP {exc.status}"
            else:
                error = "timeout" if isinstance(exc, InfluxTimeoutError) else "unreachable"
            return {"reachable": False, "version": None, "error": error}
        return {
            "reachable": True,
            "version": None if version == "unknown" else version,
            "error": None,
        }


@dataclass(frozen=True)
class _Runner:
    client: InfluxClient
    timeout: float

    def query(
        self, influxql: str, database: str | None = None, epoch: str | None = "ns"
    ) -> list[dict[str, Any]]:
        return self.client.query(influxql, database, epoch, timeout=self.timeout, retry=NO_RETRY)
