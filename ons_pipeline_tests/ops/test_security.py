"""Security: credentials from the environment or Secrets Manager (moto), TLS by default outside
loopback, refused credentials and TLS failures as security events, and no secret in Parquet,
S3, logs, Dagster metadata or the repository.

The auth-enabled and HTTPS InfluxDB fixtures are the ones of ``lib/test_influx.py`` (which
already covers: right credentials write, wrong password → AuthError not retried and secret-free,
Token on 1.6.7, no CA bundle → TlsError, right CA bundle works)."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow.parquet as pq
import pytest
import requests
from dagster._serdes import serialize_value

from ons_pipeline.defs.keys import influxdb_key, parquet_key
from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import (
    AuthError,
    ConfigError,
    InfluxConfig,
    RetryPolicy,
    TlsError,
    quote_literal,
)
from ons_pipeline.lib.influx.secrets import (
    SECURITY_LOGGER,
    InfluxCredentials,
    SecretError,
    clear_secret_cache,
    influx_credentials_from_secret,
    parse_influx_secret,
    require_tls,
    resolve_influx_config,
    secure_client,
)
from ons_pipeline.lib.settings import InfluxSettings, Settings
from ons_pipeline.local.servers import ServerInfo
from ons_pipeline.local.staging import stage_day
from ons_pipeline_tests.lib.influx.test_client import (  # noqa: F401  (fixtures reused, not duplicated)
    ADMIN_PASSWORD,
    auth_server,
    tls_server,
)

REPO = Path(__file__).resolve().parents[2]
DAY = date(2024, 5, 7)


@pytest.fixture(autouse=True)
def _fresh_secret_cache() -> Iterator[None]:
    clear_secret_cache()
    yield
    clear_secret_cache()


def security_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        r.security_event  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == SECURITY_LOGGER and hasattr(r, "security_event")
    ]


def create_secret(aws: Any, value: dict[str, str] | str) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    answer = aws("secretsmanager").create_secret(
        Name=f"influxdb-auth-{uuid.uuid4().hex[:8]}", SecretString=text
    )
    return str(answer["ARN"])


@dataclass
class Loader:
    """A user of the auth-enabled server with a random password, made for one test."""

    url: str
    username: str
    password: str


@pytest.fixture
def loader(auth_server: ServerInfo) -> Loader:  # noqa: F811
    user = f"loader_{uuid.uuid4().hex[:6]}"
    password = "Ld-" + secrets.token_urlsafe(16)
    statement = f"CREATE USER {user} WITH PASSWORD {quote_literal(password)} WITH ALL PRIVILEGES"
    response = requests.post(
        f"{auth_server.url}/query",
        params={"q": statement},
        auth=("admin", ADMIN_PASSWORD),
        timeout=10,
    )
    assert response.status_code == 200 and "error" not in response.text, response.text
    return Loader(auth_server.url, user, password)


# -- secret formats -------------------------------------------------------------------------


def test_secret_formats_of_timestream_for_influxdb_and_tokens() -> None:
    v2 = parse_influx_secret(
        json.dumps(
            {"organization": "ons", "bucket": "ons", "username": "admin", "password": "pw-1x"}
        )
    )
    assert (v2.username, v2.password, v2.token, v2.organization) == ("admin", "pw-1x", None, "ons")
    assert parse_influx_secret('{"token": "tok-abc"}').token == "tok-abc"
    assert parse_influx_secret("tok-bare-123\n").token == "tok-bare-123"
    for text in (repr(v2), str(v2)):
        assert "pw-1x" not in text and "password" in text
    with pytest.raises(SecretError, match="placeholder"):
        parse_influx_secret("unset-put-the-pipeline-token-here")
    with pytest.raises(SecretError, match=r"\['organization', 'username'\]") as caught:
        parse_influx_secret('{"organization": "ons", "username": "hunter2-user"}')
    assert "hunter2" not in str(caught.value).replace("'username'", "")
    with pytest.raises(SecretError, match="neither JSON nor a single token"):
        parse_influx_secret("two words")
    with pytest.raises(SecretError, match="empty"):
        parse_influx_secret("  ")


def test_scheme_follows_the_secret_unless_chosen_explicitly(aws: Any) -> None:
    token_arn = create_secret(aws, {"token": "tok-xyz"})
    user_arn = create_secret(aws, {"username": "admin", "password": "pw-abc-123"})
    base = {"url": "https://influx.example.com:8086", "database": "ons"}
    assert resolve_influx_config(base, token_arn).auth_scheme == "token"
    basic = resolve_influx_config({**base, "auth_scheme": "basic"}, token_arn)
    assert (basic.auth_scheme, basic.username, basic.token) == ("basic", "ons-pipeline", "tok-xyz")
    from_user = resolve_influx_config(base, user_arn)
    assert (from_user.auth_scheme, from_user.username) == ("basic", "admin")
    with pytest.raises(SecretError, match="ONS_INFLUX_AUTH=basic"):
        resolve_influx_config({**base, "auth_scheme": "token"}, user_arn)
    # Explicit credentials in the environment win over the secret (which is not even read).
    explicit = resolve_influx_config({**base, "token": "env-token"}, "arn:aws:secretsmanager:x")
    assert explicit.token == "env-token"


def test_secret_is_read_at_run_time_cached_and_never_in_the_resource_config(
    aws: Any, loader: Loader, caplog: pytest.LogCaptureFixture
) -> None:
    arn = create_secret(
        aws, {"username": loader.username, "password": loader.password, "bucket": "x"}
    )
    db = f"sec_{uuid.uuid4().hex[:8]}"
    resource = Settings.from_env(
        {"ONS_INFLUX_URL": loader.url, "ONS_INFLUX_DATABASE": db, "ONS_INFLUX_SECRET_ARN": arn}
    ).influx
    assert resource.secret_arn == arn and resource.connection["password"] is None
    assert loader.password not in json.dumps(dict(resource.connection), default=str)
    assert loader.password not in repr(resource)
    caplog.set_level(logging.DEBUG)
    with resource.client() as client:
        assert client.credential_source == "secretsmanager"  # type: ignore[attr-defined]
        client.ensure_database()
        client.write(b"m v=1 1\n")
        assert client.query('SELECT count("v") FROM "m"')[0]["series"][0]["values"][0][1] == 1
        assert loader.password not in repr(client)
    assert f"from secret {arn} (username, password)" in caplog.text
    assert loader.password not in caplog.text

    calls = []

    class Counting:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            calls.append(SecretId)
            return {"SecretString": '{"token": "t"}'}

    clear_secret_cache()
    for _ in range(3):
        assert influx_credentials_from_secret("arn:x", Counting()).token == "t"
    assert calls == ["arn:x"]
    assert influx_credentials_from_secret("arn:x", Counting(), max_age=0).token == "t"
    assert len(calls) == 2


def test_clients_outside_dagster_read_the_secret_too(aws: Any, loader: Loader) -> None:
    arn = create_secret(aws, {"username": loader.username, "password": loader.password})
    env = {
        "ONS_INFLUX_URL": loader.url,
        "ONS_INFLUX_DATABASE": f"cli_{uuid.uuid4().hex[:6]}",
        "ONS_INFLUX_AUTH": "basic",
        "ONS_INFLUX_SECRET_ARN": arn,
    }
    config = Settings.from_env(env).influx.config()
    assert (config.auth_scheme, config.username) == ("basic", loader.username)
    with Settings.from_env(env).influx.client() as client:
        assert client.credential_source == "secretsmanager"  # type: ignore[attr-defined]
        client.ensure_database()
    own = {**env, "ONS_INFLUX_USERNAME": "me", "ONS_INFLUX_PASSWORD": "x"}
    assert Settings.from_env(own).influx.config().password == "x"  # the environment wins


def test_a_missing_secret_fails_the_run_clearly_not_the_definitions(aws: Any) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    resource = InfluxSettings.of(url="http://127.0.0.1:1", secret_arn=arn)  # built: no AWS call
    with pytest.raises(SecretError, match=f"could not read secret {arn}: ResourceNotFound"):
        resource.client()


CANARY = "S3cr3t-CANARY-7781"


@pytest.mark.parametrize(
    "url", [f"https://admin:{CANARY}@127.0.0.1:8086", f"https://h:8086/?p={CANARY}"]
)
def test_a_url_with_credentials_is_refused_whatever_the_credentials_source(url: str) -> None:
    """With a secret ARN too (health reports and alerts show the URL: it must hold no secret),
    from the environment as from code; the message does not repeat the URL."""
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ons-AbCdEf"
    env = {"ONS_INFLUX_URL": url, "ONS_INFLUX_SECRET_ARN": arn}
    for build in (
        lambda: Settings.from_env(env),
        lambda: InfluxSettings.of(url=url, secret_arn=arn),
    ):
        with pytest.raises(ConfigError) as raised:
            build()
        assert "CANARY" not in str(raised.value)


def test_the_settings_repr_shows_no_password_or_token() -> None:
    settings = InfluxSettings.of(
        url="http://127.0.0.1:8086", password="pw-CANARY", token="t-CANARY"
    )
    assert "CANARY" not in repr(settings) and "CANARY" not in str(settings)


# -- refused credentials and TLS as security events -----------------------------------------


def test_wrong_credentials_are_a_clear_unretried_error_logged_as_a_security_event(
    aws: Any, loader: Loader, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wr0ng-" + secrets.token_urlsafe(12)
    arn = create_secret(aws, {"username": loader.username, "password": wrong})
    sleeps: list[float] = []
    retry = RetryPolicy(max_attempts=5, sleep=sleeps.append)
    resource = InfluxSettings.of(url=loader.url, database="secured", secret_arn=arn)
    caplog.set_level(logging.INFO)
    with resource.client(retry) as client, pytest.raises(AuthError) as caught:
        client.write(b"m v=1 1\n")
    error = caught.value
    assert error.status == 401 and error.attempts == 1 and sleeps == []
    assert "InfluxDB refused the credentials" in str(error) and loader.username in str(error)
    (event,) = security_records(caplog)
    assert event["event"] == "influxdb.auth_failure"
    assert event["status"] == 401 and event["username"] == loader.username
    assert event["credential_source"] == "secretsmanager" and event["path"] == "/write"
    assert event["url"] == loader.url and event["attempts"] == 1
    record = next(r for r in caplog.records if r.name == SECURITY_LOGGER)
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("SECURITY EVENT influxdb.auth_failure {")
    for text in (caplog.text, str(error), repr(error), json.dumps(event)):
        assert wrong not in text and loader.password not in text


def test_reports_over_many_measurements_stop_at_refused_credentials(
    loader: Loader, caplog: pytest.LogCaptureFixture
) -> None:
    """The storage report's cardinality and retention reads loop over measurements and groups:
    refused credentials end the loop at the first request, they are not one entry's error."""
    from ons_pipeline.lib.influx.retention import read_retention
    from ons_pipeline.lib.integrity.cardinality import Target, measure
    from ons_pipeline.lib.schema import retention_groups, tables

    wrong = "Wr0ng-" + secrets.token_urlsafe(12)
    settings = InfluxSettings.of(
        url=loader.url, database="secured", username=loader.username, password=wrong
    )
    caplog.set_level(logging.INFO)
    with settings.client() as client:
        with pytest.raises(AuthError):
            measure(client, [Target(t.measurement) for t in tables().values()])
        with pytest.raises(AuthError):
            read_retention(client, list(retention_groups().values()))
    events = security_records(caplog)
    assert [e["event"] for e in events] == ["influxdb.auth_failure"] * 2


def test_refused_credentials_on_the_2x_admin_api_are_a_security_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """influxdb-client's own error for a 401 becomes the same AuthError, logged alike."""
    from influxdb_client.rest import ApiException

    settings = InfluxSettings.of(url="https://127.0.0.1:9", engine="2", token="tok-x", org="o")
    caplog.set_level(logging.INFO)
    with settings.client() as client:
        error = client._v2_error("ensuring bucket 'ons'", ApiException(status=401, reason="no"))
    assert isinstance(error, AuthError) and error.status == 401
    (event,) = security_records(caplog)
    assert event["event"] == "influxdb.auth_failure" and event["status"] == 401


def test_a_wrong_ca_is_a_clear_tls_error_and_a_security_event(
    tls_server: tuple[ServerInfo, Path],  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    info, right_ca = tls_server
    other_ca, other_key = tmp_path / "other.pem", tmp_path / "other.key"
    subprocess.run(
        [
            *["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
            *["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            *["-keyout", str(other_key), "-out", str(other_ca)],
        ],
        check=True,
        capture_output=True,
    )
    sleeps: list[float] = []
    wrong = InfluxSettings.of(url=info.url, database="tls", ca_bundle=str(other_ca))
    caplog.set_level(logging.INFO)
    with (
        wrong.client(RetryPolicy(sleep=sleeps.append)) as client,
        pytest.raises(TlsError) as caught,
    ):
        client.ping()
    message = str(caught.value)
    assert "certificate verify failed" in message and "ONS_INFLUX_CA_BUNDLE" in message
    assert sleeps == [] and caught.value.attempts == 1
    (event,) = security_records(caplog)
    assert event["event"] == "influxdb.tls_failure" and event["ca_bundle"] == str(other_ca)
    # the 2.x admin API (influxdb-client: buckets, retention, deletes) fails and is logged alike
    caplog.clear()
    v2 = InfluxSettings.of(
        url=info.url,
        database="tls",
        ca_bundle=str(other_ca),
        engine="2",
        token="tok-not-used-7781",
        org="ons",
    )
    with v2.client() as client, pytest.raises(TlsError) as caught:
        client.ensure_database()
    assert "ONS_INFLUX_CA_BUNDLE" in str(caught.value)
    (event,) = security_records(caplog)
    assert event["event"] == "influxdb.tls_failure" and "bucket" in event["path"]
    # https is the default expectation, and the right CA works through the same path.
    right = InfluxSettings.of(url=info.url, database="tls", ca_bundle=str(right_ca))
    with right.client() as client:
        assert client.ping().startswith("1.6")
    missing = InfluxSettings.of(url=info.url, ca_bundle=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match="not a readable file"):
        missing.client()


def test_plain_http_outside_loopback_is_refused_even_without_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    remote = InfluxConfig(url="http://influx.internal:8086")
    with pytest.raises(ConfigError, match="must be reached over https"):
        require_tls(remote)
    (event,) = security_records(caplog)
    assert event["event"] == "influxdb.insecure_transport_refused"
    with pytest.raises(ConfigError, match="ONS_INFLUX_ALLOW_INSECURE"):
        InfluxSettings.of(url="http://influx.internal:8086").client()
    require_tls(InfluxConfig(url="http://influx.internal:8086", allow_insecure=True))
    require_tls(InfluxConfig(url="http://127.0.0.1:8086"))
    require_tls(InfluxConfig(url="https://influx.internal:8086"))
    secure_client(InfluxConfig(url="http://localhost:8086")).close()


# -- no secret anywhere ---------------------------------------------------------------------


def scan_for(secret: str, texts: dict[str, str | bytes]) -> list[str]:
    needle = secret.encode()
    found = []
    for where, text in texts.items():
        data = text.encode() if isinstance(text, str) else text
        if needle in data:
            found.append(where)
    return found


def s3_texts(aws: AwsSettings) -> dict[str, str | bytes]:
    s3 = aws.client("s3")
    out: dict[str, str | bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=aws.bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=aws.bucket, Key=item["Key"])["Body"].read()
            out[f"s3://{aws.bucket}/{item['Key']}"] = body
            if item["Key"].endswith(".parquet"):
                import io

                table = pq.read_table(io.BytesIO(body))
                decoded = f"{table.schema}\n{table.schema.metadata}\n{table.to_pylist()}"
                out[f"parquet rows of {item['Key']}"] = decoded
    return out


def run_texts(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> dict[str, str]:
    out = {"run": serialize_value(result.dagster_run)}
    for index, entry in enumerate(instance.all_logs(result.run_id)):
        out[f"event {index} {entry.dagster_event_type}"] = serialize_value(entry)
    return out


def test_no_secret_in_parquet_s3_logs_or_dagster_metadata(
    aws: Any,
    moto_server: ServerInfo,
    s3_bucket: str,
    loader: Loader,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage = AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)
    name = "curva_carga"
    db = f"nosecret_{uuid.uuid4().hex[:8]}"
    arn = create_secret(aws, {"username": loader.username, "password": loader.password})
    monkeypatch.setenv("ONS_INFLUX_PASSWORD", loader.password)
    # From here on, everything the pipeline logs at any level is kept (the test's own setup
    # above sent the secret to Secrets Manager, and botocore logs its requests at DEBUG).
    caplog.clear()
    capfd.readouterr()
    caplog.set_level(logging.DEBUG)
    by_secret = Settings.from_env(
        {"ONS_INFLUX_URL": loader.url, "ONS_INFLUX_DATABASE": db, "ONS_INFLUX_SECRET_ARN": arn}
    ).influx
    by_env = Settings.from_env(
        {
            "ONS_INFLUX_URL": loader.url,
            "ONS_INFLUX_DATABASE": db,
            "ONS_INFLUX_USERNAME": loader.username,
            "ONS_INFLUX_PASSWORD": loader.password,
        }
    ).influx
    wrong_password = "Bad-" + secrets.token_urlsafe(12)
    wrong = InfluxSettings.of(
        url=loader.url, database=db, username=loader.username, password=wrong_password
    )
    instance = dg.DagsterInstance.ephemeral()
    texts: dict[str, str | bytes] = {}
    outcomes = []
    for label, influx in (("secret", by_secret), ("env", by_env), ("wrong", wrong)):
        stage_day(  # each export consumes the staged Timestream answers
            schema.table(name),
            DAY,
            mode="query",
            endpoint_url=moto_server.url,
            target=storage,
            s3=storage.client("s3"),
        )
        result = dg.materialize(
            migration_assets(),
            partition_key=DAY.isoformat(),
            resources={"aws": storage, "influxdb": influx},
            selection=[parquet_key(name), influxdb_key(name)],
            instance=instance,
            raise_on_error=False,
        )
        outcomes.append((label, result.success))
        texts.update({f"{label}: {k}": v for k, v in run_texts(instance, result).items()})
    assert outcomes == [("secret", True), ("env", True), ("wrong", False)]
    event = instance.get_latest_materialization_event(influxdb_key(name))
    points = event.asset_materialization.metadata["points"].value  # type: ignore[union-attr]
    assert points > 0
    texts.update(s3_texts(storage))
    assert any(key.endswith(".parquet") for key in texts)
    captured = capfd.readouterr()
    texts.update({"log records": caplog.text, "stdout": captured.out, "stderr": captured.err})
    # The failed run says why, without the password it tried.
    failure = "\n".join(str(v) for k, v in texts.items() if k.startswith("wrong: event"))
    assert "InfluxDB refused the credentials" in failure
    for secret in (loader.password, wrong_password):
        assert scan_for(secret, texts) == [], f"a secret leaked into {scan_for(secret, texts)}"
    assert "SECURITY EVENT influxdb.auth_failure" in caplog.text


# -- the repository -------------------------------------------------------------------------

# Directories that are not the repository's content (build products, caches, local state) or
# that hold deliberate bad examples (checkov fixtures) and test data.
_SKIP_DIRS = {
    ".git",
    ".venv",
    ".venv-checkov",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".ons-pipeline",
    ".dagster_home",
    ".terraform",
    "build",
    "dist",
}
_SKIP_PATHS = ("infra/checkov/fixtures", "ons_pipeline_tests/data", "data")
# High-confidence credential shapes: anywhere, tests included.
_CREDENTIAL_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}\b"
    ),
    "private key": re.compile("-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE " + "KEY"),
    "InfluxDB token": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{86}=="),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "URL with a password": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s:@'\"{}$]{6,}@"),
}
# A literal assigned to a secret-named setting, outside tests (tests use throw-away values).
_ASSIGNMENT = re.compile(
    r"(?i)\b[\w-]*(?:password|passwd|secret_key|api_key|token)\b['\"]?\s*[:=]\s*['\"]([^'\"\s]{8,})['\"]"
)
_ALLOWED_VALUES = {"unset-put-the-pipeline-token-here"}


def repository_files() -> Iterator[Path]:
    for root, dirs, files in os.walk(REPO):
        rel_root = Path(root).relative_to(REPO)
        dirs[:] = [
            d
            for d in dirs
            if d not in _SKIP_DIRS
            and not d.endswith(".egg-info")
            and not d.startswith("tmp")
            and (rel_root / d).as_posix() not in _SKIP_PATHS
        ]
        for name in files:
            path = Path(root) / name
            if path.stat().st_size <= 2_000_000:
                yield path


def test_the_repository_holds_no_secret_looking_strings() -> None:
    problems = []
    scanned = 0
    for path in repository_files():
        rel = path.relative_to(REPO).as_posix()
        if rel.endswith((".tfstate", ".tfstate.backup")) or path.name in {".env", ".envrc"}:
            problems.append(f"{rel}: a state/env file must not be in the repository")
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue
        text = data.decode("utf-8", errors="replace")
        scanned += 1
        for label, pattern in _CREDENTIAL_PATTERNS.items():
            for match in pattern.finditer(text):
                if "EXAMPLE" not in match.group(0):
                    problems.append(f"{rel}: {label}: {match.group(0)[:12]}…")
        is_test = rel.startswith("ons_pipeline_tests/") or "/tests/" in rel
        if not is_test:
            for match in _ASSIGNMENT.finditer(text):
                value = match.group(1)
                if value in _ALLOWED_VALUES or value.startswith(("ONS_", "DAGSTER_", "${", "{")):
                    continue
                problems.append(f"{rel}: literal secret-like assignment {match.group(0)[:40]}…")
    assert scanned > 50
    assert problems == []


def test_the_scanner_catches_what_it_is_meant_to() -> None:
    key = "AKIA" + "Q3EGRIPBZ7XJ4NTS"
    assert _CREDENTIAL_PATTERNS["AWS access key id"].search(f"id = {key}")
    token = "a" * 43 + "B" * 43 + "=="
    assert _CREDENTIAL_PATTERNS["InfluxDB token"].search(f"ONS_INFLUX_TOKEN={token}")
    url = "postgresql://dagster:" + "s3cr3tpw@db/x"
    assert _CREDENTIAL_PATTERNS["URL with a password"].search(url)
    assert not _CREDENTIAL_PATTERNS["URL with a password"].search("postgresql://{user}:{pw}@db")
    assert _ASSIGNMENT.search('password = "hunter2hunter2"')
    assert not _ASSIGNMENT.search('password = os.environ["X"]')
    assert InfluxCredentials(password="p").secrets == ("p", None)
