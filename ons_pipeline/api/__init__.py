"""The query API: the query and RAG services over FastAPI, plus the replaced platform's legacy
contract. The services themselves live in :mod:`ons_pipeline.lib.query.service` and
:mod:`ons_pipeline.lib.rag.service`.

- :mod:`.app` — ``create_app()``: wires the services, the error handlers and the routes
- :mod:`.routes` — one module per concern (query, context, legacy, health, meta)
- :mod:`.security` — the API key check, the rate limit per key, security events;
  :mod:`.errors` — domain errors → HTTP statuses
- :mod:`.observability` — request metrics per endpoint (published by
  :mod:`ons_pipeline.lib.ops.apimetrics`)
- :mod:`.schemas` — request bodies, error, health and legacy shapes
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # FastAPI is imported only when the app is asked for (the CLI's `query` does not need it)
    if name == "create_app":
        from ons_pipeline.api.app import create_app

        return create_app
    raise AttributeError(name)
