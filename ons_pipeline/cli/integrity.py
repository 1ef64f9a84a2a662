"""``ons-pipeline verify | equivalence | report``: the integrity commands of the command line.

``cli.py`` calls :func:`register` to add them to its group. They read the same environment as
the rest of the CLI (``ONS_S3_BUCKET``, ``ONS_INFLUX_*``..., local servers by default).
"""

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import click

from ons_pipeline.cli.common import table_names
from ons_pipeline.environment import load_settings
from ons_pipeline.lib import schema
from ons_pipeline.lib.ons_time import day_range
from ons_pipeline.lib.partitions import ParquetStore, PartitionError
from ons_pipeline.lib.settings import Settings


def _clients() -> tuple[Settings, Any, Any]:
    settings = load_settings()
    s3 = settings.aws.client("s3")
    client = settings.influx.client()
    return settings, s3, client


def _days(start: date, end: date | None) -> list[date]:
    last = end or start
    if last < start:
        raise click.BadParameter("--end is before --date")
    return day_range(start, last)


@click.command("verify")
@click.option("--table", "tables", required=True, help="Table(s): a name, a,b,c, ons, legacy, all.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="UTC day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (incl.).")
@click.option("--attempts", type=int, default=4, show_default=True, help="Reads while flushing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_command(tables: str, day: Any, end: Any, attempts: int, as_json: bool) -> None:
    """Verify loaded days exactly: the Parquet partition vs InfluxDB read back.

    Counts per series and an order-independent checksum of every (series, time, field value,
    bit-exact); a difference names the series, time ranges and points. Exit status 1 on any
    difference. Each verdict is recorded on the day's ``influxdb/<table>`` partition in Dagster:
    a day that fails here counts as not migrated, and ``ons-pipeline migrate`` redoes it.
    """
    from ons_pipeline.lib.integrity.verification import verify_partition

    settings, s3, client = _clients()
    aws = settings.aws
    results = []
    unverifiable: list[str] = []  # days without a partition to compare with
    with client:
        for name in table_names(tables):
            for one in _days(day.date(), end.date() if end else None):
                try:
                    result = verify_partition(
                        ParquetStore.of(aws, s3),
                        client,
                        schema.table(name),
                        one,
                        attempts=attempts,
                    )
                except PartitionError as exc:
                    unverifiable.append(f"{name} {one}")
                    click.echo(f"{name} {one}: cannot verify: {exc}", err=as_json)
                    continue
                results.append(result)
                if not as_json:
                    click.echo(result.summary())
    _record_verdicts(results)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    failed = [f"{r.table} {r.partition}" for r in results if not r.ok]
    if failed or unverifiable:
        total = len(results) + len(unverifiable)
        raise click.ClickException(
            "; ".join(
                text
                for text in (
                    f"{len(failed)} of {total} partition(s) differ: {', '.join(failed)}"
                    if failed
                    else "",
                    f"{len(unverifiable)} of {total} could not be verified (no partition): "
                    f"{', '.join(unverifiable)}"
                    if unverifiable
                    else "",
                )
                if text
            )
        )


def _record_verdicts(results: list[Any]) -> None:
    import dagster as dg

    from ons_pipeline.cli.common import dagster_home
    from ons_pipeline.defs.keys import influxdb_key
    from ons_pipeline.defs.state import VERDICT

    dagster_home()
    with dg.DagsterInstance.get() as instance:
        for result in results:
            instance.report_runless_asset_event(
                dg.AssetObservation(
                    asset_key=influxdb_key(result.table),
                    partition=result.partition,
                    metadata={
                        VERDICT: "passed" if result.ok else "failed",
                        "source checksum": result.source_checksum,
                        "influxdb checksum": result.influx_checksum,
                        "differing series": len(result.diffs),
                        "by": "ons-pipeline verify",
                    },
                )
            )


@click.command("equivalence")
@click.option("--tables", default="all", show_default=True, help="all, ons, legacy or a,b,c")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (incl.).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def equivalence_command(tables: str, start: Any, end: Any, as_json: bool) -> None:
    """Dual-read check: the platform's Timestream SQL on DuckDB (over the exported Parquet) vs
    InfluxQL on InfluxDB. Exit status 1 when any query shape answers differently."""
    from ons_pipeline.lib.integrity.equivalence import compare_days

    settings, s3, client = _clients()
    aws = settings.aws
    with client:
        report = compare_days(
            ParquetStore.of(aws, s3),
            client,
            table_names(tables),
            start.date(),
            end.date(),
            {"ons": aws.timestream_database, "legacy": aws.timestream_legacy_database},
            client.config.database,
        )
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in report.results], indent=2))
    else:
        click.echo(report.summary())
    if not report.ok:
        raise click.ClickException(f"{len(report.failed)} query shape(s) differ")


@click.command("report")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (incl.).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("migration-report.md"),
    show_default=True,
    help="Markdown file to write.",
)
def report_command(start: Any, end: Any, out: Path) -> None:
    """Write the migration report (per table: done/failed/pending, rows, points, exact
    verification, gaps, dead letters) from the Dagster instance ($DAGSTER_HOME)."""
    import dagster as dg

    from ons_pipeline.defs.integrity.report import gather_report
    from ons_pipeline.lib.integrity.report import render_markdown
    from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore

    os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve()))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    aws = load_settings().aws
    store = None
    if aws.endpoint_url or os.environ.get("AWS_REGION"):
        store = S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=aws.client("s3"))
    with dg.DagsterInstance.get() as instance:
        report = gather_report(
            instance,
            list(schema.tables().values()),
            start.date() if start else None,
            end.date() if end else None,
            store,
        )
    text = render_markdown(report)
    out.write_text(text, encoding="utf-8")
    figures = report.figures()
    click.echo(
        f"{out}: {figures['done']} done, {figures['failed']} failed, {figures['pending']} "
        f"pending, {figures['verified']} verified, {figures['mismatched']} mismatched"
    )


def register(main: click.Group) -> None:
    """Add the integrity commands to the ``ons-pipeline`` group."""
    for command in (verify_command, equivalence_command, report_command):
        main.add_command(command)
