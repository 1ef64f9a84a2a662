"""The replaced platform's public contract, kept for existing clients (DESIGN.md §7).

``POST /query`` (and ``/v1/query``) with ``{"question": "..."}`` or ``{"query": "..."}`` (1–1000
characters) behind the API key answers with the old body: ``query_id``, ``question``, ``answer``,
``confidence_score``, ``sources`` (``{id, type, relevance_score, excerpt ≤ 200 chars, location}``;
time-series sources also carry ``query`` and ``record_count``), ``processing_time_ms``,
``timestamp`` (epoch s), ``metadata`` and, when data was used, ``time_series_data``. Errors are
``{"error": ..., "query_id": ...}`` (400 bad request, 401 API key, 429 rate limit with
``Retry-After``, 500 server error).

A ``question`` or ``query`` written in InfluxQL, Flux or Timestream SQL (the old platform's
clients sent SQL in ``query``) is not a question: it runs as on ``POST /v2/query`` (same cache,
read-only guard and limits) and answers in the same body — ``time_series_data`` holds the
InfluxQL (or Flux) that ran, its data points and row count, ``answer`` summarises the rows; a
query the service refuses is the legacy 400 error. A question's answer comes from the RAG flow
(translator → InfluxQL on the v1 endpoint → knowledge
base → template composer), so the old faults — English-only keywords, InfluxQL sent to the Flux
endpoint, fields the loader never wrote — are gone while the shape stays.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from ons_pipeline.api.deps import Backend, Processor, QueryId, Rag
from ons_pipeline.api.errors import ApiError
from ons_pipeline.api.schemas import (
    LEGACY_ERRORS,
    LegacyDataPoint,
    LegacyMetadata,
    LegacyQueryRequest,
    LegacyQueryResponse,
    LegacySource,
    LegacyTimeSeriesData,
)
from ons_pipeline.api.security import malformed_request
from ons_pipeline.lib.query.errors import QueryServiceError
from ons_pipeline.lib.query.legacy import legacy_data, query_language
from ons_pipeline.lib.query.model import Agg, FieldRef, leaves, strip_transform
from ons_pipeline.lib.query.service import InputLanguage, QueryInput, QueryProcessor
from ons_pipeline.lib.rag.compose import data_confidence
from ons_pipeline.lib.rag.pipeline import RagResult
from ons_pipeline.lib.rag.timeseries import Evidence

MAX_QUESTION = 1000
QUERY_PATHS = ("/query", "/v1/query")


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _field_names(ev: Evidence) -> dict[str, str]:
    """Column alias → the field it reads (the alias itself for arithmetic of several fields)."""
    out = {}
    for sel in ev.model.selections:
        inner, _ = strip_transform(sel.expr)
        names = {leaf.field if isinstance(leaf, Agg) else leaf.name for leaf in leaves(inner)}
        single = isinstance(inner, Agg | FieldRef) or len(names) == 1
        out[sel.alias] = next(iter(names)) if single and names else sel.alias
    return out


def _ts_excerpt(ev: Evidence) -> str:
    tr = ev.time_range
    filters = ",".join(f"{k}={'|'.join(v)}" for k, v in ev.filters.items())
    text = f"{ev.measurement} {', '.join(ev.fields)}"
    if filters:
        text += f" ({filters})"
    text += f" [{tr['start']}, {tr['end']}): {ev.points_total} rows"
    if ev.series and ev.series[0].stats and ev.series[0].stats[0].mean is not None:
        st = ev.series[0].stats[0]
        text += f"; {st.column} mean {st.mean:.2f} {st.unit}".rstrip()
    if ev.error:
        text += f"; failed: {ev.error}"
    return _clip(text)


def _query_type(ev: Evidence) -> str:
    if ev.model.top is not None:
        return "top_n"
    return "aggregation" if ev.model.aggregated else "raw"


def legacy_response(
    result: RagResult,
    query_id: str,
    began: float,
    database: str,
    embedder: str,
    max_data_points: int = 1000,
) -> LegacyQueryResponse:
    ctx = result.context
    sources: list[LegacySource] = []
    question_ev = [e for e in ctx.question_evidence if not e.error]
    ts_conf = max((data_confidence(e, ctx.translation) for e in question_ev), default=0.0)
    by_ref = {ev.ref: ev for ev in ctx.evidence}
    for item in ctx.citations():
        if item["type"] == "knowledge_base":
            sources.append(
                LegacySource(
                    id=item["doc_id"],
                    type="knowledge_base",
                    relevance_score=round(min(1.0, max(0.0, item["relevance_score"])), 4),
                    excerpt=_clip(item["excerpt"]),
                    location=item["location"],
                )
            )
            continue
        ev = by_ref[item["ref"]]
        sources.append(
            LegacySource(
                id=f"ts-{ev.ref}",
                type="time_series",
                relevance_score=round(ts_conf if ev.purpose == "question" else 0.5, 4),
                excerpt=_ts_excerpt(ev),
                location=f"influxdb://{database}/{ev.measurement}",
                query=ev.query,
                record_count=ev.points_total,
            )
        )
    kb_used = any(k.ref in result.answer.citations_used for k in ctx.knowledge)
    query_type = ("hybrid" if kb_used else "time_series") if question_ev else "knowledge_base"
    ts_data = None
    if question_ev:
        ev = question_ev[0]
        names = _field_names(ev)
        points: list[LegacyDataPoint] = []
        for point in ev.points:
            for column, value in point["values"].items():
                if value is None or len(points) >= max_data_points:
                    continue
                points.append(
                    LegacyDataPoint(
                        timestamp=point["time"] or "",
                        measurement=ev.measurement,
                        field=names.get(column, column),
                        value=value,
                        tags=dict(point["tags"]),
                    )
                )
        ts_data = LegacyTimeSeriesData(
            query_type=_query_type(ev),
            influxdb_query=ev.query,
            data_points=points,
            record_count=ev.points_total,
            processing_time_ms=round(ev.elapsed_ms, 3),
        )
    metadata: dict[str, Any] = {
        "query_type": query_type,
        "citation_count": len(result.answer.citations_used),
        "model_used": f"{result.answer.composer} + {embedder}",
        "has_timeseries_context": bool(question_ev),
        "timeseries_confidence": round(ts_conf, 4),
    }
    return LegacyQueryResponse(
        query_id=query_id,
        question=ctx.question,
        answer=result.answer.text,
        confidence_score=result.answer.confidence,
        sources=sources,
        processing_time_ms=round((time.perf_counter() - began) * 1000, 3),
        timestamp=int(time.time()),
        metadata=LegacyMetadata(**metadata),
        time_series_data=ts_data,
    )


def direct_query_response(
    processor: QueryProcessor,
    text: str,
    language: str,
    query_id: str,
    began: float,
    database: str,
    max_data_points: int = 1000,
) -> LegacyQueryResponse:
    """A query written in InfluxQL, Flux or Timestream SQL, run as ``POST /v2/query`` runs it
    (same cache, read-only guard and limits), in the legacy body. A query the service refuses
    or cannot run is the legacy error (400 for the query, 500 for the server), pointing to
    ``/v2/query`` for the structured error."""
    try:
        resp = processor.process(QueryInput(query=text, language=InputLanguage(language)), query_id)
    except QueryServiceError as exc:
        error = ApiError.from_service(exc)
        raise ApiError(
            400 if error.status == 501 else error.status,  # a language this server cannot run
            error.code,
            f"{error.message} (POST /v2/query answers queries with a structured error and the "
            "full result)",
            error.details,
            error.headers,
        ) from None
    data = legacy_data(resp, max_points=max_data_points)
    location = f"influxdb://{database}/{data.measurement}"
    source = LegacySource(
        id="ts-1",
        type="time_series",
        relevance_score=1.0,
        excerpt=_clip(data.answer.replace("\n", " ")),
        location=location,
        query=data.query,
        record_count=data.record_count,
    )
    return LegacyQueryResponse(
        query_id=query_id,
        question=text,
        answer=data.answer,
        confidence_score=1.0,
        sources=[source],
        processing_time_ms=round((time.perf_counter() - began) * 1000, 3),
        timestamp=int(time.time()),
        metadata=LegacyMetadata(
            query_type="time_series",
            citation_count=1,
            model_used=f"direct query ({language} → {resp.query.language})",
            has_timeseries_context=True,
            timeseries_confidence=1.0,
        ),
        time_series_data=LegacyTimeSeriesData(
            query_type=data.query_type,
            influxdb_query=data.query,
            data_points=[LegacyDataPoint(**vars(p)) for p in data.points],
            record_count=data.record_count,
            processing_time_ms=round(resp.timings.execute_ms, 3),
        ),
    )


router = APIRouter(tags=["legacy"])


def legacy_query(
    request: Request,
    body: LegacyQueryRequest,
    rag: Rag,
    backend: Backend,
    processor: Processor,
    query_id: QueryId,
) -> LegacyQueryResponse:
    began = time.perf_counter()
    text = body.question if body.question is not None else body.query
    if text is None or not text.strip():
        malformed_request(request, [{"loc": ("body", "question"), "type": "missing"}])
        raise ApiError(400, "bad_request", "a question is required: {'question': '...'}")
    if len(text) > MAX_QUESTION:
        malformed_request(request, [{"loc": ("body", "question"), "type": "string_too_long"}])
        raise ApiError(400, "bad_request", f"the question is longer than {MAX_QUESTION} characters")
    language = query_language(text)
    if language is not None:
        return direct_query_response(processor, text, language, query_id, began, backend.database)
    result = rag.run(text, max_points=1000)
    return legacy_response(result, query_id, began, backend.database, rag.embedder_name)


for _path in QUERY_PATHS:
    router.add_api_route(
        _path,
        legacy_query,
        methods=["POST"],
        response_model=LegacyQueryResponse,
        response_model_exclude_none=True,
        responses=LEGACY_ERRORS,
        summary="Answer a question (legacy contract)",
    )
