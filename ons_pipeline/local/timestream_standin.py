"""The local Timestream stand-in: moto's server, whose UNLOAD answers any window of staged days.

moto's Timestream Query hands out canned answers per exact SQL text. That is enough for a paged
``Query`` of one day, but the exporter UNLOADs a whole range of days in one statement (Timestream
allows one UNLOAD per second), and which range depends on how a backfill splits its runs. So
staging stores each table-day's rows, as UNLOAD would write them, in the stand-in's own bucket
(:data:`STANDIN_BUCKET`, ``<database>/<table>/<start_ns>-<end_ns>.parquet``, plus the table's
result columns), and this server answers an UNLOAD it has no canned answer for the way
Timestream does: it writes the rows of the window (Parquet results, manifest, metadata) to the
statement's destination and answers pages without rows while "running", then the result row.

Run as ``python -m ons_pipeline.local.timestream_standin -H 127.0.0.1 -p PORT`` (what
``ons-pipeline servers start`` does); the arguments are moto's.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ons_pipeline.lib.aws import LOCAL_AWS_CREDENTIALS
from ons_pipeline.lib.migration.timestream import (
    UNLOAD_TIME_COLUMN,
    column_info,
    unload_rows,
    write_unload_output,
)
from ons_pipeline.lib.ons_time import Window
from ons_pipeline.lib.schema import TableSpec

STANDIN_BUCKET = "timestream-standin"
COLUMNS_FILE = "_columns.json"
_UNLOAD = re.compile(
    r"^UNLOAD \(SELECT .*? FROM \"(?P<database>(?:[^\"]|\"\")+)\"\.\"(?P<table>(?:[^\"]|\"\")+)\" "
    r"WHERE time >= from_nanoseconds\((?P<start>\d+)\) AND time < from_nanoseconds\((?P<end>\d+)\)"
    r".*\) TO '(?P<destination>s3://[^']+)' WITH \(",
    re.DOTALL,
)


@dataclass(frozen=True)
class UnloadStatement:
    database: str
    table: str
    start_ns: int
    end_ns: int
    destination: str


def parse_unload(sql: str) -> UnloadStatement | None:
    """The table, window and destination of an UNLOAD the exporter renders; ``None`` otherwise."""
    match = _UNLOAD.match(sql)
    if match is None:
        return None
    return UnloadStatement(
        database=match["database"].replace('""', '"'),
        table=match["table"].replace('""', '"'),
        start_ns=int(match["start"]),
        end_ns=int(match["end"]),
        destination=match["destination"],
    )


def _prefix(database: str, table: str) -> str:
    return f"{database}/{table}/"


def store_day(
    s3: Any, spec: TableSpec, database: str, window: Window, tables: Iterable[pa.Table]
) -> int:
    """Keep one staged window of ``spec``'s source table in the stand-in (replacing it);
    returns its rows."""
    rows = unload_rows(spec, tables)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=STANDIN_BUCKET)
    prefix = _prefix(database, spec.source_table)
    s3.put_object(
        Bucket=STANDIN_BUCKET,
        Key=prefix + COLUMNS_FILE,
        Body=json.dumps(column_info(spec)).encode(),
    )
    buffer = io.BytesIO()
    pq.write_table(rows, buffer)
    key = f"{prefix}{window.start_ns}-{window.end_ns}.parquet"
    s3.put_object(Bucket=STANDIN_BUCKET, Key=key, Body=buffer.getvalue())
    return rows.num_rows


def _staged_objects() -> dict[str, Any] | None:
    """The stand-in bucket's objects by key, read from moto's S3 backend in this process (the
    UNLOAD runs inside moto's server: no HTTP request to itself per staged day); ``None`` when
    nothing was ever staged."""
    from moto.s3.models import FakeKey, s3_backends

    located = s3_backends.bucket_accounts.get(STANDIN_BUCKET)
    if located is None:
        return None
    partition, account = located
    keys = s3_backends[account][partition].get_bucket(STANDIN_BUCKET).keys
    found = {name: keys.get(name) for name in list(keys.keys())}  # a copy: staging may go on
    return {name: key for name, key in found.items() if isinstance(key, FakeKey)}


def answer_unload(s3: Any, statement: UnloadStatement) -> list[dict[str, Any]] | None:
    """Run ``statement`` over the staged days (``None`` when its table was never staged); the
    result is written to the statement's destination through ``s3``."""
    prefix = _prefix(statement.database, statement.table)
    objects = _staged_objects()
    if objects is None or prefix + COLUMNS_FILE not in objects:
        return None
    columns = json.loads(objects[prefix + COLUMNS_FILE].value)
    parts = []
    for key in sorted(k for k in objects if k.startswith(prefix) and k.endswith(".parquet")):
        start, end = (int(x) for x in key[len(prefix) :].removesuffix(".parquet").split("-"))
        if start < statement.end_ns and statement.start_ns < end:
            parts.append(pq.read_table(io.BytesIO(objects[key].value)))
    if parts:
        rows = pa.concat_tables(parts)
        times = rows.column(UNLOAD_TIME_COLUMN)
        inside = pc.and_(
            pc.greater_equal(times, statement.start_ns), pc.less(times, statement.end_ns)
        )
        rows = rows.filter(inside)
    else:
        rows = pa.table({c["Name"]: pa.array([], pa.null()) for c in columns})
    return write_unload_output(s3, statement.destination, rows, columns)


def _patch_moto(endpoint_url: str) -> None:
    import boto3
    from moto.timestreamquery.models import TimestreamQueryBackend

    original = TimestreamQueryBackend.query
    s3 = boto3.client(
        "s3", endpoint_url=endpoint_url, region_name="us-east-1", **LOCAL_AWS_CREDENTIALS
    )

    def query(self: Any, query_string: str) -> dict[str, Any]:
        canned = self.query_result_queue.get(query_string) or query_string in self.query_results
        statement = None if canned else parse_unload(query_string)
        pages = answer_unload(s3, statement) if statement is not None else None
        if not pages:
            return original(self, query_string)  # type: ignore[no-any-return]
        self.query_result_queue.setdefault(query_string, []).extend(pages[1:])
        return pages[0]

    TimestreamQueryBackend.query = query  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    args = list(sys.argv[1:] if argv is None else argv)
    host = args[args.index("-H") + 1] if "-H" in args else "127.0.0.1"
    port = args[args.index("-p") + 1] if "-p" in args else "5000"
    _patch_moto(f"http://{host}:{port}")
    moto_main(args)


if __name__ == "__main__":
    main()
