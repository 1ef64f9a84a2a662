"""What continuous loading costs beside the loader alone, on one ONS file of a month.

    .venv/bin/python benchmarks/ingest.py [--table geracao_usina] [--days 31]

Starts its own InfluxDB 1.x and moto server on loopback. The same generated ONS CSV (a month
of ``--table``, as ONS publishes it) is then (1) normalised and written by the loader alone
(``load_tables``, one partition per UTC day, nothing else: the floor), (2) ingested as the
``ingest_raw_object`` job does (``ingest_bytes``: quarantine, claims and upload-order stamps,
InfluxDB corrections, load, Parquet partitions, each day's publish), and (3) ingested again, a
re-upload with the same rows (every day unchanged: the growing yearly file's daily case). The
last line is one JSON object, with ``ingest_over_load`` = (2) / (1) and the largest day's
``_ons_files.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pyarrow as pa

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ingest.files import ingest_bytes
from ons_pipeline.lib.ingest.normalize import normalize_bytes, sniff_format
from ons_pipeline.lib.migration.loader import load_tables
from ons_pipeline.lib.partitions import FILE_CLAIMS
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.generator.raw_files import generate_raw_ons
from ons_pipeline.local.servers import InfluxServer, MotoServer


def ons_csv(table: str, days: list[date]) -> bytes:
    raw = pa.concat_tables([generate_raw_ons(table, d) for d in days])
    lines = [";".join(raw.column_names)]
    lines += [";".join(row) for row in zip(*(c.to_pylist() for c in raw.columns), strict=True)]
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="geracao_usina")
    parser.add_argument("--days", type=int, default=31)
    args = parser.parse_args()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")  # moto accepts any; never a real account's
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(args.days)]
    data = ons_csv(args.table, days)
    source = f"raw/{args.table}/month.csv"
    with tempfile.TemporaryDirectory(prefix="ons-bench-ingest-") as tmp:
        influx, moto = InfluxServer(Path(tmp) / "influx"), MotoServer(Path(tmp) / "moto")
        influx_url, moto_url = influx.start().url, moto.start().url
        try:
            aws = AwsSettings(endpoint_url=moto_url, bucket="bench")
            s3 = aws.client("s3")
            boto3.client("s3", endpoint_url=moto_url).create_bucket(Bucket="bench")
            loader = InfluxSettings.of(url=influx_url, database="load_only")
            started = time.perf_counter()
            normalized = normalize_bytes(data, source, fmt=sniff_format(data, source))
            with loader.client() as client:
                client.ensure_database()
                points = 0
                for day, rows in sorted(normalized.days.items()):
                    report = load_tables([rows], normalized.spec, client, partition=str(day))
                    points += report.points
            load_s = time.perf_counter() - started
            ingest = InfluxSettings.of(url=influx_url, database="ingest")
            timings = []
            for version in ("v1", "v2"):
                started = time.perf_counter()
                with ingest.client() as client:
                    ingest_bytes(
                        data,
                        f"s3://bench/{source}",
                        aws=aws,
                        s3=s3,
                        client=client,
                        raw_key=source,
                        etag=version,
                        uploaded=datetime(2024, 2, 1, tzinfo=UTC) + timedelta(days=len(timings)),
                    )
                timings.append(time.perf_counter() - started)
            sizes = [
                int(obj["Size"])
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench")
                for obj in page.get("Contents", [])
                if obj["Key"].endswith("/" + FILE_CLAIMS)
            ]
        finally:
            influx.stop()
            moto.stop()
    result = {
        "table": args.table,
        "rows": normalized.rows,
        "points": points,
        "load_only_s": round(load_s, 2),
        "ingest_s": round(timings[0], 2),
        "ingest_again_unchanged_s": round(timings[1], 2),
        "ingest_over_load": round(timings[0] / load_s, 2),
        "claims_max_bytes": max(sizes, default=0),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
