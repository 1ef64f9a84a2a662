"""Rollup assets through real Dagster runs against the real InfluxDB and moto: materialised with
their checks, answering questions as the raw data does, kept in step when a day is corrected, and
failing whole when InfluxDB is down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import boto3
import dagster as dg
import pyarrow.compute as pc
import pytest

from ons_pipeline.defs.keys import (
    EXACT_VERIFICATION,
    RETENTION_KEY,
    influxdb_key,
    rollup_key,
    rollup_monthly_key,
)
from ons_pipeline.defs.migration.assets import migration_assets
from ons_pipeline.defs.migration.rollback import rollback
from ons_pipeline.defs.rollup.assets import rollup_assets
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.ingest.files import ingest_bytes
from ons_pipeline.lib.query.backend import InfluxBackend
from ons_pipeline.lib.query.model import QueryModel
from ons_pipeline.lib.query.service import QueryInput, QueryProcessor
from ons_pipeline.lib.rag.compose import _evidence_block
from ons_pipeline.lib.rag.timeseries import build_evidence
from ons_pipeline.lib.settings import ApiSettings, InfluxSettings
from ons_pipeline.local.servers import InfluxServer
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.ingest.test_ingest import raw_csv
from ons_pipeline_tests.integrity.conftest import generated, load_day, put_day
from ons_pipeline_tests.rollup.conftest import utc_days

TABLE = "curva_carga"
FIELD = "val_cargaenergiahomwmed"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
MEAN_Q = "carga média do Sudeste em fevereiro de 2024"
MAX_Q = "carga máxima do Sudeste em fevereiro de 2024"
NOW = datetime(2024, 4, 2, tzinfo=UTC)
RAW_DAYS = utc_days(date(2024, 1, 31), date(2024, 3, 1))


@dataclass
class Env:
    resources: dict[str, Any]
    url: str
    database: str
    instance: dg.DagsterInstance

    @property
    def aws(self) -> AwsSettings:
        return self.resources["aws"]


def assets() -> list[dg.AssetsDefinition]:
    keys = {rollup_key(TABLE), rollup_monthly_key(TABLE), RETENTION_KEY}
    return [a for a in rollup_assets() if set(a.keys) & keys]


def definitions(env: Env) -> dg.Definitions:
    """The table's load asset (with its blocking check) and its rollups."""
    load = [
        a
        for a in migration_assets()
        if isinstance(a, dg.AssetsDefinition) and influxdb_key(TABLE) in a.keys
    ]
    return dg.Definitions(assets=[*load, *assets()], resources=env.resources)


def materialize(env: Env, key: dg.AssetKey, first: str, last: str | None = None) -> Any:
    tags = {RANGE_START: first, RANGE_END: last or first}
    return dg.materialize(
        assets(),
        selection=[key],
        resources=env.resources,
        instance=env.instance,
        tags=tags,
        raise_on_error=False,
    )


def load_raw(env: Env, days: list[date]) -> None:
    s3 = env.aws.client("s3")
    with InfluxClient(InfluxConfig(url=env.url, database=env.database)) as client:
        for day in days:
            put_day(s3, env.aws.bucket, TABLE, day)
            load_day(s3, env.aws.bucket, client, TABLE, day)
            report_loaded(env, day)


def report_loaded(env: Env, day: date) -> None:
    """What the migration or ingest run records for a loaded and verified day."""
    env.instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=influxdb_key(TABLE), partition=day.isoformat())
    )
    env.instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=influxdb_key(TABLE),
            check_name=EXACT_VERIFICATION,
            passed=True,
            partition=day.isoformat(),
        )
    )


def ask(env: Env, question: str, rollups: bool) -> Any:
    backend = InfluxBackend(InfluxClient(InfluxConfig(url=env.url, database=env.database)))
    try:
        processor = QueryProcessor(backend, ApiSettings(cache_ttl_s=0))
        return processor.process(QueryInput(question, now=NOW, rollups=rollups))
    finally:
        backend.close()


def assert_answers_agree(env: Env) -> tuple[Any, Any]:
    """The Southeast's mean and maximum of February 2024, from the monthly rollup and raw."""
    answers = []
    for question in (MEAN_Q, MAX_Q):
        routed, raw = ask(env, question, True), ask(env, question, False)
        assert routed.answered_from is not None and routed.answered_from.kind == "rollup"
        assert routed.answered_from.measurements == ["rollups.curva_carga_1mo"]
        assert raw.answered_from is not None and raw.answered_from.kind == "raw"
        assert routed.query.text == raw.query.text  # the model's InfluxQL, as always
        assert len(routed.rows) == len(raw.rows) == 1
        answers.append((routed.rows[0], raw.rows[0]))
    (mean, raw_mean), (top, raw_top) = answers
    assert mean[0] == raw_mean[0] and mean[1] == pytest.approx(raw_mean[1], rel=1e-12, abs=0)
    assert top == raw_top  # the maximum and the time it happened, exactly
    return mean, top


@pytest.fixture
def env(moto_server, influx_url) -> Iterator[Env]:  # type: ignore[no-untyped-def]
    bucket = f"rollups-{uuid.uuid4().hex[:10]}"
    database = f"rollups_{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_server.url).create_bucket(Bucket=bucket)
    influxql(influx_url, f'CREATE DATABASE "{database}"')
    resources = {
        "aws": AwsSettings(endpoint_url=moto_server.url, bucket=bucket),
        "influxdb": InfluxSettings.of(url=influx_url, database=database),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        yield Env(resources, influx_url, database, instance)
    influxql(influx_url, f'DROP DATABASE "{database}"')


def _evaluations(result: Any) -> list[dg.AssetCheckEvaluation]:
    return result.get_asset_check_evaluations()


def reload_day(env: Env, day: date) -> None:
    """Load the day again from its partition through the load asset (as migrate and the ingest
    verify job do), its exact verification passing."""
    reload = dg.materialize(
        definitions(env).assets,  # type: ignore[arg-type]
        selection=[influxdb_key(TABLE)],
        resources=env.resources,
        instance=env.instance,
        partition_key=day.isoformat(),
    )
    assert reload.success and all(c.passed for c in _evaluations(reload))


def assert_answered_raw(env: Env) -> None:
    """The month's questions read the raw measurement (a changed day is not covered), and agree
    with it."""
    for question in (MEAN_Q, MAX_Q):
        routed, raw = ask(env, question, True), ask(env, question, False)
        assert routed.answered_from is not None and routed.answered_from.kind == "raw"
        assert routed.rows == raw.rows


def test_rollups_materialise_with_checks_answer_like_raw_and_follow_a_corrected_day(
    env: Env,
) -> None:
    load_raw(env, RAW_DAYS)
    daily = materialize(env, rollup_key(TABLE), "2024-02-01", "2024-02-29")
    assert daily.success
    days = {e.partition for e in daily.get_asset_materialization_events()}
    assert len(days) == 29
    checks = _evaluations(daily)
    assert len(checks) == 29 and all(c.passed for c in checks)
    monthly = materialize(env, rollup_monthly_key(TABLE), "2024-02-01")
    assert monthly.success and [c.passed for c in _evaluations(monthly)] == [True]
    policies = influxql(env.url, f'SHOW RETENTION POLICIES ON "{env.database}"')
    assert ["rollups", "0s", "8736h0m0s", 1, False] in policies["results"][0]["series"][0]["values"]
    before = assert_answers_agree(env)
    # Timestream SQL is routed too, and says so also when it selects measure_name (a constant)
    sql = (
        "SELECT measure_name, avg(val_cargaenergiahomwmed) AS mean FROM ons.curva_carga "
        "WHERE id_subsistema = 'SE' AND time >= '2024-02-01 03:00:00' "
        "AND time < '2024-03-01 03:00:00'"
    )
    routed = ask(env, sql, True)
    assert routed.answered_from is not None and routed.answered_from.kind == "rollup"
    assert routed.rows[0][-1] == pytest.approx(before[0][1], rel=1e-12)

    # Kept in step: the automation condition asks for exactly the rollups that read a day
    # loaded again (and verified), then for their month.
    first = dg.evaluate_automation_conditions(defs=definitions(env), instance=env.instance)
    corrected = date(2024, 2, 10)
    rows = generated(TABLE, corrected)
    rows = rows.set_column(
        rows.schema.get_field_index(FIELD), FIELD, pc.multiply(rows.column(FIELD), 3.0)
    )
    put_day(env.aws.client("s3"), env.aws.bucket, TABLE, corrected, rows)
    # the day is loaded again by the load asset itself (as the ingest verify job does)
    reload_day(env, corrected)
    # until its rollups are built again, the corrected day's buckets answer nothing
    assert_answered_raw(env)
    second = dg.evaluate_automation_conditions(
        defs=definitions(env), instance=env.instance, cursor=first.cursor
    )
    requested = second.get_requested_partitions(rollup_key(TABLE))
    assert requested == {"2024-02-09", "2024-02-10"}  # local days 9 and 10 read UTC day 10
    again = materialize(env, rollup_key(TABLE), "2024-02-09", "2024-02-10")
    assert again.success
    third = dg.evaluate_automation_conditions(
        defs=definitions(env), instance=env.instance, cursor=second.cursor
    )
    assert third.get_requested_partitions(rollup_monthly_key(TABLE)) == {"2024-02-01"}
    assert materialize(env, rollup_monthly_key(TABLE), "2024-02-01").success
    after = assert_answers_agree(env)
    assert after[0][1] > before[0][1] and after[1] != before[1]


def test_influxdb_down_fails_the_run_and_publishes_nothing(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = InfluxServer(tmp_path / "influx")
    info = server.start()
    try:
        influxql(info.url, 'CREATE DATABASE "ons_down"')
        env = Env(
            {**env.resources, "influxdb": InfluxSettings.of(url=info.url, database="ons_down")},
            info.url,
            "ons_down",
            env.instance,
        )
        load_raw(env, RAW_DAYS[:3])
        assert materialize(env, rollup_key(TABLE), "2024-01-31", "2024-02-01").success
        before = influxql(info.url, 'SELECT * FROM "rollups"."curva_carga_1d"', "ons_down")
        server.stop()
        failed = materialize(env, rollup_key(TABLE), "2024-01-31", "2024-02-01")
        assert not failed.success
        assert failed.get_asset_materialization_events() == []
        assert _evaluations(failed) == []
        assert InfluxServer(tmp_path / "influx", port=info.port).start().url == info.url
        after = influxql(info.url, 'SELECT * FROM "rollups"."curva_carga_1d"', "ons_down")
        assert after == before  # the published rollups were not touched
        marks = influxql(
            info.url, 'SELECT count("series") FROM "rollups"."rollup_coverage"', "ons_down"
        )
        assert marks["results"][0]["series"][0]["values"][0][1] == 2
    finally:
        server.stop()


def test_a_rolled_back_day_is_answered_raw_and_its_rollups_are_not_rebuilt_from_parquet(
    env: Env,
) -> None:
    """Rollback deletes the day from InfluxDB only (its Parquet partition stays): the rollups
    that counted it stop answering, and building them again is refused until the day is loaded
    again, since they would count points the raw measurement no longer holds."""
    load_raw(env, RAW_DAYS)
    assert materialize(env, rollup_key(TABLE), "2024-02-01", "2024-02-29").success
    assert materialize(env, rollup_monthly_key(TABLE), "2024-02-01").success
    assert_answers_agree(env)
    # the RAG context cites where the numbers came from: the monthly rollup
    backend = InfluxBackend(InfluxClient(InfluxConfig(url=env.url, database=env.database)))
    try:
        processor = QueryProcessor(backend, ApiSettings(cache_ttl_s=0))
        routed = ask(env, MEAN_Q, True)
        model = QueryModel.from_dict(routed.model.model_dump())
        result, _ = processor.execute_model(model)
    finally:
        backend.close()
    evidence = build_evidence(result, "question", 10)
    cited = evidence.to_dict()["answered_from"]
    assert cited["kind"] == "rollup" and cited["measurements"] == ["rollups.curva_carga_1mo"]
    assert "answered from the rollups rollups.curva_carga_1mo" in _evidence_block(evidence)[0]
    # an ONS file correcting a day (continuous loading, `ons-pipeline load`) also withdraws it
    corrected = date(2024, 2, 20)

    def triple(rows: list[dict]) -> None:
        for r in rows:
            r[FIELD] = str(float(r[FIELD]) * 3)

    with InfluxSettings.of(url=env.url, database=env.database).client() as client:
        report = ingest_bytes(
            raw_csv(TABLE, [corrected], triple),
            f"s3://{env.aws.bucket}/raw/fix.csv",
            aws=env.aws,
            s3=env.aws.client("s3"),
            client=client,
            raw_key="raw/fix.csv",
            etag="e1",
        )
    assert report.failed_batches == 0 and report.days
    assert_answered_raw(env)
    rolled = date(2024, 2, 10)
    result = rollback.execute_in_process(
        run_config={
            "ops": {
                "rollback_influxdb_range": {
                    "config": {
                        "table": TABLE,
                        "first_day": rolled.isoformat(),
                        "last_day": rolled.isoformat(),
                    }
                }
            }
        },
        resources=env.resources,
        instance=env.instance,
    )
    assert result.success
    assert_answered_raw(env)
    for key, first, last in (
        (rollup_key(TABLE), "2024-02-09", "2024-02-10"),
        (rollup_monthly_key(TABLE), "2024-02-01", None),
    ):
        refused = materialize(env, key, first, last)
        assert not refused.success
        failure = next(e for e in refused.all_events if e.is_step_failure)
        message = failure.step_failure_data.error.message  # type: ignore[union-attr]
        assert "rolled back: 2024-02-10" in message and "ons-pipeline migrate" in message
    # loaded again (by the load asset, as migrate does), the day's rollups build and answer as
    # the raw data
    reload_day(env, rolled)
    assert materialize(env, rollup_key(TABLE), "2024-02-09", "2024-02-10").success
    # the month waits for every day whose data changed: the corrected one is not rolled up yet
    refused = materialize(env, rollup_monthly_key(TABLE), "2024-02-01")
    assert not refused.success
    failure = next(e for e in refused.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    # (the file's local day 20 is in UTC partitions 20 and 21: local days 19 to 21 read them)
    stale = "(2024-02-19, 2024-02-20, 2024-02-21)"
    assert f"3 day(s) not rolled up since their data last changed {stale}" in message
    assert materialize(env, rollup_key(TABLE), "2024-02-19", "2024-02-21").success
    assert materialize(env, rollup_monthly_key(TABLE), "2024-02-01").success
    assert_answers_agree(env)
