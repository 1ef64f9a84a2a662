"""How fast InfluxDB hands points back, beside how fast it takes them (exact verification's cost).

    .venv/bin/python benchmarks/readback.py [--days 30] [--table geracao_usina]

The exact verification (``lib.integrity.verification``) reads every point of a day back from
InfluxDB and checksums it against the Parquet partition. On a fresh InfluxDB 1.x started here on
loopback, ``--days`` of the table are written as pre-built line protocol (one connection, 20k-line
batches), then read back with the verification's query (``SELECT * ... GROUP BY *``, chunked)
in JSON, CSV and MessagePack, each response read whole and not parsed: the server's own
read-back rate, whatever the client does with it; and the server's CPU for each, per million
points (from ``/proc``): what the exact verification costs beside the ingest on shared cores.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        info = server.start()
        url = info.url
        server_cpu: dict[str, float] = {}
        try:
            requests.post(f"{url}/query", params={"q": 'CREATE DATABASE "rb"'}).raise_for_status()
            started, cpu = time.perf_counter(), cpu_seconds(info.pid)
            with requests.Session() as session:
                for payload in payloads:
                    session.post(
                        f"{url}/write", params={"db": "rb", "precision": "ns"}, data=payload
                    ).raise_for_status()
            write_s = time.perf_counter() - started
            server_cpu["write"] = cpu_seconds(info.pid) - cpu
            query = (
                f'SELECT * FROM "{spec.measurement}" WHERE time >= {window.start_ns} '
                f"AND time < {window.end_ns} GROUP BY *"
            )
            read_s: dict[str, float] = {}
            for name, accept in FORMATS.items():
                started, cpu = time.perf_counter(), cpu_seconds(info.pid)
                response = requests.get(
                    f"{url}/query",
                    params={"db": "rb", "q": query, "epoch": "ns", "chunked": "true"},
                    headers={"Accept": accept},
                    stream=True,
                )
                response.raise_for_status()
                size = sum(len(chunk) for chunk in response.iter_content(1 << 20))
                read_s[name] = time.perf_counter() - started
                server_cpu[f"read_{name}"] = cpu_seconds(info.pid) - cpu
                rate = rows / read_s[name]
                print(f"  read back as {name:>7}: {rate:>10,.0f} points/s, {size:,} B")
        finally:
            server.stop()
    print(f"  write (1 connection):   {rows / write_s:>10,.0f} points/s")
    per_million = {k: round(v * 1e6 / rows, 2) for k, v in server_cpu.items()}
    print(f"  InfluxDB's CPU, core-s per million points: {per_million}")
    best = min(read_s.values())
    result = {
        "table": args.table,
        "points": rows,
        "write_points_per_s": round(rows / write_s),
        **{f"read_{name}_points_per_s": round(rows / s) for name, s in read_s.items()},
        "read_over_write_time": round(best / write_s, 2),
        "server_core_s_per_million_points": per_million,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
