"""The API's routes, one module a concern; ``create_app`` mounts them and decides which need the
API key.

- :mod:`.query` — ``POST /v2/query``
- :mod:`.context` — ``POST /v2/context`` (RAG)
- :mod:`.legacy` — ``POST /query`` and ``/v1/query``: the replaced platform's contract
- :mod:`.health` — ``GET /v2/health``, and the legacy ``GET /health`` and ``/v1/health``
- :mod:`.meta` — ``GET /v2/tables``, the API's version
"""
