"""End-to-end load rate vs the server's own raw ingest rate, on the same data and server.

    python benchmarks/load.py [--days 80] [--table geracao_usina]

Side A (raw): the same points, pre-built as line protocol before the clock starts, POSTed over
the same number of keep-alive connections (``--connections``) with the best of several batch
sizes — the most the server can ingest.
Side B (ours): the Parquet partition → validation → vectorised conversion → batched writes
(``ons_pipeline.lib.migration.loader.load_tables``), everything timed. Each side writes into its
own fresh database on a fresh InfluxDB 1.x started here on loopback. The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import requests

from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.influx.lineprotocol import iter_encoded
from ons_pipeline.lib.migration.loader import load_tables
from ons_pipeline.lib.ons_time import Window
from ons_pipeline.lib.partitions import validate_table
from ons_pipeline.local.generator import generate_canonical, write_ons_parquet
from ons_pipeline.local.servers import InfluxServer


def build_partition(table: str, days: int, path: Path) -> tuple[int, Window]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    window = Window(start, start + timedelta(days=days))
    chunks = generate_canonical(table, window.start, window.end, seed=1)
    return write_ons_parquet(chunks, path, row_group_size=100_000), window


def count_points(url: str, db: str, measurement: str, field: str) -> int:
    body = requests.post(
        f"{url}/query", params={"db": db, "q": f'SELECT count("{field}") FROM "{measurement}"'}
    ).json()
    series = body["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def raw_seconds(
    url: str, payloads: list[bytes], db: str, connections: int = 2, timeout: float = 60
) -> float:
    """Seconds to POST pre-built payloads into a new database ``db`` over ``connections``
    keep-alive connections (one thread each); benchmarks/backfill.py uses it too."""
    requests.post(f"{url}/query", params={"q": f'CREATE DATABASE "{db}"'}).raise_for_status()

    def post(share: list[bytes]) -> None:
        with requests.Session() as session:
            for payload in share:
                response = session.post(
                    f"{url}/write",
                    params={"db": db, "precision": "ns"},
                    data=payload,
                    timeout=timeout,
                )
                response.raise_for_status()

    shares = [payloads[k::connections] for k in range(connections)]
    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(post, shares))
    return time.perf_counter() - started


def raw_rate(url: str, payloads: list[bytes], lines: int, db: str, connections: int) -> float:
    """Points a second of :func:`raw_seconds`."""
    return lines / raw_seconds(url, payloads, db, connections)


def ours_rate(
    url: str, path: Path, spec: schema.TableSpec, window: Window, db: str, connections: int
) -> float:
    with InfluxClient(InfluxConfig(url=url, database=db)) as client:
        client.ensure_database(db)
        started = time.perf_counter()
        parquet = pq.ParquetFile(path, read_dictionary=list(spec.tags))
        batches = (
            validate_table(batch, spec, window, where=str(path))
            for batch in parquet.iter_batches(batch_size=100_000)
        )
        report = load_tables(
            batches, spec, client, partition="bench", batch_lines=10_000, writers=connections
        )
        elapsed = time.perf_counter() - started
    assert report.failed_batches == 0, report.errors[:3]
    return report.points / elapsed


def client_side_seconds(path: Path, spec: schema.TableSpec, window: Window) -> dict[str, float]:
    """Seconds of the work ours does before the wire, without writing: Parquet read, validation
    and conversion into 10k-line batches (best of three)."""
    best: dict[str, float] = {}
    for _ in range(3):
        spent = {"read": 0.0, "validate": 0.0, "convert": 0.0}
        mark = time.perf_counter()
        parquet = pq.ParquetFile(path, read_dictionary=list(spec.tags))
        for batch in parquet.iter_batches(batch_size=100_000):
            read = time.perf_counter()
            table = validate_table(batch, spec, window, where=str(path))
            valid = time.perf_counter()
            for _encoded in iter_encoded(table, spec, max_lines=10_000):
                pass
            mark, done = time.perf_counter(), mark
            spent["read"] += read - done
            spent["validate"] += valid - read
            spent["convert"] += mark - valid
        best = {k: min(v, best.get(k, v)) for k, v in spent.items()}
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="geracao_usina")
    parser.add_argument("--days", type=int, default=80, help="days of data (geracao: ~12.8k/day)")
    parser.add_argument("--repeat", type=int, default=2, help="best of N for each side")
    parser.add_argument(
        "--connections", type=int, default=2, help="HTTP connections, the same for both sides"
    )
    args = parser.parse_args()
    spec = schema.table(args.table)
    with tempfile.TemporaryDirectory(prefix="ons-bench-load-") as tmp:
        path = Path(tmp) / "partition.parquet"
        rows, window = build_partition(args.table, args.days, path)
        table = pq.read_table(path)
        prebuilt: dict[int, list[bytes]] = {}
        lines = 0
        for size in (5_000, 10_000, 20_000):
            encoded = list(iter_encoded(table, spec, max_lines=size))
            prebuilt[size] = [e.data for e in encoded if e.lines]
            lines = sum(e.lines for e in encoded)
        del table
        print(f"{args.table}: {rows:,} rows, {lines:,} points, {path.stat().st_size:,} bytes")
        client = client_side_seconds(path, spec, window)
        per_million = {k: v / rows * 1e6 for k, v in client.items()}
        print(
            "  ours before the wire, s per million rows: "
            + ", ".join(f"{k} {v:.3f}" for k, v in per_million.items())
        )
        server = InfluxServer(Path(tmp) / "state")
        info = server.start()
        try:
            raw: dict[int, float] = {}
            ours: list[float] = []
            for attempt in range(args.repeat):
                for size, payloads in prebuilt.items():
                    db = f"raw_{size}_{attempt}"
                    rate = raw_rate(info.url, payloads, lines, db, args.connections)
                    assert count_points(info.url, db, spec.measurement, spec.fields[0].name) > 0
                    raw[size] = max(raw.get(size, 0.0), rate)
                    print(f"  raw POST, {size:>6}-line batches: {rate:>12,.0f} points/s")
                db = f"ours_{attempt}"
                rate = ours_rate(info.url, path, spec, window, db, args.connections)
                ours.append(rate)
                print(f"  ours (Parquet → InfluxDB):     {rate:>12,.0f} points/s")
            field = spec.fields[0].name
            best = max(raw, key=lambda s: raw[s])
            assert count_points(info.url, "ours_0", spec.measurement, field) == count_points(
                info.url, f"raw_{best}_0", spec.measurement, field
            ), "both sides must store the same points"
        finally:
            server.stop()
    result = {
        "table": args.table,
        "rows": rows,
        "points": lines,
        "raw_best_points_per_s": round(raw[best]),
        "raw_best_batch_lines": best,
        "ours_points_per_s": round(max(ours)),
        "connections": args.connections,
        "ratio_ours_vs_raw": round(max(ours) / raw[best], 3),
        "ours_client_s_per_million_rows": round(sum(per_million.values()), 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
