"""Structured errors of the query API: an HTTP status, a stable code, a message and details."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the API answers with ``{"error": {code, message, status, details}}``.

    Codes and statuses: ``bad_query`` / ``sql_error`` / ``render_error`` /
    ``forbidden_statement`` / ``query_error`` (400), ``unauthorized`` (401),
    ``untranslatable_question`` / ``incomplete_translation`` / ``validation_error`` (422),
    ``flux_not_supported`` (501), ``influx_unreachable`` / ``influx_error`` / ``influx_auth``
    (502), ``influx_timeout`` (504), ``internal_error`` (500).
    """

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "details": self.details,
        }
