"""How the API answers failures: every error is JSON with the request's ``X-Query-Id`` — the
structured :class:`ErrorResponse` on v2 routes, the legacy ``{"error", "query_id"}`` (400, 401,
429 or 500 only) on the legacy contract's paths. Invalid request bodies are also logged as
``api.request_malformed`` security events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ons_pipeline.api.deps import query_id_of
from ons_pipeline.api.errors import ApiError
from ons_pipeline.api.routes import health, legacy
from ons_pipeline.api.schemas import ErrorDetail, ErrorResponse, LegacyError
from ons_pipeline.api.security import malformed_request
from ons_pipeline.lib.query.errors import QueryServiceError
from ons_pipeline.lib.query.service import new_query_id

log = logging.getLogger(__name__)

LEGACY_PATHS = frozenset({*legacy.QUERY_PATHS, *health.LEGACY_PATHS})


def error_response(request: Request, exc: ApiError) -> JSONResponse:
    qid = query_id_of(request)
    request.state.error_status = exc.status  # what the metrics count (legacy hides 504)
    headers = {**exc.headers, "X-Query-Id": qid}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    if request.url.path in LEGACY_PATHS:
        status = exc.status if exc.status in (400, 401, 429) else 500 if exc.status >= 500 else 400
        body = LegacyError(error=exc.message, query_id=qid).model_dump()
        return JSONResponse(body, status_code=status, headers=headers)
    body = ErrorResponse(error=ErrorDetail(**exc.to_dict()), query_id=qid).model_dump(mode="json")
    return JSONResponse(jsonable_encoder(body), status_code=exc.status, headers=headers)


def install(app: FastAPI) -> None:
    """The query-id middleware and the exception handlers."""

    @app.middleware("http")
    async def assign_query_id(request: Request, call_next: Callable[..., Any]) -> Any:
        request.state.query_id = new_query_id()
        response = await call_next(request)
        response.headers["X-Query-Id"] = request.state.query_id
        return response

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(QueryServiceError)
    async def on_service_error(request: Request, exc: QueryServiceError) -> JSONResponse:
        return error_response(request, ApiError.from_service(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        malformed_request(request, exc.errors())
        if request.url.path in LEGACY_PATHS:
            message = "invalid request body: expected JSON {'question': '...'} (1-1000 characters)"
            return error_response(request, ApiError(400, "bad_request", message))
        errors = jsonable_encoder(exc.errors(), exclude={"ctx", "url"})
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors
        )
        return error_response(
            request, ApiError(422, "validation_error", message, {"errors": errors})
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(request, ApiError(exc.status_code, code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(
            request,
            ApiError(500, "internal_error", f"unexpected server error: {type(exc).__name__}"),
        )
