"""InfluxDB credentials from the environment or AWS Secrets Manager; TLS policy; security events.

Where credentials come from, in order:

1. ``ONS_INFLUX_PASSWORD`` / ``ONS_INFLUX_TOKEN`` (in ECS, injected from Secrets Manager by the
   task definition), when set;
2. otherwise the secret named by ``ONS_INFLUX_SECRET_ARN``, read with ``GetSecretValue`` at run
   time (never at import or definition time) and cached in memory for a few minutes. The secret
   Timestream for InfluxDB creates is JSON: ``{"username", "password", "organization", "bucket"}``
   (InfluxDB 2) or the admin token (InfluxDB 3); JSON ``{"token": ...}`` or a bare token string
   are read as a token.

Secret values are never logged, put in an exception message, a ``repr`` or Dagster metadata: only
the secret's ARN and the *names* of its keys appear.

Transport: :func:`require_tls` refuses plain ``http`` to any host that is not loopback unless
``allow_insecure`` (``ONS_INFLUX_ALLOW_INSECURE=true``) says so knowingly; https verifies
certificates against the system store or ``ca_bundle`` (``ONS_INFLUX_CA_BUNDLE``).

Security events (refused credentials, TLS failures, refused insecure transport, unreadable
secrets) go to the logger ``ons_pipeline.security`` as ``SECURITY EVENT <name> {json}`` records
that also carry the fields as ``record.security_event`` (a dict) for structured log shippers.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import (
    AuthError,
    ConfigError,
    InfluxClient,
    InfluxConfig,
    InfluxError,
    RetryPolicy,
    TlsError,
    redact,
)

SECURITY_LOGGER = "ons_pipeline.security"
security_log = logging.getLogger(SECURITY_LOGGER)
log = logging.getLogger(__name__)

SECRET_CACHE_SECONDS = 300.0
# What Terraform puts in the pipeline-token secret until an operator stores the real token
# (infra/modules/influxdb/main.tf): using it can only fail, so say so.
PLACEHOLDER_VALUES = frozenset({"unset-put-the-pipeline-token-here"})
_TOKEN_KEYS = ("token",)


class SecretError(ConfigError):
    """A secret could not be read or does not hold usable InfluxDB credentials."""


# -- security events --------------------------------------------------------------------------


def security_event(
    event: str,
    *,
    level: int = logging.WARNING,
    secrets: tuple[str | None, ...] = (),
    **fields: Any,
) -> dict[str, Any]:
    """Log one structured security event on ``ons_pipeline.security`` and return its record.

    String fields are passed through :func:`redact` (with ``secrets``) as a last line of defence;
    callers must not pass secret values in the first place.
    """
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        clean[key] = redact(value, secrets) if isinstance(value, str) else value
    record = {
        "event": event,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        **clean,
    }
    security_log.log(
        level,
        "SECURITY EVENT %s %s",
        event,
        json.dumps(clean, sort_keys=True, default=str),
        extra={"security_event": record},
    )
    return record


# -- credentials ------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class InfluxCredentials:
    """Credentials read from a secret. ``repr`` shows which parts are present, never values."""

    username: str | None = None
    password: str | None = None
    token: str | None = None
    organization: str | None = None
    bucket: str | None = None

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.password, self.token)

    def __repr__(self) -> str:
        present = [
            name for name in ("username", "password", "token") if getattr(self, name) is not None
        ]
        return f"InfluxCredentials(present={present}, username={self.username!r})"

    __str__ = __repr__


def parse_influx_secret(secret_string: str, where: str = "the secret") -> InfluxCredentials:
    """Credentials from a secret's text: JSON with username/password or token, or a bare token."""
    text = secret_string.strip()
    if not text:
        raise SecretError(f"{where} is empty")
    if text in PLACEHOLDER_VALUES:
        raise SecretError(
            f"{where} still holds the placeholder Terraform wrote; store the real InfluxDB token "
            "with `aws secretsmanager put-secret-value` (infra/README.md, step 4)"
        )
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if body is None or isinstance(body, str):
        token = text if body is None else body.strip()
        if not token or any(ch.isspace() for ch in token):
            raise SecretError(f"{where} is neither JSON nor a single token")
        return InfluxCredentials(token=token)
    if not isinstance(body, dict):
        raise SecretError(
            f"{where} must be a JSON object or a token, not JSON {type(body).__name__}"
        )

    def text_value(key: str) -> str | None:
        value = body.get(key)
        return value if isinstance(value, str) and value != "" else None

    token = next((text_value(k) for k in _TOKEN_KEYS if text_value(k)), None)
    username, password = text_value("username"), text_value("password")
    if token in PLACEHOLDER_VALUES or password in PLACEHOLDER_VALUES:
        raise SecretError(f"{where} still holds the Terraform placeholder (infra/README.md step 4)")
    if token is None and not (username and password):
        raise SecretError(
            f"{where} holds keys {sorted(body)}: expected 'username' and 'password' "
            "(Timestream for InfluxDB 2) or 'token'"
        )
    return InfluxCredentials(
        username=username,
        password=password,
        token=token,
        organization=text_value("organization"),
        bucket=text_value("bucket"),
    )


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" and parts[3] else None


def secretsmanager_client(secret_arn: str, aws: AwsSettings | None = None) -> Any:
    """A Secrets Manager client in the secret's region, at ``aws``'s endpoint."""
    aws = aws or AwsSettings()
    region = _region_of(secret_arn) or aws.region
    return replace(aws, region=region).client("secretsmanager")


_reading_secret = threading.local()


class _HideSecretResponses(logging.Filter):
    """Drops botocore's DEBUG dump of response bodies while this thread reads a secret (at
    DEBUG level, ``botocore.parsers`` logs every response body: the secret value included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_reading_secret, "active", False)


_BODY_LOGGERS = ("botocore.parsers",)
for _name in _BODY_LOGGERS:
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _HideSecretResponses) for f in _logger.filters):
        _logger.addFilter(_HideSecretResponses())


def fetch_secret_string(secret_arn: str, client: Any = None, aws: AwsSettings | None = None) -> str:
    """``GetSecretValue`` of ``secret_arn``; failures raise :class:`SecretError` (and are logged
    as a security event when access is refused). botocore's response-body debug log is muted
    during the call."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or secretsmanager_client(secret_arn, aws)
    _reading_secret.active = True
    try:
        answer = client.get_secret_value(SecretId=secret_arn)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        if code in {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException"}:
            security_event("secret.access_denied", secret_arn=secret_arn, error_code=code)
        raise SecretError(f"could not read secret {secret_arn}: {code}") from None
    except BotoCoreError as exc:
        raise SecretError(
            f"could not read secret {secret_arn}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        _reading_secret.active = False
    if answer.get("SecretString") is not None:
        return str(answer["SecretString"])
    binary = answer.get("SecretBinary")
    if binary is None:
        raise SecretError(f"secret {secret_arn} has no value")
    try:
        return bytes(binary).decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"secret {secret_arn} is binary, not UTF-8 text") from None


_cache: dict[str, tuple[float, InfluxCredentials]] = {}
_cache_lock = threading.Lock()


def clear_secret_cache() -> None:
    with _cache_lock:
        _cache.clear()


def influx_credentials_from_secret(
    secret_arn: str,
    client: Any = None,
    *,
    aws: AwsSettings | None = None,
    max_age: float = SECRET_CACHE_SECONDS,
) -> InfluxCredentials:
    """The credentials in ``secret_arn``, cached in memory for ``max_age`` seconds (a rotation is
    picked up within that delay; 0 disables the cache)."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(secret_arn)
        if hit is not None and now - hit[0] < max_age:
            return hit[1]
    credentials = parse_influx_secret(
        fetch_secret_string(secret_arn, client, aws), f"secret {secret_arn}"
    )
    parts = [n for n in ("username", "password", "token") if getattr(credentials, n)]
    log.info("InfluxDB credentials read from secret %s (%s)", secret_arn, ", ".join(parts))
    with _cache_lock:
        _cache[secret_arn] = (now, credentials)
    return credentials


def _fields(config: InfluxConfig | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(config, InfluxConfig):
        return {name: getattr(config, name) for name in InfluxConfig.__dataclass_fields__}
    return dict(config)


def credential_source(config: InfluxConfig | Mapping[str, Any], secret_arn: str | None) -> str:
    """Where the credentials come from: ``environment``, ``secretsmanager`` or ``none``."""
    fields = _fields(config)
    if fields.get("password") or fields.get("token"):
        return "environment"
    return "secretsmanager" if secret_arn else "none"


def resolve_influx_config(
    config: InfluxConfig | Mapping[str, Any],
    secret_arn: str | None,
    client: Any = None,
    aws: AwsSettings | None = None,
) -> InfluxConfig:
    """An :class:`InfluxConfig` from ``config`` (a config or its fields), with credentials from
    ``secret_arn`` when it has no password or token of its own.

    The auth scheme follows what the secret holds unless one was chosen explicitly: a token with
    ``basic`` is sent as the Basic password (2.x's v1 API accepts that); username/password with an
    explicit ``token`` scheme is a configuration error.
    """
    fields = _fields(config)
    if not secret_arn or fields.get("password") or fields.get("token"):
        return InfluxConfig(**fields)
    credentials = influx_credentials_from_secret(secret_arn, client, aws=aws)
    scheme = (fields.get("auth_scheme") or "").lower() or None
    explicit = scheme not in (None, "none")
    fields["org"] = fields.get("org") or credentials.organization
    if credentials.token:
        fields["token"] = credentials.token
        if not explicit:
            fields["auth_scheme"] = "token"
        elif scheme == "basic" and not fields.get("username"):
            fields["username"] = credentials.username or "ons-pipeline"
        return InfluxConfig(**fields)
    if scheme == "token":
        raise SecretError(
            f"ONS_INFLUX_AUTH=token, but secret {secret_arn} holds a username and password; "
            "set ONS_INFLUX_AUTH=basic, or point ONS_INFLUX_SECRET_ARN at a token secret"
        )
    fields["username"] = fields.get("username") or credentials.username
    fields["password"] = credentials.password
    fields["auth_scheme"] = "basic"
    return InfluxConfig(**fields)


# -- transport policy and an audited client ---------------------------------------------------


def require_tls(config: InfluxConfig) -> None:
    """Refuse plain http to a host that is not loopback, unless ``allow_insecure``."""
    parts = urlsplit(config.url)
    if parts.scheme == "http" and not config.is_loopback and not config.allow_insecure:
        security_event(
            "influxdb.insecure_transport_refused",
            url=config.url,
            host=parts.hostname or "",
        )
        raise ConfigError(
            f"refusing plain http to {parts.hostname}: InfluxDB outside loopback must be reached "
            "over https (set ONS_INFLUX_URL=https://..., and ONS_INFLUX_CA_BUNDLE for a private "
            "CA), or set ONS_INFLUX_ALLOW_INSECURE=true knowingly"
        )
    if parts.scheme == "https" and config.ca_bundle and not os.path.isfile(config.ca_bundle):
        raise ConfigError(f"ONS_INFLUX_CA_BUNDLE {config.ca_bundle!r} is not a readable file")


class AuditedInfluxClient(InfluxClient):
    """An :class:`InfluxClient` that logs refused credentials and TLS failures as security events
    (the errors themselves are raised unchanged: clear, redacted and never retried)."""

    def __init__(
        self,
        config: InfluxConfig,
        retry: RetryPolicy | None = None,
        *,
        credential_source: str = "environment",
        **kwargs: Any,
    ) -> None:
        super().__init__(config, retry, **kwargs)
        self.credential_source = credential_source

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return super()._request(method, path, **kwargs)
        except (AuthError, TlsError) as error:
            self._audit(error, method, path)
            raise

    def _v2_error(self, action: str, exc: Exception) -> InfluxError:
        error = super()._v2_error(action, exc)  # the 2.x admin API (buckets, retention, delete)
        if isinstance(error, AuthError | TlsError):
            self._audit(error, "v2", action)
        return error

    def _audit(self, error: AuthError | TlsError, method: str, path: str) -> None:
        if isinstance(error, AuthError):
            security_event(
                "influxdb.auth_failure",
                secrets=self.config.secrets,
                url=self.config.url,
                method=method,
                path=path,
                status=error.status,
                auth_scheme=self.config.auth_scheme,
                username=self.config.username,
                credential_source=self.credential_source,
                server_message=error.server_message or "",
                attempts=error.attempts,
            )
        else:
            security_event(
                "influxdb.tls_failure",
                secrets=self.config.secrets,
                url=self.config.url,
                method=method,
                path=path,
                ca_bundle=self.config.ca_bundle,
                verify_tls=self.config.verify_tls,
                error=str(error),
            )


def secure_client(
    config: InfluxConfig | Mapping[str, Any],
    retry: RetryPolicy | None = None,
    *,
    secret_arn: str | None = None,
    aws: AwsSettings | None = None,
    **kwargs: Any,
) -> AuditedInfluxClient:
    """An audited client after the TLS policy; credentials from ``secret_arn`` (read through
    ``aws``) when ``config`` (a config or its fields) has none."""
    source = credential_source(config, secret_arn)
    resolved = resolve_influx_config(config, secret_arn, aws=aws)
    require_tls(resolved)
    return AuditedInfluxClient(resolved, retry, credential_source=source, **kwargs)
