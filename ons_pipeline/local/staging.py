"""The local Timestream stand-in: generated table-days staged in moto as Timestream would answer.

For ``query`` mode a table-day becomes the response pages (~1 MB each, chained by ``NextToken``)
of the exact SQL the exporter issues; for ``unload`` mode, the Parquet files, manifest and
metadata that UNLOAD writes, plus its one-row answer. moto hands each staged answer out once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.exporter import unload_destination
from ons_pipeline.lib.migration.timestream import (
    count_answer,
    count_query,
    database_for,
    describe_answer,
    describe_query,
    export_query,
    stage_query_results,
    stage_unload,
    table_to_pages,
)
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.schema import TableSpec
from ons_pipeline.local.generator import generate_canonical


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
) -> StagedDay:
    """Generate the UTC day ``day`` of ``spec`` and stage it for one export."""
    window = day_window(day)
    tables = list(generate_canonical(spec.name, window.start, window.end, seed=seed))
    rows = sum(t.num_rows for t in tables)
    database = database_for(spec, target.timestream_database, target.timestream_legacy_database)
    # What the exporter asks besides the rows: the table's description (once per run; staging
    # one per day leaves spares) and, in query mode, the day's own count.
    answers = {describe_query(database, spec.name): [describe_answer(spec)]}
    if mode == "query":
        answers[count_query(spec, database, window)] = [count_answer(spec, tables)]
    stage_query_results(endpoint_url, answers)
    if mode == "unload":
        if s3 is None:
            raise ValueError("unload staging needs an S3 client")
        destination = unload_destination(target, spec.name, day)
        stage_unload(s3, endpoint_url, spec, database, window, destination, tables)
        return StagedDay(spec.name, day, rows, 1)
    pages = table_to_pages(tables, spec, page_bytes=page_bytes)
    stage_query_results(endpoint_url, {export_query(spec, database, window): pages})
    return StagedDay(spec.name, day, rows, len(pages))
