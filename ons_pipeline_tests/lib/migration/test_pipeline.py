"""The migration of one table over many days (lib/migration/pipeline.py) on the real servers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import boto3
import pytest
import requests

from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import (
    InfluxClient,
    InfluxConfig,
    RetriesExhaustedError,
    WriteStats,
)
from ons_pipeline.lib.migration.exporter import export_partition
from ons_pipeline.lib.migration.pipeline import Stages, TableMigration
from ons_pipeline.lib.ons_time import Window, day_window
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline.lib.rollup.publish import covered_keys
from ons_pipeline.lib.rollup.spec import rollup_tables
from ons_pipeline.lib.settings import MigrationSettings
from ons_pipeline.local.staging import stage_day
from ons_pipeline_tests.conftest import influxql

TABLE = "cmo_semihorario"
DAYS = [date(2024, 3, 1) + timedelta(days=k) for k in range(6)]


def _times(data: bytes) -> tuple[int, int]:
    lines = data.rstrip(b"\n").split(b"\n")
    return int(lines[0].rsplit(b" ", 1)[1]), int(lines[-1].rsplit(b" ", 1)[1])


class LosingClient(InfluxClient):
    """Acknowledges without storing the first write that lies wholly inside ``window`` (as a
    server that loses an acknowledged write would): only the pipeline's verification notices."""

    def __init__(self, *args: Any, window: Window, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window, self.lost = window, 0

    def write(self, data: bytes, lines: int | None = None, **kwargs: Any) -> WriteStats:
        first, last = _times(data)
        inside = self.window.start_ns <= first and last < self.window.end_ns
        if inside and not self.lost:
            self.lost = lines or 0
            return WriteStats(lines=lines or 0, bytes=len(data))
        return super().write(data, lines, **kwargs)


@pytest.fixture
def migration(moto_server, s3_bucket, influx_url, influx_db):  # type: ignore[no-untyped-def]
    aws = AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket, export_mode="unload")
    s3 = boto3.client("s3", endpoint_url=moto_server.url)
    spec = schema.table(TABLE)
    for day in DAYS:
        stage_day(spec, day, mode="unload", endpoint_url=moto_server.url, target=aws, s3=s3)
    query = aws.client("timestream-query")

    def build(client: InfluxClient) -> TableMigration:
        return TableMigration(
            spec,
            ParquetStore.of(aws, s3),
            export=lambda day: export_partition(spec, day, "unload", query, s3, aws),
            client=client,
            settings=MigrationSettings(group_rows=192 * 3),  # three days per group
            batch_lines=50,
            database=influx_db,
        )

    return build


def test_days_are_grouped_and_each_day_gets_its_outcome(migration, influx_url, influx_db) -> None:  # type: ignore[no-untyped-def]
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        groups = list(migration(client).run(DAYS, Stages()))
    assert [len(g) for g in groups] == [3, 3]
    outcomes = [o for g in groups for o in g]
    assert [o.partition.day for o in outcomes] == DAYS
    assert all(o.ok and o.verification and o.verification.ok for o in outcomes)
    rows = [o.export.rows for o in outcomes]  # type: ignore[union-attr]
    assert all(r > 180 for r in rows)  # 4 subsystems x 48 half-hours, less the generator's gaps
    assert [o.load.points for o in outcomes] == rows  # type: ignore[union-attr]
    body = influxql(influx_url, f'SELECT count("val_cmo") FROM "{TABLE}"', influx_db)
    assert body["results"][0]["series"][0]["values"][0][1] == sum(rows)


def test_an_acknowledged_write_lost_by_the_server_is_written_again(
    migration, influx_url, influx_db
) -> None:  # type: ignore[no-untyped-def]
    config = InfluxConfig(url=influx_url, database=influx_db)
    with LosingClient(config, window=day_window(DAYS[1])) as client:
        outcomes = [o for g in migration(client).run(DAYS[:3], Stages()) for o in g]
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert client.lost
    assert [o.reloaded for o in outcomes] == [False, True, False]
    verification = outcomes[1].verification
    assert verification and verification.influx_rows == verification.source_rows


class DroppingClient(InfluxClient):
    """Acknowledges, without storing, every write with a point in ``window`` (a server
    that keeps losing one day's writes)."""

    def __init__(self, *args: Any, window: Window, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = window

    def write(self, data: bytes, lines: int | None = None, **kwargs: Any) -> WriteStats:
        first, last = _times(data)
        if self.window.start_ns <= last and first < self.window.end_ns:
            return WriteStats(lines=lines or 0, bytes=len(data))
        return super().write(data, lines, **kwargs)


def test_a_day_still_short_after_the_second_write_fails_alone(
    migration, influx_url, influx_db
) -> None:  # type: ignore[no-untyped-def]
    config = InfluxConfig(url=influx_url, database=influx_db)
    with DroppingClient(config, window=day_window(DAYS[1])) as client:
        outcomes = [o for g in migration(client).run(DAYS[:3], Stages()) for o in g]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].reloaded and outcomes[1].error
    assert outcomes[1].error.startswith("exact_verification: ")


class CoverageRefusingClient(InfluxClient):
    """InfluxDB goes away at the withdrawal of the rollups' coverage of ``window``'s group."""

    def __init__(self, *args: Any, window: Window, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = window

    def delete_range(self, measurement: str, start_ns: int, end_ns: int, *a: Any, **k: Any) -> None:
        if start_ns <= self.window.start_ns < end_ns:
            raise RetriesExhaustedError("InfluxDB unreachable (a test's)", attempts=6)
        return super().delete_range(measurement, start_ns, end_ns, *a, **k)


def test_a_load_withdraws_its_days_rollup_coverage_first_and_fails_loudly_if_it_cannot(
    migration, influx_url, influx_db
) -> None:  # type: ignore[no-untyped-def]
    """Covered rollup buckets of the days a load changes stop answering before any point is
    written; InfluxDB failing right there fails the run with nothing of those days written."""
    rt = rollup_tables()[TABLE]
    markers = "".join(
        f"{rt.coverage_measurement},level={level},table={TABLE} series=4i {rt.day_start_ns(day)}\n"
        for day in DAYS[:3]
        for level in ("1d", "1mo")
    )
    influxql(
        influx_url,
        f'CREATE RETENTION POLICY "{rt.policy}" ON "{influx_db}" DURATION INF REPLICATION 1',
    )
    written = requests.post(
        f"{influx_url}/write", params={"db": influx_db, "rp": rt.policy}, data=markers, timeout=30
    )
    assert written.status_code == 204, written.text
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        list(migration(client).run(DAYS[:3], Stages()))
        assert (
            covered_keys(client, rt, "1d", rt.day_start_ns(DAYS[0]), rt.day_start_ns(DAYS[3])) == []
        )
    config = InfluxConfig(url=influx_url, database=influx_db)
    with CoverageRefusingClient(config, window=day_window(DAYS[4])) as client:
        groups = migration(client).run(DAYS, Stages())
        assert all(o.ok for o in next(groups))
        with pytest.raises(RetriesExhaustedError, match="unreachable"):
            next(groups)
    second = day_window(DAYS[3]).start_ns
    body = influxql(influx_url, f'SELECT count("val_cmo") FROM "{TABLE}" WHERE time >= {second}')
    assert "series" not in body["results"][0], body  # nothing of the failed group written
