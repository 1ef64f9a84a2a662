"""The InfluxDB side of the query API: InfluxQL over the v1 ``/query`` endpoint (every engine), Flux
over ``/api/v2/query`` (2.x only — Flux is never sent to the InfluxQL endpoint), and one tabular
result type for every path.

Failures become :class:`BackendError` (an ``ExecutionError`` with a stable ``code``): a timeout is
504, an unreachable server, a 5xx or refused credentials 502, a query InfluxDB rejects 400.
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.client import InfluxConfig
from ons_pipeline.lib.query.execute import Column, ExecutionError, QueryResult
from ons_pipeline.lib.query.model import Aggregation, QueryModel, parse_time


class BackendError(ExecutionError):
    """An InfluxDB failure with the API's error ``code`` and HTTP ``status``."""

    def __init__(self, message: str, *, status: int, code: str, query: str = "") -> None:
        super().__init__(message, status=status, query=query)
        self.code = code


class FluxUnsupportedError(Exception):
    """Flux was asked of an engine that has no Flux (1.x, 3.x)."""


class _TokenAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Token {self.token}"
        return request


@dataclass
class ResultTable:
    """Typed rows: time as integer ns (UTC), tags as str/None, values as numbers (or str/bool)."""

    columns: list[Column]
    rows: list[list[Any]]
    query: str
    language: str
    elapsed_ms: float
    model: QueryModel | None = None
    statements: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_result(cls, result: QueryResult) -> ResultTable:
        return cls(
            columns=list(result.columns),
            rows=[list(r) for r in result.rows],
            query=result.influxql,
            language="influxql",
            elapsed_ms=result.elapsed_ms,
            model=result.model,
            statements=result.influxql.count(";\n") + 1,
        )

    def to_query_result(self) -> QueryResult:
        assert self.model is not None
        rows = [tuple(r) for r in self.rows]
        return QueryResult(self.model, tuple(self.columns), rows, self.query, self.elapsed_ms)


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


def table_from_influxql(
    results: list[dict[str, Any]], query: str, elapsed_ms: float
) -> ResultTable:
    """One table from the raw ``results`` of ``/query`` (``epoch=ns``): time, the union of the
    series' tags, then value columns in order of appearance; ``_measurement`` and ``_statement``
    columns are added only when several measurements or statements answered."""
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
                value = series_tags.get(t)
                row.append(None if value in (None, "") else value)
            row.extend(record.get(v) for v in values)
            rows.append(row)
    return ResultTable(columns, rows, query, "influxql", elapsed_ms, statements=len(results) or 1)


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
    return ResultTable(
        columns=[columns[i] for i in order],
        rows=[[row[i] for i in order] for row in rows],
        query=query,
        language="flux",
        elapsed_ms=elapsed_ms,
        model=model,
    )


# -- the backend ------------------------------------------------------------------------------


class InfluxBackend:
    """Runs InfluxQL (``/query``) and Flux (``/api/v2/query``, engine 2 only) for the API."""

    def __init__(self, config: InfluxConfig) -> None:
        config.check_transport()
        self.config = config
        session = requests.Session()
        session.headers["User-Agent"] = "ons-pipeline-api"
        session.verify = config.ca_bundle if config.ca_bundle else config.verify_tls
        if config.auth_scheme == "basic":
            password = config.password if config.password is not None else config.token
            session.auth = HTTPBasicAuth(config.username or "", password or "")
        elif config.auth_scheme == "token":
            session.auth = _TokenAuth(config.token or "")
        self._session = session

    @property
    def engine(self) -> str:
        return self.config.engine

    @property
    def database(self) -> str:
        return self.config.database

    @property
    def supports_flux(self) -> bool:
        return self.config.engine == "2"

    def close(self) -> None:
        self._session.close()

    def _post(self, path: str, timeout: float, query: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.post(
                self.config.url + path,
                timeout=(min(10.0, timeout), timeout),
                verify=self._session.verify,
                **kwargs,
            )
        except requests.Timeout:
            raise BackendError(
                f"InfluxDB did not answer within {timeout:g} s",
                status=504,
                code="influx_timeout",
                query=query,
            ) from None
        except requests.RequestException as exc:
            raise BackendError(
                f"InfluxDB is unreachable ({type(exc).__name__})",
                status=502,
                code="influx_unreachable",
                query=query,
            ) from None

    def _check_status(self, response: requests.Response, query: str) -> None:
        status = response.status_code
        if status in (401, 403):
            raise BackendError(
                f"InfluxDB refused this server's credentials (HTTP {status})",
                status=502,
                code="influx_auth",
                query=query,
            )
        if status >= 500 or status == 429:
            raise BackendError(
                f"InfluxDB answered HTTP {status}: {response.text[:200]}",
                status=502,
                code="influx_error",
                query=query,
            )

    def query_influxql(
        self, text: str, timeout: float, database: str | None = None
    ) -> list[dict[str, Any]]:
        """The ``results`` of InfluxQL ``text`` (``epoch=ns``); statement errors raise 400."""
        params = {"q": text, "db": database or self.config.database, "epoch": "ns"}
        if self.config.retention_policy:
            params["rp"] = self.config.retention_policy
        response = self._post("/query", timeout, text, data=params)
        self._check_status(response, text)
        try:
            body = response.json()
        except ValueError:
            raise BackendError(
                f"InfluxDB answered HTTP {response.status_code} without JSON",
                status=502,
                code="influx_error",
                query=text,
            ) from None
        if "error" in body:
            raise BackendError(
                f"InfluxDB rejected the query: {body['error']}",
                status=400 if response.status_code < 500 else 502,
                code="query_error",
                query=text,
            )
        results = list(body.get("results", []))
        for result in results:
            if "error" in result:
                message = str(result["error"])
                missing_db = message.startswith("database not found")
                raise BackendError(
                    f"InfluxDB: {message}",
                    status=502 if missing_db else 400,
                    code="influx_error" if missing_db else "query_error",
                    query=text,
                )
        return results

    def runner(self, timeout: float) -> _Runner:
        """A ``QueryRunner`` (for :func:`ons_pipeline.lib.query.execute.execute`)."""
        return _Runner(self, timeout)

    def run_influxql(self, text: str, timeout: float) -> ResultTable:
        began = time.perf_counter()
        results = self.query_influxql(text, timeout)
        elapsed = (time.perf_counter() - began) * 1000
        return table_from_influxql(results, text, elapsed)

    def run_flux(self, flux: str, timeout: float, model: QueryModel | None = None) -> ResultTable:
        """Run Flux on a 2.x server (``/api/v2/query``); any other engine raises
        :class:`FluxUnsupportedError` before anything is sent."""
        if not self.supports_flux:
            raise FluxUnsupportedError(
                f"Flux cannot run on InfluxDB engine {self.config.engine} (Flux exists only on 2.x)"
            )
        params = {"org": self.config.org} if self.config.org else {}
        body = {
            "query": flux,
            "type": "flux",
            "dialect": {
                "header": True,
                "delimiter": ",",
                "annotations": ["datatype", "group", "default"],
            },
        }
        began = time.perf_counter()
        response = self._post(
            "/api/v2/query",
            timeout,
            flux,
            params=params,
            json=body,
            headers={"Accept": "application/csv"},
        )
        self._check_status(response, flux)
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text[:300])
            except ValueError:
                message = response.text[:300]
            raise BackendError(
                f"InfluxDB rejected the Flux query: {message}",
                status=400,
                code="query_error",
                query=flux,
            )
        elapsed = (time.perf_counter() - began) * 1000
        return table_from_flux_csv(response.text, flux, elapsed, model)

    def ping(self, timeout: float = 2.0) -> dict[str, Any]:
        """``{"reachable": bool, "version": str | None, "error": str | None}``."""
        try:
            response = self._session.get(self.config.url + "/ping", timeout=timeout)
        except requests.RequestException as exc:
            return {"reachable": False, "version": None, "error": type(exc).__name__}
        return {
            "reachable": response.status_code in (200, 204),
            "version": response.headers.get("X-Influxdb-Version"),
            "error": None if response.status_code in (200, 204) else f"HTTP {response.status_code}",
        }


@dataclass
class _Runner:
    backend: InfluxBackend
    timeout: float

    def query(
        self, influxql: str, database: str | None = None, epoch: str | None = "ns"
    ) -> list[dict[str, Any]]:
        return self.backend.query_influxql(influxql, self.timeout, database)
