"""The API key, checked in one place: every data route depends on :func:`require_api_key`.

The key (``ONS_API_KEY``) comes as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>`` and is
compared in constant time. With no key configured the protected routes answer 401 (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ons_pipeline.api.errors import ApiError

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey")
BEARER = HTTPBearer(auto_error=False, scheme_name="Bearer")


def keys_match(supplied: str, expected: str) -> bool:
    """Constant-time comparison of SHA-256 digests (no early exit, no length leak)."""
    a = hashlib.sha256(supplied.encode("utf-8")).digest()
    b = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(a, b)


def require_api_key(
    request: Request,
    key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> None:
    """401 unless the request carries the configured API key."""
    expected = request.app.state.settings.api.api_key
    if not expected:
        raise ApiError(
            401, "unauthorized", "the server has no API key configured (set ONS_API_KEY)"
        )
    supplied = key or (credentials.credentials if credentials else None)
    if supplied is None or not keys_match(supplied, expected):
        raise ApiError(401, "unauthorized", "missing or invalid API key")
