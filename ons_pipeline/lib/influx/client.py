"""InfluxDB client over the v1 HTTP API that every engine accepts (1.x, 2.x, 3.x, Timestream).

Writes are ``POST /write`` (line protocol, optional gzip, split at newlines into batches of at most
``max_batch_bytes``) with retries and full-jitter exponential backoff on 5xx, 429 (``Retry-After``
honoured) and connection errors/timeouts. Writes are idempotent in InfluxDB (same series + time
overwrites), so retrying after an ambiguous failure is safe. Bad data (400/413/422) raises
:class:`BadDataError`, credentials problems (401/403) raise :class:`AuthError`; neither is retried.

Queries are InfluxQL on ``/query``; :meth:`InfluxClient.iter_query_rows` streams
``chunked=true`` responses line by line without holding the whole result in memory.
:meth:`InfluxClient.query_flux` runs Flux on ``/api/v2/query`` (2.x). A query may set its own
timeout and retry policy (the query API answers within its own budget, without retrying); a last
attempt that timed out raises :class:`InfluxTimeoutError`.

Admin: ``ping``, ``ensure_database`` (1.x ``CREATE DATABASE``; 2.x bucket + DBRP mapping through
influxdb-client) and ``delete_range`` (1.x InfluxQL ``DELETE``; 2.x ``/api/v2/delete``).

Secrets never leave this module in text: :class:`InfluxConfig`'s ``repr`` hides them, credentials
travel in the ``Authorization`` header (never ``u=``/``p=`` query parameters), and every error
message is passed through :func:`redact` and raised without chaining the requests exception.
"""

from __future__ import annotations

import base64
import gzip as gzip_module
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth

from ons_pipeline.lib.influx.points import count_points, halve, split_points

log = logging.getLogger(__name__)

WRITE_PRECISIONS = ("ns", "ms", "s")
QUERY_EPOCHS = ("ns", "u", "ms", "s", "m", "h")
AUTH_SCHEMES = ("none", "basic", "token")
ENGINES = ("1", "2", "3")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
DEFAULT_MAX_BATCH_BYTES = 5_000_000
FLUX_QUERY_PATH = "/api/v2/query"
_NS_PER_S = 1_000_000_000
_DURATION_UNITS_NS = {
    "ns": 1,
    "u": 1_000,
    "µ": 1_000,
    "ms": 1_000_000,
    "s": _NS_PER_S,
    "m": 60 * _NS_PER_S,
    "h": 3_600 * _NS_PER_S,
    "d": 86_400 * _NS_PER_S,
    "w": 7 * 86_400 * _NS_PER_S,
}
_DURATION_RE = re.compile(r"(\d+)(ns|ms|u|µ|s|m|h|d|w)")
_SECRET_PARAM_RE = re.compile(r"(?i)([?&](?:p|password|token)=)[^&\s'\"]*")
_AUTH_HEADER_RE = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?\w+\s+)[^\s'\",}]+")
_DROPPED_RE = re.compile(r"dropped=(\d+)")


# -- errors -----------------------------------------------------------------------------------


class InfluxError(RuntimeError):
    """Any InfluxDB failure; ``status`` and ``server_message`` when the server answered."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        server_message: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message
        self.attempts = attempts
        # Set by ``InfluxClient.write``: what was acknowledged before the failing request.
        self.chunk_index: int | None = None
        self.written_lines: int = 0
        self.chunk_lines: int = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status={self.status})"


class ConfigError(InfluxError, ValueError):
    """The configuration is invalid or unsafe (e.g. credentials over http to a remote host)."""


class AuthError(InfluxError):
    """401/403: credentials missing, wrong, or without the needed privilege. Never retried."""


class BadDataError(InfluxError):
    """400/413/422 on a write: the payload is rejected. Never retried.

    ``partial`` is true when InfluxDB 1.x answered ``partial write``: the valid lines of that
    request WERE written, only the rejected ones are missing (``dropped`` = points the server
    counted).
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        text = self.server_message or ""
        self.partial = "partial write" in text
        match = _DROPPED_RE.search(text)
        self.dropped = int(match.group(1)) if match else None


def points_written(error: InfluxError) -> int | None:
    """How many points of a failed ``write`` InfluxDB kept: the acknowledged requests' points
    plus, for a partial write, the failing request's points it did not drop. ``None`` when a
    partial write did not say how many it dropped."""
    written = int(getattr(error, "written_lines", 0) or 0)
    if isinstance(error, BadDataError) and error.partial:
        if error.dropped is None:
            return None
        written += max(0, int(getattr(error, "chunk_lines", 0) or 0) - error.dropped)
    return written


class RequestError(InfluxError):
    """Any other non-retryable HTTP answer (e.g. 404 database not found)."""


class TlsError(InfluxError):
    """The TLS handshake or certificate verification failed. Never retried."""


# refused credentials or a failed TLS handshake: whatever loops over requests stops at the first
SECURITY_ERRORS = (AuthError, TlsError)


class RetriesExhaustedError(InfluxError):
    """Every attempt failed with a retryable error (5xx, 429, connection error, timeout)."""


class InfluxTimeoutError(RetriesExhaustedError):
    """The last attempt got no answer within ``timeout`` seconds."""

    def __init__(self, message: str, *, timeout: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.timeout = timeout


class MalformedResponseError(InfluxError):
    """InfluxDB answered 2xx with a body that is not what the endpoint returns (e.g. not JSON)."""


class QueryError(InfluxError):
    """InfluxQL rejected by the server, or an ``error`` inside a statement's result."""

    def __init__(self, message: str, *, statement_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.statement_id = statement_id


def redact(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """Remove secrets from ``text``: the given values, ``p=``/``token=`` params, auth headers."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _SECRET_PARAM_RE.sub(r"\1***", text)
    return _AUTH_HEADER_RE.sub(r"\1***", text)


# -- quoting ----------------------------------------------------------------------------------


def _escape_influxql(value: str, quote: str) -> str:
    # InfluxQL's escapes are only \n, \\ and the quotes: NUL and CR cannot be carried faithfully
    if "\x00" in value or "\r" in value:
        raise ValueError(f"InfluxQL identifiers and strings cannot contain NUL or CR: {value!r}")
    return value.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes (``\\``, ``"`` and newlines escaped): safe for any
    name. The one implementation: every InfluxQL the project writes quotes through here."""
    if not name:
        raise ValueError("an InfluxQL identifier cannot be empty")
    return '"' + _escape_influxql(name, '"') + '"'


def quote_literal(value: str) -> str:
    """An InfluxQL string literal in single quotes (``\\``, ``'`` and newlines escaped)."""
    return "'" + _escape_influxql(value, "'") + "'"


# -- durations --------------------------------------------------------------------------------

Duration = timedelta | str | int


def parse_duration_ns(value: Duration) -> int:
    """Nanoseconds of an InfluxQL duration (``30d``, ``1h30m``), a timedelta, or int seconds.

    ``INF`` (or 0) means infinite retention and returns 0.
    """
    if isinstance(value, timedelta):
        return round(value.total_seconds()) * _NS_PER_S
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int):
        return value * _NS_PER_S
    text = value.strip()
    if text.upper() == "INF":
        return 0
    pos, total = 0, 0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _DURATION_UNITS_NS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not an InfluxQL duration: {value!r} (expected e.g. '30d', '1h30m', INF)")
    return total


def _influxql_duration(value: Duration) -> str:
    ns = parse_duration_ns(value)
    if ns == 0:
        return "INF"
    if ns % _NS_PER_S == 0:
        return f"{ns // _NS_PER_S}s"
    return f"{ns}ns"


def format_rfc3339_ns(ns: int) -> str:
    """``2024-01-01T00:00:00.000000001Z`` from integer nanoseconds since the epoch (UTC)."""
    seconds, frac = divmod(ns, _NS_PER_S)
    moment = datetime.fromtimestamp(seconds, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{frac:09d}Z"


def _tls_failure(exc: BaseException | None) -> bool:
    """Whether ``exc`` or what caused it (urllib3 wraps it as a ``reason``) is a TLS failure."""
    import ssl

    from urllib3.exceptions import SSLError as Urllib3SSLError

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLError | Urllib3SSLError | requests.exceptions.SSLError):
            return True
        reason = getattr(exc, "reason", None)
        exc = reason if isinstance(reason, BaseException) else (exc.__cause__ or exc.__context__)
    return False


# -- configuration ----------------------------------------------------------------------------


def check_url(url: str) -> None:
    """Refuse an InfluxDB URL that is not ``http(s)://host[:port]`` or that carries credentials
    or query parameters (the message never repeats the URL: it may hold a secret)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"InfluxDB URL must be http(s)://host[:port], not {parts.scheme}://…")
    if parts.username or parts.password:
        raise ConfigError(
            "put InfluxDB credentials in ONS_INFLUX_USERNAME/PASSWORD or TOKEN, not in the URL"
        )
    if parts.query:
        raise ConfigError("the InfluxDB URL must not carry query parameters")


@dataclass(frozen=True, repr=False)
class InfluxConfig:
    """Where and how to reach InfluxDB. ``repr``/``str`` never show the password or token.

    ``auth_scheme`` defaults to ``basic`` when ``username`` is set, else ``token`` when ``token`` is
    set, else ``none``. Basic without a password but with a token sends the token as the password
    (2.x's v1 API accepts that). InfluxDB 1.x before 1.8 (Debian's 1.6.7) answers 401 to
    ``Authorization: Token``: use ``basic`` there.

    Transport safety: https verifies certificates (system store, or ``ca_bundle``) unless
    ``verify_tls`` is false (logged as a warning). Plain http to a host that is not loopback logs a
    warning, and is refused when credentials would travel in clear text, unless ``allow_insecure``.
    """

    url: str = "http://127.0.0.1:8086"
    database: str = "ons"
    retention_policy: str | None = None
    username: str | None = None
    password: str | None = None
    token: str | None = None
    auth_scheme: str | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None
    timeout: float = 30.0
    gzip: bool = False
    engine: str = "1"
    org: str | None = None
    allow_insecure: bool = False

    def __post_init__(self) -> None:
        check_url(self.url)
        object.__setattr__(self, "url", self.url.rstrip("/"))
        scheme = self.auth_scheme
        if scheme is None or scheme == "":
            scheme = "basic" if self.username else "token" if self.token else "none"
        scheme = scheme.lower()
        if scheme not in AUTH_SCHEMES:
            raise ConfigError(f"auth scheme must be one of {AUTH_SCHEMES}, not {scheme!r}")
        object.__setattr__(self, "auth_scheme", scheme)
        if scheme == "basic" and not self.username:
            raise ConfigError("basic auth needs a username (ONS_INFLUX_USERNAME)")
        # A missing password/token is allowed here (secrets may be resolved later, e.g. by
        # Dagster's EnvVar); the server then answers 401 and the client raises AuthError.
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {ENGINES}, not {self.engine!r}")
        if not self.database:
            raise ConfigError("a database (1.x/3.x) or bucket (2.x) name is required")
        if not (self.timeout > 0):
            raise ConfigError(f"timeout must be positive, not {self.timeout!r}")

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Values to scrub from any text that leaves the client: the password and token, and
        the Basic credential as it travels (``user:secret`` in Base64), should a server or proxy
        echo the header's value."""
        basic = [
            base64.b64encode(f"{self.username or ''}:{secret}".encode()).decode()
            for secret in (self.password, self.token)
            if secret
        ]
        return (self.password, self.token, *basic)

    @property
    def is_loopback(self) -> bool:
        return (urlsplit(self.url).hostname or "") in LOOPBACK_HOSTS

    def redacted(self) -> dict[str, Any]:
        """The fields as a dict with secrets replaced by ``'***'`` (safe to log or serialise)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in {"password", "token"} and value is not None:
                value = "***"
            out[name] = value
        return out

    def check_transport(self) -> None:
        """Warn about, or refuse, unsafe transport settings (see class docstring)."""
        parts = urlsplit(self.url)
        if parts.scheme == "https" and not self.verify_tls:
            log.warning("TLS certificate verification is disabled for %s", self.url)
        if parts.scheme == "http" and not self.is_loopback:
            if self.auth_scheme != "none" and not self.allow_insecure:
                raise ConfigError(
                    f"refusing to send InfluxDB credentials over plain http to {parts.hostname}: "
                    "use https, or set ONS_INFLUX_ALLOW_INSECURE=true (allow_insecure) knowingly"
                )
            log.warning("InfluxDB traffic to %s is not encrypted (plain http)", parts.hostname)

    def __repr__(self) -> str:
        body = ", ".join(f"{key}={value!r}" for key, value in self.redacted().items())
        return f"InfluxConfig({body})"

    __str__ = __repr__


# -- retry policy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff, full jitter: attempt n waits ``uniform(0, min(max, base*2**(n-1)))``.

    A ``Retry-After`` from the server (seconds or HTTP-date) replaces the backoff, capped at
    ``max_retry_after``. ``sleep`` and ``random`` are injectable for tests.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays cannot be negative")

    def backoff(self, attempt: int) -> float:
        """Delay after the failed ``attempt`` (1-based), before the next one."""
        cap = min(self.max_delay, self.base_delay * (2 ** min(attempt - 1, 62)))
        return self.random() * cap if self.jitter else cap

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(attempt)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


# -- results ----------------------------------------------------------------------------------


@dataclass
class WriteStats:
    """What one ``write`` did: ``bytes`` is line protocol, ``wire_bytes`` what was sent."""

    lines: int = 0
    bytes: int = 0
    wire_bytes: int = 0
    requests: int = 0
    attempts: int = 0
    retries: int = 0
    seconds: float = 0.0
    slept: float = 0.0

    def add(self, other: WriteStats) -> None:
        """Accumulate another write's stats into this one."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class QueryRow:
    """One row of a query result: its statement, series name, group-by tags and column values."""

    statement_id: int
    measurement: str | None
    tags: dict[str, str]
    values: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Tags and values in one dict (values win on a name clash)."""
        return {**self.tags, **self.values}


@dataclass(frozen=True)
class RetentionPolicyInfo:
    """A retention policy (1.x) or bucket (2.x) as the server reports it; ``0`` ns = forever."""

    name: str
    duration_ns: int
    shard_duration_ns: int = 0
    default: bool = False
    bucket: str | None = None  # 2.x: the bucket that holds the policy's data

    @property
    def duration(self) -> str:
        return format_duration(self.duration_ns)

    @property
    def shard_duration(self) -> str:
        return format_duration(self.shard_duration_ns)


@dataclass(frozen=True)
class RetentionChange:
    """What :meth:`InfluxClient.ensure_retention_policy` did: ``created``, ``unchanged``,
    ``lengthened``, ``shortened`` or ``unmanaged`` (InfluxDB 3), with the policy read back."""

    policy: str
    action: str
    before: RetentionPolicyInfo | None
    after: RetentionPolicyInfo | None
    note: str = ""


class RetentionConflict(InfluxError):
    """The server keeps data for longer than asked: shortening deletes data, so it is refused
    unless ``allow_shorten``."""


def format_duration(ns: int) -> str:
    """``INF`` for 0, else the largest whole unit (``400d``, ``52w``, ``36h``, ``90s``)."""
    if ns <= 0:
        return "INF"
    for unit in ("w", "d", "h", "m", "s", "ms", "u", "ns"):
        size = _DURATION_UNITS_NS[unit]
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def _ns_clause(ns: int) -> str:
    return "INF" if ns <= 0 else _influxql_duration(timedelta(microseconds=ns // 1_000))


def _keeps_longer(a_ns: int, b_ns: int) -> bool:
    """Whether a retention of ``a_ns`` keeps data longer than ``b_ns`` (0 = forever)."""
    if a_ns == b_ns:
        return False
    return a_ns == 0 or (b_ns != 0 and a_ns > b_ns)


class _TokenAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Token {self._token}"
        return request

    def __repr__(self) -> str:
        return "_TokenAuth(***)"


@dataclass
class _Outcome:
    response: requests.Response
    attempts: int
    slept: float


def _server_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("error", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
    header = response.headers.get("X-Influxdb-Error")
    if header:
        return header
    return (response.text or response.reason or "").strip()[:1000]


def _version_below_1_8(version: str | None) -> bool:
    match = re.match(r"v?(\d+)\.(\d+)", version or "")
    return bool(match) and (int(match.group(1)), int(match.group(2))) < (1, 8)


# -- the client -------------------------------------------------------------------------------


class InfluxClient:
    """Writes, queries and administers one InfluxDB over a keep-alive ``requests.Session``.

    Use as a context manager (or call ``close``). ``pool_size`` sizes the connection pool for
    callers writing from several threads with one client.
    """

    def __init__(
        self,
        config: InfluxConfig,
        retry: RetryPolicy | None = None,
        *,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        pool_size: int = 4,
    ) -> None:
        if max_batch_bytes < 1:
            raise ValueError("max_batch_bytes must be positive")
        config.check_transport()
        self.config = config
        self.retry = retry or RetryPolicy()
        self.max_batch_bytes = max_batch_bytes
        self.server_version: str | None = None
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = "ons-pipeline"
        # What requests would take from the environment at every request (it re-reads it each
        # time: ~0.5 ms, more than a small query's answer), taken once: the proxy for this URL
        # (NO_PROXY honoured) and, when no CA bundle is configured, REQUESTS_CA_BUNDLE.
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(config.url))
        self._verify: bool | str = config.ca_bundle if config.ca_bundle else config.verify_tls
        if self._verify is True:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            self._verify = bundle or True
        session.verify = self._verify
        if config.auth_scheme == "basic":
            password = config.password if config.password is not None else config.token
            session.auth = HTTPBasicAuth(config.username or "", password or "")
        elif config.auth_scheme == "token":
            session.auth = _TokenAuth(config.token or "")
        self._session = session

    def __repr__(self) -> str:
        return f"InfluxClient({self.config!r})"

    def __enter__(self) -> InfluxClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # -- transport ----------------------------------------------------------------------------
    def _timeout(self, seconds: float | None = None) -> tuple[float, float]:
        read = self.config.timeout if seconds is None else seconds
        return (min(10.0, read), read)

    def _redact(self, text: str) -> str:
        return redact(text, self.config.secrets)

    def _raise_for_status(self, method: str, path: str, response: requests.Response) -> None:
        status = response.status_code
        message = self._redact(_server_message(response))
        version = response.headers.get("X-Influxdb-Version")
        if version:
            self.server_version = version
        where = f"{method} {path}"
        if status in (401, 403):
            text = (
                f"InfluxDB refused the credentials (HTTP {status} on {where}, "
                f"auth scheme {self.config.auth_scheme}"
                + (f", user {self.config.username!r}" if self.config.username else "")
                + f"): {message}"
            )
            if self.config.auth_scheme == "token" and (
                _version_below_1_8(version) or (version is None and self.config.engine == "1")
            ):
                text += (
                    f". Hint: InfluxDB {version or '1.x'} (1.x before 1.8) does not accept "
                    "'Authorization: Token'; use basic auth (ONS_INFLUX_AUTH=basic with "
                    "ONS_INFLUX_USERNAME/ONS_INFLUX_PASSWORD)"
                )
            elif self.config.auth_scheme == "none":
                text += ". Hint: the server has auth enabled; set credentials"
            raise AuthError(text, status=status, server_message=message)
        if path == "/write" and status in (400, 413, 422):
            raise BadDataError(
                f"InfluxDB rejected the data (HTTP {status} on {where}): {message}",
                status=status,
                server_message=message,
            )
        if path == "/query" and status == 400:
            raise QueryError(f"InfluxQL error: {message}", status=status, server_message=message)
        if path == FLUX_QUERY_PATH and status < 500:
            raise QueryError(f"Flux error: {message}", status=status, server_message=message)
        raise RequestError(
            f"InfluxDB answered HTTP {status} on {where}: {message}",
            status=status,
            server_message=message,
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: bytes | dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> _Outcome:
        """Send with retries; returns the 2xx response or raises an :class:`InfluxError`.

        ``timeout`` (seconds) replaces the configured one for this request."""
        policy = retry or self.retry
        url = self.config.url + path
        attempt, slept = 0, 0.0
        while True:
            attempt += 1
            retry_after: float | None = None
            status: int | None = None
            fatal: InfluxError | None = None
            timed_out = False
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self._timeout(timeout),
                    stream=stream,
                    verify=self._verify,
                )
            except requests.exceptions.SSLError as exc:
                fatal = TlsError(
                    f"TLS failure talking to {self.config.url}: {self._redact(str(exc))}. "
                    "Hint: set ONS_INFLUX_CA_BUNDLE to the CA that signed the server certificate",
                    attempts=attempt,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = f"{type(exc).__name__}: {self._redact(str(exc))}"
                timed_out = isinstance(exc, requests.Timeout)
            except requests.RequestException as exc:
                fatal = InfluxError(
                    f"{method} {path} failed: {type(exc).__name__}: {self._redact(str(exc))}",
                    attempts=attempt,
                )
            else:
                status = response.status_code
                version = response.headers.get("X-Influxdb-Version")
                if version:
                    self.server_version = version
                if 200 <= status < 300:
                    return _Outcome(response, attempt, slept)
                if status == 429 or status >= 500:
                    message = self._redact(_server_message(response))
                    failure = f"HTTP {status}: {message}"
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    response.close()
                else:
                    try:
                        self._raise_for_status(method, path, response)
                    except InfluxError as error:
                        error.attempts = attempt
                        raise
                    finally:
                        response.close()
            if fatal is not None:
                # Raised outside the except block: no chained requests exception (its text
                # would carry the URL) in __context__.
                raise fatal
            if attempt >= policy.max_attempts:
                text = (
                    f"{method} {path} to {self.config.url} failed after {attempt} attempt(s); "
                    f"last error: {failure}"
                )
                if timed_out:
                    raise InfluxTimeoutError(
                        text, timeout=self._timeout(timeout)[1], status=status, attempts=attempt
                    )
                raise RetriesExhaustedError(text, status=status, attempts=attempt)
            delay = policy.delay(attempt, retry_after)
            log.warning(
                "InfluxDB %s %s attempt %d/%d failed (%s); retrying in %.2fs",
                method,
                path,
                attempt,
                policy.max_attempts,
                failure,
                delay,
            )
            policy.sleep(delay)
            slept += delay

    # -- writes -------------------------------------------------------------------------------
    def write(
        self,
        data: bytes,
        lines: int | None = None,
        precision: str = "ns",
        *,
        database: str | None = None,
        retention_policy: str | None = None,
    ) -> WriteStats:
        """Write line protocol; split into requests of at most ``max_batch_bytes`` between points
        (never at a newline inside a string value).

        Raises :class:`BadDataError`, :class:`AuthError`, :class:`RetriesExhaustedError`, ...;
        the error's ``written_lines`` counts the points of the requests acknowledged before the
        failing one (``chunk_index``), which held ``chunk_lines`` points; requests after it were
        not sent. A partial write (``partial``) kept all but ``dropped`` of that request's points:
        see :func:`points_written`.
        """
        if precision not in WRITE_PRECISIONS:
            raise ValueError(
                f"precision must be one of {WRITE_PRECISIONS}, not {precision!r} "
                "(InfluxDB 1.6 misreads 'u'; convert microseconds to ns)"
            )
        if isinstance(data, str):
            raise TypeError("write() takes bytes (UTF-8 line protocol), not str")
        started = time.perf_counter()
        stats = WriteStats(bytes=len(data))
        stats.lines = lines if lines is not None else count_points(data)
        params = {"db": database or self.config.database, "precision": precision}
        rp = retention_policy or self.config.retention_policy
        if rp:
            params["rp"] = rp
        # (payload, its points if known): a caller that counted its points and fits one request
        # skips the per-line scans, which cost the writer threads more CPU than the request.
        pending: list[tuple[bytes, int | None]]
        if lines and len(data) <= self.max_batch_bytes:
            pending = [(bytes(data), lines)]
        else:  # uncounted, said to hold no point, or larger than a request: scanned
            pending = [(piece, None) for piece in split_points(bytes(data), self.max_batch_bytes)]
        written_lines = 0
        index = 0
        while pending:
            chunk, known = pending.pop(0)
            chunk_lines = known if known is not None else count_points(chunk)
            try:
                self._write_chunk(chunk, params, stats)
            except BadDataError as error:
                halves = halve(chunk) if error.status == 413 else None
                if halves is None:
                    error.chunk_index, error.written_lines = index, written_lines
                    error.chunk_lines = chunk_lines
                    raise
                log.warning("InfluxDB answered 413 to %d bytes: splitting in two", len(chunk))
                pending[:0] = [(half, None) for half in halves]
                continue
            except InfluxError as error:
                error.chunk_index, error.written_lines = index, written_lines
                error.chunk_lines = chunk_lines
                raise
            written_lines += chunk_lines
            index += 1
        stats.seconds = time.perf_counter() - started
        return stats

    def _write_chunk(self, chunk: bytes, params: dict[str, str], stats: WriteStats) -> None:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        body = chunk
        if self.config.gzip:
            body = gzip_module.compress(chunk, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
        try:
            outcome = self._request("POST", "/write", params=params, data=body, headers=headers)
        except InfluxError as error:
            stats.attempts += error.attempts
            stats.retries += error.attempts - 1
            raise
        outcome.response.close()
        stats.requests += 1
        stats.attempts += outcome.attempts
        stats.retries += outcome.attempts - 1
        stats.slept += outcome.slept
        stats.wire_bytes += len(body)

    # -- queries ------------------------------------------------------------------------------
    def _query_params(
        self, influxql: str, database: str | None, epoch: str | None, chunked: bool, chunk_size: int
    ) -> dict[str, str]:
        if epoch is not None and epoch not in QUERY_EPOCHS:
            raise ValueError(f"epoch must be one of {QUERY_EPOCHS} or None, not {epoch!r}")
        params = {"q": influxql}
        db = self.config.database if database is None else database
        if db:
            params["db"] = db
            if self.config.retention_policy:
                params["rp"] = self.config.retention_policy
        if epoch:
            params["epoch"] = epoch
        if chunked:
            params["chunked"] = "true"
            params["chunk_size"] = str(chunk_size)
        return params

    def _send_query(
        self,
        params: dict[str, str],
        stream: bool,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> requests.Response:
        text = params["q"].lstrip().upper()
        read_only = text.startswith(("SELECT", "SHOW")) and " INTO " not in text
        options: dict[str, Any] = {"stream": stream, "timeout": timeout, "retry": retry}
        if read_only and len(params["q"]) < 4000:
            return self._request("GET", "/query", params=params, **options).response
        form = {"q": params.pop("q")}
        return self._request("POST", "/query", params=params, data=form, **options).response

    def _check_chunk(self, body: Any) -> list[dict[str, Any]]:
        # the server's messages leave the client: scrubbed of secrets as any other error's
        if not isinstance(body, dict):
            text = self._redact(str(body)[:200])
            raise MalformedResponseError(f"unexpected /query answer: {text}")
        if "error" in body:
            message = self._redact(str(body["error"]))
            raise QueryError(f"InfluxQL error: {message}", server_message=message)
        results = body.get("results", [])
        for result in results:
            if "error" in result:
                message = self._redact(str(result["error"]))
                sid = result.get("statement_id")
                raise QueryError(
                    f"InfluxQL error in statement {sid}: {message}",
                    statement_id=sid,
                    server_message=message,
                )
        return list(results)

    def query(
        self,
        influxql: str,
        database: str | None = None,
        epoch: str | None = "ns",
        chunked: bool = False,
        chunk_size: int = 10_000,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> list[dict[str, Any]]:
        """Run InfluxQL; the ``results`` list (one dict per statement, chunks merged).

        ``database=None`` uses the configured one, ``""`` sends none (server-level statements).
        ``timeout`` and ``retry`` replace the client's for this query. A statement InfluxDB
        rejects raises :class:`QueryError`; an answer that is not JSON,
        :class:`MalformedResponseError`.
        """
        params = self._query_params(influxql, database, epoch, chunked, chunk_size)
        if not chunked:
            response = self._send_query(params, stream=False, timeout=timeout, retry=retry)
            try:
                body = response.json()
            except ValueError:
                raise MalformedResponseError(
                    f"/query answered non-JSON: {self._redact(response.text[:200])!r}"
                ) from None
            return self._check_chunk(body)
        merged: dict[int, dict[str, Any]] = {}
        for chunk in self._iter_chunks(params, timeout=timeout, retry=retry):
            for result in chunk:
                sid = int(result.get("statement_id", 0))
                target = merged.setdefault(sid, {"statement_id": sid})
                for series in result.get("series", []):
                    pieces = target.setdefault("series", [])
                    last = pieces[-1] if pieces else None
                    if (
                        last is not None
                        and last.pop("partial", False)
                        and last.get("name") == series.get("name")
                        and last.get("tags") == series.get("tags")
                    ):
                        last["values"].extend(series.get("values", []))
                        if series.get("partial"):
                            last["partial"] = True
                    else:
                        pieces.append(dict(series))
                for key in ("messages",):
                    if key in result:
                        target.setdefault(key, []).extend(result[key])
        for result in merged.values():
            for series in result.get("series", []):
                series.pop("partial", None)
        return [merged[sid] for sid in sorted(merged)]

    def _iter_chunks(
        self,
        params: dict[str, str],
        parse_int: Callable[[str], Any] | None = None,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        response = self._send_query(params, stream=True, timeout=timeout, retry=retry)
        try:
            buffer = b""
            for block in response.iter_content(chunk_size=1 << 16):
                buffer += block
                while True:
                    newline = buffer.find(b"\n")
                    if newline < 0:
                        break
                    line, buffer = buffer[:newline], buffer[newline + 1 :]
                    if line.strip():
                        yield self._check_chunk(json.loads(line, parse_int=parse_int))
            if buffer.strip():
                yield self._check_chunk(json.loads(buffer, parse_int=parse_int))
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise InfluxError(
                f"query stream interrupted: {type(exc).__name__}: {self._redact(str(exc))}"
            ) from None
        finally:
            response.close()

    def iter_query_chunks(
        self,
        influxql: str,
        database: str | None = None,
        epoch: str | None = "ns",
        chunk_size: int = 10_000,
        parse_int: Callable[[str], Any] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Stream the raw ``results`` list of each chunk of a ``chunked=true`` response.

        ``parse_int`` is passed to ``json.loads`` (e.g. to keep ``-0`` a float for bit-exact
        comparisons)."""
        params = self._query_params(influxql, database, epoch, True, chunk_size)
        return self._iter_chunks(params, parse_int)

    def iter_query_rows(
        self,
        influxql: str,
        database: str | None = None,
        epoch: str | None = "ns",
        chunk_size: int = 10_000,
    ) -> Iterator[QueryRow]:
        """Stream rows of a query, one chunk (``chunk_size`` rows) in memory at a time."""
        for results in self.iter_query_chunks(influxql, database, epoch, chunk_size):
            for result in results:
                sid = int(result.get("statement_id", 0))
                for series in result.get("series", []):
                    columns = series.get("columns", [])
                    name = series.get("name")
                    tags = series.get("tags") or {}
                    for values in series.get("values", []):
                        yield QueryRow(sid, name, tags, dict(zip(columns, values, strict=False)))

    def query_flux(
        self,
        flux: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> str:
        """Run Flux (``POST /api/v2/query``, InfluxDB 2.x; never the InfluxQL endpoint) and return
        the annotated CSV answer (``#datatype``, ``#group``, ``#default``, then a header per
        table). A query InfluxDB rejects (4xx) raises :class:`QueryError`."""
        body = {
            "query": flux,
            "type": "flux",
            "dialect": {
                "header": True,
                "delimiter": ",",
                "annotations": ["datatype", "group", "default"],
            },
        }
        outcome = self._request(
            "POST",
            FLUX_QUERY_PATH,
            params={"org": self.config.org} if self.config.org else None,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/csv"},
            timeout=timeout,
            retry=retry,
        )
        try:
            return outcome.response.text
        finally:
            outcome.response.close()

    # -- admin --------------------------------------------------------------------------------
    def ping(self, timeout: float | None = None) -> str:
        """The server's version (``X-Influxdb-Version``); raises if unreachable."""
        response = self._request("GET", "/ping", retry=NO_RETRY, timeout=timeout).response
        response.close()
        version = response.headers.get("X-Influxdb-Version")
        if not version:
            try:
                version = str(response.json().get("version", ""))
            except ValueError:
                version = ""
        self.server_version = version or self.server_version
        return version or "unknown"

    def ensure_database(
        self,
        name: str | None = None,
        retention: Duration | None = None,
        retention_policy: str | None = None,
    ) -> None:
        """Create the database (1.x) / bucket (2.x) if missing; idempotent.

        ``retention`` (``30d``, timedelta, int seconds, INF) becomes the default retention policy
        (1.x, named ``retention_policy`` if given) or the bucket's expiry rule (2.x). An existing
        database with a different retention is left alone and raises :class:`InfluxError`:
        shortening retention deletes data, so that change stays a deliberate, manual one.
        InfluxDB 3 creates a database on first write, so nothing is done there.
        """
        db = name or self.config.database
        if self.config.engine == "2":
            self._ensure_bucket(db, retention, retention_policy)
            return
        if self.config.engine == "3":
            log.info("InfluxDB 3 creates database %r on first write; nothing to do", db)
            return
        clauses = []
        if retention is not None:
            clauses.append(f"DURATION {_influxql_duration(retention)}")
        if retention_policy:
            clauses.append(f"NAME {quote_ident(retention_policy)}")
        statement = f"CREATE DATABASE {quote_ident(db)}"
        if clauses:
            statement += " WITH " + " ".join(clauses)
        try:
            self.query(statement, database="", epoch=None)
        except QueryError as error:
            if "conflicts with an existing policy" not in (error.server_message or ""):
                raise
            policies = self.query(f"SHOW RETENTION POLICIES ON {quote_ident(db)}", database="")
            existing = [
                dict(zip(series["columns"], row, strict=False))
                for result in policies
                for series in result.get("series", [])
                for row in series.get("values", [])
            ]
            raise InfluxError(
                f"database {db!r} exists with retention policies {existing}, not the requested "
                f"{retention!r}/{retention_policy!r}; change it deliberately with "
                "ALTER RETENTION POLICY (shortening retention deletes data)",
                server_message=error.server_message,
            ) from None

    def retention_policy(
        self, policy: str | None = None, database: str | None = None
    ) -> RetentionPolicyInfo | None:
        """The retention policy ``policy`` of the database, read from the server (``None`` = the
        configured ``retention_policy`` or else the database's default); ``None`` when it does not
        exist. 2.x: the bucket that holds it (``<database>`` or ``<database>_<policy>``). 3.x:
        always ``None`` (retention is set per database at creation, outside the v1 API)."""
        db = database or self.config.database
        if self.config.engine == "2":
            return self._bucket_info(db, policy)
        if self.config.engine == "3":
            return None
        wanted = policy or self.config.retention_policy
        try:
            results = self.query(f"SHOW RETENTION POLICIES ON {quote_ident(db)}", database="")
        except QueryError as error:
            if "database not found" in (error.server_message or ""):
                return None
            raise
        for result in results:
            for series in result.get("series", []) or []:
                for row in series.get("values", []):
                    item = dict(zip(series["columns"], row, strict=False))
                    is_default = bool(item.get("default"))
                    if (wanted is None and is_default) or item.get("name") == wanted:
                        return RetentionPolicyInfo(
                            name=str(item["name"]),
                            duration_ns=parse_duration_ns(str(item.get("duration") or "0s")),
                            shard_duration_ns=parse_duration_ns(
                                str(item.get("shardGroupDuration") or "0s")
                            ),
                            default=is_default,
                        )
        return None

    def ensure_retention_policy(
        self,
        policy: str | None,
        duration: Duration,
        *,
        shard_duration: Duration | None = None,
        database: str | None = None,
        allow_shorten: bool = False,
    ) -> RetentionChange:
        """Make the server keep the data of ``policy`` for ``duration`` (``INF`` = forever) and
        read it back. ``None`` is the database's default policy (1.x; ``retention_policy`` when
        configured) or the bucket itself (2.x); another name is a retention policy of the database
        (1.x) or the bucket ``<database>_<policy>`` mapped to ``<database>/<policy>`` (2.x).

        Missing: created (the database too). Kept shorter than asked: lengthened. Kept longer:
        :class:`RetentionConflict` unless ``allow_shorten`` (shortening deletes data). InfluxDB 3
        sets retention per database at creation only: nothing is sent, ``unmanaged`` is returned.
        """
        db = database or self.config.database
        want_ns = parse_duration_ns(duration)
        shard_ns = None if shard_duration is None else parse_duration_ns(shard_duration)
        if self.config.engine == "3":
            name = db if policy is None else f"{db}/{policy}"
            return RetentionChange(
                name,
                "unmanaged",
                None,
                None,
                f"InfluxDB 3 sets retention when database {name!r} is created (influxdb3 "
                f"create database --retention-period); wanted {format_duration(want_ns)}",
            )
        if self.config.engine == "2":
            return self._ensure_bucket_retention(db, policy, want_ns, shard_ns, allow_shorten)
        self.ensure_database(db)
        before = self.retention_policy(policy, db)
        name = policy or (before.name if before else None) or self.config.retention_policy
        if before is None:
            if name is None:
                raise InfluxError(f"database {db!r} has no default retention policy")
            statement = (
                f"CREATE RETENTION POLICY {quote_ident(name)} ON {quote_ident(db)} "
                f"DURATION {_ns_clause(want_ns)} "
                "REPLICATION 1"
            )
            if shard_ns:
                statement += f" SHARD DURATION {_ns_clause(shard_ns)}"
            self.query(statement, database="", epoch=None)
            action = "created"
        else:
            assert name is not None
            action = _retention_action(db, name, before.duration_ns, want_ns, allow_shorten)
            clauses = []
            if action != "unchanged":
                clauses.append(f"DURATION {_ns_clause(want_ns)}")
            if shard_ns and shard_ns != before.shard_duration_ns:
                clauses.append(f"SHARD DURATION {_ns_clause(shard_ns)}")
            if clauses:
                self.query(
                    f"ALTER RETENTION POLICY {quote_ident(name)} ON {quote_ident(db)} "
                    + " ".join(clauses),
                    database="",
                    epoch=None,
                )
        after = self.retention_policy(name, db)
        return RetentionChange(name, action, before, after)

    def delete_range(
        self,
        measurement: str,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
        database: str | None = None,
    ) -> None:
        """Delete the points of ``measurement`` in ``[start_ns, end_ns)`` matching all ``tags``.

        1.x: InfluxQL ``DELETE`` (every retention policy of the database). 2.x: ``/api/v2/delete``
        with ``stop = end - 1ns`` (its range is inclusive). 3.x: unsupported over the v1 API.
        """
        if not isinstance(start_ns, int) or not isinstance(end_ns, int):
            raise TypeError("start_ns and end_ns must be integer nanoseconds")
        if end_ns <= start_ns:
            raise ValueError(f"empty range [{start_ns}, {end_ns})")
        db = database or self.config.database
        if self.config.engine == "2":
            self._delete_v2(db, measurement, start_ns, end_ns, tags or {})
            return
        if self.config.engine == "3":
            raise InfluxError("delete_range is not available on InfluxDB 3 through the v1 API")
        conditions = [f"time >= {start_ns}", f"time < {end_ns}"]
        for key, value in sorted((tags or {}).items()):
            conditions.append(f"{quote_ident(key)} = {quote_literal(value)}")
        statement = f"DELETE FROM {quote_ident(measurement)} WHERE " + " AND ".join(conditions)
        self.query(statement, database=db, epoch=None)

    # -- 2.x admin through influxdb-client ---------------------------------------------------
    def _v2_client(self) -> Any:
        from influxdb_client import InfluxDBClient

        kwargs: dict[str, Any] = {
            "url": self.config.url,
            "org": self.config.org,
            "timeout": int(self.config.timeout * 1000),
            "verify_ssl": self.config.verify_tls,
        }
        if self.config.ca_bundle:
            kwargs["ssl_ca_cert"] = self.config.ca_bundle
        if self.config.token:
            kwargs["token"] = self.config.token
        elif self.config.username:
            kwargs["username"] = self.config.username
            kwargs["password"] = self.config.password
        return InfluxDBClient(**kwargs)

    def _v2_error(self, action: str, exc: Exception) -> InfluxError:
        """The error of a call through influxdb-client (2.x admin API): refused credentials and
        TLS failures as :class:`AuthError` / :class:`TlsError`, as on the v1 API."""
        status = getattr(exc, "status", None)
        if _tls_failure(exc):
            return TlsError(
                f"InfluxDB 2.x {action} failed: TLS failure talking to {self.config.url}: "
                f"{self._redact(str(exc))[:500]}. Hint: set ONS_INFLUX_CA_BUNDLE to the CA that "
                "signed the server certificate"
            )
        body = getattr(exc, "body", None) or getattr(exc, "message", None) or str(exc)
        message = self._redact(str(body))[:1000]
        cls: type[InfluxError] = AuthError if status in (401, 403) else RequestError
        return cls(
            f"InfluxDB 2.x {action} failed: {message}", status=status, server_message=message
        )

    def _ensure_bucket(
        self, name: str, retention: Duration | None, retention_policy: str | None
    ) -> None:
        from influxdb_client import BucketRetentionRules
        from influxdb_client.domain.dbrp_create import DBRPCreate
        from influxdb_client.service.dbr_ps_service import DBRPsService

        every = parse_duration_ns(retention) // _NS_PER_S if retention is not None else 0
        with self._v2_client() as client:
            buckets = client.buckets_api()
            try:
                bucket = buckets.find_bucket_by_name(name)
                if bucket is None:
                    rules = (
                        [BucketRetentionRules(type="expire", every_seconds=every)] if every else []
                    )
                    bucket = buckets.create_bucket(
                        bucket_name=name, retention_rules=rules, org=self.config.org
                    )
                    log.info("created bucket %r (retention %ss)", name, every or "infinite")
                elif retention is not None:
                    current = [r.every_seconds for r in (bucket.retention_rules or [])]
                    if (current[0] if current else 0) != every:
                        raise InfluxError(
                            f"bucket {name!r} exists with retention {current or 'infinite'}s, not "
                            f"{every or 'infinite'}s; change it deliberately (shortening "
                            "deletes data)"
                        )
            except InfluxError:
                raise
            except Exception as exc:
                raise self._v2_error(f"ensuring bucket {name!r}", exc) from None
            # The v1 /write and /query map db/rp to a bucket through a DBRP mapping; 2.x creates
            # virtual mappings for bucket names in recent versions, an explicit one does no harm.
            try:
                dbrps = DBRPsService(client.api_client)
                found = dbrps.get_dbr_ps(org_id=bucket.org_id, db=name)
                if not (found.content or []):
                    dbrps.post_dbrp(
                        DBRPCreate(
                            org_id=bucket.org_id,
                            bucket_id=bucket.id,
                            database=name,
                            retention_policy=retention_policy or "autogen",
                            default=True,
                        )
                    )
            except Exception as exc:
                log.warning("could not ensure the DBRP mapping for %r: %s", name, exc)

    def _bucket_info(self, database: str, policy: str | None) -> RetentionPolicyInfo | None:
        name = database if policy is None else f"{database}_{policy}"
        with self._v2_client() as client:
            try:
                bucket = client.buckets_api().find_bucket_by_name(name)
            except Exception as exc:
                raise self._v2_error(f"reading bucket {name!r}", exc) from None
        if bucket is None:
            return None
        rules = [r for r in (bucket.retention_rules or []) if r.type == "expire"]
        every = int(rules[0].every_seconds or 0) if rules else 0
        shard = int(getattr(rules[0], "shard_group_duration_seconds", 0) or 0) if rules else 0
        return RetentionPolicyInfo(
            name=policy or "autogen",
            duration_ns=every * _NS_PER_S,
            shard_duration_ns=shard * _NS_PER_S,
            default=policy is None,
            bucket=name,
        )

    def _ensure_bucket_retention(
        self,
        database: str,
        policy: str | None,
        want_ns: int,
        shard_ns: int | None,
        allow_shorten: bool,
    ) -> RetentionChange:
        from influxdb_client import BucketRetentionRules
        from influxdb_client.domain.dbrp_create import DBRPCreate
        from influxdb_client.service.dbr_ps_service import DBRPsService

        name = database if policy is None else f"{database}_{policy}"
        every = want_ns // _NS_PER_S
        shard = None if shard_ns is None else shard_ns // _NS_PER_S
        before = self._bucket_info(database, policy)
        rules = (
            [
                BucketRetentionRules(
                    type="expire", every_seconds=every, shard_group_duration_seconds=shard
                )
            ]
            if every
            else []
        )
        with self._v2_client() as client:
            buckets = client.buckets_api()
            try:
                if before is None:
                    bucket = buckets.create_bucket(
                        bucket_name=name, retention_rules=rules, org=self.config.org
                    )
                    action = "created"
                else:
                    action = _retention_action(
                        database, name, before.duration_ns, want_ns, allow_shorten
                    )
                    bucket = buckets.find_bucket_by_name(name)
                    if action != "unchanged":
                        bucket.retention_rules = rules
                        bucket = buckets.update_bucket(bucket)
                if policy is not None:
                    dbrps = DBRPsService(client.api_client)
                    found = dbrps.get_dbr_ps(org_id=bucket.org_id, db=database, rp=policy)
                    if not (found.content or []):
                        dbrps.post_dbrp(
                            DBRPCreate(
                                org_id=bucket.org_id,
                                bucket_id=bucket.id,
                                database=database,
                                retention_policy=policy,
                                default=False,
                            )
                        )
            except InfluxError:
                raise
            except Exception as exc:
                raise self._v2_error(f"ensuring the retention of bucket {name!r}", exc) from None
        return RetentionChange(
            policy or "autogen", action, before, self._bucket_info(database, policy)
        )

    def _delete_v2(
        self, bucket: str, measurement: str, start_ns: int, end_ns: int, tags: Mapping[str, str]
    ) -> None:
        terms = [f"{quote_ident('_measurement')}={quote_ident(measurement)}"]
        terms += [f"{quote_ident(k)}={quote_ident(v)}" for k, v in sorted(tags.items())]
        predicate = " AND ".join(terms)
        with self._v2_client() as client:
            try:
                client.delete_api().delete(
                    start=format_rfc3339_ns(start_ns),
                    stop=format_rfc3339_ns(end_ns - 1),
                    predicate=predicate,
                    bucket=bucket,
                    org=self.config.org,
                )
            except Exception as exc:
                raise self._v2_error(f"delete in {bucket!r}", exc) from None


def _retention_action(
    database: str, policy: str, have_ns: int, want_ns: int, allow_shorten: bool
) -> str:
    """``unchanged``, ``lengthened`` or ``shortened`` (only when allowed: it deletes data)."""
    if have_ns == want_ns:
        return "unchanged"
    if _keeps_longer(want_ns, have_ns):
        return "lengthened"
    if not allow_shorten:
        raise RetentionConflict(
            f"retention policy {policy!r} of {database!r} keeps data for "
            f"{format_duration(have_ns)}; the configuration asks for {format_duration(want_ns)}, "
            "which deletes data older than that: set ONS_RETENTION_ALLOW_SHORTEN=true to apply it"
        )
    return "shortened"


InfluxWriter = InfluxClient
"""The name the loader and dead-letter replay use; same class."""
