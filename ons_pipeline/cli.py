"""``ons-pipeline``: the command line of the project (every command has ``--help``)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from ons_pipeline.lib import schema
from ons_pipeline.lib.servers import ServerError, default_state_dir, local_servers
from ons_pipeline.lib.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_START = date(2018, 11, 1)  # the week of the 2018 DST start (2018-11-04 has 23 local hours)


def _tables_option(value: str | None) -> list[str]:
    if not value or value == "all":
        return list(schema.tables())
    if value == "ons":
        return schema.ons_tables()
    if value == "legacy":
        return schema.legacy_tables()
    names = [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        schema.table(name)  # clear error for an unknown table
    return names


def _days(start: date, count: int) -> Iterator[date]:
    for offset in range(count):
        yield start + timedelta(days=offset)


def _emit(payload: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


@click.group()
@click.version_option(package_name="ons-pipeline")
def main() -> None:
    """Migrate ONS time series from Amazon Timestream to Timestream for InfluxDB, and serve them."""


# --- servers -----------------------------------------------------------------------------------


@main.group()
def servers() -> None:
    """The local InfluxDB and AWS endpoint (moto) on loopback, state in $ONS_STATE_DIR."""


@servers.command("start")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def servers_start(as_json: bool) -> None:
    """Start (or reuse) the local servers."""
    infos = []
    for server in local_servers():
        try:
            infos.append(server.start())
        except ServerError as exc:
            raise click.ClickException(str(exc)) from exc
    _emit(
        [asdict(i) for i in infos],
        as_json,
        "\n".join(f"{i.name:9} running  pid {i.pid:<7} {i.url}" for i in infos),
    )


@servers.command("stop")
def servers_stop() -> None:
    """Stop the local servers by their PIDs."""
    for server in local_servers():
        stopped = server.stop()
        click.echo(f"{server.name:9} {'stopped' if stopped else 'was not running'}")


@servers.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def servers_status(as_json: bool) -> None:
    """Show whether the local servers run (stale = crashed, state left behind)."""
    rows = []
    for server in local_servers():
        state, info = server.status()
        rows.append({"name": server.name, "state": state, **(asdict(info) if info else {})})
    _emit(
        rows,
        as_json,
        "\n".join(f"{r['name']:9} {r['state']:12} {r.get('url', '')}" for r in rows)
        + f"\nstate dir: {default_state_dir()}",
    )


# --- data ----------------------------------------------------------------------------------------


@main.command()
@click.option("--tables", default="ons", show_default=True, help="all, ons, legacy or a,b,c")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--days", type=int, default=1, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "timestream"]),
    default="csv",
    show_default=True,
    help="ONS-style files (csv ';' / parquet) or staged in the local Timestream stand-in.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("data"))
@click.option("--seed", type=int, default=0, show_default=True)
def generate(tables: str, start: Any, days: int, fmt: str, out: Path, seed: int) -> None:
    """Generate realistic ONS data (deterministic per seed, one day at a time)."""
    names = _tables_option(tables)
    first = start.date()
    if fmt == "timestream":
        _stage(names, first, days, seed)
        return
    from ons_pipeline.lib.generator import generate_ons_file

    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        if schema.table(name).source is not schema.Source.ONS:
            click.echo(f"{name}: legacy table, no ONS file form (use --format timestream)")
            continue
        path = out / f"{name}_{first.isoformat()}_{days}d.{fmt}"
        generate_ons_file(name, first, days, path, fmt=fmt, seed=seed)
        click.echo(f"{name}: {path}")


def _stage(names: list[str], first: date, days: int, seed: int) -> int:
    from ons_pipeline.lib.staging import stage_day

    settings = Settings.from_env()
    aws = settings.aws
    if not aws.endpoint_url:
        raise click.ClickException(
            "staging needs the local AWS endpoint: run `ons-pipeline servers start` first"
        )
    s3 = aws.client("s3")
    _ensure_bucket(s3, aws.bucket)
    from ons_pipeline.resources import AwsResource

    target = AwsResource.from_settings(aws).export_target()
    total = 0
    with click.progressbar(
        [(n, d) for n in names for d in _days(first, days)], label="staging table-days"
    ) as bar:
        for name, day in bar:
            staged = stage_day(
                schema.table(name),
                day,
                mode=aws.export_mode,
                endpoint_url=aws.endpoint_url,
                target=target,
                s3=s3,
                seed=seed,
                page_bytes=aws.query_page_bytes,
            )
            total += staged.rows
    click.echo(
        f"staged {total:,} rows of {len(names)} table(s) × {days} day(s) ({aws.export_mode})"
    )
    return total


def _ensure_bucket(s3: Any, bucket: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)


@main.command()
@click.option("--tables", default="all", show_default=True, help="all, ons, legacy or a,b,c")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--days", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def stage(tables: str, start: Any, days: int, seed: int) -> None:
    """Stage generated table-days in the local Timestream stand-in (moto)."""
    _stage(_tables_option(tables), start.date(), days, seed)


# --- migration -----------------------------------------------------------------------------------


def dagster_home() -> Path:
    """$DAGSTER_HOME, or ./.dagster_home holding a copy of the repo's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    source = REPO_ROOT / "dagster.yaml"
    if source.exists() and (not config.exists() or config.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _dagster_bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


@main.command()
@click.option("--tables", default="all", show_default=True, help="all, ons, legacy or a,b,c")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (incl.).")
@click.option("--timeout", type=float, default=3600, show_default=True, help="Seconds to wait.")
def migrate(tables: str, start: Any, end: Any, timeout: float) -> None:
    """Backfill the migration over [start, end] through Dagster and follow it.

    Days already migrated for every selected table are skipped; failed or missing ones run.
    """
    from ons_pipeline.backfill import run_backfill

    report = run_backfill(
        tables=_tables_option(tables),
        first=start.date(),
        last=end.date(),
        home=dagster_home(),
        dagster_bin=_dagster_bin("dagster"),
        daemon_bin=_dagster_bin("dagster-daemon"),
        timeout=timeout,
        echo=click.echo,
    )
    click.echo(report.summary())
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} partition(s) failed: {report.failed}")


@main.command()
@click.option("--days", type=int, default=7, show_default=True, help="Days to migrate.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=DEMO_START.isoformat())
@click.option("--tables", default="all", show_default=True)
def demo(days: int, start: Any, tables: str) -> None:
    """The local migration end to end: servers, data in the Timestream stand-in, backfill."""
    ctx = click.get_current_context()
    ctx.invoke(servers_start, as_json=False)
    names = _tables_option(tables)
    first = start.date()
    last = first + timedelta(days=days - 1)
    from ons_pipeline.backfill import pending_days

    home = dagster_home()
    todo = pending_days(names, first, last, home)
    if todo:
        for block_start, block_days in _contiguous(todo):
            _stage(names, block_start, block_days, Settings.from_env().seed)
    else:
        click.echo("every day is already migrated; nothing to stage")
    ctx.invoke(migrate, tables=tables, start=start, end=_as_datetime(last), timeout=3600)
    click.echo("\nContinuous loading: a new day's ONS file lands in the raw prefix of the local S3")
    from ons_pipeline.cli_ingest import demo_drop_and_wait

    demo_drop_and_wait(day=last + timedelta(days=1), home=home, echo=click.echo)
    click.echo(
        "\nNext: `make dev` opens the Dagster UI on http://127.0.0.1:3000 — Assets → influxdb/* "
        "shows each partition's rows, points, points/s and its checks; Runs shows the backfill "
        'and the sensor\'s ingest run. `ons-pipeline query "carga média do Sudeste por dia"` '
        "queries what was loaded; `ons-pipeline report --out report.md` writes the migration "
        "report."
    )


def _contiguous(days: list[date]) -> Iterator[tuple[date, int]]:
    block: list[date] = []
    for day in sorted(days):
        if block and day != block[-1] + timedelta(days=1):
            yield block[0], len(block)
            block = []
        block.append(day)
    if block:
        yield block[0], len(block)


def _as_datetime(day: date) -> Any:
    from datetime import datetime

    return datetime(day.year, day.month, day.day)


# --- InfluxDB side -------------------------------------------------------------------------------


def _influx_client() -> Any:
    """The audited client (credentials from env or Secrets Manager, TLS rules, security log)."""
    from ons_pipeline.lib.secrets import client_from_env

    return client_from_env(Settings.from_env().influx_env)


def _deadletter_store() -> Any:
    from ons_pipeline.lib.deadletter import S3DeadLetterStore

    aws = Settings.from_env().aws
    return S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=aws.client("s3"))


@main.group()
def dlq() -> None:
    """Failed batches kept in the dead-letter store (s3://$ONS_S3_BUCKET/deadletter/)."""


@dlq.command("list")
@click.option("--table", default=None, help="Only this table.")
@click.option("--partition", default=None, help="Only this day (YYYY-MM-DD).")
@click.option("--all", "include_replayed", is_flag=True, help="Include replayed entries.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def dlq_list(
    table: str | None, partition: str | None, include_replayed: bool, as_json: bool
) -> None:
    """List failed batches with their error."""
    entries = _deadletter_store().list(
        table=table, partition=partition, include_replayed=include_replayed
    )
    lines = [
        f"{e.id}  {e.lines:>6} lines  {e.failures} failure(s)  {e.status}  "
        f"{e.error_class}: {e.error_message[:120]}"
        for e in entries
    ]
    _emit([asdict(e) for e in entries], as_json, "\n".join(lines) or "no failed batches")


@dlq.command("replay")
@click.option("--table", default=None, help="Only this table.")
@click.option("--partition", default=None, help="Only this day (YYYY-MM-DD).")
@click.option("--id", "ids", multiple=True, help="Only these entry ids (repeatable).")
def dlq_replay(table: str | None, partition: str | None, ids: tuple[str, ...]) -> None:
    """Write failed batches again; replayed entries are removed, failures stay (idempotent)."""
    store = _deadletter_store()
    with _influx_client() as client:
        report = store.replay(client, list(ids) or None, table=table, partition=partition)
    click.echo(
        f"replayed {len(report.replayed)} batch(es), {report.lines:,} lines; "
        f"failed {len(report.failed)}; skipped {len(report.skipped)}"
    )
    for entry_id, error in report.failed.items():
        click.echo(f"  {entry_id}: {error}")
    if not report.ok:
        raise click.ClickException(report.aborted or "some batches failed again")


@main.command()
@click.option("--table", required=True, help="Table (measurement) to roll back.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (incl.).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rollback(table: str, start: Any, end: Any, yes: bool) -> None:
    """Delete a table's days from InfluxDB through Dagster's rollback job (recorded on S3)."""
    spec = schema.table(table)
    if not yes:
        click.confirm(
            f"Delete {spec.measurement} from {start.date()} to {end.date()} in InfluxDB?",
            abort=True,
        )
    import dagster as dg

    from ons_pipeline.definitions import defs

    dagster_home()
    with dg.DagsterInstance.get() as instance:
        result = defs.get_job_def("rollback").execute_in_process(
            run_config={
                "ops": {
                    "rollback_influxdb_range": {
                        "config": {
                            "table": table,
                            "first_day": start.date().isoformat(),
                            "last_day": end.date().isoformat(),
                        }
                    }
                }
            },
            instance=instance,
        )
    key = result.output_for_node("rollback_influxdb_range")
    click.echo(f"rolled back; record at s3://{Settings.from_env().aws.bucket}/{key}")


def _register_commands() -> None:
    from ons_pipeline import cli_ingest, cli_integrity, cli_query

    for module in (cli_integrity, cli_ingest, cli_query):
        module.register(main)


_register_commands()

if __name__ == "__main__":
    main()
