"""Integrity test helpers: canonical partitions on S3 (moto), loaded into the real InfluxDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import boto3
import pyarrow as pa
import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.migration.loader import load_tables
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.local.generator import generate_canonical

PARQUET = "parquet"


def generated(table: str, day: date) -> pa.Table:
    window = day_window(day)
    return pa.concat_tables(list(generate_canonical(table, window.start, window.end, seed=0)))


def put_day(s3, bucket: str, table: str, day: date, rows: pa.Table | None = None) -> pa.Table:  # type: ignore[no-untyped-def]
    """Write a table-day's canonical partition (generated unless ``rows``) to S3."""
    spec = schema.table(table)
    rows = generated(table, day) if rows is None else rows
    ParquetStore(s3, bucket, PARQUET).write(Partition(table, day), [rows], spec)
    return rows


def load_day(s3, bucket: str, client: InfluxClient, table: str, day: date) -> int:  # type: ignore[no-untyped-def]
    """Load a table-day's partition from S3 into InfluxDB; the points written."""
    spec = schema.table(table)
    batches = ParquetStore(s3, bucket, PARQUET).batches(Partition(table, day), spec)
    report = load_tables(batches, spec, client, partition=day.isoformat())
    assert report.failed_batches == 0, report.errors
    return report.points


@pytest.fixture
def s3(moto_server):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=moto_server.url)


@pytest.fixture
def influx(influx_url: str, influx_db: str) -> Iterator[InfluxClient]:
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        yield client
