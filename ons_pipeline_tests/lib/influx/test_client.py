"""The InfluxDB client against the real InfluxDB 1.6.7, scripted HTTP stubs and a fake 2.x API."""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ons_pipeline.lib.influx.client import (
    NO_RETRY,
    AuthError,
    BadDataError,
    ConfigError,
    InfluxClient,
    InfluxConfig,
    InfluxError,
    InfluxTimeoutError,
    InfluxWriter,
    MalformedResponseError,
    QueryError,
    RequestError,
    RetriesExhaustedError,
    RetryPolicy,
    TlsError,
    format_rfc3339_ns,
    parse_duration_ns,
    parse_retry_after,
    quote_ident,
    quote_literal,
    redact,
)
from ons_pipeline.lib.influx.points import split_points
from ons_pipeline.lib.settings import Settings, SettingsError
from ons_pipeline.local.faults import FaultProxy
from ons_pipeline.local.servers import InfluxServer, ServerInfo, TlsFiles, free_port
from ons_pipeline_tests.conftest import influxql

S = 1_000_000_000


@dataclass
class Recorder:
    """An injectable sleep that records the delays instead of waiting."""

    sleeps: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def policy(recorder: Recorder, attempts: int = 4, base: float = 0.2) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=attempts, base_delay=base, max_delay=5.0, sleep=recorder, random=lambda: 0.5
    )


def count(url: str, db: str, measurement: str, field_name: str = "v") -> int:
    body = influxql(url, f'SELECT count("{field_name}") FROM "{measurement}"', db)
    series = body["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def lines_for(measurement: str, n: int, start_s: int = 1_700_000_000) -> bytes:
    return "".join(
        f"{measurement},sub=SE v={i}.5,i={i}i {(start_s + i) * S}\n" for i in range(n)
    ).encode()


# -- a scripted HTTP server -------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, dict[str, str], bytes]


class Stub:
    """A loopback HTTP/1.1 server answering from ``respond(seen) -> (status, headers, body)``."""

    def __init__(self, respond: Callable[[Seen], Reply]) -> None:
        self.seen: list[Seen] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command, parts.path, parse_qs(parts.query), dict(self.headers), body
                )
                stub.seen.append(seen)
                status, headers, payload = respond(seen)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_factory() -> Iterator[Callable[[Callable[[Seen], Reply]], Stub]]:
    stubs: list[Stub] = []

    def make(respond: Callable[[Seen], Reply]) -> Stub:
        stubs.append(Stub(respond))
        return stubs[-1]

    yield make
    for stub in stubs:
        stub.close()


def scripted(*replies: Reply) -> Callable[[Seen], Reply]:
    queue = list(replies)
    return lambda seen: queue.pop(0) if len(queue) > 1 else queue[0]


JSON = {"Content-Type": "application/json"}


def error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


# -- quoting, durations, config ---------------------------------------------------------------


def test_quote_ident_and_literal_escape_quotes_and_backslashes() -> None:
    assert quote_ident("curva_carga") == '"curva_carga"'
    assert quote_ident('a"b\\c') == '"a\\"b\\\\c"'
    assert quote_literal("o'brien") == "'o\\'brien'"
    assert quote_literal("x' OR '1'='1") == "'x\\' OR \\'1\\'=\\'1'"
    assert quote_literal("a\\") == "'a\\\\'"
    assert quote_literal("line\nbreak") == "'line\\nbreak'"
    with pytest.raises(ValueError):
        quote_ident("")
    with pytest.raises(ValueError):
        quote_literal("nul\x00")
    with pytest.raises(ValueError):
        quote_ident("carriage\rreturn")


def test_durations_and_rfc3339() -> None:
    assert parse_duration_ns("30d") == 30 * 86_400 * S
    assert parse_duration_ns("1h30m") == 5_400 * S
    assert parse_duration_ns(timedelta(hours=2)) == 7_200 * S
    assert parse_duration_ns(3600) == 3_600 * S
    assert parse_duration_ns("INF") == 0
    for bad in ("30", "d", "30 d", "1h;DROP", ""):
        with pytest.raises(ValueError):
            parse_duration_ns(bad)
    assert format_rfc3339_ns(1) == "1970-01-01T00:00:00.000000001Z"
    assert format_rfc3339_ns(1_700_000_000 * S - 1) == "2023-11-14T22:13:19.999999999Z"


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") is None
    assert parse_retry_after(None) is None


def test_backoff_is_exponential_capped_with_full_jitter() -> None:
    fixed = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=False)
    assert [fixed.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    jittered = RetryPolicy(base_delay=0.5, max_delay=3.0, random=lambda: 0.25)
    assert jittered.backoff(3) == 0.5
    assert jittered.delay(3, retry_after=10.0) == 10.0
    assert RetryPolicy(max_retry_after=4.0).delay(1, retry_after=100.0) == 4.0


def test_config_from_env_defaults_and_secrets_hidden() -> None:
    config = Settings.from_env(
        {
            "ONS_INFLUX_URL": "https://influx.example.com:8086/",
            "ONS_INFLUX_DATABASE": "ons",
            "ONS_INFLUX_USERNAME": "loader",
            "ONS_INFLUX_PASSWORD": "hunter2-very-secret",
            "ONS_INFLUX_TOKEN": "tok-ABCDEF-secret",
            "ONS_INFLUX_GZIP": "true",
            "ONS_INFLUX_ENGINE": "2",
            "ONS_INFLUX_ORG": "ons",
            "ONS_INFLUX_TIMEOUT": "12.5",
            "ONS_INFLUX_VERIFY_TLS": "yes",
        }
    ).influx.config()
    assert config.url == "https://influx.example.com:8086"
    assert config.auth_scheme == "basic"  # username wins
    assert (config.gzip, config.engine, config.org, config.timeout) == (True, "2", "ons", 12.5)
    for text in (repr(config), str(config), json.dumps(config.redacted())):
        assert "hunter2" not in text and "tok-ABCDEF" not in text
        assert "***" in text
    assert InfluxConfig(token="t0k").auth_scheme == "token"
    assert InfluxConfig().auth_scheme == "none"
    assert Settings.from_env({}).influx.config().url == "http://127.0.0.1:8086"
    with pytest.raises(SettingsError, match="ONS_INFLUX_GZIP"):
        Settings.from_env({"ONS_INFLUX_GZIP": "maybe"})
    with pytest.raises(ConfigError, match="not in the URL"):  # invalid settings fail when read
        Settings.from_env({"ONS_INFLUX_URL": "http://admin:pw@127.0.0.1:8086"})
    with pytest.raises(ConfigError, match="not in the URL"):
        InfluxConfig(url="http://admin:pw@127.0.0.1:8086")
    with pytest.raises(ConfigError, match="username"):
        InfluxConfig(auth_scheme="basic")
    assert InfluxConfig(username="admin").auth_scheme == "basic"  # password resolved later
    with pytest.raises(ConfigError):
        InfluxConfig(engine="4")


def test_plain_http_to_remote_host_refused_with_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    remote = InfluxConfig(url="http://influx.internal:8086", username="u", password="p4ss")
    with pytest.raises(ConfigError, match="ONS_INFLUX_ALLOW_INSECURE"):
        InfluxClient(remote)
    allowed = InfluxConfig(
        url="http://influx.internal:8086", username="u", password="p4ss", allow_insecure=True
    )
    with caplog.at_level(logging.WARNING), InfluxClient(allowed):
        pass
    assert "not encrypted" in caplog.text
    InfluxClient(InfluxConfig(url="http://127.0.0.1:1", username="u", password="p")).close()


def test_split_payload_cuts_at_newlines_and_keeps_everything() -> None:
    data = lines_for("m", 200)
    pieces = split_points(data, 700)
    assert len(pieces) > 1
    assert b"".join(pieces) == data
    assert all(len(p) <= 700 and p.endswith(b"\n") for p in pieces)
    long_line = b"m v=1 " + b"1" * 50 + b"\nm v=2 2\n"
    assert split_points(long_line, 10) == [b"m v=1 " + b"1" * 50 + b"\n", b"m v=2 2\n"]
    assert split_points(b"\n\n", 10) == []


def test_redact_removes_secret_params_and_values() -> None:
    text = "GET /query?u=admin&p=s3cret&db=x Authorization: Token abc123 tok=abc123"
    cleaned = redact(text, ("abc123",))
    assert "s3cret" not in cleaned and "abc123" not in cleaned
    assert "u=admin" in cleaned


# -- the real InfluxDB 1.6.7 ------------------------------------------------------------------


def test_write_and_read_back(influx_url: str, influx_db: str) -> None:
    recorder = Recorder()
    config = InfluxConfig(url=influx_url, database=influx_db)
    with InfluxWriter(config, policy(recorder)) as client:
        assert client.ping().startswith("1.6")
        stats = client.write(lines_for("carga", 10), lines=10)
        stats_ms = client.write(b"carga_ms,sub=S v=1.25 1700000000123\n", precision="ms")
        rows = client.query('SELECT "v", "i" FROM "carga" WHERE "sub" = \'SE\'')
        ms = client.query('SELECT "v" FROM "carga_ms"')
    assert (stats.lines, stats.requests, stats.attempts, stats.retries) == (10, 1, 1, 0)
    assert stats.bytes == len(lines_for("carga", 10)) and stats.seconds > 0
    assert stats_ms.lines == 1
    values = rows[0]["series"][0]["values"]
    assert values[0] == [1_700_000_000 * S, 0.5, 0]
    assert len(values) == 10
    assert ms[0]["series"][0]["values"] == [[1_700_000_000_123_000_000, 1.25]]
    assert recorder.sleeps == []


def test_precision_u_is_rejected(influx_url: str, influx_db: str) -> None:
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        with pytest.raises(ValueError, match="precision"):
            client.write(b"m v=1 1\n", precision="u")
        with pytest.raises(TypeError):
            client.write("m v=1 1\n")  # type: ignore[arg-type]


def test_gzip_write(influx_url: str, influx_db: str) -> None:
    config = InfluxConfig(url=influx_url, database=influx_db, gzip=True)
    data = lines_for("gz", 2_000)
    with InfluxClient(config) as client:
        stats = client.write(data)
    assert stats.lines == 2_000
    assert stats.wire_bytes < stats.bytes / 3
    assert count(influx_url, influx_db, "gz") == 2_000


def test_batch_splitting_by_bytes_writes_every_point(influx_url: str, influx_db: str) -> None:
    data = lines_for("split", 3_000)
    with InfluxClient(
        InfluxConfig(url=influx_url, database=influx_db), max_batch_bytes=10_000
    ) as c:
        stats = c.write(data, lines=3_000)
    assert stats.requests >= -(-len(data) // 10_000) >= 10
    assert count(influx_url, influx_db, "split") == 3_000


def test_bad_line_raises_bad_data_with_server_message_not_retried(
    influx_url: str, influx_db: str
) -> None:
    recorder = Recorder()
    data = b"ok v=1 1700000000000000000\nthis is not line protocol\n"
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db), policy(recorder)) as c:
        with pytest.raises(BadDataError) as caught:
            c.write(data)
        # A type conflict is bad data too, and rejected whole.
        with pytest.raises(BadDataError, match="field type conflict"):
            c.write(b'ok v="text" 1700000000000000001\n')
    error = caught.value
    assert error.status == 400
    assert "unable to parse 'this is not line protocol'" in (error.server_message or "")
    assert "unable to parse" in str(error)
    assert error.partial, "1.6.7 wrote the valid line: the error must say so"
    assert error.attempts == 1 and recorder.sleeps == []
    assert error.__cause__ is None and error.__context__ is None
    assert count(influx_url, influx_db, "ok") == 1


def test_database_not_found_is_a_request_error(influx_url: str) -> None:
    with (
        InfluxClient(InfluxConfig(url=influx_url, database="does_not_exist")) as client,
        pytest.raises(RequestError, match="database not found") as caught,
    ):
        client.write(b"m v=1 1\n")
    assert caught.value.status == 404


def test_query_streams_chunks_over_10k_points(influx_url: str, influx_db: str) -> None:
    n = 12_000
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        client.write(lines_for("big", n))
        chunks = list(client.iter_query_chunks('SELECT "v" FROM "big"', chunk_size=1_000))
        rows = client.iter_query_rows('SELECT "v" FROM "big"', chunk_size=1_000)
        first = next(rows)
        rest = list(rows)
        merged = client.query('SELECT "v" FROM "big"', chunked=True, chunk_size=1_000)
        plain = client.query('SELECT "v" FROM "big"')
        grouped = list(
            client.iter_query_rows('SELECT "v" FROM "big" GROUP BY "sub"', chunk_size=5_000)
        )
    assert len(chunks) >= 12
    assert first.measurement == "big" and first.values == {"time": 1_700_000_000 * S, "v": 0.5}
    times = [first.values["time"]] + [row.values["time"] for row in rest]
    assert len(times) == n and times == sorted(set(times))
    # 1.6.7 flags a non-chunked series over 10k rows "partial" although it is complete.
    assert merged[0]["series"][0]["values"] == plain[0]["series"][0]["values"]
    assert "partial" not in merged[0]["series"][0]
    assert len(merged[0]["series"][0]["values"]) == n
    assert len(grouped) == n and grouped[0].tags == {"sub": "SE"}
    assert grouped[0].as_dict()["sub"] == "SE"


def test_query_errors_carry_the_server_message(influx_url: str, influx_db: str) -> None:
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        client.write(b"m v=1 1\n")
        with pytest.raises(QueryError, match="aggregate function") as statement:
            client.query('SELECT "v" FROM "m" GROUP BY time(1h)', chunked=True)
        with pytest.raises(QueryError, match="error parsing query"):
            client.query("SELEC v FROM m")
        with pytest.raises(QueryError, match="aggregate function"):
            list(client.iter_query_rows('SELECT "v" FROM "m" GROUP BY time(1h)'))
    assert statement.value.statement_id == 0


def test_ensure_database_is_idempotent(influx_url: str) -> None:
    names = ["ens_plain", "ens_ret"]
    try:
        with InfluxClient(InfluxConfig(url=influx_url, database="ens_plain")) as client:
            client.ensure_database()
            client.ensure_database()
            client.ensure_database("ens_ret", retention="30d")
            client.ensure_database("ens_ret", retention=timedelta(days=30))
            with pytest.raises(InfluxError, match="ALTER RETENTION POLICY"):
                client.ensure_database("ens_ret", retention="7d")
            client.write(b"m v=1 1\n")
        body = influxql(influx_url, "SHOW DATABASES")
        databases = {row[0] for row in body["results"][0]["series"][0]["values"]}
        assert set(names) <= databases
        rps = influxql(influx_url, "SHOW RETENTION POLICIES ON ens_ret")
        assert rps["results"][0]["series"][0]["values"][0][1] == "720h0m0s"
    finally:
        for name in names:
            influxql(influx_url, f'DROP DATABASE "{name}"')


def test_delete_range_is_half_open_and_scoped(influx_url: str, influx_db: str) -> None:
    lines = []
    for measurement in ("m1", "m2"):
        for tag in ("a", "b", "o'brien"):
            for t in range(10):
                lines.append(f"{measurement},t={tag} v={t} {t}")
    lines.append('m"q,t=a v=1 5')
    data = ("\n".join(lines) + "\n").encode()

    def times(measurement: str, tag: str) -> list[int]:
        body = influxql(
            influx_url,
            f"SELECT v FROM {quote_ident(measurement)} WHERE t = {quote_literal(tag)}",
            influx_db,
        )
        series = body["results"][0].get("series") or [{"values": []}]
        return [row[0] // S for row in series[0]["values"]]

    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        client.write(data, precision="s")
        client.delete_range("m1", 3 * S, 6 * S, {"t": "a"})
        # Injection attempts: they must match nothing, never widen the delete.
        client.delete_range("m1", 0, 10 * S, {"t": "x' OR t='b"})
        client.delete_range('m1" WHERE time > 0; DROP DATABASE "x', 0, 10 * S)
        client.delete_range("m1", 0, 10 * S, {"t\" = 'a' OR \"t": "b"})
        # Quotes in real names work.
        client.delete_range("m2", 0, 5 * S, {"t": "o'brien"})
        client.delete_range('m"q', 0, 10 * S)
        with pytest.raises(ValueError):
            client.delete_range("m1", 5, 5)

    assert times("m1", "a") == [0, 1, 2, 6, 7, 8, 9]
    assert times("m1", "b") == list(range(10))
    assert times("m1", "o'brien") == list(range(10))
    assert times("m2", "a") == list(range(10))
    assert times("m2", "o'brien") == [5, 6, 7, 8, 9]
    assert times('m"q', "a") == []


# -- authentication on a second server --------------------------------------------------------

ADMIN_PASSWORD = "Sup3r'S3cr3t-p\\ss"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    server = InfluxServer(tmp_path_factory.mktemp("auth"), auth_enabled=True)
    info = server.start()
    try:
        statement = f"CREATE USER admin WITH PASSWORD {quote_literal(ADMIN_PASSWORD)} "
        statement += "WITH ALL PRIVILEGES"
        response = requests.post(f"{info.url}/query", params={"q": statement}, timeout=10)
        assert response.status_code == 200 and "error" not in response.text, response.text
        yield info
    finally:
        server.stop()


def test_auth_right_credentials_write(auth_server: ServerInfo) -> None:
    config = InfluxConfig(
        url=auth_server.url, database="secured", username="admin", password=ADMIN_PASSWORD
    )
    with InfluxClient(config) as client:
        client.ensure_database()
        stats = client.write(lines_for("m", 5))
        rows = list(client.iter_query_rows('SELECT "v" FROM "m"'))
    assert stats.lines == 5 and len(rows) == 5


def test_auth_wrong_password_is_auth_error_not_retried_and_secret_free(
    auth_server: ServerInfo,
) -> None:
    wrong = "Wr0ng-pa55w0rd-XYZ"
    recorder = Recorder()
    config = InfluxConfig(url=auth_server.url, database="secured", username="admin", password=wrong)
    with InfluxClient(config, policy(recorder)) as client:
        with pytest.raises(AuthError) as caught:
            client.write(b"m v=1 1\n")
        with pytest.raises(AuthError):
            client.query("SHOW MEASUREMENTS")
    error = caught.value
    assert error.status == 401 and error.attempts == 1 and recorder.sleeps == []
    assert "authorization failed" in str(error)
    for text in (str(error), repr(error), repr(client), str(error.args)):
        assert wrong not in text
    assert error.__cause__ is None and error.__context__ is None


def test_auth_without_credentials_hints(auth_server: ServerInfo) -> None:
    with (
        InfluxClient(InfluxConfig(url=auth_server.url, database="secured")) as client,
        pytest.raises(AuthError, match="set credentials"),
    ):
        client.write(b"m v=1 1\n")


def test_token_scheme_on_1_6_is_401_with_basic_hint(auth_server: ServerInfo) -> None:
    token = "admin:" + ADMIN_PASSWORD
    config = InfluxConfig(url=auth_server.url, database="secured", token=token)
    assert config.auth_scheme == "token"
    with InfluxClient(config) as client, pytest.raises(AuthError) as caught:
        client.write(b"m v=1 1\n")
    error = caught.value
    assert error.status == 401
    assert "ONS_INFLUX_AUTH=basic" in str(error) and "1.6.7" in str(error)
    assert ADMIN_PASSWORD not in str(error) and ADMIN_PASSWORD not in repr(error)


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerInfo, Path]]:
    base = tmp_path_factory.mktemp("tls")
    cert, key = base / "cert.pem", base / "key.pem"
    subprocess.run(
        [
            *["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"],
            *["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            *["-keyout", str(key), "-out", str(cert)],
        ],
        check=True,
        capture_output=True,
    )
    server = InfluxServer(base, tls=TlsFiles(certificate=cert, private_key=key))
    info = server.start()
    try:
        yield info, cert
    finally:
        server.stop()


def test_tls_verifies_by_default_and_trusts_a_ca_bundle(
    tls_server: tuple[ServerInfo, Path],
) -> None:
    info, cert = tls_server
    assert info.url.startswith("https://")
    recorder = Recorder()
    with (
        InfluxClient(InfluxConfig(url=info.url, database="tls"), policy(recorder)) as client,
        pytest.raises(TlsError, match="ONS_INFLUX_CA_BUNDLE") as caught,
    ):
        client.ping()
    assert caught.value.attempts == 1 and recorder.sleeps == []
    config = InfluxConfig(url=info.url, database="tls", ca_bundle=str(cert))
    with InfluxClient(config) as client:
        assert client.ping().startswith("1.6")
        client.ensure_database()
        client.write(b"m v=1 1\n")
        assert client.query('SELECT count("v") FROM "m"')[0]["series"][0]["values"][0][1] == 1


def test_the_environment_requests_reads_is_read_once_at_construction(
    tls_server: tuple[ServerInfo, Path],
    influx_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REQUESTS_CA_BUNDLE and the proxy variables count as requests counts them, but are read
    when the client is built (requests re-reads the environment at every request otherwise)."""
    info, cert = tls_server
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with InfluxClient(InfluxConfig(url=info.url, database="tls")) as client:
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")
        assert client.ping().startswith("1.6")  # the bundle named when it was built
    with (
        InfluxClient(InfluxConfig(url=info.url, database="tls"), policy(Recorder())) as client,
        pytest.raises(TlsError),
    ):
        client.ping()  # built without it: the default trust store refuses the test CA

    port = int(influx_url.rsplit(":", 1)[1])
    with FaultProxy(port) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with InfluxClient(InfluxConfig(url=influx_url)) as client:
            monkeypatch.delenv("HTTP_PROXY")
            assert client.ping()
            assert sum(proxy.stats.requests.values()) == 1  # through the proxy named at build
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with InfluxClient(InfluxConfig(url=influx_url)) as client:
            assert client.ping()
        assert sum(proxy.stats.requests.values()) == 1  # NO_PROXY: straight to the server


# -- retries against scripted servers ---------------------------------------------------------


def test_retries_503_then_429_retry_after_then_success(stub_factory: Callable[..., Stub]) -> None:
    stub = stub_factory(
        scripted(
            (503, JSON, error_body("overloaded")),
            (429, {**JSON, "Retry-After": "1"}, error_body("slow down")),
            (204, {"X-Influxdb-Version": "2.7.1"}, b""),
        )
    )
    recorder = Recorder()
    config = InfluxConfig(url=stub.url, database="ons", username="loader", password="pw-s3cret")
    with InfluxClient(config, policy(recorder, attempts=5, base=0.2)) as client:
        stats = client.write(b"m v=1 1\n", lines=1, precision="ms")
    assert recorder.sleeps == [0.1, 1.0]  # full jitter (random=0.5) of 0.2, then Retry-After
    assert (stats.attempts, stats.retries, stats.requests, stats.slept) == (3, 2, 1, 1.1)
    assert len(stub.seen) == 3
    for seen in stub.seen:
        assert seen.method == "POST" and seen.path == "/write"
        assert seen.query == {"db": ["ons"], "precision": ["ms"]}  # never u=/p=
        assert seen.headers["Authorization"].startswith("Basic ")
        assert seen.body == b"m v=1 1\n"


def test_gzip_body_and_token_header(stub_factory: Callable[..., Stub]) -> None:
    stub = stub_factory(scripted((204, {}, b"")))
    config = InfluxConfig(url=stub.url, database="bucket", token="tok-123", gzip=True)
    with InfluxClient(config) as client:
        client.write(b"m v=1 1\n")
    seen = stub.seen[0]
    assert seen.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(seen.body) == b"m v=1 1\n"
    assert seen.headers["Authorization"] == "Token tok-123"


def test_a_server_echoing_the_credentials_has_them_scrubbed_from_every_error(
    stub_factory: Callable[..., Stub],
) -> None:
    """A proxy or server that echoes the Authorization header's value (the password in Base64
    for Basic, or the token) into a statement's error or a write's error: neither leaves."""

    def echo(seen: Seen) -> Reply:
        header = seen.headers.get("Authorization", "")
        if seen.path == "/query":
            body = {"results": [{"statement_id": 0, "error": f"rejected {header}"}]}
            return 200, JSON, json.dumps(body).encode()
        return 500, JSON, error_body(f"upstream rejected {header.split()[-1]}")

    for credentials in (
        {"username": "admin", "password": "S3cr3t-CANARY"},
        {"token": "tok-CANARY"},
    ):
        stub = stub_factory(echo)
        config = InfluxConfig(url=stub.url, database="d", **credentials)
        with InfluxClient(config, policy(Recorder(), attempts=1)) as client:
            with pytest.raises(QueryError) as query_error:
                client.query("SELECT * FROM m")
            with pytest.raises(InfluxError) as write_error:
                client.write(b"m v=1 1\n")
        for error in (query_error.value, write_error.value):
            text = f"{error} {error!r} {getattr(error, 'server_message', '')}"
            assert "***" in text, text
            assert "CANARY" not in text and "UzNjcjN0LUNBTkFSWQ" not in text, text


def test_5xx_forever_exhausts_retries(stub_factory: Callable[..., Stub]) -> None:
    stub = stub_factory(scripted((500, JSON, error_body("engine: cache full"))))
    recorder = Recorder()
    with (
        InfluxClient(InfluxConfig(url=stub.url), policy(recorder, attempts=3)) as client,
        pytest.raises(RetriesExhaustedError, match="cache full") as caught,
    ):
        client.write(b"m v=1 1\n")
    assert caught.value.attempts == 3 and len(stub.seen) == 3
    assert recorder.sleeps == [0.1, 0.2]


def test_422_is_bad_data_and_413_splits_the_batch(stub_factory: Callable[..., Stub]) -> None:
    stub = stub_factory(scripted((422, JSON, error_body("points beyond retention policy"))))
    recorder = Recorder()
    with (
        InfluxClient(InfluxConfig(url=stub.url), policy(recorder)) as client,
        pytest.raises(BadDataError, match="beyond retention"),
    ):
        client.write(b"m v=1 1\n")
    assert len(stub.seen) == 1 and recorder.sleeps == []

    def too_large_over_100(seen: Seen) -> Reply:
        return (413, JSON, error_body("too large")) if len(seen.body) > 100 else (204, {}, b"")

    big = stub_factory(too_large_over_100)
    data = lines_for("m", 8)
    with InfluxClient(InfluxConfig(url=big.url)) as client:
        stats = client.write(data)
    accepted = b"".join(s.body for s in big.seen if len(s.body) <= 100)
    assert accepted == data and stats.requests == sum(len(s.body) <= 100 for s in big.seen)
    # A caller that counted its points (the loader) is halved the same way.
    big.seen.clear()
    with InfluxClient(InfluxConfig(url=big.url)) as client:
        stats = client.write(data, lines=8)
    accepted = b"".join(s.body for s in big.seen if len(s.body) <= 100)
    assert accepted == data and stats.lines == 8 and stats.requests > 1


def test_a_payload_said_to_hold_no_point_is_still_scanned_not_dropped(
    influx_url: str, influx_db: str
) -> None:
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as c:
        stats = c.write(lines_for("miscounted", 5), lines=0)
    assert stats.requests == 1
    assert count(influx_url, influx_db, "miscounted") == 5


def test_a_counted_payload_in_one_request_that_fails_counts_its_own_points(
    stub_factory: Callable[..., Stub],
) -> None:
    stub = stub_factory(scripted((400, JSON, error_body("bad"))))
    with (
        InfluxClient(InfluxConfig(url=stub.url)) as client,
        pytest.raises(BadDataError) as caught,
    ):
        client.write(lines_for("m", 7), lines=7)
    assert (caught.value.chunk_index, caught.value.written_lines, caught.value.chunk_lines) == (
        0,
        0,
        7,
    )
    assert len(stub.seen) == 1


def test_a_counted_payload_halved_on_413_whose_second_half_fails_counts_the_first(
    stub_factory: Callable[..., Stub],
) -> None:
    data = lines_for("m", 10)

    def halve_then_refuse(seen: Seen) -> Reply:
        if len(seen.body) == len(data):
            return (413, JSON, error_body("too large"))
        return (400, JSON, error_body("bad")) if len(stub.seen) == 3 else (204, {}, b"")

    stub = stub_factory(halve_then_refuse)
    with (
        InfluxClient(InfluxConfig(url=stub.url)) as client,
        pytest.raises(BadDataError) as caught,
    ):
        client.write(data, lines=10)
    first = stub.seen[1].body.count(b"\n")
    assert 0 < first < 10 and len(stub.seen) == 3
    assert (caught.value.chunk_index, caught.value.written_lines) == (1, first)
    assert caught.value.chunk_lines == 10 - first


def test_a_counted_payload_that_fails_after_a_split_says_how_many_points_were_stored(
    stub_factory: Callable[..., Stub],
) -> None:
    def reject_the_third_request(seen: Seen) -> Reply:
        return (400, JSON, error_body("bad")) if len(stub.seen) == 3 else (204, {}, b"")

    stub = stub_factory(reject_the_third_request)
    data = lines_for("m", 10)
    per_line = len(data) // 10
    with (
        InfluxClient(InfluxConfig(url=stub.url), max_batch_bytes=3 * per_line) as client,
        pytest.raises(BadDataError) as caught,
    ):
        client.write(data, lines=10)
    assert (caught.value.chunk_index, caught.value.written_lines) == (2, 6)
    assert caught.value.chunk_lines == 3 and len(stub.seen) == 3


def test_read_timeout_is_retried(stub_factory: Callable[..., Stub]) -> None:
    calls = {"n": 0}

    def slow_first(seen: Seen) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(2.5)
        return (204, {}, b"")

    stub = stub_factory(slow_first)
    recorder = Recorder()
    # the second attempt must answer within the timeout even when the shared machine (or a
    # garbage collection in this process, where the stub runs) pauses for a few tenths
    with InfluxClient(InfluxConfig(url=stub.url, timeout=1.0), policy(recorder)) as client:
        stats = client.write(b"m v=1 1\n")
    assert stats.attempts == 2 and recorder.sleeps == [0.1]


def test_query_timeout_and_retry_can_be_set_per_query(stub_factory: Callable[..., Stub]) -> None:
    def slow(seen: Seen) -> Reply:
        time.sleep(0.6)
        return (200, JSON, b'{"results":[]}')

    stub = stub_factory(slow)
    recorder = Recorder()
    with (
        InfluxClient(InfluxConfig(url=stub.url), policy(recorder)) as client,
        pytest.raises(InfluxTimeoutError) as caught,
    ):
        client.query('SELECT "v" FROM "m"', timeout=0.2, retry=NO_RETRY)
    assert caught.value.timeout == 0.2 and caught.value.attempts == 1
    assert isinstance(caught.value, RetriesExhaustedError)  # what write callers already catch
    assert len(stub.seen) == 1 and recorder.sleeps == []


def test_a_query_answer_that_is_not_json_is_malformed(stub_factory: Callable[..., Stub]) -> None:
    stub = stub_factory(scripted((200, {"Content-Type": "text/html"}, b"<html>proxy</html>")))
    with InfluxClient(InfluxConfig(url=stub.url)) as client, pytest.raises(MalformedResponseError):
        client.query('SELECT "v" FROM "m"')


def test_flux_goes_to_the_v2_endpoint(stub_factory: Callable[..., Stub]) -> None:
    csv_text = "#datatype,string,long,double\r\n,result,table,_value\r\n,,0,1.5\r\n"

    def respond(seen: Seen) -> Reply:
        if json.loads(seen.body)["query"].startswith("bad"):
            return (400, JSON, json.dumps({"code": "invalid", "message": "bad flux"}).encode())
        return (200, {"Content-Type": "text/csv"}, csv_text.encode())

    stub = stub_factory(respond)
    config = InfluxConfig(url=stub.url, database="ons", token="tok-9", engine="2", org="o")
    with InfluxClient(config) as client:
        assert client.query_flux('from(bucket: "ons") |> range(start: -1h)') == csv_text
        with pytest.raises(QueryError, match="bad flux") as caught:
            client.query_flux("bad(")
    assert caught.value.status == 400 and caught.value.attempts == 1
    seen = stub.seen[0]
    assert (seen.method, seen.path, seen.query) == ("POST", "/api/v2/query", {"org": ["o"]})
    assert seen.headers["Authorization"] == "Token tok-9"
    assert seen.headers["Accept"] == "application/csv"
    body = json.loads(seen.body)
    assert body["type"] == "flux" and body["dialect"]["annotations"] == [
        "datatype", "group", "default",
    ]  # fmt: skip


def test_connection_refused_exhausts_retries() -> None:
    port = free_port()
    recorder = Recorder()
    config = InfluxConfig(url=f"http://127.0.0.1:{port}", username="u", password="pw-x9y8z7")
    with (
        InfluxClient(config, policy(recorder, attempts=4)) as client,
        pytest.raises(RetriesExhaustedError, match="ConnectionError") as caught,
    ):
        client.write(b"m v=1 1\n")
    error = caught.value
    assert error.attempts == 4 and recorder.sleeps == [0.1, 0.2, 0.4]
    assert error.status is None and "pw-x9y8z7" not in str(error)
    assert error.__context__ is None


def test_write_survives_influxdb_down_then_back(tmp_path: Path) -> None:
    port = free_port()
    server = InfluxServer(tmp_path, port=port)
    info = server.start()
    try:
        influxql(info.url, 'CREATE DATABASE "restart"')
        server.stop()
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            time.sleep(seconds)

        retry = RetryPolicy(max_attempts=200, base_delay=0.05, max_delay=0.1, sleep=sleep)
        outcome: dict[str, Any] = {}

        def run() -> None:
            with InfluxClient(InfluxConfig(url=info.url, database="restart"), retry) as client:
                try:
                    outcome["stats"] = client.write(lines_for("m", 100))
                except InfluxError as error:  # surfaced by the assertion below
                    outcome["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while len(sleeps) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert InfluxServer(tmp_path, port=port).start().port == port
        thread.join(30)
        assert "error" not in outcome, outcome
        assert outcome["stats"].retries >= 3
        assert count(info.url, "restart", "m") == 100
    finally:
        server.stop()


# -- 2.x admin against a fake /api/v2 ---------------------------------------------------------

ORG_ID = "0123456789abcdef"
BUCKET_ID = "fedcba9876543210"


def fake_v2(seen: Seen) -> Reply:
    if seen.path == "/api/v2/orgs":
        return 200, JSON, json.dumps({"orgs": [{"id": ORG_ID, "name": "ons"}]}).encode()
    if seen.path == "/api/v2/buckets" and seen.method == "GET":
        return 200, JSON, json.dumps({"buckets": []}).encode()
    if seen.path == "/api/v2/buckets":
        body = json.loads(seen.body)
        body.update({"id": BUCKET_ID, "type": "user"})
        return 201, JSON, json.dumps(body).encode()
    if seen.path == "/api/v2/dbrps" and seen.method == "GET":
        return 200, JSON, json.dumps({"content": []}).encode()
    if seen.path == "/api/v2/dbrps":
        body = json.loads(seen.body)
        body.update({"id": "1111111111111111", "virtual": False})
        return 201, JSON, json.dumps(body).encode()
    if seen.path == "/api/v2/delete":
        return 204, {}, b""
    return 404, JSON, error_body("not found")


def test_v2_admin_creates_bucket_dbrp_and_deletes_half_open(
    stub_factory: Callable[..., Stub], caplog: pytest.LogCaptureFixture
) -> None:
    stub = stub_factory(fake_v2)
    config = InfluxConfig(url=stub.url, database="ons", token="tok", engine="2", org="ons")
    with caplog.at_level(logging.WARNING), InfluxClient(config) as client:
        client.ensure_database(retention="30d")
        client.delete_range('carga"x', 10 * S, 20 * S, {"sub": 'S"E'})
    assert "DBRP" not in caplog.text
    posts = {s.path: json.loads(s.body) for s in stub.seen if s.method == "POST"}
    assert posts["/api/v2/buckets"]["name"] == "ons"
    assert posts["/api/v2/buckets"]["retentionRules"][0]["everySeconds"] == 30 * 86_400
    assert posts["/api/v2/buckets"]["orgID"] == ORG_ID
    assert posts["/api/v2/dbrps"]["bucketID"] == BUCKET_ID
    assert posts["/api/v2/dbrps"]["database"] == "ons"
    delete = posts["/api/v2/delete"]
    assert delete["start"] == "1970-01-01T00:00:10.000000000Z"
    assert delete["stop"] == "1970-01-01T00:00:19.999999999Z"
    assert delete["predicate"] == '"_measurement"="carga\\"x" AND "sub"="S\\"E"'
    assert all(s.headers.get("Authorization") == "Token tok" for s in stub.seen)
