"""The query API: the v2 query processor and RAG context over FastAPI, plus the replaced
platform's legacy contract. See :mod:`ons_pipeline.api.app` for the routes.

- :mod:`.processor` — ``QueryProcessor.process(QueryRequest)`` → ``QueryResponse`` (no FastAPI:
  also used by ``ons-pipeline query``)
- :mod:`.context` — ``RagService``: knowledge index + RAG pipeline on the cached executor
- :mod:`.legacy` — the legacy response shape
- :mod:`.app` — ``create_app()``
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
