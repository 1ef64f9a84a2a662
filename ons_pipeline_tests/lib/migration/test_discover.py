"""``ons-pipeline discover`` against the local Timestream stand-in: real schemas staged as
Timestream answers SHOW TABLES, DESCRIBE, SHOW MEASURES and the sampled count; the mapping file it
writes loads, matches the staged schemas, and migrates a staged table through the normal path
(Dagster, moto, the real InfluxDB) with exact verification."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
import pyarrow as pa
import pytest
from click.testing import CliRunner

from ons_pipeline.cli.discover import register
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.discover import (
    DiscoveredTable,
    Discovery,
    discover,
    grain_of,
    render_mapping,
    safe_name,
    sample_query,
)
from ons_pipeline.lib.migration.timestream import (
    describe_answer,
    describe_query,
    show_measures_query,
    stage_query_results,
)
from ons_pipeline.lib.ons_time import Window
from ons_pipeline.lib.schema import Layout, Source, TableSpec, load_mapping
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.generator import generate_canonical
from ons_pipeline.local.staging import recast, sample_answer, stage_day, stage_discovery
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.defs.test_migration import assert_day_verified, materialize_day

# AWS's DevOps sample table (Timestream developer guide, continuous-ingestor README): single-
# measure records; process_name and jdk_version only on some measures' records.
DEVOPS = """
[tables.devops]
description = "AWS DevOps sample schema, single-measure records"
source = "timestream"
timestream_table = "DevOps"
layout = "single"
grain = "5m"
series = 12
tags = ["availability_zone", "microservice_name", "instance_name", "process_name", "os_version",
        "jdk_version", "cell", "region", "silo", "instance_type"]
optional_tags = ["process_name", "jdk_version"]
""" + (
    'fields = { cpu_user = "DOUBLE", memory_free = "DOUBLE", gc_pause = "DOUBLE", '
    'task_completed = "BIGINT", task_end_state = "VARCHAR" }\n'
)
DAY = date(2024, 3, 1)
WINDOW = Window(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))


@pytest.fixture
def truth(tmp_path: Path) -> dict[str, TableSpec]:
    """The staged database: the DevOps sample and, from the shipped mapping, a multi-measure ONS
    table and a legacy single-measure table."""
    path = tmp_path / "truth.toml"
    path.write_text(DEVOPS, encoding="utf-8")
    return {
        "devops": load_mapping(path)["devops"],
        "balanco_subsistema": schema.table("balanco_subsistema"),
        "generation_data": schema.table("generation_data"),
    }


@pytest.fixture
def database() -> str:
    return f"sampleDB_{uuid.uuid4().hex[:8]}"  # the stand-in's answers are per exact query


@pytest.fixture
def query_client(moto_server):  # type: ignore[no-untyped-def]
    return AwsSettings(endpoint_url=moto_server.url).client("timestream-query")


def stage_two_record_names(endpoint: str, database: str) -> None:
    """A table whose multi-measure records come under two names (as in AWS's sample, 'metrics'
    and 'events'): the metadata cannot tell which attribute belongs to which."""
    spec = schema.table("balanco_subsistema")
    dims = [{"RowValue": {"Data": [{"ScalarValue": "id_subsistema"}, {"ScalarValue": "varchar"}]}}]
    rows = [
        {"Data": [{"ScalarValue": n}, {"ScalarValue": "multi"}, {"ArrayValue": dims}]}
        for n in ("events", "metrics")
    ]
    show = {"Rows": rows, "ColumnInfo": [{"Name": c, "Type": {"ScalarType": "VARCHAR"}} for c in
                                         ("measure_name", "data_type", "dimensions")]}  # fmt: skip
    stage_query_results(
        endpoint,
        {
            describe_query(database, "mixed"): [describe_answer(spec)],
            show_measures_query(database, "mixed"): [show],
        },
    )


def discovered(found: list[DiscoveredTable], table: str) -> DiscoveredTable:
    return next(t for t in found if t.table == table)


def test_a_sample_answered_after_empty_pages_is_read(
    moto_server, query_client, truth: dict[str, TableSpec], database: str
) -> None:  # type: ignore[no-untyped-def]
    # A running Timestream query answers empty pages with a NextToken before its row: the
    # sample (series, optional dimensions) is on the later page, not absent.
    devops = truth["devops"]
    rows = pa.concat_tables(list(generate_canonical(devops, WINDOW.start, WINDOW.end, seed=0)))
    answer = sample_answer(devops, rows)
    running = {"Rows": [], "ColumnInfo": answer["ColumnInfo"], "NextToken": "t1", "QueryId": "q"}
    dimensions = [devops.source_column(t) for t in devops.tags]
    query = sample_query(database, devops.source_table, dimensions, WINDOW)
    stage_query_results(moto_server.url, {query: [running, answer]})  # answered before the rest
    stage_discovery(moto_server.url, database, [devops], WINDOW)
    (found,) = discover(query_client, database, tables=["DevOps"], window=WINDOW).tables
    assert found.entry is not None and found.entry["series"] == 12
    assert found.entry["optional_tags"] == ["process_name", "jdk_version"]


def test_discovery_maps_each_staged_schema(
    moto_server, query_client, truth: dict[str, TableSpec], database: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    stage_discovery(moto_server.url, database, list(truth.values()), WINDOW)
    stage_two_record_names(moto_server.url, database)
    # SHOW TABLES was staged with the three; the fourth is asked by name
    found = discover(query_client, database, window=WINDOW, high_cardinality=10).tables
    found += discover(query_client, database, tables=["mixed"], window=WINDOW).tables
    assert [t.table for t in found] == ["DevOps", "balanco_subsistema", "generation_data", "mixed"]

    devops = discovered(found, "DevOps")
    assert devops.name == "devops" and devops.entry is not None
    assert devops.entry["layout"] == "single" and devops.entry["timestream_table"] == "DevOps"
    assert devops.entry["grain"] == "5m" and devops.entry["series"] == 12
    assert devops.entry["optional_tags"] == ["process_name", "jdk_version"]
    warnings = " | ".join(devops.warnings)
    assert "'task_completed' is BIGINT" in warnings and "'task_end_state' is VARCHAR" in warnings
    assert "dimension 'instance_name' has ~12 distinct values" in warnings  # over the threshold
    assert "'DevOps' is named 'devops'" in warnings

    balanco = discovered(found, "balanco_subsistema").entry
    assert balanco is not None
    assert (balanco["layout"], balanco["measure_name"], balanco["grain"]) == (
        "multi",
        "balanco",
        "1h",
    )
    assert balanco["series"] == 5 and "optional_tags" not in balanco
    legacy = discovered(found, "generation_data").entry
    assert legacy is not None
    assert (legacy["layout"], legacy["fields"]) == ("single", {"value": "DOUBLE"})
    assert legacy["optional_tags"] == ["quality_flag"]  # NULL on some records

    mixed = discovered(found, "mixed")
    assert mixed.entry is None and "several multi-measure record names" in (mixed.skipped or "")
    assert "events, metrics" in (mixed.skipped or "")

    # the file loads, and each entry is the staged schema again
    path = tmp_path / "discovered.toml"
    path.write_text(render_mapping(Discovery(database, WINDOW, found)), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert "# NOT MAPPED: Timestream table 'mixed'" in text and "# WARNING: measure" in text
    specs = load_mapping(path)
    assert set(specs) == {"devops", "balanco_subsistema", "generation_data"}
    for name, spec in specs.items():
        source = truth[name]
        assert spec.source is Source.TIMESTREAM and spec.database == database
        assert [spec.source_column(t) for t in spec.tags] == [
            source.source_column(t) for t in source.tags
        ]
        assert {spec.source_column(f.name): f.type for f in spec.fields} == {
            source.source_column(f.name): f.type for f in source.fields
        }
        assert spec.source_table == source.source_table
        assert spec.grain == source.grain
    assert specs["devops"].optional_tags == truth["devops"].optional_tags
    assert specs["devops"].layout is Layout.SINGLE
    assert specs["balanco_subsistema"].layout is Layout.MULTI


def test_a_discovered_mapping_round_trips_staged_tables_through_the_migration(
    moto_server,
    query_client,
    s3_bucket: str,
    influx_url: str,
    influx_db: str,
    truth: dict[str, TableSpec],
    database: str,
    tmp_path: Path,
    monkeypatch,
) -> None:  # type: ignore[no-untyped-def]
    """discover → mapping file → ONS_MAPPING_EXTRA → the migration assets export the staged
    rows with the discovered mapping, load them into InfluxDB and verify them exactly."""
    picked = ["devops", "balanco_subsistema"]
    stage_discovery(moto_server.url, database, [truth[n] for n in picked], WINDOW)
    found = discover(query_client, database, window=WINDOW)
    path = tmp_path / "discovered.toml"
    path.write_text(render_mapping(found), encoding="utf-8")
    monkeypatch.setenv("ONS_MAPPING_EXTRA", str(path))
    aws = AwsSettings(endpoint_url=moto_server.url, bucket=s3_bucket)
    resources = {
        "aws": aws,
        "influxdb": InfluxSettings.of(url=influx_url, database=influx_db, batch_lines=2_000),
    }
    for name in picked:
        spec = schema.table(name)  # the discovered entry, through the setting
        assert spec.origin == str(path)
        # Timestream's answers come from the staged schema; the export asks with the found one
        stage_day(spec, DAY, mode="query", endpoint_url=moto_server.url, target=aws,
                  source=truth[name])  # fmt: skip
    assert_day_verified(materialize_day(resources, DAY, picked), picked)
    for name in picked:
        spec = schema.table(name)
        body = influxql(influx_url, f'SELECT count(*) FROM "{spec.measurement}"', influx_db)
        [series] = body["results"][0]["series"]
        counts = dict(zip(series["columns"][1:], series["values"][0][1:], strict=True))
        day = pa.concat_tables(generate_canonical(truth[name], WINDOW.start, WINDOW.end))
        rows = recast(day, truth[name], spec)
        assert counts == {
            f"count_{f}": rows.num_rows - rows.column(f).null_count for f in spec.field_names
        }


def test_the_discover_command_writes_a_mapping_the_pipeline_loads(
    moto_server, truth: dict[str, TableSpec], database: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    stage_discovery(moto_server.url, database, [truth["devops"]], WINDOW)

    @click.group()
    def cli() -> None:
        """Stand-in for ``ons_pipeline.cli.main.main``."""

    register(cli)
    out = tmp_path / "found.toml"
    env = {"ONS_AWS_ENDPOINT_URL": moto_server.url, "ONS_STATE_DIR": str(tmp_path / "state")}
    runner = CliRunner()
    args = ["discover", "--database", database, "--out", str(out), "--sample-end", "2024-03-02"]
    result = runner.invoke(cli, [*args, "--sample-days", "1"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 of 1 table(s)" in result.output and out.exists()
    shown = runner.invoke(cli, ["mapping", "--json"], env={**env, "ONS_MAPPING_EXTRA": str(out)})
    assert shown.exit_code == 0, shown.output
    tables = {t["table"]: t for t in json.loads(shown.output)["tables"]}
    assert tables["devops"]["file"] == str(out) and tables["devops"]["layout"] == "single"
    broken = runner.invoke(cli, ["mapping"], env={**env, "ONS_MAPPING_EXTRA": str(tmp_path)})
    assert broken.exit_code != 0 and str(tmp_path) in broken.output


def test_names_and_grains() -> None:
    assert safe_name("DevOps-Metrics.v2") == "devops_metrics_v2"
    assert safe_name("1st table") == "t_1st_table" and safe_name("time") == "time_"
    day = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 8, tzinfo=UTC))
    assert [grain_of(day, n) for n in (7 * 288, 7 * 48, 7 * 24, 7, 1, 0)] == [
        "5m",
        "30m",
        "1h",
        "1d",
        "7d",
        None,
    ]
    assert grain_of(day, 7 * 23) == "1h"  # a DST day's 23 hours still read as hourly
    assert timedelta(days=7) == day.end - day.start
