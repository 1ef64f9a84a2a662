"""Publishing rollups: a corrected day replaces its rollup whole (series gone included), and
InfluxDB going down mid-way leaves the buckets uncovered — read from the raw data — until a
re-run publishes them again."""

from __future__ import annotations

import uuid
from datetime import date

import boto3
import pyarrow.compute as pc
import pytest

from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig, InfluxError, RetryPolicy
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.query.model import (
    Agg,
    Aggregation,
    QueryModel,
    Selection,
    TimeRange,
)
from ons_pipeline.lib.rollup.build import roll_days
from ons_pipeline.lib.rollup.publish import RollupPublishError
from ons_pipeline.lib.rollup.spec import DAY, rollup_tables
from ons_pipeline.local.servers import InfluxServer
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.integrity.conftest import generated, load_day, put_day
from ons_pipeline_tests.rollup.conftest import (
    POLICY,
    Loaded,
    assert_same_answer,
    load_raw,
    publish,
    raw_and_routed,
    utc_days,
)

TABLE = "curva_carga"
FIELD = "val_cargaenergiahomwmed"
RT = rollup_tables()[TABLE]
DAYS = utc_days(date(2023, 6, 9), date(2023, 6, 12))  # UTC days; local days 9-11 are complete


def week_model() -> QueryModel:
    return QueryModel(
        TABLE,
        (
            Selection(Agg(Aggregation.MEAN, FIELD), "mean"),
            Selection(Agg(Aggregation.MAX, FIELD), "max"),
        ),
        TimeRange(RT.day_start_ns(date(2023, 6, 9)), RT.day_start_ns(date(2023, 6, 12))),
        group_tags=("id_subsistema",),
    )


def coverage(loaded: Loaded) -> int:
    body = influxql(
        loaded.url,
        f'SELECT count("series") FROM "{POLICY}"."rollup_coverage" WHERE "table" = \'{TABLE}\'',
        loaded.database,
    )
    series = body["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def test_a_corrected_day_replaces_its_rollup_whole(loaded_db: Loaded) -> None:
    load_raw(loaded_db, TABLE, DAYS)
    publish(loaded_db, RT, date(2023, 6, 9), date(2023, 6, 11))
    before = assert_same_answer(loaded_db, week_model())
    # the correction: the North disappears from UTC days 10 and 11, the Southeast doubles
    with loaded_db.client() as client:
        for day in (date(2023, 6, 10), date(2023, 6, 11)):
            rows = generated(TABLE, day)
            rows = rows.filter(pc.not_equal(rows.column("id_subsistema"), "N"))
            doubled = pc.if_else(
                pc.equal(rows.column("id_subsistema"), "SE"),
                pc.multiply(rows.column(FIELD), 2.0),
                rows.column(FIELD),
            )
            rows = rows.set_column(rows.schema.get_field_index(FIELD), FIELD, doubled)
            put_day(loaded_db.s3, loaded_db.bucket, TABLE, day, rows)
            window = day_window(day)
            client.delete_range(TABLE, window.start_ns, window.end_ns)
            load_day(loaded_db.s3, loaded_db.bucket, client, TABLE, day)
    # local days 9, 10 and 11 read those UTC days: re-materialised, they follow the raw data
    publish(loaded_db, RT, date(2023, 6, 9), date(2023, 6, 11))
    after = assert_same_answer(loaded_db, week_model())
    assert after.rows != before.rows
    north = (
        f'SELECT "{FIELD}_count" FROM "{POLICY}"."{RT.measurement(DAY)}" '
        "WHERE \"id_subsistema\" = 'N'"
    )
    points = influxql(loaded_db.url, north, loaded_db.database)["results"][0]["series"][0]["values"]
    # local day 10 has no North point left: its old rollup point is gone too
    assert [p[0] for p in points] == [
        RT.day_start_ns(date(2023, 6, 9)),
        RT.day_start_ns(date(2023, 6, 11)),
    ]


def test_influxdb_down_mid_publish_leaves_the_days_uncovered_until_a_rerun(
    tmp_path, moto_server
) -> None:  # type: ignore[no-untyped-def]
    server = InfluxServer(tmp_path / "influx")
    info = server.start()
    try:
        s3 = boto3.client("s3")
        bucket = f"down-{uuid.uuid4().hex[:10]}"
        s3.create_bucket(Bucket=bucket)
        loaded = Loaded(info.url, "ons_down", s3, bucket)
        influxql(info.url, 'CREATE DATABASE "ons_down"')
        load_raw(loaded, TABLE, DAYS)
        publish(loaded, RT, date(2023, 6, 9), date(2023, 6, 11))
        assert coverage(loaded) == 3
        kept = loaded.rollups.read(TABLE, DAY, date(2023, 6, 10), RT.level_spec(DAY))

        steps: list[str] = []

        def fail_at_write(step: str) -> None:
            steps.append(step)
            if step == "write":
                server.stop()

        quick = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1)
        config = InfluxConfig(url=info.url, database="ons_down", retention_policy=POLICY)
        with (
            InfluxClient(config, quick) as client,
            pytest.raises((RollupPublishError, InfluxError)),
        ):
            roll_days(
                client,
                loaded.parquet,
                loaded.rollups,
                RT,
                [date(2023, 6, 10), date(2023, 6, 11)],
                database="ons_down",
                progress=fail_at_write,
            )
        assert steps == ["withdraw coverage", "delete old rollup points", "write"]
        assert InfluxServer(tmp_path / "influx", port=info.port).start().url == info.url
        # the two days are no longer covered: questions over them read the raw measurement
        assert coverage(loaded) == 1
        raw, routed = raw_and_routed(loaded, week_model())
        assert routed.source is not None and routed.source.kind == "raw"
        assert "coverage" in routed.source.reason and routed.rows == raw.rows
        # the S3 copy the monthly level reads was not touched
        assert loaded.rollups.read(TABLE, DAY, date(2023, 6, 10), RT.level_spec(DAY)).equals(kept)
        publish(loaded, RT, date(2023, 6, 10), date(2023, 6, 11))
        assert coverage(loaded) == 3
        assert_same_answer(loaded, week_model())
    finally:
        server.stop()


def test_a_client_on_the_wrong_policy_is_refused(loaded_db: Loaded) -> None:
    with loaded_db.client() as client, pytest.raises(ValueError, match="retention policy"):
        roll_days(
            client,
            loaded_db.parquet,
            loaded_db.rollups,
            RT,
            [date(2023, 6, 9)],
            database=loaded_db.database,
        )


def test_withdrawing_coverage_sends_nothing_where_no_rollup_can_be_covered() -> None:
    """A table without rollups, or InfluxDB 3 (no deletes over the v1 API, so no rollup is ever
    published there): a load must not fail on the withdrawal. The port answers nothing: a
    request would raise."""
    from ons_pipeline.lib.rollup.publish import withdraw_coverage

    window = day_window(date(2024, 2, 10))
    v3 = InfluxConfig(url="http://127.0.0.1:9", database="ons", engine="3", token="t")
    v1 = InfluxConfig(url="http://127.0.0.1:9", database="ons")
    with InfluxClient(v3, RetryPolicy(max_attempts=1)) as client:
        assert not withdraw_coverage(client, "curva_carga", window.start_ns, window.end_ns)
    with InfluxClient(v1, RetryPolicy(max_attempts=1)) as client:
        assert "transmission_data" not in rollup_tables()
        assert not withdraw_coverage(client, "transmission_data", window.start_ns, window.end_ns)
        with pytest.raises(InfluxError):  # a table with rollups: the request is sent
            withdraw_coverage(client, "curva_carga", window.start_ns, window.end_ns)
