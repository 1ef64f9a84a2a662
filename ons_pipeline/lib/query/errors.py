"""What can go wrong in the query service, as domain errors: each has a stable machine ``code``
(``sql_error``, ``influx_timeout``, ...), a message and JSON-ready ``details``. The HTTP API and
the CLI map the classes to statuses (``ons_pipeline.api.errors``); nothing here knows HTTP.

- :class:`QueryRefused` — the input is not a query the service can or may run: SQL it does not
  support, InfluxQL that writes or administers, a model that cannot be rendered.
- :class:`QuestionNotUnderstood` — a question names no measure, or part of it was not understood.
- :class:`InvalidParameter` — an option of the request is invalid (e.g. an unknown time zone).
- :class:`UnsupportedLanguage` — Flux asked of an InfluxDB engine that has no Flux.
- :class:`ExecutionError` — InfluxDB did not run the query: :class:`QueryRejected` (it refused the
  query), :class:`BackendUnavailable` (unreachable, failing, refusing the server's credentials,
  database missing), :class:`BackendTimeout` (no answer in time).
"""

from __future__ import annotations

from typing import Any


class QueryServiceError(Exception):
    """A failure of the query service with a stable ``code``, a message and ``details``."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class QueryRefused(QueryServiceError):
    """Codes ``bad_query``, ``sql_error``, ``render_error``, ``forbidden_statement``."""


class QuestionNotUnderstood(QueryServiceError):
    """Codes ``untranslatable_question``, ``incomplete_translation``."""


class InvalidParameter(QueryServiceError):
    """Code ``validation_error``."""


class UnsupportedLanguage(QueryServiceError):
    """Code ``flux_not_supported``."""


class ExecutionError(QueryServiceError):
    """InfluxDB did not run ``query`` (also in ``details["query"]`` when known)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "influx_error",
        query: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, {**({"query": query} if query else {}), **(details or {})})
        self.query = query


class QueryRejected(ExecutionError):
    """InfluxDB refused the query itself (code ``query_error``)."""

    def __init__(self, message: str, *, query: str = "") -> None:
        super().__init__(message, code="query_error", query=query)


class BackendUnavailable(ExecutionError):
    """Codes ``influx_unreachable``, ``influx_error``, ``influx_auth``."""


class BackendTimeout(ExecutionError):
    """Code ``influx_timeout``."""

    def __init__(self, message: str, *, query: str = "") -> None:
        super().__init__(message, code="influx_timeout", query=query)
