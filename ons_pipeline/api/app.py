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
configured the data routes answer 401 (fail closed). Each key is rate limited (token bucket per
process: 429 with ``Retry-After``); rejected keys, malformed bodies and rate limiting are logged
as security events. With ``ONS_API_METRICS`` on, latency, errors and timeouts per endpoint go to
CloudWatch once a minute.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI

from ons_pipeline.api import handlers
from ons_pipeline.api.observability import RequestMetricsMiddleware
from ons_pipeline.api.routes import context, health, legacy, meta, query
from ons_pipeline.api.security import rate_limit
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.ops.apiguard import EventThrottle, RateLimiter
from ons_pipeline.lib.ops.apimetrics import MetricsFlusher, RequestMetrics
from ons_pipeline.lib.ops.monitoring import MetricsPublisher
from ons_pipeline.lib.query.backend import InfluxBackend
from ons_pipeline.lib.query.service import QueryProcessor
from ons_pipeline.lib.rag.service import RagService
from ons_pipeline.lib.settings import Settings

log = logging.getLogger(__name__)


def _preload(rag: RagService) -> None:
    try:
        _ = rag.retriever
    except Exception as exc:  # reported by /v2/health and retried by the first request
        log.warning("knowledge base not ready: %s: %s", type(exc).__name__, exc)


def _metrics_flusher(settings: Settings) -> MetricsFlusher | None:
    """The request metrics' publisher, when ``ONS_API_METRICS`` is on."""
    if not settings.api.metrics:
        return None
    monitoring = settings.monitoring

    def publisher() -> MetricsPublisher:
        import boto3
        from botocore.config import Config

        # Short timeouts and few retries: a failed publication keeps its data for the next one,
        # and a CloudWatch outage must not hold the publisher thread (or shutdown) for minutes.
        config = Config(
            connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
        )
        client = boto3.client("cloudwatch", config=config, **settings.aws.client_kwargs())
        return MetricsPublisher(client, monitoring.namespace, monitoring.environment)

    return MetricsFlusher(RequestMetrics(), publisher, settings.api.metrics_interval_s)


def create_app(
    settings: Settings | None = None,
    *,
    backend: InfluxBackend | None = None,
    processor: QueryProcessor | None = None,
    rag: RagService | None = None,
    clock: Callable[[], datetime] | None = None,
    preload_knowledge: bool = False,
) -> FastAPI:
    """The API on ``settings`` (default: the process's, :func:`load_settings`): ``api`` for its
    knobs, ``influx`` for the InfluxDB connection. Every collaborator can be injected (tests pass
    a shared knowledge index)."""
    settings = settings or load_settings()
    if backend is None:
        backend = processor.backend if processor else InfluxBackend.connect(settings.influx)
    processor = processor or QueryProcessor(backend, settings.api, clock=clock)
    rag = rag or RagService(processor)

    flusher = _metrics_flusher(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if preload_knowledge:
            threading.Thread(target=_preload, args=(rag,), name="kb-preload", daemon=True).start()
        if flusher is not None:
            flusher.start()
        yield
        if flusher is not None:
            flusher.stop()
        backend.close()

    app = FastAPI(
        title="ons-pipeline query API",
        version=meta.api_version(),
        summary="ONS time series on InfluxDB: questions, InfluxQL, Flux, Timestream SQL, RAG",
        description=__doc__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.backend = backend
    app.state.processor = processor
    app.state.rag = rag
    # The HMAC key of the key fingerprints in security events (see lib/ops/apiguard.py).
    app.state.key_secret = (settings.api.fingerprint_key or "").encode() or os.urandom(32)
    app.state.key_rejections = EventThrottle()  # one api.key_rejected per client in 10 s
    app.state.rate_limiter = RateLimiter(
        settings.api.rate_limit_per_s, settings.api.rate_limit_burst
    )
    app.state.api_metrics = flusher
    handlers.install(app)
    if flusher is not None:
        app.add_middleware(RequestMetricsMiddleware, metrics=flusher.metrics)
    protected = [Depends(rate_limit)]
    app.include_router(legacy.router, dependencies=protected)
    app.include_router(query.router, dependencies=protected)
    app.include_router(context.router, dependencies=protected)
    app.include_router(health.router)
    app.include_router(meta.router)
    return app
