"""`ons-pipeline migrate` after a partial correction: the day is reloaded from its merged Parquet
partition, not exported again from Timestream (found by ``benchmarks/faults.py``)."""

from __future__ import annotations

import os
import random
import subprocess
from datetime import date

import dagster as dg
import pytest

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
from ons_pipeline_tests.defs.cli import migrate_command, stage_exports
from ons_pipeline_tests.defs.test_migration import materialize_day

DAY = date(2024, 3, 5)


@pytest.mark.slow
def test_migrate_after_a_correction_reloads_the_day_and_keeps_the_corrected_values(
    cli_env: dict[str, str],
    influx_url: str,
    influx_db: str,
    moto_server: ServerInfo,
    s3_bucket: str,
) -> None:
    """A migrated day gets a partial correction (the ingest run of a raw file); its verification
    run has not passed yet (ONS_INGEST_VERIFY=stopped, or that run failed), so the day is pending
    again. `ons-pipeline migrate` must then reload the day from its merged partition — not export
    it again from Timestream, which still holds the values the file corrected."""
    from ons_pipeline.cli.common import dagster_home
    from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job

    table = "curva_carga"
    aws = AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)
    influx = InfluxSettings.of(url=influx_url, database=influx_db)
    resources = {"aws": aws, "influxdb": influx}
    env = {**cli_env, "ONS_INGEST_SENSOR": "stopped", "ONS_INGEST_VERIFY": "stopped"}
    # Timestream would answer the day's export again
    stage_exports(env, table, [DAY], page_bytes=1 << 30, answers=2)
    source = source_points(table, DAY)
    keys = sorted(source)[5:8]
    body, corrected = correction_csv(table, source, keys, random.Random(11))
    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        dagster_home()
        with dg.DagsterInstance.get() as instance:
            assert materialize_day(resources, DAY, [table], instance).success
            key = "raw/corrections/curva.csv"
            etag = aws.client("s3").put_object(Bucket=s3_bucket, Key=key, Body=body)["ETag"]
            config = {"key": key, "etag": etag.strip('"')}
            assert ingest_raw_object_job.execute_in_process(
                run_config={"ops": {"normalize_and_load": {"config": config}}},
                resources=resources,
                instance=instance,
            ).success
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = saved
    expected = {**source, **corrected}
    assert compare(expected, influx_points(influx_url, influx_db, table, DAY)).clean
    command = migrate_command(table, DAY, DAY, timeout_s=240)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "table-days run:      1" in again.stdout, again.stdout
    counts = compare(expected, influx_points(influx_url, influx_db, table, DAY))
    assert counts.clean, counts
    partition = ParquetStore.of(aws).read(Partition(table, DAY), schema.table(table))
    assert compare(expected, as_points(partition, schema.table(table))).clean
