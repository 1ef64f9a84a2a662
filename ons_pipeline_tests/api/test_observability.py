"""API observability and security against the real app (TestClient), the real InfluxDB and moto:
request metrics per endpoint read back from CloudWatch (moto) after the background publication —
never during a request; rejected keys, malformed bodies and rate limiting as security events
that never carry a key; the per-key token bucket with 429 and Retry-After."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from ons_pipeline.api.app import create_app
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.secrets import SECURITY_LOGGER
from ons_pipeline.lib.ops.apiguard import key_fingerprint
from ons_pipeline.lib.ops.apimetrics import COUNTERS
from ons_pipeline.lib.rag.index import KnowledgeIndex
from ons_pipeline.lib.settings import (
    ApiSettings,
    InfluxSettings,
    MonitoringSettings,
    Settings,
)
from ons_pipeline.local.servers import ServerInfo
from ons_pipeline_tests.api.conftest import API_KEY, ApiData, app_client
from ons_pipeline_tests.api.openapi_check import OpenApiValidator
from ons_pipeline_tests.api.stubs import silent_server

NAMESPACE = "ONS/Pipeline"
WRONG_KEY = "wrong-key-7f3a9c1e5b2d8046"
QUESTION = "Qual foi a carga média do Sudeste em 2024-03-05?"


@pytest.fixture
def make_app(
    api_data: ApiData, knowledge_index: KnowledgeIndex, moto_server: ServerInfo
) -> Iterator[Callable[..., TestClient]]:
    """``make_app(influx=..., **api_settings)`` → a TestClient of an app publishing its metrics
    to moto under a fresh ``Environment`` (``client.environment``); its lifespan runs, so the
    publisher thread is the real one."""
    clients: list[TestClient] = []

    def make(influx: InfluxSettings | None = None, **api: Any) -> TestClient:
        environment = f"test-{uuid.uuid4().hex[:10]}"
        api.setdefault("api_key", API_KEY)
        api.setdefault("metrics", True)
        settings = Settings(
            aws=AwsSettings(endpoint_url=moto_server.url),
            influx=influx or api_data.influx(),
            monitoring=MonitoringSettings(namespace=NAMESPACE, environment=environment),
            api=ApiSettings(**api),
        )
        client = app_client(settings, knowledge_index)
        client.__enter__()  # lifespan: the metrics thread starts
        client.environment = environment  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def cloudwatch(moto_server: ServerInfo) -> Any:
    return boto3.client("cloudwatch", endpoint_url=moto_server.url, region_name="us-east-1")


def stats(
    cw: Any, environment: str, name: str, endpoint: str | None, stat: str = "Sum"
) -> float | None:
    """One statistic of a metric over the last hour (None: no data).

    moto matches dimension *subsets* (CloudWatch matches exact sets), so the all-endpoints
    figure is read as the Environment-only query minus the per-endpoint ones."""
    now = datetime.now(UTC)
    dims = [{"Name": "Environment", "Value": environment}]
    if endpoint:
        dims.append({"Name": "Endpoint", "Value": endpoint})
    points = cw.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=name,
        Dimensions=dims,
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=7200,
        Statistics=[stat],
    )["Datapoints"]
    if not points:
        return None
    values = [p[stat] for p in points]
    return max(values) if stat == "Maximum" else sum(values)


def dimension_sets(cw: Any, environment: str, name: str) -> list[dict[str, str]]:
    found = []
    for page in cw.get_paginator("list_metrics").paginate(Namespace=NAMESPACE, MetricName=name):
        for metric in page["Metrics"]:
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            if dims.get("Environment") == environment:
                found.append(dims)
    return found


def security_events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    return [
        r.security_event  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == SECURITY_LOGGER and getattr(r, "security_event", {}).get("event") == name
    ]


def assert_no_key_in_logs(caplog: pytest.LogCaptureFixture, *keys: str) -> None:
    """Neither the keys nor any 6-character piece of them in any log line or event field."""
    text = caplog.text + "".join(
        json.dumps(getattr(r, "security_event", {}), default=str) for r in caplog.records
    )
    for key in keys:
        for start in range(len(key) - 5):
            assert key[start : start + 6] not in text, f"a piece of {key[:3]}… was logged"


# -- metrics --------------------------------------------------------------------------------------


def test_request_metrics_per_endpoint_reach_cloudwatch_in_batches(
    make_app: Callable[..., TestClient], moto_server: ServerInfo
) -> None:
    client = make_app(metrics_interval_s=3600)  # the thread waits: nothing is sent per request
    env = client.environment  # type: ignore[attr-defined]
    cw = cloudwatch(moto_server)
    for _ in range(3):
        assert client.post("/v2/query", json={"query": QUESTION}).status_code == 200
    assert client.post("/v2/query", json={"query": QUESTION, "bogus": 1}).status_code == 422
    assert client.post("/query", json={"question": ""}).status_code == 400  # legacy: malformed
    assert client.post("/query", json={}, headers={"X-API-Key": WRONG_KEY}).status_code == 401
    assert client.get("/health").status_code == 200
    assert client.get("/wp-admin/setup.php").status_code == 404
    assert client.request("PATCH", "/v2/query").status_code == 405
    assert stats(cw, env, "ApiRequests", None) is None  # nothing published on the request path

    flusher = client.app.state.api_metrics  # type: ignore[attr-defined]
    assert flusher.flush() > 0
    query = "POST /v2/query"
    assert stats(cw, env, "ApiRequests", query) == 4
    assert stats(cw, env, "Api4xxErrors", query) == 1
    assert stats(cw, env, "ApiMalformedRequests", query) == 1
    assert stats(cw, env, "Api5xxErrors", query) == 0
    assert stats(cw, env, "ApiTimeouts", query) == 0
    latency = stats(cw, env, "ApiLatencyMs", query, "SampleCount")
    assert latency == 4  # one sample per request: a distribution, percentiles in CloudWatch
    assert 0 < (stats(cw, env, "ApiLatencyMs", query, "Maximum") or 0) < 60_000
    legacy = "POST /query"
    assert stats(cw, env, "ApiRequests", legacy) == 2
    assert stats(cw, env, "ApiRejectedKeys", legacy) == 1
    assert stats(cw, env, "ApiMalformedRequests", legacy) == 1
    assert stats(cw, env, "ApiRequests", "GET /health") == 1
    # Paths no route takes, or a method it does not take, are one label: no metric per path.
    assert stats(cw, env, "ApiRequests", "unmatched") == 2
    endpoints = {d.get("Endpoint") for d in dimension_sets(cw, env, "ApiRequests")}
    assert endpoints == {query, legacy, "GET /health", "unmatched", None}
    # The all-endpoints series exists with exactly {Environment} (what the alarms match).
    assert {"Environment": env} in dimension_sets(cw, env, "ApiRequests")
    for name in ("ApiRequests", "ApiLatencyMs", *COUNTERS):
        assert {"Environment": env, "Endpoint": query} in dimension_sets(cw, env, name), name
    total = stats(cw, env, "ApiRequests", None)
    assert total == 2 * 9  # moto: per-endpoint data (9) + the all-endpoints series (9)


def test_timeouts_and_server_errors_are_counted_per_endpoint(
    make_app: Callable[..., TestClient], moto_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    with silent_server() as url:  # an InfluxDB that never answers
        client = make_app(
            influx=InfluxSettings.of(url=url, database="ons"), metrics_interval_s=3600
        )
        response = client.post("/v2/query", json={"query": QUESTION, "timeout_s": 0.3})
        assert response.status_code == 504
    processor = client.app.state.processor  # type: ignore[attr-defined]

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(processor, "process", boom)
    assert client.post("/v2/query", json={"query": QUESTION}).status_code == 500
    client.app.state.api_metrics.flush()  # type: ignore[attr-defined]
    env, cw, query = client.environment, cloudwatch(moto_server), "POST /v2/query"  # type: ignore[attr-defined]
    assert stats(cw, env, "ApiRequests", query) == 2
    assert stats(cw, env, "Api5xxErrors", query) == 2
    assert stats(cw, env, "ApiTimeouts", query) == 1  # the 504, not the 500


def test_the_publisher_thread_sends_every_interval(
    make_app: Callable[..., TestClient], moto_server: ServerInfo
) -> None:
    client = make_app(metrics_interval_s=1)
    assert client.get("/v2/tables").status_code == 200
    env, cw = client.environment, cloudwatch(moto_server)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while stats(cw, env, "ApiRequests", "GET /v2/tables") is None:  # no flush() called here
        assert time.monotonic() < deadline, "the thread published nothing in 10 s"
        time.sleep(0.2)
    assert stats(cw, env, "ApiRequests", "GET /v2/tables") == 1


def test_the_lifespan_publishes_what_is_left_at_shutdown(
    make_app: Callable[..., TestClient], moto_server: ServerInfo
) -> None:
    client = make_app(metrics_interval_s=3600)
    assert client.get("/v2/tables").status_code == 200
    client.__exit__(None, None, None)  # shutdown: the thread stops and flushes
    env = client.environment  # type: ignore[attr-defined]
    assert stats(cloudwatch(moto_server), env, "ApiRequests", "GET /v2/tables") == 1
    client.__enter__()  # the fixture closes it again


def test_metrics_follow_the_settings() -> None:
    off = Settings.from_env({})
    assert off.api.metrics is False  # a laptop publishes nothing
    deployed = Settings.from_env({"ONS_METRICS_ENVIRONMENT": "prod"})
    assert deployed.api.metrics is True and deployed.api.metrics_interval_s == 60
    assert (
        Settings.from_env(
            {"ONS_METRICS_ENVIRONMENT": "prod", "ONS_API_METRICS": "false"}
        ).api.metrics
        is False
    )
    app = create_app(
        Settings(
            influx=InfluxSettings.of(url="http://127.0.0.1:9"),
            api=ApiSettings(api_key=API_KEY, rag_embedder="hashing"),
        )
    )
    assert app.state.api_metrics is None


# -- security events ------------------------------------------------------------------------------


def test_rejected_keys_are_security_events_without_the_key(
    make_app: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(metrics=False)
    caplog.set_level(logging.INFO)
    assert (
        client.post(
            "/v2/query", json={"query": QUESTION}, headers={"X-API-Key": WRONG_KEY}
        ).status_code
        == 401
    )
    bearer = {"X-API-Key": "", "Authorization": f"Bearer {WRONG_KEY}"}
    assert (
        client.post("/v2/context", json={"question": QUESTION}, headers=bearer).status_code == 401
    )
    assert (
        client.post("/query", json={"question": QUESTION}, headers={"X-API-Key": ""}).status_code
        == 401
    )
    events = security_events(caplog, "api.key_rejected")
    assert [(e["reason"], e["path"], e["method"]) for e in events] == [
        ("invalid", "/v2/query", "POST"),
        ("invalid", "/v2/context", "POST"),
        ("missing", "/query", "POST"),
    ]
    fingerprint = key_fingerprint(WRONG_KEY, client.app.state.key_secret)
    assert events[0]["key_fingerprint"] == events[1]["key_fingerprint"] == fingerprint
    assert events[2]["key_fingerprint"] is None
    assert events[0]["client"] == "testclient" and events[0]["query_id"]
    assert all(e["user_agent"] == "testclient" for e in events)
    assert_no_key_in_logs(caplog, WRONG_KEY, API_KEY)


def test_a_server_without_a_key_logs_every_attempt(
    make_app: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(api_key=None, metrics=False)
    caplog.set_level(logging.INFO)
    assert client.post("/v2/query", json={"query": QUESTION}).status_code == 401
    (event,) = security_events(caplog, "api.key_rejected")
    assert event["reason"] == "not_configured" and event["key_fingerprint"]
    assert_no_key_in_logs(caplog, API_KEY)


def test_malformed_requests_are_security_events_without_their_values(
    make_app: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(metrics=False)
    caplog.set_level(logging.INFO)
    marker = "private-payload-c0ffee-1234"
    response = client.post("/v2/query", json={"query": QUESTION, "note": marker})
    assert response.status_code == 422
    response = client.post(
        "/query",
        content=b'{"question": "' + marker.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400  # broken JSON, legacy shape
    assert client.post("/query", json={"question": "x" * 1001}).status_code == 400
    events = security_events(caplog, "api.request_malformed")
    assert [(e["path"], [p["type"] for p in e["errors"]]) for e in events] == [
        ("/v2/query", ["extra_forbidden"]),
        ("/query", ["json_invalid"]),
        ("/query", ["string_too_long"]),
    ]
    assert events[0]["errors"][0]["loc"] == "body.note"
    # The key was checked before the body (a JSON syntax error is caught before: no fingerprint).
    fingerprint = key_fingerprint(API_KEY, client.app.state.key_secret)
    assert [e["key_fingerprint"] for e in events] == [fingerprint, None, fingerprint]
    assert marker not in caplog.text and "x" * 50 not in caplog.text
    assert_no_key_in_logs(caplog, API_KEY)


# -- rate limit -----------------------------------------------------------------------------------


def test_rate_limit_per_key_answers_429_with_retry_after(
    make_app: Callable[..., TestClient], moto_server: ServerInfo, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(rate_limit_per_s=0.5, rate_limit_burst=2, metrics_interval_s=3600)
    # Time stands still for the bucket: on a slow machine a second between two requests would
    # refill half a token and change the Retry-After this test reads.
    client.app.state.rate_limiter.clock = lambda: 1000.0  # type: ignore[attr-defined]
    caplog.set_level(logging.INFO)
    ok = [client.post("/v2/query", json={"query": QUESTION}) for _ in range(2)]
    assert [r.status_code for r in ok] == [200, 200]
    limited = client.post("/v2/query", json={"query": QUESTION})
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"  # one token at 0.5/s
    body = limited.json()
    OpenApiValidator(client).validate("/v2/query", "post", 429, body)
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["retry_after_s"] == 2
    # The legacy contract answers 429 too (a 400 would tell a client its question was wrong).
    legacy = client.post("/query", json={"question": QUESTION})
    assert legacy.status_code == 429 and legacy.headers["Retry-After"] == "2"
    assert set(legacy.json()) == {"error", "query_id"}
    # Open routes are not limited; a wrong key is refused before it could spend a token.
    assert client.get("/health").status_code == 200
    wrong = client.post("/v2/query", json={"query": QUESTION}, headers={"X-API-Key": WRONG_KEY})
    assert wrong.status_code == 401
    # One event for the burst of refusals, not one per request.
    (event,) = security_events(caplog, "api.rate_limited")
    assert event["key_fingerprint"] == key_fingerprint(API_KEY, client.app.state.key_secret)
    assert event["refused"] == 1 and event["rate_per_s"] == 0.5 and event["burst"] == 2
    assert_no_key_in_logs(caplog, API_KEY, WRONG_KEY)
    client.app.state.api_metrics.flush()  # type: ignore[attr-defined]
    env, cw = client.environment, cloudwatch(moto_server)  # type: ignore[attr-defined]
    assert stats(cw, env, "ApiRateLimited", "POST /v2/query") == 1
    assert stats(cw, env, "ApiRateLimited", "POST /query") == 1


def test_rate_limit_settings() -> None:
    api = Settings.from_env({"ONS_API_RATE_LIMIT": "5", "ONS_API_RATE_BURST": "7"}).api
    assert (api.rate_limit_per_s, api.rate_limit_burst) == (5.0, 7)
    assert Settings.from_env({}).api.rate_limit_per_s == 20.0
    from ons_pipeline.lib.settings import SettingsError

    with pytest.raises(SettingsError, match="ONS_API_RATE_LIMIT"):
        Settings.from_env({"ONS_API_RATE_LIMIT": "-1"})
    with pytest.raises(SettingsError, match="ONS_API_RATE_BURST"):
        Settings.from_env({"ONS_API_RATE_BURST": "0"})


def test_the_key_fingerprint_is_not_keyed_by_the_api_key(
    make_app: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    """The fingerprint was HMAC(key, key): anyone holding the logs could test guesses of the API
    key offline (a security review). It is keyed by ONS_API_FINGERPRINT_KEY — the same on every
    task — or by a random key per process."""
    caplog.set_level(logging.INFO)
    shared = [make_app(fingerprint_key="shared-secret", metrics=False) for _ in range(2)]
    alone = make_app(metrics=False)
    for client in (*shared, alone):
        assert client.post("/v2/query", json={"query": QUESTION}, headers={"X-API-Key": "no"})
    events = security_events(caplog, "api.key_rejected")
    prints = [e["key_fingerprint"] for e in events]
    assert len(prints) == 3 and prints[0] == prints[1] != prints[2]
    assert prints[0] == key_fingerprint("no", b"shared-secret")
    assert key_fingerprint("no", b"no") not in prints


def test_a_burst_of_wrong_keys_is_one_event_with_its_count(
    make_app: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    """Every 401 logged a security event (a wrong key spends no token): anyone reaching the load
    balancer could write log lines at request rate (a security review). One event per client,
    route, reason and key in 10 s; the next one says how many went unreported."""
    from ons_pipeline.lib.ops.apiguard import EventThrottle

    client = make_app(metrics=False)
    now = [0.0]
    client.app.state.key_rejections = EventThrottle(clock=lambda: now[0])
    caplog.set_level(logging.INFO)
    wrong = {"X-API-Key": WRONG_KEY}
    for _ in range(50):
        response = client.post("/v2/query", json={"query": QUESTION}, headers=wrong)
        assert response.status_code == 401
    assert [e["unreported"] for e in security_events(caplog, "api.key_rejected")] == [0]
    now[0] = 11.0
    assert client.post("/v2/query", json={"query": QUESTION}, headers=wrong).status_code == 401
    assert [e["unreported"] for e in security_events(caplog, "api.key_rejected")] == [0, 49]
