"""Request metrics of the API: an ASGI middleware that times every request and records its
outcome in :class:`~ons_pipeline.lib.ops.apimetrics.RequestMetrics` (in memory); the
:class:`~ons_pipeline.lib.ops.apimetrics.MetricsFlusher` started by the app's lifespan publishes
them to CloudWatch once a minute (``ONS_API_METRICS``, ``ONS_API_METRICS_INTERVAL``).

The ``Endpoint`` label is the matched route (``"POST /v2/query"``), never the raw path: requests
no route takes are all ``unmatched``, so a scanner cannot create metrics (each distinct
dimension set is a billed CloudWatch metric).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ons_pipeline.lib.ops.apimetrics import UNMATCHED, RequestMetrics, RequestOutcome

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def endpoint_label(scope: Scope) -> str:
    """``"<METHOD> <route path>"`` of the route that took the request, else ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    methods = getattr(route, "methods", None) or ()
    method = scope.get("method", "")
    if path is None or method not in methods:
        return UNMATCHED
    return f"{method} {path}"


class RequestMetricsMiddleware:
    """Times each HTTP request to its last response byte and records status, timeout (the
    internal status the error handlers left in ``request.state.error_status`` is 504) and
    malformed body (``request.state.malformed``). An exception that escapes every handler
    counts as a 500."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            state = scope.get("state") or {}
            self.metrics.record(
                RequestOutcome(
                    endpoint=endpoint_label(scope),
                    status=status,
                    latency_ms=(time.perf_counter() - began) * 1000.0,
                    timeout=state.get("error_status") == 504,
                    malformed=bool(state.get("malformed")),
                )
            )
