"""``ons-pipeline generate | stage | demo``: realistic ONS data, the local Timestream stand-in and
the end-to-end demo (they need the local servers, not production)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ons_pipeline.cli.common import dagster_bin, dagster_home, ensure_bucket, table_names
from ons_pipeline.cli.migrate import migrate
from ons_pipeline.cli.servers import servers_start
from ons_pipeline.environment import load_settings
from ons_pipeline.lib import schema
from ons_pipeline.lib.ons_time import day_range

DEMO_START = date(2018, 11, 1)  # the week of the 2018 DST start (2018-11-04 has 23 local hours)
DEMO_TABLE = "curva_carga"
DEMO_DAY = date(2018, 11, 8)  # the day after the demo's migrated week


@click.command()
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
    names = table_names(tables)
    first = start.date()
    if fmt == "timestream":
        _stage(names, first, days, seed)
        return
    from ons_pipeline.local.generator import generate_ons_file

    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        if schema.table(name).source is not schema.Source.ONS:
            click.echo(f"{name}: not an ONS dataset, no ONS file form (use --format timestream)")
            continue
        path = out / f"{name}_{first.isoformat()}_{days}d.{fmt}"
        generate_ons_file(name, first, days, path, fmt=fmt, seed=seed)
        click.echo(f"{name}: {path}")


def _stage(names: list[str], first: date, days: int, seed: int) -> int:
    from ons_pipeline.local.staging import stage_day

    aws = load_settings().aws
    if not aws.endpoint_url:
        raise click.ClickException(
            "staging needs the local AWS endpoint: run `ons-pipeline servers start` first"
        )
    s3 = aws.client("s3")
    ensure_bucket(s3, aws.bucket)
    total = 0
    with click.progressbar(
        [(n, d) for n in names for d in day_range(first, first + timedelta(days=days - 1))],
        label="staging table-days",
    ) as bar:
        for name, day in bar:
            staged = stage_day(
                schema.table(name),
                day,
                mode=aws.export_mode,
                endpoint_url=aws.endpoint_url,
                target=aws,
                s3=s3,
                seed=seed,
                page_bytes=aws.query_page_bytes,
            )
            total += staged.rows
    click.echo(
        f"staged {total:,} rows of {len(names)} table(s) × {days} day(s) ({aws.export_mode})"
    )
    return total


@click.command()
@click.option("--tables", default="all", show_default=True, help="all, ons, legacy or a,b,c")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--days", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def stage(tables: str, start: Any, days: int, seed: int) -> None:
    """Stage generated table-days in the local Timestream stand-in (moto)."""
    _stage(table_names(tables), start.date(), days, seed)


@click.command()
@click.option("--days", type=int, default=7, show_default=True, help="Days to migrate.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=DEMO_START.isoformat())
@click.option("--tables", default="all", show_default=True)
def demo(days: int, start: Any, tables: str) -> None:
    """The local migration end to end: servers, data in the Timestream stand-in, backfill."""
    ctx = click.get_current_context()
    ctx.invoke(servers_start, as_json=False)
    names = table_names(tables)
    first = start.date()
    last = first + timedelta(days=days - 1)
    import dagster as dg

    from ons_pipeline.defs.state import pending_partitions

    home = dagster_home()
    with dg.DagsterInstance.get() as instance:
        todo = pending_partitions(instance, names, day_range(first, last))
    if any(todo.values()):
        for table, pending in todo.items():
            for block_start, block_days in _contiguous(pending):
                _stage([table], block_start, block_days, load_settings().seed)
    else:
        click.echo("every day is already migrated; nothing to stage")
    ctx.invoke(migrate, tables=tables, start=start, end=_as_datetime(last), timeout=3600)
    click.echo("\nContinuous loading: a new day's ONS file lands in the raw prefix of the local S3")
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


def _as_datetime(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


@dataclass
class DropReport:
    key: str
    etag: str
    run_id: str | None = None
    status: str = "not started"
    points: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"s3 object {self.key} (ETag {self.etag}): run {self.run_id or '-'} {self.status}, "
            f"{self.points:,} points in InfluxDB for that day, {self.seconds:.1f} s"
        )


def demo_drop_and_wait(
    table: str = DEMO_TABLE,
    day: date = DEMO_DAY,
    *,
    seed: int = 0,
    timeout: float = 180.0,
    home: Path | None = None,
    echo: Callable[[str], None] = click.echo,
) -> DropReport:
    """Drop one generated ONS local day of ``table`` into the raw prefix and wait for its load.

    Uses the Dagster instance at ``home`` (default: the CLI's ``$DAGSTER_HOME``). A daemon already
    serving it (``make dev``, a running migration) is used; otherwise one is started for the wait
    (with ``ONS_INGEST_SENSOR_INTERVAL=5`` unless set) and stopped by PID afterwards. Raises
    ``TimeoutError`` if no run has loaded the object within ``timeout`` seconds.
    """
    import dagster as dg

    from ons_pipeline.cli.backfill import check_daemon, owned_daemon
    from ons_pipeline.defs.ingest.sensors import RAW_SENSOR
    from ons_pipeline.lib.influx.client import quote_ident
    from ons_pipeline.lib.ingest.files import run_key
    from ons_pipeline.lib.ons_time import local_day_bounds_utc, to_ns
    from ons_pipeline.lib.schema import table as table_spec
    from ons_pipeline.local.generator import generate_raw_ons, write_ons_csv

    started = time.monotonic()
    if home is None:
        home = dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    settings = load_settings()
    aws = settings.aws
    s3 = aws.client("s3")
    ensure_bucket(s3, aws.bucket)
    with tempfile.TemporaryDirectory(prefix="ons-drop-") as tmp:
        path = Path(tmp) / f"{table}_{day.isoformat()}.csv"
        write_ons_csv([generate_raw_ons(table, day, seed)], path)
        key = f"{aws.raw_prefix.strip('/')}/{table}/{path.name}"
        etag = s3.put_object(Bucket=aws.bucket, Key=key, Body=path.read_bytes())["ETag"]
    report = DropReport(key=key, etag=etag.strip('"'))
    echo(f"dropped s3://{aws.bucket}/{key}; waiting for the {RAW_SENSOR} sensor")
    wanted = run_key(key, etag)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.setdefault("ONS_INGEST_SENSOR_INTERVAL", "5")
    daemon_bin = dagster_bin("dagster-daemon")
    with (
        dg.DagsterInstance.get() as instance,
        owned_daemon(instance, home, env, daemon_bin, echo, "the demo") as daemon,
    ):
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": wanted}))
            run = runs[0] if runs else None
            status = run.status.value if run else "waiting for the sensor"
            if status != last:
                echo(f"  {status}")
                last = status
            if run is not None:
                report.run_id, report.status = run.run_id, run.status.value
                if run.is_finished:
                    break
            check_daemon(daemon, home)
            time.sleep(1.0)
        else:
            raise TimeoutError(
                f"{key} not loaded after {timeout:.0f}s: is the {RAW_SENSOR} sensor running? "
                f"(`dagster sensor start {RAW_SENSOR} -m ons_pipeline.definitions`)"
            )
    spec = table_spec(table)
    start, end = local_day_bounds_utc(day)
    with settings.influx.client() as client:
        results = client.query(
            f"SELECT count({quote_ident(spec.field_names[0])}) FROM {quote_ident(spec.measurement)}"
            f" WHERE time >= {to_ns(start)} AND time < {to_ns(end)}"
        )
    series = results[0].get("series", []) if results else []
    report.points = int(series[0]["values"][0][1]) if series else 0
    report.seconds = time.monotonic() - started
    echo(report.summary())
    return report
