"""The API key check and the per-key rate limit, in one place: every data route depends on
:func:`rate_limit`, which depends on :func:`require_api_key`.

The key (``ONS_API_KEY``) comes as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>`` and is
compared in constant time. With no key configured the protected routes answer 401 (fail closed).
A valid key then takes a token from its bucket (``ONS_API_RATE_LIMIT`` / ``ONS_API_RATE_BURST``,
per process): none left is 429 with ``Retry-After``.

Security events (logger ``ons_pipeline.security``, ``SECURITY EVENT <name> {json}``, the fields
also as ``record.security_event``): ``api.key_rejected`` (reason ``missing`` | ``invalid`` |
``not_configured``), ``api.request_malformed``, ``api.rate_limited`` (the first refusal of a key
in 10 s, with the count since the last report). They carry the client address, method, path,
query id and user agent, and a presented key only as its fingerprint
(:func:`~ons_pipeline.lib.ops.apiguard.key_fingerprint`) — never the key or a part of it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ons_pipeline.api.errors import ApiError
from ons_pipeline.lib.influx.secrets import security_event
from ons_pipeline.lib.ops.apiguard import EventThrottle, RateLimiter, key_fingerprint

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey")
BEARER = HTTPBearer(auto_error=False, scheme_name="Bearer")
_MIN_REDACT = 8  # shorter presented "keys" are not searched for in log fields (they'd garble them)


def keys_match(supplied: str, expected: str) -> bool:
    """Constant-time comparison of SHA-256 digests (no early exit, no length leak)."""
    a = hashlib.sha256(supplied.encode("utf-8")).digest()
    b = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(a, b)


def request_fields(request: Request) -> dict[str, Any]:
    """Who asked what, for a security event (no header values, no body)."""
    return {
        "client": request.client.host if request.client else None,
        "method": request.method,
        "path": request.url.path,
        "query_id": getattr(request.state, "query_id", None),
        "user_agent": (request.headers.get("user-agent") or "")[:200],
    }


def _secrets(*values: str | None) -> tuple[str | None, ...]:
    return tuple(v for v in values if v and len(v) >= _MIN_REDACT)


def require_api_key(
    request: Request,
    key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> str:
    """401 unless the request carries the configured API key; the key's fingerprint."""
    expected = request.app.state.settings.api.api_key
    supplied = key or (credentials.credentials if credentials else None)
    secret: bytes = request.app.state.key_secret
    fingerprint = key_fingerprint(supplied, secret) if supplied is not None else None
    reason = None
    if not expected:
        reason = "not_configured"
    elif supplied is None:
        reason = "missing"
    elif not keys_match(supplied, expected):
        reason = "invalid"
    if reason is not None:
        fields = request_fields(request)
        throttle: EventThrottle = request.app.state.key_rejections
        unreported = throttle.check((fields["client"], fields["path"], reason, fingerprint))
        if unreported is not None:
            security_event(
                "api.key_rejected",
                secrets=_secrets(supplied, expected),
                reason=reason,
                key_fingerprint=fingerprint,
                unreported=unreported,
                **fields,
            )
        if reason == "not_configured":
            raise ApiError(
                401, "unauthorized", "the server has no API key configured (set ONS_API_KEY)"
            )
        raise ApiError(401, "unauthorized", "missing or invalid API key")
    assert fingerprint is not None
    request.state.key_fingerprint = fingerprint
    return fingerprint


def rate_limit(request: Request, fingerprint: Annotated[str, Depends(require_api_key)]) -> None:
    """429 with ``Retry-After`` when the key's bucket is empty."""
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = limiter.check(fingerprint)
    if decision.allowed:
        return
    if decision.report:
        security_event(
            "api.rate_limited",
            key_fingerprint=fingerprint,
            refused=decision.refused,
            retry_after_s=round(decision.retry_after_s, 3),
            rate_per_s=limiter.rate,
            burst=limiter.burst,
            **request_fields(request),
        )
    raise ApiError(
        429,
        "rate_limited",
        f"too many requests for this API key: at most {limiter.rate:g}/s "
        f"(bursts of {limiter.burst}) per server; retry after {decision.retry_after_header} s",
        {"retry_after_s": round(decision.retry_after_s, 3)},
        headers={"Retry-After": decision.retry_after_header},
    )


def malformed_request(request: Request, errors: Sequence[dict[str, Any]]) -> None:
    """Log a request whose body failed validation: where and which rule, never the values."""
    request.state.malformed = True
    problems = [
        {"loc": ".".join(str(p) for p in e.get("loc", ())), "type": str(e.get("type", ""))}
        for e in errors[:10]
    ]
    security_event(
        "api.request_malformed",
        errors=problems,
        content_type=(request.headers.get("content-type") or "")[:100],
        content_length=request.headers.get("content-length"),
        key_fingerprint=getattr(request.state, "key_fingerprint", None),
        **request_fields(request),
    )
