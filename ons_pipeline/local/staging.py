"""The local Timestream stand-in: generated table-days staged in moto as Timestream would answer.

For ``query`` mode a table-day becomes the response pages (~1 MB each, chained by ``NextToken``)
of the exact SQL the exporter issues (moto hands each staged answer out once); for ``unload``
mode, the day's rows in the stand-in's table storage, from which the stand-in answers any UNLOAD
whose window covers them (``local/timestream_standin.py``).

For ``ons-pipeline discover``, :func:`stage_discovery` stages what Timestream answers about a
database laid out as some mapping says: ``SHOW TABLES``, each table's ``DESCRIBE`` and ``SHOW
MEASURES`` (with the dimensions each measure's records carry, read from the generated rows) and
the sampled count, computed over the generated rows of the sample window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.discover import sample_query
from ons_pipeline.lib.migration.timestream import (
    count_answer,
    count_query,
    database_for,
    describe_answer,
    describe_query,
    export_query,
    pivoted,
    show_measures_answer,
    show_measures_query,
    show_tables_answer,
    show_tables_query,
    stage_query_results,
    table_to_pages,
)
from ons_pipeline.lib.ons_time import Window, day_window
from ons_pipeline.lib.schema import TIME_COLUMN, Source, TableSpec
from ons_pipeline.local.generator import generate_canonical
from ons_pipeline.local.timestream_standin import store_day


@dataclass(frozen=True)
class StagedDay:
    table: str
    day: date
    rows: int
    pages: int


def stage_day(
    spec: TableSpec,
    day: date,
    *,
    mode: str,
    endpoint_url: str,
    target: AwsSettings,
    s3: Any = None,
    seed: int = 0,
    page_bytes: int = 1_000_000,
    tables: Iterable[pa.Table] | None = None,
    source: TableSpec | None = None,
) -> StagedDay:
    """Stage the UTC day ``day`` of ``spec`` for one export. ``source``: the Timestream table as
    it really is, when ``spec`` is another mapping of it (e.g. one ``discover`` wrote): its
    layout answers ``DESCRIBE`` and ``SHOW MEASURES`` and its generated rows, :func:`recast`,
    the export. ``tables``: the day's canonical rows instead of generated ones."""
    window = day_window(day)
    truth = source or spec
    if tables is None:
        generated = generate_canonical(truth, window.start, window.end, seed=seed)
        tables = (recast(t, truth, spec) for t in generated) if source else generated
    tables = list(tables)
    rows = sum(t.num_rows for t in tables)
    database = database_for(spec, target.timestream_database, target.timestream_legacy_database)
    # What the exporter asks besides the rows: the table's description (once per run; staging
    # one per day leaves spares) and, in query mode, the day's own count.
    answers = {describe_query(database, spec.source_table): [describe_answer(truth)]}
    if pivoted(spec) or pivoted(truth):
        measures = show_measures_answer(truth)
        answers[show_measures_query(database, spec.source_table)] = [measures]
    if mode == "query":
        answers[count_query(spec, database, window)] = [count_answer(spec, tables)]
    stage_query_results(endpoint_url, answers)
    if mode == "unload":
        if s3 is None:
            raise ValueError("unload staging needs an S3 client")
        store_day(s3, spec, database, window, tables)  # any UNLOAD over it is answered
        return StagedDay(spec.name, day, rows, 1)
    pages = table_to_pages(tables, spec, page_bytes=page_bytes)
    stage_query_results(endpoint_url, {export_query(spec, database, window): pages})
    return StagedDay(spec.name, day, rows, len(pages))


def recast(table: pa.Table, source: TableSpec, spec: TableSpec) -> pa.Table:
    """Rows of ``source``'s canonical layout as ``spec``'s, matched through their Timestream
    names (both mappings of one Timestream table); a column ``spec`` wants that ``source`` lacks,
    or a type it cannot take, raises."""
    by_source = {source.source_column(c): c for c in (*source.tags, *source.field_names)}
    arrays = [table.column(TIME_COLUMN)]
    for name in (*spec.tags, *spec.field_names):
        origin = by_source.get(spec.source_column(name))
        if origin is None:
            raise KeyError(f"{spec.name}: column {name!r} ({spec.source_column(name)!r}) is not "
                           f"a column of {source.name}")  # fmt: skip
        arrays.append(table.column(origin))
    target = spec.arrow_schema()
    return pa.Table.from_arrays(
        [pc.cast(a, f.type) for a, f in zip(arrays, target, strict=True)], schema=target
    )


def _records(spec: TableSpec, rows: pa.Table) -> list[tuple[str, pa.Table]]:
    """(measure name, its records) as Timestream stores ``rows``: one record per row of a
    multi-measure table, one per non-NULL value of a single-measure table."""
    if spec.source is Source.LEGACY or pivoted(spec):
        return [
            (spec.source_column(f), rows.filter(pc.is_valid(rows.column(f))))
            for f in spec.field_names
        ]
    return [(spec.measure_name, rows)]


def measure_dimensions(spec: TableSpec, rows: pa.Table) -> dict[str, list[str]]:
    """Per measure name, the dimensions its records carry (non-NULL somewhere), in tag order."""
    return {
        measure: [
            spec.source_column(t) for t in spec.tags if records.column(t).null_count < len(records)
        ]
        for measure, records in _records(spec, rows)
        if len(records)
    }


def sample_answer(spec: TableSpec, rows: pa.Table) -> dict[str, Any]:
    """What the sampled count of :func:`~ons_pipeline.lib.migration.discover.sample_query`
    answers over ``rows`` (exact counts where Timestream's ``approx_distinct`` estimates)."""
    records = pa.concat_tables([r for _, r in _records(spec, rows)] or [rows.slice(0, 0)])
    values: dict[str, int] = {
        "rows": records.num_rows,
        "times": len(pc.unique(records.column(TIME_COLUMN))),
        "series": records.select(list(spec.tags)).group_by(list(spec.tags)).aggregate([]).num_rows
        if spec.tags and records.num_rows
        else min(1, records.num_rows),
    }
    for index, tag in enumerate(spec.tags):
        column = records.column(tag)
        values[f"d{index}_values"] = len(pc.unique(pc.drop_null(column)))
        values[f"d{index}_present"] = len(column) - column.null_count
    return {
        "Rows": [{"Data": [{"ScalarValue": str(v)} for v in values.values()]}],
        "ColumnInfo": [{"Name": n, "Type": {"ScalarType": "BIGINT"}} for n in values],
    }


def stage_discovery(
    endpoint_url: str,
    database: str,
    specs: Sequence[TableSpec],
    window: Window,
    *,
    seed: int = 0,
) -> dict[str, pa.Table]:
    """Stage what Timestream answers to ``ons-pipeline discover`` about ``database`` holding
    ``specs`` (see the module docstring); returns each table's generated sample rows."""
    answers = {show_tables_query(database): [show_tables_answer([s.source_table for s in specs])]}
    samples: dict[str, pa.Table] = {}
    for spec in specs:
        table = spec.source_table
        generated = list(generate_canonical(spec, window.start, window.end, seed=seed))
        rows = pa.concat_tables(generated or [spec.arrow_schema().empty_table()])
        samples[spec.name] = rows
        dimensions = [spec.source_column(t) for t in spec.tags]
        answers[describe_query(database, table)] = [describe_answer(spec)]
        answers[show_measures_query(database, table)] = [
            show_measures_answer(spec, measure_dimensions(spec, rows))
        ]
        answers[sample_query(database, table, dimensions, window)] = [sample_answer(spec, rows)]
    stage_query_results(endpoint_url, answers)
    return samples
