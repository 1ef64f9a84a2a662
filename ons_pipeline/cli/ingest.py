"""``ons-pipeline normalize`` and ``ons-pipeline load``: one raw ONS file, without Dagster.

* ``normalize FILE``: read a raw ONS file (``;`` CSV, Parquet or .xlsx) and show what continuous
  loading would make of it — dataset, rows per UTC day, dropped rows, every bad row with its line
  and column; ``--out DIR`` writes the canonical Parquet per day and the quarantine files.
* ``load FILE``: the whole ingest path without Dagster: normalise, quarantine the bad rows on S3,
  merge into the daily Parquet partitions, apply corrections in InfluxDB, load.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from ons_pipeline.cli.common import ensure_bucket
from ons_pipeline.environment import load_settings

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
    if normalized.duplicates_dropped:
        lines.append(f"  rows repeated verbatim, dropped: {normalized.duplicates_dropped:,}")
    lines += [f"  read as: {note}" for note in normalized.notes]
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
    """Normalise a raw ONS file (';' CSV, Parquet or .xlsx) and report rows, days and bad rows."""
    from ons_pipeline.lib.ingest.normalize import NormalizeError, normalize_file, write_local

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
    if normalized.bad_rows and not normalized.rows:
        click.echo(
            f"error: none of the {len(normalized.bad_rows)} rows of {file} could be read "
            "(the bad rows above say why)",
            err=True,
        )
        sys.exit(1)
    if strict and normalized.bad_rows:
        sys.exit(1)


@click.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def load_command(file: Path, as_json: bool) -> None:
    """Ingest a raw ONS file now, without Dagster: partitions on S3, corrections, InfluxDB.

    Bad rows go to s3://$ONS_S3_BUCKET/quarantine/rows/manual/<file>@<md5>.json and .csv.
    """
    from ons_pipeline.lib.ingest.files import IngestError, ingest_bytes
    from ons_pipeline.lib.ingest.normalize import NormalizeError
    from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore

    settings = load_settings()
    aws = settings.aws
    s3 = aws.client("s3")
    ensure_bucket(s3, aws.bucket)
    data = file.read_bytes()
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    raw_key = f"{aws.raw_prefix.strip('/')}/manual/{file.name}"
    store = S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=s3)
    try:
        with settings.influx.client() as client:
            report = ingest_bytes(
                data,
                str(file),
                aws=aws,
                s3=s3,
                client=client,
                raw_key=raw_key,
                etag=etag,
                deadletter=store,
                batch_lines=settings.influx.batch_lines,
                max_bad_fraction=settings.ingest.max_bad_fraction,
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
        if report.gave_way:
            click.echo(
                f"  {report.gave_way:,} row(s) left as a file uploaded later than this one "
                "wrote or withdrew them"
            )
        for key in report.quarantine_keys:
            click.echo(f"quarantine: s3://{aws.bucket}/{key}")
    if report.failed_batches:
        raise click.ClickException(
            f"{report.failed_batches} batch(es) failed and were kept in the dead-letter store "
            f"(`ons-pipeline dlq list`): {report.errors()[0]}"
        )


def register(main: click.Group) -> None:
    """Add ``normalize`` and ``load`` to the ``ons-pipeline`` group."""
    main.add_command(normalize_command, "normalize")
    main.add_command(load_command, "load")
