"""Continuous loading reaches a day before the historical migration does: the day is not
migrated until it is exported, and the export keeps the file's rows over Timestream's."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import dagster as dg

from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job
from ons_pipeline.defs.state import day_states, pending_partitions
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.faults import (
    as_points,
    compare,
    correction_csv,
    influx_points,
    source_points,
)
from ons_pipeline.local.servers import ServerInfo
from ons_pipeline_tests.defs.test_migration import assert_day_verified, materialize_day, stage

DAY = date(2024, 1, 5)
TABLE = "curva_carga"


def ingest_file(
    resources: dict[str, Any], key: str, body: bytes, instance: dg.DagsterInstance
) -> None:
    """Upload an ONS file and run its ingest, as the sensor would."""
    aws = resources["aws"]
    etag = aws.client("s3").put_object(Bucket=aws.bucket, Key=key, Body=body)["ETag"].strip('"')
    assert ingest_raw_object_job.execute_in_process(
        run_config={"ops": {"normalize_and_load": {"config": {"key": key, "etag": etag}}}},
        resources=resources,
        instance=instance,
    ).success


def test_a_day_loaded_from_a_file_first_is_migrated_only_by_its_export_and_keeps_the_file(
    moto_server: ServerInfo, s3_bucket: str, influx_url: str, influx_db: str
) -> None:
    aws = AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)
    resources = {"aws": aws, "influxdb": InfluxSettings.of(url=influx_url, database=influx_db)}
    source = source_points(TABLE, DAY)
    keys = sorted(source)[10:13]  # three points of the day, their values changed
    body, corrected = correction_csv(TABLE, source, keys, random.Random(5))
    with dg.instance_for_test() as instance:
        ingest_file(resources, "raw/curva_carga/patch.csv", body, instance)
        # only the file's three points are anywhere: the day is not migrated, whatever verifies
        assert len(influx_points(influx_url, influx_db, TABLE, DAY)) == 3
        assert not day_states(instance, TABLE, [DAY.isoformat()])[DAY.isoformat()].exported
        assert pending_partitions(instance, [TABLE], [DAY]) == {TABLE: [DAY]}

        stage(resources, [TABLE], [DAY])
        result = materialize_day(resources, DAY, [TABLE], instance)
        assert_day_verified(result, [TABLE])
        assert pending_partitions(instance, [TABLE], [DAY]) == {TABLE: []}
    expected = {**source, **corrected}  # Timestream's day, the file's values where it has rows
    assert compare(expected, influx_points(influx_url, influx_db, TABLE, DAY)).clean
    spec = schema.table(TABLE)
    stored = as_points(ParquetStore.of(aws).read(Partition(TABLE, DAY), spec), spec)
    assert compare(expected, stored).clean and len(stored) == len(expected)


def test_a_file_that_respelt_a_name_before_the_migration_keeps_one_point_per_code_and_time(
    moto_server: ServerInfo, s3_bucket: str, influx_url: str, influx_db: str
) -> None:
    """The export laid Timestream's day under the file's rows by all tags: the file's 'Norte'
    and Timestream's 'NORTE' of one code and hour became two points, the hour counted twice."""
    aws = AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)
    resources = {"aws": aws, "influxdb": InfluxSettings.of(url=influx_url, database=influx_db)}
    source = source_points(TABLE, DAY)
    keys = sorted(source)[10:13]
    name = schema.table(TABLE).tags.index("nom_subsistema")

    def respelt(series: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.title() if i == name else v for i, v in enumerate(series))

    renamed = {(respelt(series), moment): source[(series, moment)] for series, moment in keys}
    body, corrected = correction_csv(TABLE, renamed, sorted(renamed), random.Random(6))
    with dg.instance_for_test() as instance:
        ingest_file(resources, "raw/curva_carga/respelt.csv", body, instance)
        stage(resources, [TABLE], [DAY])
        assert_day_verified(materialize_day(resources, DAY, [TABLE], instance), [TABLE])
    expected = {k: v for k, v in source.items() if k not in set(keys)} | corrected
    found = influx_points(influx_url, influx_db, TABLE, DAY)
    assert compare(expected, found).clean and len(found) == len(source)
    spec = schema.table(TABLE)
    stored = as_points(ParquetStore.of(aws).read(Partition(TABLE, DAY), spec), spec)
    assert compare(expected, stored).clean and len(stored) == len(source)
