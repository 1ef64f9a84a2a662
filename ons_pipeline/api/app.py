"""The HTTP API (FastAPI): the v2 query processor and RAG context, and the legacy contract.

Routes (OpenAPI at ``/openapi.json``, docs at ``/docs``):

- ``POST /v2/query`` — question (pt-BR/en), InfluxQL, Flux or Timestream SQL → the stable
  :class:`QueryResponse`; errors are :class:`ErrorResponse` with 400/401/422/501/502/504/500.
- ``POST /v2/context`` — RAG: a question → context block with numbered citations and an answer.
- ``GET /v2/health`` (InfluxDB, knowledge base, cache), ``GET /v2/tables`` (schema and units).
- Legacy, exactly the replaced platform's shapes (DESIGN.md §7): ``GET /health`` and
  ``POST /query`` — also mounted at ``/v1/health`` and ``/v1/query`` — so existing clients keep
  working by changing only the base URL.

Authentication: every data route (``/query``, ``/v1/query``, ``/v2/query``, ``/v2/context``)
needs the API key (``ONS_API_KEY``) as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``,
compared in constant time; health, tables and the OpenAPI document are open. With no key
configured the data routes answer 401 (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from ons_pipeline.api.config import ApiSettings
from ons_pipeline.api.errors import ApiError
from ons_pipeline.api.legacy import MAX_QUESTION, legacy_response
from ons_pipeline.api.schemas import (
    LEGACY_ERRORS,
    V2_ERRORS,
    ContextRequest,
    ErrorDetail,
    ErrorResponse,
    FieldInfo,
    HealthResponse,
    LegacyError,
    LegacyHealth,
    LegacyQueryRequest,
    LegacyQueryResponse,
    QueryRequest,
    TableInfo,
)
from ons_pipeline.lib import schema
from ons_pipeline.lib.query.backend import InfluxBackend
from ons_pipeline.lib.query.errors import QueryServiceError
from ons_pipeline.lib.query.response import QueryResponse
from ons_pipeline.lib.query.service import QueryProcessor, new_query_id
from ons_pipeline.lib.rag.response import ContextResponse
from ons_pipeline.lib.rag.service import RagService

log = logging.getLogger(__name__)

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey")
BEARER = HTTPBearer(auto_error=False, scheme_name="Bearer")
LEGACY_PATHS = frozenset({"/query", "/v1/query", "/health", "/v1/health"})


def _version() -> str:
    try:
        return importlib.metadata.version("ons-pipeline")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "0"


def keys_match(supplied: str, expected: str) -> bool:
    """Constant-time comparison of SHA-256 digests (no early exit, no length leak)."""
    a = hashlib.sha256(supplied.encode("utf-8")).digest()
    b = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(a, b)


def _is_legacy(request: Request) -> bool:
    return request.url.path in LEGACY_PATHS


def _query_id(request: Request) -> str:
    qid = getattr(request.state, "query_id", None)
    return qid if isinstance(qid, str) else new_query_id()


def _error(request: Request, exc: ApiError) -> JSONResponse:
    qid = _query_id(request)
    headers = {"X-Query-Id": qid}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    if _is_legacy(request):
        status = exc.status if exc.status in (400, 401) else 500 if exc.status >= 500 else 400
        body = LegacyError(error=exc.message, query_id=qid).model_dump()
        return JSONResponse(body, status_code=status, headers=headers)
    body = ErrorResponse(error=ErrorDetail(**exc.to_dict()), query_id=qid).model_dump(mode="json")
    return JSONResponse(jsonable_encoder(body), status_code=exc.status, headers=headers)


def create_app(
    settings: ApiSettings | None = None,
    *,
    backend: InfluxBackend | None = None,
    processor: QueryProcessor | None = None,
    rag: RagService | None = None,
    clock: Callable[[], datetime] | None = None,
    preload_knowledge: bool = False,
) -> FastAPI:
    """The API. Every collaborator can be injected (tests pass a shared knowledge index)."""
    settings = settings or ApiSettings.from_env()
    backend = backend or InfluxBackend.connect(settings.influx)
    processor = processor or QueryProcessor(backend, settings, clock=clock)
    rag = rag or RagService(processor, cache_dir=settings.rag_cache_dir)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if preload_knowledge:
            threading.Thread(target=lambda: rag.retriever, name="kb-preload", daemon=True).start()
        yield
        backend.close()

    app = FastAPI(
        title="ons-pipeline query API",
        version=_version(),
        summary="ONS time series on InfluxDB: questions, InfluxQL, Flux, Timestream SQL, RAG",
        description=__doc__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.processor = processor
    app.state.rag = rag

    def require_api_key(
        key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    ) -> None:
        expected = settings.api_key
        if not expected:
            raise ApiError(
                401, "unauthorized", "the server has no API key configured (set ONS_API_KEY)"
            )
        supplied = key or (credentials.credentials if credentials else None)
        if supplied is None or not keys_match(supplied, expected):
            raise ApiError(401, "unauthorized", "missing or invalid API key")

    @app.middleware("http")
    async def assign_query_id(request: Request, call_next: Callable[..., Any]) -> Any:
        request.state.query_id = new_query_id()
        response = await call_next(request)
        response.headers["X-Query-Id"] = request.state.query_id
        return response

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(request, exc)

    @app.exception_handler(QueryServiceError)
    async def on_service_error(request: Request, exc: QueryServiceError) -> JSONResponse:
        return _error(request, ApiError.from_service(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _is_legacy(request):
            message = "invalid request body: expected JSON {'question': '...'} (1-1000 characters)"
            return _error(request, ApiError(400, "bad_request", message))
        errors = jsonable_encoder(exc.errors(), exclude={"ctx", "url"})
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors
        )
        return _error(request, ApiError(422, "validation_error", message, {"errors": errors}))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(request, ApiError(exc.status_code, code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _error(
            request,
            ApiError(500, "internal_error", f"unexpected server error: {type(exc).__name__}"),
        )

    # -- legacy ---------------------------------------------------------------------------------
    def legacy_health() -> LegacyHealth:
        ping = backend.ping()
        return LegacyHealth(
            status="healthy" if ping["reachable"] else "degraded",
            timestamp=int(time.time()),
            version=_version(),
        )

    for path in ("/health", "/v1/health"):
        app.add_api_route(
            path,
            legacy_health,
            methods=["GET"],
            response_model=LegacyHealth,
            tags=["legacy"],
            summary="Health (legacy contract)",
        )

    def legacy_query(request: Request, body: LegacyQueryRequest) -> LegacyQueryResponse:
        began = time.perf_counter()
        text = body.question if body.question is not None else body.query
        if text is None or not text.strip():
            raise ApiError(400, "bad_request", "a question is required: {'question': '...'}")
        if len(text) > MAX_QUESTION:
            raise ApiError(
                400, "bad_request", f"the question is longer than {MAX_QUESTION} characters"
            )
        result = rag.run(text, max_points=1000)
        return legacy_response(
            result,
            _query_id(request),
            began,
            backend.database,
            rag.embedder_name,
        )

    for path in ("/query", "/v1/query"):
        app.add_api_route(
            path,
            legacy_query,
            methods=["POST"],
            response_model=LegacyQueryResponse,
            response_model_exclude_none=True,
            dependencies=[Depends(require_api_key)],
            responses=LEGACY_ERRORS,
            tags=["legacy"],
            summary="Answer a question (legacy contract)",
        )

    # -- v2 -------------------------------------------------------------------------------------
    @app.post(
        "/v2/query",
        response_model=QueryResponse,
        responses=V2_ERRORS,
        dependencies=[Depends(require_api_key)],
        tags=["query"],
        summary="Run a question, InfluxQL, Flux or Timestream SQL query",
    )
    def v2_query(request: Request, body: QueryRequest) -> QueryResponse:
        return processor.process(body.to_input(), _query_id(request))

    @app.post(
        "/v2/context",
        response_model=ContextResponse,
        responses=V2_ERRORS,
        dependencies=[Depends(require_api_key)],
        tags=["rag"],
        summary="RAG context with citations for a question",
    )
    def v2_context(request: Request, body: ContextRequest) -> ContextResponse:
        return rag.respond(
            body.question,
            now=body.now,
            k=body.k,
            max_points=body.max_points,
            timeseries=body.timeseries,
            query_id=_query_id(request),
        )

    @app.get("/v2/health", response_model=HealthResponse, tags=["meta"])
    def v2_health() -> HealthResponse:
        ping = backend.ping()
        return HealthResponse(
            status="healthy" if ping["reachable"] else "degraded",
            timestamp=int(time.time()),
            version=_version(),
            influxdb={**ping, "engine": backend.engine, "database": backend.database},
            knowledge_base=rag.knowledge_status(),
            cache=asdict(processor.cache.stats()),
        )

    @app.get("/v2/tables", response_model=list[TableInfo], tags=["meta"])
    def v2_tables() -> list[TableInfo]:
        return [
            TableInfo(
                table=name,
                measurement=spec.measurement,
                description=spec.description,
                source=str(spec.source),
                grain=str(spec.grain),
                tags=list(spec.tags),
                fields=[FieldInfo(name=f.name, type=str(f.type), unit=f.unit) for f in spec.fields],
            )
            for name, spec in schema.tables().items()
        ]

    return app
