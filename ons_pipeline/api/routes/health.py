"""Health: ``GET /v2/health`` (InfluxDB, knowledge base, cache) and the legacy contract's
``GET /health`` and ``/v1/health``. Open routes, and fast: the knowledge base is never loaded
here."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter

from ons_pipeline.api.deps import Backend, Processor, Rag
from ons_pipeline.api.routes.meta import api_version
from ons_pipeline.api.schemas import HealthResponse, LegacyHealth

LEGACY_PATHS = ("/health", "/v1/health")

router = APIRouter()


def _status(ping: dict[str, Any]) -> Literal["healthy", "degraded"]:
    return "healthy" if ping["reachable"] else "degraded"


def legacy_health(backend: Backend) -> LegacyHealth:
    return LegacyHealth(
        status=_status(backend.ping()), timestamp=int(time.time()), version=api_version()
    )


for _path in LEGACY_PATHS:
    router.add_api_route(
        _path,
        legacy_health,
        methods=["GET"],
        response_model=LegacyHealth,
        tags=["legacy"],
        summary="Health (legacy contract)",
    )


@router.get("/v2/health", response_model=HealthResponse, tags=["meta"])
def v2_health(backend: Backend, processor: Processor, rag: Rag) -> HealthResponse:
    ping = backend.ping()
    return HealthResponse(
        status=_status(ping),
        timestamp=int(time.time()),
        version=api_version(),
        influxdb={**ping, "engine": backend.engine, "database": backend.database},
        knowledge_base=rag.knowledge_status(),
        cache=asdict(processor.cache.stats()),
    )
