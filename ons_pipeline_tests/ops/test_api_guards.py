"""The query API's pure guards and metrics (no HTTP): key fingerprints, the token bucket per key,
the per-minute request aggregates and what they become in CloudWatch (moto), the flusher keeping
data through a failed publication. The API-level behaviour is in ``api/test_observability.py``."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from ons_pipeline.lib.ops.apiguard import RateLimiter, TokenBucket, key_fingerprint
from ons_pipeline.lib.ops.apimetrics import (
    COUNTERS,
    MetricsFlusher,
    RequestMetrics,
    RequestOutcome,
    quantize_ms,
)
from ons_pipeline.lib.ops.monitoring import Metric, MetricsPublisher
from ons_pipeline.local.servers import ServerInfo
from ons_pipeline_tests.api.stubs import stub_server


class Clock:
    """Time that moves only when told (the bucket's arithmetic, exactly)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- fingerprints ---------------------------------------------------------------------------------


def test_fingerprints_are_short_keyed_and_stable() -> None:
    key = "a-presented-key-0123456789"
    fp = key_fingerprint(key, b"server-key")
    assert len(fp) == 12 and all(c in "0123456789abcdef" for c in fp)
    assert fp == key_fingerprint(key, b"server-key")  # same on every task with the same key
    assert fp != key_fingerprint(key, b"another-server-key")  # keyed: no guessing offline
    assert fp != key_fingerprint(key + "x", b"server-key")
    for size in range(4, len(key) + 1):  # no part of the key is in it
        assert key[:size] not in fp and key[-size:] not in fp


# -- rate limit -----------------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10.0, burst=3, clock=clock)
    assert [limiter.check("k").allowed for _ in range(3)] == [True, True, True]
    refused = limiter.check("k")
    assert not refused.allowed and math.isclose(refused.retry_after_s, 0.1)
    assert refused.retry_after_header == "1"  # whole seconds, at least 1
    clock.now += 0.1  # one token back
    assert limiter.check("k").allowed and not limiter.check("k").allowed
    clock.now += 10.0  # refilled to the burst, not beyond
    assert [limiter.check("k").allowed for _ in range(4)] == [True, True, True, False]
    # Keys are independent.
    assert limiter.check("other").allowed


def test_refusals_are_reported_once_per_window_with_their_count() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, report_every=10.0, clock=clock)
    assert limiter.check("k").allowed
    first = limiter.check("k")
    assert (first.allowed, first.report, first.refused) == (False, True, 1)
    quiet = [limiter.check("k") for _ in range(5)]
    assert not any(d.report for d in quiet)
    clock.now += 10.0
    assert limiter.check("k").allowed  # refilled
    again = limiter.check("k")
    assert again.report and again.refused == 6  # the five unreported ones and this one
    assert math.isclose(TokenBucket(0.5, 2, 0.0, 0.0).take(0.0), 2.0)  # Retry-After 2 s


def test_rate_zero_is_off_and_buckets_are_bounded() -> None:
    assert all(RateLimiter(0.0, 1).check("k").allowed for _ in range(100))
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        limiter.check(key)
    limiter.check("d")  # all three busy: the least recently used is forgotten
    assert len(limiter._buckets) == 3 and "a" not in limiter._buckets
    clock.now += 5.0  # now all idle (full again): a new key forgets them
    limiter.check("e")
    assert set(limiter._buckets) == {"e"}
    with pytest.raises(ValueError):
        RateLimiter(-1.0, 1)


# -- request metrics ------------------------------------------------------------------------------


def test_outcomes_are_counted_by_what_they_are() -> None:
    def counters(status: int, **kw: Any) -> list[str]:
        return RequestOutcome("POST /v2/query", status, 1.0, **kw).counters()

    assert counters(200) == []
    assert counters(401) == ["Api4xxErrors", "ApiRejectedKeys"]
    assert counters(429) == ["Api4xxErrors", "ApiRateLimited"]
    assert counters(422, malformed=True) == ["Api4xxErrors", "ApiMalformedRequests"]
    assert counters(504, timeout=True) == ["Api5xxErrors", "ApiTimeouts"]
    assert counters(500, timeout=True) == ["Api5xxErrors", "ApiTimeouts"]  # legacy's 504
    assert quantize_ms(123.456) == 123.0 and quantize_ms(0.012345) == 0.0123
    assert quantize_ms(98765.4) == 98800.0 and quantize_ms(0.0) == 0.0


def test_minutes_and_endpoints_become_cloudwatch_data() -> None:
    clock = Clock(6000.0)  # a minute boundary
    metrics = RequestMetrics(clock=clock)
    metrics.record(RequestOutcome("POST /v2/query", 200, 12.34))
    metrics.record(RequestOutcome("POST /v2/query", 200, 12.3449))  # same 3-digit value
    metrics.record(RequestOutcome("POST /v2/query", 504, 300.0, timeout=True))
    metrics.record(RequestOutcome("POST /query", 401, 1.0))
    clock.now += 60.0
    metrics.record(RequestOutcome("POST /query", 200, 40.0))
    data = RequestMetrics.to_metrics(metrics.take())
    assert metrics.take() == {}

    def find(name: str, minute: float, endpoint: str | None) -> Metric:
        dims = (("Endpoint", endpoint),) if endpoint else ()
        (found,) = [
            m
            for m in data
            if m.name == name and m.dimensions == dims and m.timestamp.timestamp() == minute
        ]
        return found

    q = find("ApiLatencyMs", 6000.0, "POST /v2/query")
    assert (q.values, q.counts, q.unit) == ((12.3, 300.0), (2.0, 1.0), "Milliseconds")
    assert find("ApiRequests", 6000.0, "POST /v2/query").value == 3
    assert find("ApiTimeouts", 6000.0, "POST /v2/query").value == 1
    assert find("Api5xxErrors", 6000.0, "POST /v2/query").value == 1
    assert find("ApiRejectedKeys", 6000.0, "POST /v2/query").value == 0  # zero is data
    assert find("ApiRejectedKeys", 6000.0, "POST /query").value == 1
    # All endpoints together, per minute, without the Endpoint dimension.
    assert find("ApiRequests", 6000.0, None).value == 4
    assert find("ApiLatencyMs", 6000.0, None).counts == (1.0, 2.0, 1.0)
    assert find("ApiRequests", 6060.0, None).value == 1
    # Every counter for every (minute, endpoint) and every minute: 3 cells + 2 minutes.
    assert len(data) == 5 * (2 + len(COUNTERS))


def test_distributions_reach_cloudwatch_and_keep_every_sample(
    moto_server: ServerInfo,
) -> None:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_server.url, region_name="us-east-1")
    env = "test-distribution"
    values = tuple(float(v) for v in range(1, 321))  # more than 150 distinct values: 3 data
    publisher = MetricsPublisher(cloudwatch, "ONS/Test", env)
    sent = publisher.publish(
        [Metric("Lat", 0.0, "Milliseconds", None, (("Endpoint", "GET /x"),), values, (2.0,) * 320)]
    )
    assert sent == 3
    now = datetime.now(UTC)
    (point,) = cloudwatch.get_metric_statistics(
        Namespace="ONS/Test",
        MetricName="Lat",
        Dimensions=[{"Name": "Environment", "Value": env}, {"Name": "Endpoint", "Value": "GET /x"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=7200,
        Statistics=["SampleCount", "Maximum", "Minimum", "Sum"],
    )["Datapoints"]
    assert point["SampleCount"] == 640 and point["Maximum"] == 320 and point["Minimum"] == 1
    assert point["Sum"] == 2 * sum(values)


def test_a_failed_publication_keeps_the_data_for_the_next(moto_server: ServerInfo) -> None:
    metrics = RequestMetrics()
    for status in (200, 200, 500):
        metrics.record(RequestOutcome("POST /v2/query", status, 5.0))
    with stub_server({}) as (url, seen):  # answers 404 to PutMetricData: a failing endpoint
        broken = boto3.client(
            "cloudwatch",
            endpoint_url=url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        failing = MetricsFlusher(metrics, lambda: MetricsPublisher(broken, "ONS/Test", "x"))
        assert failing.flush() == 0 and failing.failures == 1 and seen
    metrics.record(RequestOutcome("POST /v2/query", 200, 5.0))
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_server.url, region_name="us-east-1")
    env = "test-retained"
    working = MetricsFlusher(metrics, lambda: MetricsPublisher(cloudwatch, "ONS/Test", env))
    assert working.flush() > 0 and working.flush() == 0  # sent once, then nothing left
    now = datetime.now(UTC)
    answer = cloudwatch.get_metric_statistics(
        Namespace="ONS/Test",
        MetricName="ApiRequests",
        Dimensions=[
            {"Name": "Environment", "Value": env},
            {"Name": "Endpoint", "Value": "POST /v2/query"},
        ],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=7200,
        Statistics=["Sum"],
    )
    assert sum(p["Sum"] for p in answer["Datapoints"]) == 4  # the 3 kept and the new one


def test_retained_data_is_bounded_to_the_newest_minutes() -> None:
    clock = Clock(0.0)
    metrics = RequestMetrics(max_periods=3, clock=clock)
    for _ in range(5):
        metrics.record(RequestOutcome("GET /health", 200, 1.0))
        clock.now += 60.0
    metrics.put_back(metrics.take())
    assert sorted(start for start, _ in metrics.take()) == [120, 180, 240]
    assert metrics.dropped == 2
