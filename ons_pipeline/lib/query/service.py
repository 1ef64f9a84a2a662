"""The query service: input → (detected) language → query model → rendered query → cached
execution → one stable response (:class:`~ons_pipeline.lib.query.response.QueryResponse`).

Used by the HTTP API and by ``ons-pipeline query``; no web framework here. Failures are the
domain errors of :mod:`ons_pipeline.lib.query.errors` (the API maps them to HTTP statuses).

Questions: a question with anything not understood — a word, a filter, a period, a number, a
measure — is refused (:class:`QuestionNotUnderstood`, with what was not understood and suggestions),
never answered more broadly than asked; ``lenient`` keeps the older behaviour (only measures,
periods, subsystems, filters, numbers and combinations refuse, other words are warnings). Filler
words ("por favor") are ignored with a warning (``strict`` refuses them too). A question without a
period is asked of the latest week of data (the latest time of its table in InfluxDB, looked up and
cached for ``ttl_s``), and every answer states the interpreted question in words.

Cache: results are kept ``ttl_s`` seconds under the SHA-256 of the normalised query — for anything
with a query model, its ``to_dict()`` as sorted JSON (so equivalent inputs share an entry and a
relative period resolves to absolute times first); for raw InfluxQL/Flux, the text with whitespace
and comments normalised — together with the target language, engine, database and retention
policy. Only successful results are cached.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.client import InfluxError, quote_ident
from ons_pipeline.lib.query import detect
from ons_pipeline.lib.query.backend import InfluxBackend, ResultTable, with_float_columns
from ons_pipeline.lib.query.cache import TTLCache, cache_key
from ons_pipeline.lib.query.errors import (
    InvalidParameter,
    QueryRefused,
    QuestionNotUnderstood,
    UnsupportedLanguage,
)
from ons_pipeline.lib.query.execute import Column, QueryResult, execute, result_columns
from ons_pipeline.lib.query.flux import render_flux
from ons_pipeline.lib.query.influxql import RenderError, render_influxql
from ons_pipeline.lib.query.model import (
    ModelError,
    QueryModel,
    format_time,
    from_ns,
    zone_info,
)
from ons_pipeline.lib.query.nl import (
    MAX_QUESTION_CHARS,
    PLANT_TABLE,
    PLANT_TAG,
    STRUCTURAL_GAPS,
    RuleTranslator,
    Translation,
    Unmapped,
)
from ons_pipeline.lib.query.response import (
    AnsweredFrom,
    CacheInfo,
    ColumnInfo,
    DataRange,
    InputInfo,
    QueryResponse,
    RenderedQuery,
    Renderings,
    SeriesInfo,
    Timings,
    model_info,
    time_range_info,
    translation_info,
)
from ons_pipeline.lib.query.timestream_sql import SqlError, SqlTranslation, execute_sql, parse_sql
from ons_pipeline.lib.rollup.spec import rollup_tables
from ons_pipeline.lib.settings import ApiSettings

MAX_ROWS_LIMIT = 100_000
MAX_PREVIOUS = 10  # earlier questions of a conversation a request may send
MAX_TIMEOUT_S = 300.0


class InputLanguage(StrEnum):
    AUTO = "auto"
    QUESTION = "question"
    INFLUXQL = "influxql"
    FLUX = "flux"
    TIMESTREAM_SQL = "timestream_sql"


class TargetLanguage(StrEnum):
    INFLUXQL = "influxql"
    FLUX = "flux"


@dataclass(frozen=True)
class QueryInput:
    """One request to the service: the text (a question, InfluxQL, Flux or Timestream SQL) and
    how to run it. ``None`` options take the service's settings."""

    query: str
    language: InputLanguage = InputLanguage.AUTO
    target: TargetLanguage = TargetLanguage.INFLUXQL
    execute: bool = True
    now: datetime | None = None
    timezone: str | None = None
    max_rows: int | None = None
    timeout_s: float | None = None
    use_cache: bool = True
    strict: bool = False
    lenient: bool = False
    rollups: bool | None = None  # None: the service's setting (ONS_QUERY_ROLLUPS)
    previous: tuple[str, ...] = ()  # the conversation's earlier questions, oldest first

    def __post_init__(self) -> None:
        problems = []
        if not self.query:
            problems.append("query: must not be empty")
        if len(self.previous) > MAX_PREVIOUS or any(
            not q or len(q) > MAX_QUESTION_CHARS for q in self.previous
        ):
            problems.append(
                f"previous: at most {MAX_PREVIOUS} questions of 1 to {MAX_QUESTION_CHARS} "
                "characters"
            )
        if self.now is not None and self.now.tzinfo is None:
            problems.append("now: needs a time zone")
        if self.max_rows is not None and not 1 <= self.max_rows <= MAX_ROWS_LIMIT:
            problems.append(f"max_rows: must be between 1 and {MAX_ROWS_LIMIT}")
        if self.timeout_s is not None and not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            problems.append(f"timeout_s: must be above 0 and at most {MAX_TIMEOUT_S:g}")
        if self.strict and self.lenient:
            problems.append("strict and lenient: choose one")
        if problems:
            raise InvalidParameter("validation_error", "; ".join(problems))


def new_query_id() -> str:
    return str(uuid.uuid4())


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
    warnings: list[str] = field(default_factory=list)
    render_ms: float = 0.0
    rollups: bool = True  # a model may be answered from the rollups


class QueryProcessor:
    """See the module docstring."""

    def __init__(
        self,
        backend: InfluxBackend,
        settings: ApiSettings,
        cache: TTLCache | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        zone_info(settings.timezone)  # an unknown zone fails here, not at the first question
        self.backend = backend
        self.settings = settings
        self.cache = cache or TTLCache(self.settings.cache_ttl_s, self.settings.cache_max_entries)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lookups: dict[tuple[str, ...], tuple[Any, float]] = {}
        self._lookups_lock = threading.Lock()

    def _remembered(self, key: tuple[str, ...], lookup: Callable[[], Any]) -> Any:
        """``lookup()`` cached ``cache_ttl_s`` seconds (a failure, as ``None``, 5 s)."""
        mark = time.monotonic()
        with self._lookups_lock:
            cached = self._lookups.get(key)
            if cached is not None and cached[1] > mark:
                return cached[0]
        try:
            value, ttl = lookup(), self.settings.cache_ttl_s
        except (InfluxError, KeyError, IndexError, TypeError, ValueError):
            value, ttl = None, 5.0
        with self._lookups_lock:
            self._lookups[key] = (value, mark + ttl)
        return value

    def _source(self, table: str) -> str:
        source = quote_ident(schema.table(table).measurement)
        rp = self.backend.retention_policy
        return f"{quote_ident(rp)}.{source}" if rp else source

    def _lookup(self, text: str) -> list[dict[str, Any]]:
        runner = self.backend.runner(min(self.settings.query_timeout_s, 10.0))
        results = runner.query(text, self.backend.database, "ns")
        return (results[0].get("series") or []) if results else []

    def latest_data(self, table: str) -> datetime | None:
        """Time of the latest point of ``table`` in InfluxDB (``None`` when empty or the lookup
        fails), cached ``cache_ttl_s`` seconds (a failure 5 s)."""
        return self._data_edge(table, "last")

    def earliest_data(self, table: str) -> datetime | None:
        """Time of the first point of ``table`` (cached as :meth:`latest_data`)."""
        return self._data_edge(table, "first")

    def _data_edge(self, table: str, func: str) -> datetime | None:
        field_name = quote_ident(schema.table(table).fields[0].name)

        def lookup() -> datetime | None:
            series = self._lookup(f"SELECT {func}({field_name}) FROM {self._source(table)}")
            return from_ns(int(series[0]["values"][0][0])) if series else None

        value: datetime | None = self._remembered((func, table), lookup)
        return value

    def known_values(self, table: str, tag: str) -> frozenset[str] | None:
        """The values ``tag`` has in ``table``'s measurement (cached as :meth:`latest_data`)."""

        def lookup() -> frozenset[str]:
            text = f"SHOW TAG VALUES FROM {self._source(table)} WITH KEY = {quote_ident(tag)}"
            return frozenset(str(v[1]) for s in self._lookup(text) for v in s.get("values") or [])

        value: frozenset[str] | None = self._remembered(("values", table, tag), lookup)
        return value

    def known_plants(self) -> frozenset[str] | None:
        """The plant names the data holds (what the question reader matches names against)."""
        return self.known_values(PLANT_TABLE, PLANT_TAG)

    # -- planning -----------------------------------------------------------------------------
    def _plan(self, req: QueryInput, now: datetime) -> _Plan:
        text = req.query
        if req.language is InputLanguage.AUTO:
            language, reason = detect.detect_language(text, now)
            plan = _Plan(language, True, reason)
        else:
            plan = _Plan(str(req.language), False, "given by the request")
        if plan.language == detect.QUESTION:
            self._plan_question(plan, req, now)
        elif plan.language == detect.TIMESTREAM_SQL:
            try:
                plan.sql = parse_sql(text, now)
            except SqlError as exc:
                raise QueryRefused("sql_error", str(exc).split("\n", 1)[0], exc.to_dict()) from None
            except ModelError as exc:
                raise QueryRefused("bad_query", str(exc)) from None
            plan.model = plan.sql.model
        elif plan.language == detect.INFLUXQL:
            detect.check_readonly_influxql(text)
            plan.influxql = text
            plan.target = "influxql"
        else:
            detect.check_readonly_flux(text)
            plan.flux = text
            plan.target = "flux"
        if plan.model is not None:
            plan.target = str(req.target)
            mark = time.perf_counter()
            model, rp, bucket = plan.model, self.backend.retention_policy, self.backend.database
            plan.influxql = self._rendering(plan, "influxql", lambda: render_influxql(model, rp))
            plan.flux = self._rendering(plan, "flux", lambda: render_flux(model, bucket))
            plan.render_ms = (time.perf_counter() - mark) * 1000
        return plan

    @staticmethod
    def _rendering(plan: _Plan, language: str, render: Callable[[], str]) -> str | None:
        """One rendering of the plan's model; failing is a warning, unless it is the target."""
        name = {"influxql": "InfluxQL", "flux": "Flux"}[language]
        try:
            return render()
        except (RenderError, ModelError) as exc:
            if plan.target == language:
                raise QueryRefused("render_error", f"{name}: {exc}") from None
            plan.warnings.append(f"no {name} rendering: {exc}")
            return None

    def _plan_question(self, plan: _Plan, req: QueryInput, now: datetime) -> None:
        # the server is asked about its data only for a query it will run
        runs = req.execute and (str(req.target) != "flux" or self.backend.supports_flux)
        try:
            translator = RuleTranslator(
                timezone=req.timezone or self.settings.timezone,
                latest=self.latest_data if runs else None,
                plants=self.known_plants if runs else None,
                earliest=self.earliest_data if runs else None,
            )
        except ModelError as exc:
            raise InvalidParameter("validation_error", f"timezone: {exc}") from None
        try:
            tr = translator.translate(req.query, now, previous=req.previous)
        except ModelError as exc:
            raise QuestionNotUnderstood("untranslatable_question", str(exc)) from None
        plan.translation = tr
        details: dict[str, Any] = {
            "translation": translation_info(tr).model_dump(),
            "model": None if tr.model is None else tr.model.to_dict(),
            "interpretation": tr.interpretation or None,
            "not_understood": [_unmapped_detail(u) for u in tr.unmapped],
            "suggestions": _suggestions(tr),
        }
        if tr.model is None:
            raise QuestionNotUnderstood(
                "untranslatable_question",
                "the question names no measure of the data"
                + (": " + "; ".join(str(u) for u in tr.unmapped) if tr.unmapped else ""),
                details,
            )
        gaps = [u for u in tr.unmapped if not req.lenient or u.kind in STRUCTURAL_GAPS]
        if req.strict and tr.ignored:
            gaps += [Unmapped("word", w, "filler word (strict mode)") for w in tr.ignored]
            details["not_understood"] = [_unmapped_detail(u) for u in gaps]
        if gaps:
            raise QuestionNotUnderstood(
                "incomplete_translation",
                "part of the question was not understood, so it is not answered (rephrase it, "
                "or send lenient=true to ignore words): " + "; ".join(str(u) for u in gaps),
                details,
            )
        if tr.unmapped:
            plan.warnings.append(
                "words not understood (ignored, lenient mode): "
                + ", ".join(repr(u.text) for u in tr.unmapped)
            )
        if tr.ignored:
            plan.warnings.append("filler words ignored: " + ", ".join(repr(w) for w in tr.ignored))
        plan.model = tr.model

    def _key(self, plan: _Plan, text: str) -> str:
        payload: dict[str, Any] = {
            "target": plan.target,
            "engine": self.backend.engine,
            "db": self.backend.database,
            "rp": self.backend.retention_policy,
        }
        if plan.model is not None:
            payload["rollups"] = plan.rollups
        if plan.model is not None:
            payload["model"] = plan.model.to_dict()
            if plan.sql is not None and plan.sql.constants:
                payload["sql_columns"] = list(plan.sql.columns)
                payload["sql_constants"] = plan.sql.constants
        else:
            payload["language"] = plan.language
            payload["text"] = detect.normalise_query_text(text, plan.language)
        return cache_key(payload)

    # -- execution ----------------------------------------------------------------------------
    def _execute(self, plan: _Plan, timeout: float) -> ResultTable:
        """The plan's rows, float columns as floats (:func:`with_float_columns`)."""
        if plan.target == "flux":
            assert plan.flux is not None
            table = self.backend.run_flux(plan.flux, timeout, plan.model)
        elif plan.model is None:
            assert plan.influxql is not None
            table = self.backend.run_influxql(plan.influxql, timeout)
        else:
            table = ResultTable.from_result(self._run_model(plan, timeout))
        return with_float_columns(table)

    def _run_model(self, plan: _Plan, timeout: float) -> QueryResult:
        assert plan.model is not None
        runner = self.backend.runner(timeout)
        if plan.sql is not None:
            return execute_sql(
                plan.sql,
                runner,
                self.backend.database,
                retention_policy=self.backend.retention_policy,
                rollups=rollup_tables() if plan.rollups else None,
            )
        return execute(
            plan.model,
            runner,
            self.backend.database,
            self.backend.retention_policy,
            rollups=rollup_tables() if plan.rollups else None,
        )

    def execute_model(
        self, model: QueryModel, timeout: float | None = None, use_cache: bool = True
    ) -> tuple[QueryResult, bool]:
        """Run a model through the cache (the RAG flow's executor): ``(result, cache_hit)``."""
        plan = _Plan(
            "model", False, "", model=model, target="influxql", rollups=self.settings.rollups
        )
        key = self._key(plan, "")
        if use_cache:
            cached = self.cache.get(key)
            if cached is not None:
                return cached[0].to_query_result(), True
        table = self._execute(plan, timeout or self.settings.query_timeout_s)
        self.cache.put(key, table)
        return table.to_query_result(), False

    def process(self, req: QueryInput, query_id: str | None = None) -> QueryResponse:
        """Plan, execute (or dry-run) and shape one request; raises a
        :class:`~ons_pipeline.lib.query.errors.QueryServiceError`."""
        began = time.perf_counter()
        query_id = query_id or new_query_id()
        now = req.now or self.clock()
        plan = self._plan(req, now)
        plan.rollups = self.settings.rollups if req.rollups is None else req.rollups
        parsed = time.perf_counter()
        render_ms = plan.render_ms
        key = self._key(plan, req.query)
        timeout = req.timeout_s or self.settings.query_timeout_s
        if plan.target == "flux" and req.execute and not self.backend.supports_flux:
            raise UnsupportedLanguage(
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
                except (RenderError, ModelError) as exc:
                    raise QueryRefused("render_error", str(exc)) from None
                execute_ms = (time.perf_counter() - mark) * 1000
                self.cache.put(key, table)
        return self._response(
            req, query_id, plan, table, key, hit, age, began, parsed, render_ms, execute_ms
        )

    # -- shaping ------------------------------------------------------------------------------
    def _response(
        self,
        req: QueryInput,
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
            interpretation=plan.translation.interpretation or None
            if plan.translation is not None
            else None,
            warnings=list(plan.warnings),
            answered_from=_answered_from(table),
        )


def _answered_from(table: ResultTable | None) -> AnsweredFrom | None:
    if table is None or table.source is None:
        return None
    return AnsweredFrom.model_validate(table.source.to_dict())


def _unmapped_detail(u: Unmapped) -> dict[str, Any]:
    return {"kind": u.kind, "text": u.text, "reason": u.reason, "suggestions": list(u.suggestions)}


_EXAMPLES = {
    "pt": [
        "carga média do Sudeste em março de 2024",
        "geração eólica do Nordeste por dia na primeira quinzena de março de 2024",
        "quanto o Nordeste exportou para o Sudeste em março de 2024",
        "qual subsistema teve a maior carga em fevereiro de 2024",
        "as 5 usinas que mais geraram em 2023",
    ],
    "en": [
        "average load in the Southeast in March 2024",
        "daily wind generation in the Northeast in the first half of March 2024",
        "how much did the Northeast export to the Southeast in March 2024",
        "which subsystem had the highest load in February 2024",
        "the 5 plants that generated the most in 2023",
    ],
}


def _suggestions(tr: Translation) -> list[str]:
    """What the user may have meant: close words first, then example questions."""
    out: list[str] = []
    for u in tr.unmapped:
        for s in u.suggestions:
            if s not in out:
                out.append(s)
    return out + _EXAMPLES.get(tr.language, _EXAMPLES["en"])


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
