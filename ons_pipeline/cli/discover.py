"""``ons-pipeline discover`` and ``ons-pipeline mapping``: a Timestream database's tables as a
mapping file to review, and the mapping the pipeline uses now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ons_pipeline.cli.common import emit
from ons_pipeline.environment import load_settings
from ons_pipeline.lib import schema


@click.command("discover")
@click.option("--database", default=None, help="Timestream database [ONS_TIMESTREAM_DATABASE].")
@click.option("--tables", default=None, help="Only these tables (a,b,c); default: every table.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the mapping file here (default: print it).",
)
@click.option(
    "--sample-end",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Day after the sample window (UTC; default: today).",
)
@click.option("--sample-days", type=click.IntRange(1, 366), default=7, show_default=True)
@click.option(
    "--high-cardinality",
    type=click.IntRange(2),
    default=1_000,
    show_default=True,
    help="Distinct values of a dimension above which it is flagged as a high-cardinality tag.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def discover_command(
    database: str | None,
    tables: str | None,
    out: Path | None,
    sample_end: Any,
    sample_days: int,
    high_cardinality: int,
    as_json: bool,
) -> None:
    """Describe a Timestream database's tables as a mapping file to review.

    Per table: DESCRIBE, SHOW MEASURES and one sampled count over the sample window (rows,
    timestamps, series, distinct values per dimension). Dimensions become tags, measures typed
    fields (multi-measure attributes, or the measure names of single-measure records); the
    grain and series count come from the sample. Warnings above each entry flag
    high-cardinality dimensions (candidates for fields), types that need care and renamed
    names; tables the mapping cannot express are written commented out, with the reason.

    Load the reviewed file with ONS_MAPPING_EXTRA=<file>; `ons-pipeline mapping` shows the
    result.
    """
    from ons_pipeline.lib.migration.discover import default_sample_window, discover, render_mapping

    aws = load_settings().aws
    name = database or aws.timestream_database
    window = default_sample_window(sample_days, sample_end.date() if sample_end else None)
    selected = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    found = discover(
        aws.client("timestream-query"),
        name,
        tables=selected,
        window=window,
        high_cardinality=high_cardinality,
    )
    text = render_mapping(found)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        if any(t.entry for t in found.tables):
            try:
                schema.load_mapping(out)  # what was written loads
            except schema.SchemaError as exc:
                raise click.ClickException(f"the written mapping does not load: {exc}") from None
    if as_json:
        click.echo(json.dumps(found.as_dict(), indent=2, default=str))
    elif out is None:
        click.echo(text)
    mapped = [t for t in found.tables if t.entry is not None]
    warned = sum(len(t.warnings) for t in mapped)
    summary = (
        f"{len(mapped)} of {len(found.tables)} table(s) of {name!r} mapped, {warned} warning(s)"
        + (f", written to {out}" if out else "")
    )
    click.echo(summary, err=True)


@click.command("mapping")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def mapping_command(as_json: bool) -> None:
    """Show the schema mapping in use: its files (ONS_MAPPING_FILE, ONS_MAPPING_EXTRA) and
    each table with the file that declared it (an error names the file, table and key)."""
    settings = load_settings().mapping
    try:
        specs = schema.tables(settings)
    except schema.SchemaError as exc:
        raise click.ClickException(str(exc)) from None
    rows = [
        {
            "table": spec.name,
            "source": spec.source.value,
            "layout": spec.layout.value,
            "measurement": spec.measurement,
            "tags": list(spec.tags),
            "fields": {f.name: f.type.value for f in spec.fields},
            "raw_file": bool(spec.raw_time_column),
            "file": spec.origin,
        }
        for spec in specs.values()
    ]
    lines = [f"mapping files: {', '.join(str(p) for p in settings.files)}"]
    lines += [
        f"{r['table']:<22} {r['source']:<10} {len(r['tags'])} tags, {len(r['fields'])} fields"
        f"{'  raw files' if r['raw_file'] else ''}  ({r['file']})"
        for r in rows
    ]
    emit({"files": [str(p) for p in settings.files], "tables": rows}, as_json, "\n".join(lines))


def register(main: click.Group) -> None:
    """Add ``discover`` and ``mapping`` to the ``ons-pipeline`` group."""
    main.add_command(discover_command, "discover")
    main.add_command(mapping_command, "mapping")
