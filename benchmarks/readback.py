"""How fast InfluxDB hands points back, beside how fast it takes them (exact verification's cost).

    .venv/bin/python benchmarks/readback.py [--days 30] [--table geracao_usina]

The exact verification (``lib.integrity.verification``) reads every point of a day back from
InfluxDB and checksums it against the Parquet partition. On a fresh InfluxDB 1.x started here on
loopback, ``--days`` of the table are written as pre-built line protocol (one connection, 20k-line
batches), then read back with the verification's query (``SELECT * ... GROUP BY *``, chunked)
in JSON, CSV and MessagePack, each response read whole and not parsed: the server's own
read-back rate, whatever the client does with it. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import requests
from load import build_partition  # a sibling script: benchmarks/ is sys.path[0] when run as one

from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.lineprotocol import iter_encoded
from ons_pipeline.local.servers import InfluxServer

FORMATS = {"json": "application/json", "csv": "application/csv", "msgpack": "application/x-msgpack"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="geracao_usina")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    spec = schema.table(args.table)
    with tempfile.TemporaryDirectory(prefix="ons-bench-readback-") as tmp:
        path = Path(tmp) / "partition.parquet"
        rows, window = build_partition(args.table, args.days, path)
        payloads = [b.data for b in iter_encoded(pq.read_table(path), spec, max_lines=20_000)]
        server = InfluxServer(Path(tmp) / "state")
        url = server.start().url
        try:
            requests.post(f"{url}/query", params={"q": 'CREATE DATABASE "rb"'}).raise_for_status()
            started = time.perf_counter()
            with requests.Session() as session:
                for payload in payloads:
                    session.post(
                        f"{url}/write", params={"db": "rb", "precision": "ns"}, data=payload
                    ).raise_for_status()
            write_s = time.perf_counter() - started
            query = (
                f'SELECT * FROM "{spec.measurement}" WHERE time >= {window.start_ns} '
                f"AND time < {window.end_ns} GROUP BY *"
            )
            read_s: dict[str, float] = {}
            for name, accept in FORMATS.items():
                started = time.perf_counter()
                response = requests.get(
                    f"{url}/query",
                    params={"db": "rb", "q": query, "epoch": "ns", "chunked": "true"},
                    headers={"Accept": accept},
                    stream=True,
                )
                response.raise_for_status()
                size = sum(len(chunk) for chunk in response.iter_content(1 << 20))
                read_s[name] = time.perf_counter() - started
                rate = rows / read_s[name]
                print(f"  read back as {name:>7}: {rate:>10,.0f} points/s, {size:,} B")
        finally:
            server.stop()
    print(f"  write (1 connection):   {rows / write_s:>10,.0f} points/s")
    best = min(read_s.values())
    result = {
        "table": args.table,
        "points": rows,
        "write_points_per_s": round(rows / write_s),
        **{f"read_{name}_points_per_s": round(rows / s) for name, s in read_s.items()},
        "read_over_write_time": round(best / write_s, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
