"""The migration spine through real Dagster runs, moto and the real InfluxDB."""

from __future__ import annotations

import json
from datetime import date, timedelta

import boto3
import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ons_pipeline.cli.backfill import tally
from ons_pipeline.defs.keys import DAY_MIGRATED, EXACT_VERIFICATION, influxdb_key, parquet_key
from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.defs.migration.rollback import rollback
from ons_pipeline.defs.state import loaded_partitions
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.generator import generate_canonical
from ons_pipeline.local.staging import stage_day
from ons_pipeline_tests.conftest import influx_write, influxql

START = date(2018, 11, 1)
WEEK = [START + timedelta(days=k) for k in range(7)]


def field_counts_in_source(table: str, day: date) -> dict[str, int]:
    window = day_window(day)
    generated = list(generate_canonical(table, window.start, window.end, seed=0))
    combined = pa.concat_tables(generated) if generated else None
    spec = schema.table(table)
    if combined is None:
        return {f: 0 for f in spec.field_names}
    return {f: combined.num_rows - combined.column(f).null_count for f in spec.field_names}


def field_counts_in_influx(url: str, db: str, table: str, day: date) -> dict[str, int]:
    window = day_window(day)
    spec = schema.table(table)
    body = influxql(
        url,
        f'SELECT count(*) FROM "{spec.measurement}" '
        f"WHERE time >= {window.start_ns} AND time < {window.end_ns}",
        db,
    )
    series = body["results"][0].get("series")
    counts = {f: 0 for f in spec.field_names}
    if series:
        for column, value in zip(series[0]["columns"][1:], series[0]["values"][0][1:], strict=True):
            counts[column.removeprefix("count_")] = int(value)
    return counts


@pytest.fixture
def resources(moto_server, s3_bucket, influx_url, influx_db) -> dict:  # type: ignore[no-untyped-def]
    return {
        "aws": AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket),
        "influxdb": InfluxSettings.of(url=influx_url, database=influx_db, batch_lines=2_000),
    }


def stage(resources: dict, tables: list[str], days: list[date], mode: str = "query") -> None:
    """Stage what Timestream answers for each table-day, in ``mode`` (query or unload)."""
    aws: AwsSettings = resources["aws"]
    s3 = aws.client("s3")
    for name in tables:
        for day in days:
            stage_day(
                schema.table(name),
                day,
                mode=mode,
                endpoint_url=str(aws.endpoint_url),
                target=aws,
                s3=s3,
            )


def materialize_day(resources: dict, day: date, tables: list[str], instance=None):  # type: ignore[no-untyped-def]
    selection = [k for t in tables for k in (parquet_key(t), influxdb_key(t))]
    return dg.materialize(
        migration_assets(),
        partition_key=day.isoformat(),
        resources=resources,
        selection=selection,
        instance=instance,
        raise_on_error=False,
    )


def assert_day_verified(result: dg.ExecuteInJobResult, tables: list[str]) -> None:
    """The day's run succeeded and the exact verification of every table passed."""
    assert result.success
    checks = {(e.asset_key, e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    for name in tables:
        assert checks[(influxdb_key(name), EXACT_VERIFICATION)] is True, name


@pytest.mark.slow
def test_a_week_of_every_table_migrates_with_counts_equal_to_the_source(
    resources, influx_url, influx_db
) -> None:  # type: ignore[no-untyped-def]
    names = list(schema.tables())
    stage(resources, names, WEEK)
    instance = dg.DagsterInstance.ephemeral()
    for day in WEEK:
        result = materialize_day(resources, day, names, instance)
        assert result.success, day
    for name in names:
        for day in WEEK:
            source = field_counts_in_source(name, day)
            assert sum(source.values()) > 0, (name, day)
            assert field_counts_in_influx(influx_url, influx_db, name, day) == source, (name, day)
    # Materialization metadata carries the figures the UI shows.
    event = instance.get_latest_materialization_event(influxdb_key("geracao_usina"))
    assert event is not None
    metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["points"].value > 0 and metadata["failed batches"].value == 0
    assert metadata["points/s"].value > 0


def test_reloading_a_day_neither_duplicates_nor_loses(resources, influx_url, influx_db) -> None:  # type: ignore[no-untyped-def]
    names = ["curva_carga", "geracao_usina"]
    day = WEEK[3]  # 2018-11-04: the DST-start day
    for _ in range(2):
        stage(resources, names, [day])
        assert materialize_day(resources, day, names).success
    for name in names:
        assert field_counts_in_influx(influx_url, influx_db, name, day) == field_counts_in_source(
            name, day
        )
    s3 = boto3.client("s3")
    prefix = Partition("geracao_usina", day).prefix("parquet")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=resources["aws"].bucket, Prefix=prefix)["Contents"]
    ]
    current = ParquetStore(s3, resources["aws"].bucket).keys(Partition("geracao_usina", day))
    assert len(current) == 1 and keys == [prefix + "_manifest.json", *current]


def test_bad_partition_fails_naming_table_partition_and_row_others_complete(
    resources, influx_url, influx_db
) -> None:  # type: ignore[no-untyped-def]
    good, bad = WEEK[0], WEEK[1]
    names = ["cmo_semihorario"]
    stage(resources, names, [good])
    assert materialize_day(resources, good, names).success
    loaded_before = field_counts_in_influx(influx_url, influx_db, "cmo_semihorario", good)
    # A partition whose Parquet has a timestamp outside its day, written behind the pipeline.
    spec = schema.table("cmo_semihorario")
    window = day_window(bad)
    rows = pa.concat_tables(generate_canonical("cmo_semihorario", window.start, window.end))
    times = pc.cast(rows.column("time"), pa.int64()).to_pylist()
    times[5] = window.end_ns + 1_800_000_000_000
    rows = rows.set_column(0, "time", pa.array(times, pa.int64()).cast(schema.TIME_TYPE))
    sink = pa.BufferOutputStream()
    import pyarrow.parquet as pq

    pq.write_table(rows, sink)
    prefix = Partition(spec.name, bad).prefix("parquet")
    boto3.client("s3").put_object(
        Bucket=resources["aws"].bucket,
        Key=prefix + "part-00000.parquet",
        Body=sink.getvalue().to_pybytes(),
    )
    result = dg.materialize(
        migration_assets(),
        partition_key=bad.isoformat(),
        resources=resources,
        selection=[influxdb_key(spec.name)],
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "cmo_semihorario" in message and f"date={bad}" in message and "row 5" in message
    assert "outside the partition window" in message
    # What was loaded before is still there, untouched.
    assert field_counts_in_influx(influx_url, influx_db, "cmo_semihorario", good) == loaded_before


def test_a_day_loaded_whose_verification_fails_is_counted_failed_not_done(
    resources, influx_url, influx_db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Its points are written (a materialization of the load) but the day is not migrated: the
    metadata says so, and `migrate`'s progress counts it as failed while the backfill runs."""
    import ons_pipeline.lib.migration.pipeline as pipeline

    day, table = WEEK[2], "cmo_semihorario"
    stage(resources, [table], [day])
    verify_days = pipeline.verify_days

    def a_point_arrives_before_the_verification(*args, **kwargs):  # type: ignore[no-untyped-def]
        # a series the source lacks, inside the day: InfluxDB holds more than the source
        line = "cmo_semihorario,id_subsistema=XX,nom_subsistema=XX val_cmo=1 "
        influx_write(influx_url, influx_db, line + str(day_window(day).start_ns))
        return verify_days(*args, **kwargs)

    monkeypatch.setattr(pipeline, "verify_days", a_point_arrives_before_the_verification)
    result = materialize_day(resources, day, [table])
    assert not result.success
    checks = {(e.asset_key, e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert checks[(influxdb_key(table), EXACT_VERIFICATION)] is False
    (load,) = [
        e.event_specific_data.materialization  # type: ignore[union-attr]
        for e in result.get_asset_materialization_events()
        if e.asset_key == influxdb_key(table)
    ]
    assert load.metadata[DAY_MIGRATED].value is False
    done: set[str] = set()
    failed: set[str] = set()
    assert tally(load, done, failed) == 0
    assert (done, failed) == (set(), {day.isoformat()})
    # a day that passed: done, with its points
    monkeypatch.setattr(pipeline, "verify_days", verify_days)
    other = WEEK[3]
    stage(resources, [table], [other])
    result = materialize_day(resources, other, [table])
    assert_day_verified(result, [table])
    (load,) = [
        e.event_specific_data.materialization  # type: ignore[union-attr]
        for e in result.get_asset_materialization_events()
        if e.asset_key == influxdb_key(table)
    ]
    assert tally(load, done, failed) == load.metadata["points"].value > 0
    assert tally(load, done, failed) == 0  # counted once
    assert done == {other.isoformat()}


def test_rollback_deletes_the_range_records_it_and_reload_restores(
    resources, influx_url, influx_db
) -> None:  # type: ignore[no-untyped-def]
    names = ["ear_diario"]
    days = WEEK[:3]
    stage(resources, names, days)
    instance = dg.DagsterInstance.ephemeral()
    for day in days:
        assert materialize_day(resources, day, names, instance).success
    result = rollback.execute_in_process(
        run_config={
            "ops": {
                "rollback_influxdb_range": {
                    "config": {
                        "table": "ear_diario",
                        "first_day": "2018-11-02",
                        "last_day": "2018-11-03",
                    }
                }
            }
        },
        resources=resources,
        instance=instance,
    )
    assert result.success
    assert sum(field_counts_in_influx(influx_url, influx_db, "ear_diario", days[1]).values()) == 0
    assert sum(field_counts_in_influx(influx_url, influx_db, "ear_diario", days[2]).values()) == 0
    assert field_counts_in_influx(influx_url, influx_db, "ear_diario", days[0]) == (
        field_counts_in_source("ear_diario", days[0])
    )
    key = result.output_for_node("rollback_influxdb_range")
    record = json.loads(
        boto3.client("s3").get_object(Bucket=resources["aws"].bucket, Key=key)["Body"].read()
    )
    expected = sum(field_counts_in_source("ear_diario", d)["ear_max_subsistema"] for d in days[1:])
    assert sum(e["counts"]["ear_max_subsistema"] for e in record["deleted"]) == expected
    assert record["remaining_after"] == 0
    loaded = loaded_partitions(instance, "ear_diario", [d.isoformat() for d in days])
    assert loaded == {"2018-11-01"}, "rolled-back days must count as not migrated"
    stage(resources, names, days[1:])
    for day in days[1:]:
        assert materialize_day(resources, day, names, instance).success
        assert field_counts_in_influx(influx_url, influx_db, "ear_diario", day) == (
            field_counts_in_source("ear_diario", day)
        )


def test_a_migrated_day_exported_again_is_pending_until_loaded_again(resources) -> None:  # type: ignore[no-untyped-def]
    """A migrated day whose partition was exported again (the Parquet asset alone, or a re-run
    whose load then failed) stayed "migrated and verified": InfluxDB held the old values, the new
    partition others, and `migrate` skipped the day (an outside review). It is pending until a
    load after that export."""
    from ons_pipeline.defs.state import pending_partitions

    name, day = "curva_carga", WEEK[1]
    instance = dg.DagsterInstance.ephemeral()
    stage(resources, [name], [day])
    assert materialize_day(resources, day, [name], instance).success
    assert pending_partitions(instance, [name], [day])[name] == []

    def changed() -> None:  # Timestream's values changed (each export reads its own staging)
        stage_day(
            schema.table(name),
            day,
            mode="query",
            endpoint_url=str(resources["aws"].endpoint_url),
            target=resources["aws"],
            seed=1,
        )

    changed()
    exported = dg.materialize(
        migration_assets(),
        partition_key=day.isoformat(),
        resources=resources,
        selection=[parquet_key(name)],
        instance=instance,
    )
    assert exported.success
    assert pending_partitions(instance, [name], [day])[name] == [day]
    changed()
    assert materialize_day(resources, day, [name], instance).success
    assert pending_partitions(instance, [name], [day])[name] == []


def test_a_rollback_that_fails_after_deleting_leaves_the_days_pending(
    resources, influx_url, influx_db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The rollback deleted the days, then writing its record to S3 failed: the job failed
    without a word on the deletion and the days, empty in InfluxDB, still counted as migrated
    (an outside review). They are marked before the delete, and the failure says what went."""
    from ons_pipeline.defs.state import pending_partitions

    name, days = "ear_diario", WEEK[:2]
    stage(resources, [name], days)
    instance = dg.DagsterInstance.ephemeral()
    for day in days:
        assert materialize_day(resources, day, [name], instance).success
    assert pending_partitions(instance, [name], days)[name] == []
    settings = type(resources["aws"])
    real = settings.client

    def refusing(self, service: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        client = real(self, service, *args, **kwargs)
        if service == "s3":

            def put_object(**request):  # type: ignore[no-untyped-def]
                if str(request.get("Key", "")).startswith("rollbacks/"):
                    raise ConnectionError("S3 unreachable")
                return type(client).put_object(client, **request)

            client.put_object = put_object
        return client

    monkeypatch.setattr(settings, "client", refusing)
    result = rollback.execute_in_process(
        run_config={
            "ops": {
                "rollback_influxdb_range": {
                    "config": {"table": name, "first_day": "2018-11-01", "last_day": "2018-11-02"}
                }
            }
        },
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("rollback_influxdb_range")
    assert failure is not None and "values deleted from InfluxDB" in str(failure.user_failure_data)
    assert sum(field_counts_in_influx(influx_url, influx_db, name, days[0]).values()) == 0
    assert pending_partitions(instance, [name], days)[name] == days
