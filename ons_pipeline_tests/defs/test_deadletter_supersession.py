"""Dead letters that newer events superseded are not replayed (issue #11 item 7): real Dagster
runs, moto and InfluxDB. The batches fail for a real reason: the database's default retention
policy is one hour, so InfluxDB drops every 2018 point ("points beyond retention policy")."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest
from click.testing import CliRunner

from ons_pipeline.cli.common import dagster_home
from ons_pipeline.cli.main import main
from ons_pipeline.defs.migration.rollback import rollback
from ons_pipeline.defs.state import dead_letter_supersession
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.deadletter import (
    GENERATION,
    STATUS_SUPERSEDED,
    S3DeadLetterStore,
)
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.defs.test_migration import (
    field_counts_in_influx,
    field_counts_in_source,
    materialize_day,
    stage,
)

TABLE = "ear_diario"
DAY = date(2018, 11, 2)


@pytest.fixture
def setup(moto_server, s3_bucket, influx_url, influx_db, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    influxql(influx_url, f'CREATE DATABASE "{influx_db}"')
    influxql(
        influx_url,
        f'CREATE RETENTION POLICY "short" ON "{influx_db}" DURATION 1h REPLICATION 1 DEFAULT',
    )
    aws = AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)
    resources = {
        "aws": aws,
        "influxdb": InfluxSettings.of(url=influx_url, database=influx_db, batch_lines=2),
    }
    stage(resources, [TABLE], [DAY])
    for name, value in {
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "ONS_S3_BUCKET": s3_bucket,
        "ONS_INFLUX_URL": influx_url,
        "ONS_INFLUX_DATABASE": influx_db,
    }.items():
        monkeypatch.setenv(name, value)
    dagster_home()  # the instance the command line opens
    instance = dg.DagsterInstance.get()
    assert not materialize_day(resources, DAY, [TABLE], instance).success
    s3 = aws.client("s3")
    letters = S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=s3)
    entries = letters.list(table=TABLE)
    store = ParquetStore.of(aws, s3)
    assert entries and {e.extra[GENERATION] for e in entries} == {
        store.generation(Partition(TABLE, DAY))
    }
    influxql(influx_url, f'ALTER RETENTION POLICY "short" ON "{influx_db}" DURATION INF')
    return resources, instance, letters, store


def replay(setup):  # type: ignore[no-untyped-def]
    resources, instance, letters, store = setup
    with resources["influxdb"].client() as client:
        return letters.replay(client, superseded=dead_letter_supersession(instance, store))


def test_entries_of_a_failed_day_nothing_superseded_are_replayed(
    setup, influx_url, influx_db
) -> None:  # type: ignore[no-untyped-def]
    report = replay(setup)
    assert report.ok and report.replayed and not report.superseded
    counts = field_counts_in_influx(influx_url, influx_db, TABLE, DAY)
    assert counts == field_counts_in_source(TABLE, DAY)


def test_entries_of_a_rewritten_partition_are_not_replayed(setup) -> None:  # type: ignore[no-untyped-def]
    resources, instance, letters, store = setup
    before = store.generation(Partition(TABLE, DAY))
    assert materialize_day(resources, DAY, [TABLE], instance).success  # re-exported, loaded
    assert store.generation(Partition(TABLE, DAY)) != before
    pending = letters.list(table=TABLE)
    report = replay(setup)
    assert not report.replayed and set(report.superseded) == {e.id for e in pending}
    assert all("was rewritten after this batch failed" in r for r in report.superseded.values())
    assert letters.list(table=TABLE) == []
    kept = letters.list(table=TABLE, include_replayed=True)
    assert {e.status for e in kept} == {STATUS_SUPERSEDED} and len(kept) == len(pending)
    assert replay(setup).superseded == {}  # decided once


def test_entries_of_a_rolled_back_day_do_not_bring_points_back(
    setup, influx_url, influx_db
) -> None:  # type: ignore[no-untyped-def]
    resources, instance, _, _ = setup
    result = rollback.execute_in_process(
        run_config={
            "ops": {
                "rollback_influxdb_range": {
                    "config": {"table": TABLE, "first_day": str(DAY), "last_day": str(DAY)}
                }
            }
        },
        resources=resources,
        instance=instance,
    )
    assert result.success
    report = replay(setup)
    assert not report.replayed and report.superseded
    assert all("rolled back" in r for r in report.superseded.values())
    assert sum(field_counts_in_influx(influx_url, influx_db, TABLE, DAY).values()) == 0


def test_the_command_line_says_which_entries_it_did_not_replay_and_why(setup) -> None:  # type: ignore[no-untyped-def]
    resources, instance, letters, _ = setup
    assert materialize_day(resources, DAY, [TABLE], instance).success
    pending = letters.list(table=TABLE)
    result = CliRunner().invoke(main, ["dlq", "replay", "--table", TABLE])
    assert result.exit_code == 0, result.output
    assert f"superseded {len(pending)}" in result.output
    assert result.output.count("not replayed") == len(pending)
    assert "was rewritten after this batch failed" in result.output
