"""What request metrics cost a request: the API with metrics off, with the batched metrics this
project uses, and with one synchronous ``PutMetricData`` per request (what it avoids).

    .venv/bin/python benchmarks/api_metrics.py [--requests 2000]

Each side is the real app (``create_app``), called through FastAPI's TestClient on
``GET /v2/tables`` (an open route that reads no server), the sides interleaved in rounds so
machine noise spreads evenly:

- ``off``: ``ONS_API_METRICS`` off (no middleware);
- ``batched``: the metrics middleware recording in memory; the publisher thread's interval is
  longer than the run, so nothing is sent during it (one publication a minute in production);
- ``sync_put``: the same app plus a middleware that sends each request's datum with
  ``PutMetricData`` before answering — to moto on loopback; the real CloudWatch endpoint is a
  network round trip (and TLS) away, so this side is a lower bound of that design's cost.

A moto server is started on loopback (its own state directory) and stopped at the end. The last
line printed is one JSON object: per-request mean and p99 in ms of each side and the overhead of
``batched`` over ``off``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from fastapi.testclient import TestClient

from ons_pipeline.api.app import create_app
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.settings import ApiSettings, InfluxSettings, MonitoringSettings, Settings
from ons_pipeline.local.servers import MotoServer

PATH = "/v2/tables"


def app_settings(moto_url: str, metrics: bool) -> Settings:
    return Settings(
        aws=AwsSettings(endpoint_url=moto_url),
        influx=InfluxSettings.of(url="http://127.0.0.1:9"),
        monitoring=MonitoringSettings(environment="benchmark"),
        api=ApiSettings(
            api_key="k" * 32,
            rag_embedder="hashing",
            metrics=metrics,
            metrics_interval_s=3600,
        ),
    )


def sync_put_client(moto_url: str) -> TestClient:
    app = create_app(app_settings(moto_url, metrics=False))
    cloudwatch = boto3.client("cloudwatch", **AwsSettings(endpoint_url=moto_url).client_kwargs())

    @app.middleware("http")
    async def put_per_request(request: Any, call_next: Any) -> Any:
        began = time.perf_counter()
        response = await call_next(request)
        cloudwatch.put_metric_data(
            Namespace="ONS/Benchmark",
            MetricData=[
                {
                    "MetricName": "ApiLatencyMs",
                    "Dimensions": [{"Name": "Endpoint", "Value": f"GET {PATH}"}],
                    "Value": (time.perf_counter() - began) * 1000,
                    "Unit": "Milliseconds",
                }
            ],
        )
        return response

    return TestClient(app)


def timed(client: TestClient, n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        response = client.get(PATH)
        out.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return out


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "mean_ms": round(statistics.fmean(samples), 4),
        "p50_ms": round(ordered[len(ordered) // 2], 4),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per side")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ons-bench-metrics-") as state:
        moto = MotoServer(Path(state))
        info = moto.start()
        try:
            clients = {
                "off": TestClient(create_app(app_settings(info.url, metrics=False))),
                "batched": TestClient(create_app(app_settings(info.url, metrics=True))),
                "sync_put": sync_put_client(info.url),
            }
            for client in clients.values():
                client.__enter__()
                timed(client, 50)  # warm up
            samples: dict[str, list[float]] = {name: [] for name in clients}
            per_round = max(1, args.requests // args.rounds)
            for _ in range(args.rounds):
                for name, client in clients.items():
                    samples[name] += timed(client, per_round)
            recorded = clients["batched"].app.state.api_metrics.metrics.take()  # type: ignore[attr-defined]
            for client in clients.values():
                client.__exit__(None, None, None)
        finally:
            moto.stop()
    result: dict[str, Any] = {"requests_per_side": len(samples["off"])}
    for name, values in samples.items():
        figures = summary(values)
        print(
            f"{name:9} mean {figures['mean_ms']:.3f} ms  p50 {figures['p50_ms']:.3f} ms  "
            f"p99 {figures['p99_ms']:.3f} ms"
        )
        result[name] = figures
    counted = sum(cell.requests for cell in recorded.values())
    result["batched_recorded_requests"] = counted
    result["batched_overhead_ms"] = round(
        result["batched"]["mean_ms"] - result["off"]["mean_ms"], 4
    )
    result["sync_put_overhead_ms"] = round(
        result["sync_put"]["mean_ms"] - result["off"]["mean_ms"], 4
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
