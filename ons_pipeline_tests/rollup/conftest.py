"""Rollup test helpers: raw days on S3 (moto) and in the real InfluxDB, rollups published on
them, and raw-vs-routed comparisons."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import boto3
import pytest

from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline.lib.query.execute import QueryResult, execute
from ons_pipeline.lib.query.model import Aggregation, QueryModel, leaves
from ons_pipeline.lib.query.rollups import answers_equal
from ons_pipeline.lib.rollup.build import roll_days, roll_months
from ons_pipeline.lib.rollup.spec import RollupTable, months_between, rollup_tables
from ons_pipeline.lib.rollup.store import RollupStore
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.integrity.conftest import load_day, put_day

POLICY = "rollups"


@dataclass
class Loaded:
    """Raw days loaded (S3 + InfluxDB) and, optionally, their rollups published."""

    url: str
    database: str
    s3: object
    bucket: str

    def client(self, policy: str | None = None) -> InfluxClient:
        return InfluxClient(
            InfluxConfig(url=self.url, database=self.database, retention_policy=policy)
        )

    @property
    def parquet(self) -> ParquetStore:
        return ParquetStore(self.s3, self.bucket, "parquet")

    @property
    def rollups(self) -> RollupStore:
        return RollupStore(self.s3, self.bucket, "parquet")


def utc_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def load_raw(loaded: Loaded, table: str, days: list[date]) -> None:
    with loaded.client() as client:
        for day in days:
            put_day(loaded.s3, loaded.bucket, table, day)
            load_day(loaded.s3, loaded.bucket, client, table, day)


def publish(loaded: Loaded, rt: RollupTable, first: date, last: date) -> None:
    """Daily rollups of the local days ``first``…``last`` and the whole months among them."""
    with loaded.client() as admin:
        admin.ensure_retention_policy(POLICY, "INF", shard_duration="52w")
    with loaded.client(POLICY) as client:
        roll_days(
            client,
            loaded.parquet,
            loaded.rollups,
            rt,
            utc_days(first, last),
            database=loaded.database,
        )
        months = [m for m in months_between(first, last) if m >= first and _month_end(m) <= last]
        if months:
            roll_months(client, loaded.rollups, rt, months, database=loaded.database)


def _month_end(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


@pytest.fixture(scope="module")
def loaded_db(influx_url: str, moto_server) -> Iterator[Loaded]:  # type: ignore[no-untyped-def]
    database = f"rollup_{uuid.uuid4().hex[:10]}"
    bucket = f"rollup-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_server.url)
    s3.create_bucket(Bucket=bucket)
    influxql(influx_url, f'CREATE DATABASE "{database}"')
    yield Loaded(influx_url, database, s3, bucket)
    influxql(influx_url, f'DROP DATABASE "{database}"')


def magnitude(loaded: Loaded, model: QueryModel) -> tuple[int, float]:
    """(points, max |value|) of the model's fields over its range in the raw measurement: the
    inputs of the summation bound."""
    fields = sorted(
        {leaf.field for s in model.selections for leaf in leaves(s.expr) if hasattr(leaf, "field")}
    )
    start, end = model.time_range.start, model.time_range.end
    parts = ", ".join(f'count("{f}"), max("{f}"), min("{f}")' for f in fields)
    body = influxql(
        loaded.url,
        f'SELECT {parts} FROM "{model.measurement}" WHERE time >= {start} AND time < {end}',
        loaded.database,
    )
    series = body["results"][0].get("series") or []
    if not series:
        return 0, 0.0
    values = series[0]["values"][0][1:]
    counts = values[0::3]
    extremes = [abs(v) for v in values[1::3] + values[2::3] if v is not None]
    return max(int(c or 0) for c in counts), max(extremes or [0.0])


def raw_and_routed(loaded: Loaded, model: QueryModel) -> tuple[QueryResult, QueryResult]:
    with loaded.client() as client:
        raw = execute(model, client, loaded.database)
        routed = execute(model, client, loaded.database, rollups=rollup_tables())
    return raw, routed


def assert_same_answer(loaded: Loaded, model: QueryModel, kind: str = "rollup") -> QueryResult:
    """The routed answer equals the raw one (and came from ``kind``)."""
    raw, routed = raw_and_routed(loaded, model)
    assert routed.source is not None
    assert routed.source.kind == kind, routed.source.reason
    assert raw.rows, "the model must have an answer to compare"
    n, top = magnitude(loaded, model)
    equal, why = answers_equal(model, raw.rows, routed.rows, n, top)
    assert equal, f"{why}\nraw:    {raw.rows[:4]}\nrouted: {routed.rows[:4]}"
    return routed


MEAN = Aggregation.MEAN
