"""The query processor: input → (detected) language → query model → rendered query → cached
execution → one stable response (:class:`~ons_pipeline.api.schemas.QueryResponse`).

Used by the HTTP API and by ``ons-pipeline query``; no web framework here. Errors are
:class:`~ons_pipeline.api.errors.ApiError` with the HTTP status they map to.

Cache: results are kept ``ttl_s`` seconds under the SHA-256 of the normalised query — for anything
with a query model, its ``to_dict()`` as sorted JSON (so equivalent inputs share an entry and a
relative period resolves to absolute times first); for raw InfluxQL/Flux, the text with whitespace
and comments normalised — together with the target language, engine, database and retention
policy. Only successful results are cached.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ons_pipeline.api.backend import BackendError, FluxUnsupportedError, InfluxBackend, ResultTable
from ons_pipeline.api.config import ApiSettings
from ons_pipeline.api.errors import ApiError
from ons_pipeline.api.schemas import (
    CacheInfo,
    ColumnInfo,
    DataRange,
    InputInfo,
    InputLanguage,
    QueryModelInfo,
    QueryRequest,
    QueryResponse,
    RenderedQuery,
    Renderings,
    SeriesInfo,
    TargetLanguage,
    TimeRangeInfo,
    Timings,
    TranslationInfo,
    UnmappedInfo,
)
from ons_pipeline.lib.query import detect
from ons_pipeline.lib.query.cache import TTLCache, cache_key
from ons_pipeline.lib.query.execute import Column, ExecutionError, QueryResult, execute
from ons_pipeline.lib.query.flux import render_flux
from ons_pipeline.lib.query.influxql import RenderError, render_influxql
from ons_pipeline.lib.query.model import ModelError, QueryModel, format_time
from ons_pipeline.lib.query.nl import RuleTranslator, Translation
from ons_pipeline.lib.query.timestream_sql import SqlError, SqlTranslation, parse_sql
from ons_pipeline.lib.rag.timeseries import STRUCTURAL_GAPS


def new_query_id() -> str:
    return str(uuid.uuid4())


def time_range_info(model: QueryModel | None) -> TimeRangeInfo | None:
    if model is None:
        return None
    tr = model.time_range
    return TimeRangeInfo(
        start=None if tr.start is None else format_time(tr.start),
        end=None if tr.end is None else format_time(tr.end),
        start_ns=tr.start,
        end_ns=tr.end,
    )


def translation_info(tr: Translation) -> TranslationInfo:
    return TranslationInfo(
        question_language=tr.language,
        complete=tr.complete,
        unmapped=[UnmappedInfo(kind=u.kind, text=u.text, reason=u.reason) for u in tr.unmapped],
        assumptions=list(tr.assumptions),
    )


def model_info(model: QueryModel | None) -> QueryModelInfo | None:
    return None if model is None else QueryModelInfo.model_validate(model.to_dict())


def execution_api_error(exc: ExecutionError) -> ApiError:
    """Map an execution failure to its HTTP status and code."""
    code = getattr(exc, "code", None)
    status = exc.status or 502
    if code is None:
        code = (
            "query_error"
            if status == 400
            else "influx_timeout"
            if status == 504
            else ("influx_error")
        )
    details = {"query": exc.query} if exc.query else {}
    return ApiError(status, code, str(exc), details)


@dataclass
class _Plan:
    language: str
    detected: bool
    reason: str
    model: QueryModel | None = None
    translation: Translation | None = None
    sql: SqlTranslation | None = None
    influxql: str | None = None
    flux: str | None = None
    target: str = "influxql"
    warnings: list[str] | None = None
    render_ms: float = 0.0


class QueryProcessor:
    """See the module docstring."""

    def __init__(
        self,
        backend: InfluxBackend,
        settings: ApiSettings | None = None,
        cache: TTLCache | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings or ApiSettings(influx=backend.config)
        self.cache = cache or TTLCache(self.settings.cache_ttl_s, self.settings.cache_max_entries)
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- planning -----------------------------------------------------------------------------
    def _plan(self, req: QueryRequest, now: datetime) -> _Plan:
        text = req.query
        if req.language is InputLanguage.AUTO:
            language, reason = detect.detect_language(text, now)
            plan = _Plan(language, True, reason, warnings=[])
        else:
            plan = _Plan(str(req.language), False, "given by the request", warnings=[])
        if plan.language == detect.QUESTION:
            self._plan_question(plan, req, now)
        elif plan.language == detect.TIMESTREAM_SQL:
            try:
                plan.sql = parse_sql(text, now)
            except SqlError as exc:
                raise ApiError(
                    400, "sql_error", str(exc).split("\n", 1)[0], exc.to_dict()
                ) from None
            except ModelError as exc:
                raise ApiError(400, "bad_query", str(exc)) from None
            plan.model = plan.sql.model
        elif plan.language == detect.INFLUXQL:
            detect.check_readonly_influxql(text)
            plan.influxql = text
            plan.target = "influxql"
        else:
            plan.flux = text
            plan.target = "flux"
        if plan.model is not None:
            plan.target = str(req.target)
            mark = time.perf_counter()
            try:
                plan.influxql = render_influxql(plan.model, self.backend.config.retention_policy)
            except (RenderError, ModelError) as exc:
                if plan.target == "influxql":
                    raise ApiError(400, "render_error", f"InfluxQL: {exc}") from None
                plan.warnings.append(f"no InfluxQL rendering: {exc}")  # type: ignore[union-attr]
            try:
                plan.flux = render_flux(plan.model, self.backend.database)
            except (RenderError, ModelError) as exc:
                if plan.target == "flux":
                    raise ApiError(400, "render_error", f"Flux: {exc}") from None
                plan.warnings.append(f"no Flux rendering: {exc}")  # type: ignore[union-attr]
            plan.render_ms = (time.perf_counter() - mark) * 1000
        return plan

    def _plan_question(self, plan: _Plan, req: QueryRequest, now: datetime) -> None:
        try:
            translator = RuleTranslator(timezone=req.timezone or self.settings.timezone)
        except ModelError as exc:
            raise ApiError(422, "validation_error", f"timezone: {exc}") from None
        try:
            tr = translator.translate(req.query, now)
        except ModelError as exc:
            raise ApiError(422, "untranslatable_question", str(exc)) from None
        plan.translation = tr
        details: dict[str, Any] = {
            "translation": translation_info(tr).model_dump(),
            "model": None if tr.model is None else tr.model.to_dict(),
        }
        if tr.model is None:
            raise ApiError(
                422,
                "untranslatable_question",
                "the question names no measure of the data"
                + (": " + "; ".join(str(u) for u in tr.unmapped) if tr.unmapped else ""),
                details,
            )
        gaps = [u for u in tr.unmapped if req.strict or u.kind in STRUCTURAL_GAPS]
        if gaps:
            raise ApiError(
                422,
                "incomplete_translation",
                "part of the question was not understood: " + "; ".join(str(u) for u in gaps),
                details,
            )
        if tr.unmapped:
            plan.warnings.append(  # type: ignore[union-attr]
                "words not understood (ignored): " + ", ".join(repr(u.text) for u in tr.unmapped)
            )
        plan.model = tr.model

    def _key(self, plan: _Plan, text: str) -> str:
        payload: dict[str, Any] = {
            "target": plan.target,
            "engine": self.backend.engine,
            "db": self.backend.database,
            "rp": self.backend.config.retention_policy,
        }
        if plan.model is not None:
            payload["model"] = plan.model.to_dict()
            if plan.sql is not None and plan.sql.constants:
                payload["sql_columns"] = list(plan.sql.columns)
                payload["sql_constants"] = plan.sql.constants
        else:
            payload["language"] = plan.language
            payload["text"] = detect.normalise_query_text(text)
        return cache_key(payload)

    # -- execution ----------------------------------------------------------------------------
    def _execute(self, plan: _Plan, timeout: float) -> ResultTable:
        if plan.target == "flux":
            assert plan.flux is not None
            return self.backend.run_flux(plan.flux, timeout, plan.model)
        if plan.model is None:
            assert plan.influxql is not None
            return self.backend.run_influxql(plan.influxql, timeout)
        return ResultTable.from_result(self._run_model(plan, timeout))

    def _run_model(self, plan: _Plan, timeout: float) -> QueryResult:
        assert plan.model is not None
        runner = self.backend.runner(timeout)
        if plan.sql is not None and plan.sql.constants:
            from ons_pipeline.lib.query.timestream_sql import execute_sql

            return execute_sql(plan.sql, runner, self.backend.database)
        return execute(
            plan.model, runner, self.backend.database, self.backend.config.retention_policy
        )

    def execute_model(
        self, model: QueryModel, timeout: float | None = None, use_cache: bool = True
    ) -> tuple[QueryResult, bool]:
        """Run a model through the cache (the RAG flow's executor): ``(result, cache_hit)``."""
        plan = _Plan("model", False, "", model=model, target="influxql", warnings=[])
        key = self._key(plan, "")
        if use_cache:
            cached = self.cache.get(key)
            if cached is not None:
                return cached[0].to_query_result(), True
        table = ResultTable.from_result(
            self._run_model(plan, timeout or self.settings.query_timeout_s)
        )
        self.cache.put(key, table)
        return table.to_query_result(), False

    def process(self, req: QueryRequest, query_id: str | None = None) -> QueryResponse:
        """Plan, execute (or dry-run) and shape one request; raises :class:`ApiError`."""
        began = time.perf_counter()
        query_id = query_id or new_query_id()
        now = req.now or self.clock()
        plan = self._plan(req, now)
        parsed = time.perf_counter()
        render_ms = plan.render_ms
        key = self._key(plan, req.query)
        timeout = req.timeout_s or self.settings.query_timeout_s
        if plan.target == "flux" and req.execute and not self.backend.supports_flux:
            raise ApiError(
                501,
                "flux_not_supported",
                f"Flux cannot run on the configured InfluxDB (engine {self.backend.engine}): "
                "Flux exists only on InfluxDB 2.x, and it is never sent to the InfluxQL endpoint. "
                + (
                    "Use target=influxql (runs on every engine), or execute=false to get the "
                    "Flux rendering."
                    if plan.model is not None
                    else "Send the query as InfluxQL or as a question instead."
                ),
                {
                    "engine": self.backend.engine,
                    "flux": plan.flux,
                    "influxql": plan.influxql,
                    "model": None if plan.model is None else plan.model.to_dict(),
                },
            )
        table: ResultTable | None = None
        hit, age = False, None
        execute_ms = 0.0
        if req.execute:
            cached = self.cache.get(key) if req.use_cache else None
            if cached is not None:
                table, age = cached
                hit = True
            else:
                mark = time.perf_counter()
                try:
                    table = self._execute(plan, timeout)
                except FluxUnsupportedError as exc:  # pragma: no cover - guarded above
                    raise ApiError(501, "flux_not_supported", str(exc)) from None
                except (BackendError, ExecutionError) as exc:
                    raise execution_api_error(exc) from None
                except (RenderError, ModelError) as exc:
                    raise ApiError(400, "render_error", str(exc)) from None
                execute_ms = (time.perf_counter() - mark) * 1000
                self.cache.put(key, table)
        return self._response(
            req, query_id, plan, table, key, hit, age, began, parsed, render_ms, execute_ms
        )

    # -- shaping ------------------------------------------------------------------------------
    def _response(
        self,
        req: QueryRequest,
        query_id: str,
        plan: _Plan,
        table: ResultTable | None,
        key: str,
        hit: bool,
        age: float | None,
        began: float,
        parsed: float,
        render_ms: float,
        execute_ms: float,
    ) -> QueryResponse:
        max_rows = req.max_rows or self.settings.max_rows
        columns: list[Column] = list(table.columns) if table is not None else []
        if table is None and plan.model is not None:
            from ons_pipeline.lib.query.execute import result_columns

            columns = list(result_columns(plan.model))
        all_rows = table.rows if table is not None else []
        rows = all_rows[:max_rows]
        time_idx = [i for i, c in enumerate(columns) if c.kind == "time"]
        out_rows = [_format_row(r, time_idx) for r in rows]
        executed_text = plan.flux if plan.target == "flux" else plan.influxql
        times = [r[time_idx[0]] for r in all_rows if time_idx and r[time_idx[0]] is not None]
        return QueryResponse(
            query_id=query_id,
            input=InputInfo(
                text=req.query, language=plan.language, detected=plan.detected, reason=plan.reason
            ),
            model=model_info(plan.model),
            query=RenderedQuery(
                language=plan.target,  # type: ignore[arg-type]
                text=executed_text or "",
                executed=table is not None,
            ),
            renderings=Renderings(influxql=plan.influxql, flux=plan.flux),
            engine=self.backend.engine,
            columns=[
                ColumnInfo(name=c.name, kind=c.kind, unit="RFC3339" if c.kind == "time" else c.unit)  # type: ignore[arg-type]
                for c in columns
            ],
            rows=out_rows,
            series=_series(columns, out_rows),
            row_count=len(out_rows),
            truncated=len(all_rows) > len(rows),
            time_range=time_range_info(plan.model),
            data_range=DataRange(first=format_time(min(times)), last=format_time(max(times)))
            if times
            else None,
            timings=Timings(
                parse_ms=round((parsed - began) * 1000 - render_ms, 3),
                render_ms=round(render_ms, 3),
                execute_ms=round(execute_ms, 3),
                total_ms=round((time.perf_counter() - began) * 1000, 3),
            ),
            cache=CacheInfo(
                hit=hit,
                key=key,
                age_s=None if age is None else round(age, 3),
                ttl_s=self.cache.ttl_s,
            ),
            translation=None if plan.translation is None else translation_info(plan.translation),
            warnings=list(plan.warnings or []),
        )


def _format_row(row: list[Any], time_idx: list[int]) -> list[Any]:
    out = list(row)
    for i in time_idx:
        if isinstance(out[i], int):
            out[i] = format_time(out[i])
    return out


def _series(columns: list[Column], rows: list[list[Any]]) -> list[SeriesInfo]:
    tag_idx = [i for i, c in enumerate(columns) if c.kind == "tag"]
    other = [i for i, c in enumerate(columns) if c.kind != "tag"]
    groups: dict[tuple[Any, ...], list[list[Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[i] for i in tag_idx), []).append([row[i] for i in other])
    return [
        SeriesInfo(
            tags={columns[i].name: v for i, v in zip(tag_idx, key, strict=True)},
            columns=[columns[i].name for i in other],
            values=values,
        )
        for key, values in groups.items()
    ]


__all__ = ["QueryProcessor", "TargetLanguage", "execution_api_error", "new_query_id"]
