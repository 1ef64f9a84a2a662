"""The daily rollups as Parquet on S3, one object per table and local day:
``<parquet prefix>/_rollup/<table>/1d/date=YYYY-MM-DD/rollup.parquet`` (``_`` keeps the folder
apart from every table name). One ``put_object`` replaces a day whole; the monthly level reads
them back."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ons_pipeline.lib.schema import TableSpec

FOLDER = "_rollup"


class RollupMissingError(LookupError):
    """A day's rollup is not on S3 (the daily rollup of that day was never materialised)."""


class RollupStore:
    """Daily rollup rows of every table on S3."""

    def __init__(self, s3: Any, bucket: str, prefix: str = "parquet") -> None:
        self.s3 = s3
        self.bucket = bucket
        self.base = prefix.strip("/")

    def key(self, table: str, level: str, day: date) -> str:
        return f"{self.base}/{FOLDER}/{table}/{level}/date={day.isoformat()}/rollup.parquet"

    def uri(self, table: str, level: str, day: date) -> str:
        return f"s3://{self.bucket}/{self.key(table, level, day)}"

    def write(self, table: str, level: str, day: date, rows: pa.Table) -> str:
        sink = pa.BufferOutputStream()
        pq.write_table(rows, sink, compression="zstd")
        key = self.key(table, level, day)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=sink.getvalue().to_pybytes())
        return key

    def read(self, table: str, level: str, day: date, spec: TableSpec) -> pa.Table:
        key = self.key(table, level, day)
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            raise RollupMissingError(
                f"no {level} rollup of {table} for {day} at s3://{self.bucket}/{key}: "
                f"materialize rollup/{table} for that day first"
            ) from None
        return pq.read_table(pa.BufferReader(body)).cast(spec.arrow_schema())
