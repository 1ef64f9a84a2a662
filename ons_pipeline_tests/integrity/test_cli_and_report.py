"""``ons-pipeline verify`` against the real servers, and the report rendered from known figures."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import click
from click.testing import CliRunner

from ons_pipeline.cli.integrity import register, verify_command
from ons_pipeline.lib import schema
from ons_pipeline.lib.integrity.report import (
    DONE,
    FAILED,
    PENDING,
    DeadLetterSummary,
    MigrationReport,
    PartitionStatus,
    TableStatus,
    day_ranges,
    render_markdown,
)
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline_tests.integrity.conftest import load_day, put_day

DAY = date(2018, 11, 4)


def test_register_adds_the_integrity_commands() -> None:
    @click.group()
    def main() -> None:
        """stand-in for ons-pipeline"""

    register(main)
    assert {"verify", "equivalence", "report"} <= set(main.commands)
    result = CliRunner().invoke(main, ["verify", "--help"])
    assert result.exit_code == 0 and "--table" in result.output and "--date" in result.output


def test_verify_command_passes_then_names_the_deleted_series(
    s3, s3_bucket, influx, influx_url, influx_db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    put_day(s3, s3_bucket, "ena_diario", DAY)
    load_day(s3, s3_bucket, influx, "ena_diario", DAY)
    monkeypatch.setenv("ONS_S3_BUCKET", s3_bucket)
    monkeypatch.setenv("ONS_INFLUX_URL", influx_url)
    monkeypatch.setenv("ONS_INFLUX_DATABASE", influx_db)
    runner = CliRunner()
    ok = runner.invoke(verify_command, ["--table", "ena_diario", "--date", DAY.isoformat()])
    assert ok.exit_code == 0, ok.output
    assert "ena_diario 2018-11-04: verified" in ok.output
    window = day_window(DAY)
    influx.delete_range("ena_diario", window.start_ns, window.end_ns, tags={"id_subsistema": "S"})
    bad = runner.invoke(
        verify_command,
        ["--table", "ena_diario", "--date", DAY.isoformat(), "--attempts", "1", "--json"],
    )
    assert bad.exit_code == 1
    payload = json.loads(bad.output[: bad.output.rindex("]") + 1])
    diff = payload[0]["diffs"][0]
    assert diff["tags"]["id_subsistema"] == "S" and diff["status"] == "missing in InfluxDB"
    assert diff["ranges"][0]["start"] == "2018-11-04T03:00:00Z"  # local midnight, UTC-3
    assert "1 of 1 partition(s) differ: ena_diario 2018-11-04" in bad.output
    # a day with no partition (never exported, or its objects lost) cannot be verified: said
    # per day, the other days are verified, and the command fails
    span = ["--table", "ena_diario", "--date", DAY.isoformat(), "--end", "2018-11-05"]
    both = runner.invoke(verify_command, [*span, "--attempts", "1"])
    assert both.exit_code == 1 and isinstance(both.exception, SystemExit), both.output
    assert "ena_diario 2018-11-05: cannot verify:" in both.output
    assert "no Parquet files" in both.output and "Traceback" not in both.output
    assert "1 of 2 partition(s) differ: ena_diario 2018-11-04" in both.output
    assert "1 of 2 could not be verified (no partition): ena_diario 2018-11-05" in both.output


def test_report_markdown_lists_figures_gaps_failures_and_dead_letters() -> None:
    days = ["2018-11-01", "2018-11-02", "2018-11-03", "2018-11-04", "2018-11-05"]
    states = [DONE, FAILED, DONE, PENDING, DONE]
    partitions = [
        PartitionStatus(d, s, rows=10, points=10, verified=True, checksum=f"c{i}")
        if s == DONE
        else PartitionStatus(
            d, s, error="load failed: 1 batch dead-lettered" if s == FAILED else None
        )
        for i, (d, s) in enumerate(zip(days, states, strict=True))
    ]
    partitions[4].verified = False
    partitions[4].error = "curva_carga,id_subsistema=SE: differs"
    table = TableStatus(
        "curva_carga",
        "curva_carga",
        partitions,
        [DeadLetterSummary("2018-11-02", 2, 20_000, "RetriesExhaustedError: 503")],
    )
    others = [
        TableStatus(name, spec.measurement, [PartitionStatus(d) for d in days])
        for name, spec in schema.tables().items()
        if name != "curva_carga"
    ]
    report = MigrationReport(
        datetime(2026, 1, 1, tzinfo=UTC), date(2018, 11, 1), date(2018, 11, 5), [table, *others]
    )
    text = render_markdown(report)
    assert "| curva_carga | 3 | 1 | 1 | 30 | 30 | 2/3 ❌1 | 2018-11-01 … 2018-11-05 |" in text
    assert "2018-11-02, 2018-11-04 | 2 |" in text  # gaps, dead-letter batches
    assert "**curva_carga 2018-11-02** failed: load failed" in text
    assert "**curva_carga 2018-11-05** loaded but differs" in text
    assert "20,000 lines" in text and "dlq replay --table curva_carga" in text
    assert report.figures()["pending"] == 1 + 5 * len(others)
    assert day_ranges(["2018-11-03", "2018-11-01", "2018-11-02", "2018-11-05"]) == [
        ("2018-11-01", "2018-11-03"),
        ("2018-11-05", "2018-11-05"),
    ]
