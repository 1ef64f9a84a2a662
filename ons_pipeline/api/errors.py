"""Structured errors of the query API: an HTTP status, a stable code, a message and details; and
the one mapping of the query service's domain errors to HTTP statuses (also what ``ons-pipeline
query`` prints). No FastAPI here: the CLI imports this module."""

from __future__ import annotations

from typing import Any

from ons_pipeline.lib.query.errors import (
    BackendTimeout,
    BackendUnavailable,
    ExecutionError,
    InvalidParameter,
    QueryRefused,
    QueryRejected,
    QueryServiceError,
    QuestionNotUnderstood,
    UnsupportedLanguage,
)
from ons_pipeline.lib.rag.errors import BedrockError, BedrockTimeout

HTTP_STATUS: dict[type[QueryServiceError], int] = {
    QueryRefused: 400,
    QueryRejected: 400,
    QuestionNotUnderstood: 422,
    InvalidParameter: 422,
    UnsupportedLanguage: 501,
    ExecutionError: 502,
    BackendUnavailable: 502,
    BackendTimeout: 504,
    BedrockError: 502,
    BedrockTimeout: 504,
}
"""Domain error → HTTP status; a subclass not listed takes its nearest listed base's."""


class ApiError(Exception):
    """An error the API answers with ``{"error": {code, message, status, details}}``.

    Codes and statuses: ``bad_query`` / ``sql_error`` / ``render_error`` /
    ``forbidden_statement`` / ``query_error`` (400), ``unauthorized`` (401),
    ``untranslatable_question`` / ``incomplete_translation`` / ``validation_error`` (422),
    ``rate_limited`` (429, with ``Retry-After``), ``flux_not_supported`` (501),
    ``influx_unreachable`` / ``influx_error`` / ``influx_auth`` / ``bedrock_error`` (502),
    ``influx_timeout`` / ``bedrock_timeout`` (504), ``internal_error`` (500).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    @classmethod
    def from_service(cls, exc: QueryServiceError) -> ApiError:
        """The API error of a query service failure (status from :data:`HTTP_STATUS`)."""
        status = next((HTTP_STATUS[c] for c in type(exc).__mro__ if c in HTTP_STATUS), 500)
        return cls(status, exc.code, exc.message, exc.details)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "details": self.details,
        }
