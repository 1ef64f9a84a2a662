"""``ons-pipeline normalize`` and ``ons-pipeline load``, and the demo's "drop a file and watch it".

``register(main)`` adds the commands to the ``ons-pipeline`` group (``cli.py`` calls it).

* ``normalize FILE``: read a raw ONS file (``;`` CSV or Parquet) and show what continuous loading
  would make of it — dataset, rows per UTC day, dropped rows, every bad row with its line and
  column; ``--out DIR`` writes the canonical Parquet per day and the quarantine files.
* ``load FILE``: the whole ingest path without Dagster: normalise, quarantine the bad rows on S3,
  merge into the daily Parquet partitions, apply corrections in InfluxDB, load.

``demo_drop_and_wait`` puts a newly generated ONS day into the raw prefix of the local S3 and waits
until the ``ons_raw_files`` sensor's run has loaded it, starting a Dagster daemon if none is alive.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click

from ons_pipeline.lib.settings import Settings

DEMO_TABLE = "curva_carga"
DEMO_DAY = date(2018, 11, 8)  # the day after the demo's migrated week
MAX_SHOWN_BAD_ROWS = 20


def _bad_rows_text(normalized: Any) -> list[str]:
    shown = [f"  {bad}" for bad in normalized.bad_rows[:MAX_SHOWN_BAD_ROWS]]
    if len(normalized.bad_rows) > MAX_SHOWN_BAD_ROWS:
        shown.append(f"  … {len(normalized.bad_rows) - MAX_SHOWN_BAD_ROWS} more")
    return shown


def _normalized_text(normalized: Any) -> str:
    lines = [
        f"{normalized.source}: dataset {normalized.table} ({normalized.format})",
        f"  rows read {normalized.rows_read:,}, normalised {normalized.rows:,}, "
        f"bad {len(normalized.bad_rows):,}, empty dropped {normalized.dropped_empty:,}, "
        f"DST-gap dropped {normalized.dropped_dst:,}",
    ]
    for day, table in sorted(normalized.days.items()):
        lines.append(f"  UTC {day}: {table.num_rows:,} rows")
    if normalized.ignored_columns:
        lines.append(f"  ignored columns: {', '.join(normalized.ignored_columns)}")
    if normalized.missing_fields:
        lines.append(
            f"  fields absent from the file (NULL): {', '.join(normalized.missing_fields)}"
        )
    if normalized.bad_rows:
        lines.append("bad rows (kept in quarantine, not loaded):")
        lines += _bad_rows_text(normalized)
    return "\n".join(lines)


@click.command("normalize")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write <out>/<table>/date=D/part-00000.parquet per UTC day and <out>/quarantine/.",
)
@click.option("--strict", is_flag=True, help="Exit with status 1 when any row is bad.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def normalize_command(file: Path, out: Path | None, strict: bool, as_json: bool) -> None:
    """Normalise a raw ONS file (';' CSV or Parquet) and report rows, days and bad rows."""
    from ons_pipeline.lib.normalize import NormalizeError, normalize_file, write_local

    try:
        normalized = normalize_file(file)
    except NormalizeError as exc:
        raise click.ClickException(str(exc)) from exc
    written = write_local(normalized, out) if out is not None else []
    if as_json:
        payload = {
            **normalized.summary(),
            "bad_rows": [b.as_dict() for b in normalized.bad_rows],
            "written": [str(p) for p in written],
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(_normalized_text(normalized))
        for path in written:
            click.echo(f"wrote {path}")
    if strict and normalized.bad_rows:
        sys.exit(1)


@click.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def load_command(file: Path, as_json: bool) -> None:
    """Ingest a raw ONS file now, without Dagster: partitions on S3, corrections, InfluxDB.

    Bad rows go to s3://$ONS_S3_BUCKET/quarantine/rows/manual/<file>@<md5>.json and .csv.
    """
    from ons_pipeline.lib.deadletter import S3DeadLetterStore
    from ons_pipeline.lib.ingest import IngestError, IngestSettings, ingest_bytes
    from ons_pipeline.lib.normalize import NormalizeError
    from ons_pipeline.lib.secrets import client_from_env

    settings = Settings.from_env()
    aws = settings.aws
    config = IngestSettings.from_env()
    s3 = aws.client("s3")
    _ensure_bucket(s3, aws.bucket)
    data = file.read_bytes()
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    raw_key = f"{aws.raw_prefix.strip('/')}/manual/{file.name}"
    store = S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=s3)
    try:
        with client_from_env(settings.influx_env) as client:
            report = ingest_bytes(
                data,
                str(file),
                s3=s3,
                bucket=aws.bucket,
                parquet_prefix=aws.parquet_prefix,
                client=client,
                raw_prefix=aws.raw_prefix,
                raw_key=raw_key,
                etag=etag,
                quarantine_prefix=config.quarantine_prefix,
                deadletter=store,
                batch_lines=int(settings.influx_env.get("ONS_INFLUX_BATCH_LINES", "10000")),
                max_bad_fraction=config.max_bad_fraction,
            )
    except (NormalizeError, IngestError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.summary(), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(_normalized_text(report.normalized))
        for day in report.days:
            summary = day.summary()
            click.echo(
                f"  {day.table} {summary['day']}: wrote {summary['points written']:,} points, "
                f"deleted {summary['points deleted']:,} (correction), partition "
                f"{summary['partition rows']:,} rows"
            )
        if report.unchanged_days:
            click.echo(f"  {len(report.unchanged_days)} UTC day(s) already up to date, skipped")
        for key in report.quarantine_keys:
            click.echo(f"quarantine: s3://{aws.bucket}/{key}")
    if report.failed_batches:
        raise click.ClickException(
            f"{report.failed_batches} batch(es) failed and were kept in the dead-letter store "
            f"(`ons-pipeline dlq list`): {report.errors()[0]}"
        )


def _ensure_bucket(s3: Any, bucket: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)


def register(main: click.Group) -> None:
    """Add ``normalize`` and ``load`` to the ``ons-pipeline`` group."""
    main.add_command(normalize_command, "normalize")
    main.add_command(load_command, "load")


# --- the demo: drop a new day into the raw prefix and watch it load ---------------------------


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


def _dagster_bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


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

    from ons_pipeline.backfill import check_daemon, owned_daemon
    from ons_pipeline.defs.ingest.sensors import RAW_SENSOR
    from ons_pipeline.lib.generator import generate_raw_ons, write_ons_csv
    from ons_pipeline.lib.influx import quote_ident
    from ons_pipeline.lib.ingest import run_key
    from ons_pipeline.lib.ons_time import local_day_bounds_utc, to_ns
    from ons_pipeline.lib.schema import table as table_spec
    from ons_pipeline.lib.secrets import client_from_env

    started = time.monotonic()
    if home is None:
        from ons_pipeline.cli import dagster_home

        home = dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    settings = Settings.from_env()
    aws = settings.aws
    s3 = aws.client("s3")
    _ensure_bucket(s3, aws.bucket)
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
    daemon_bin = _dagster_bin("dagster-daemon")
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
    with client_from_env(settings.influx_env) as client:
        results = client.query(
            f"SELECT count({quote_ident(spec.field_names[0])}) FROM {quote_ident(spec.measurement)}"
            f" WHERE time >= {to_ns(start)} AND time < {to_ns(end)}"
        )
    series = results[0].get("series", []) if results else []
    report.points = int(series[0]["values"][0][1]) if series else 0
    report.seconds = time.monotonic() - started
    echo(report.summary())
    return report
