"""Peak RSS of loading a partition, for growing partition sizes: the load path must stay flat.

    python benchmarks/memory.py [--rows 1000000,3000000,10000000]

For each size a Parquet partition (geracao_usina-shaped, written day by day) is built, then a
fresh Python process loads it into a fresh database of an InfluxDB 1.x started here, the way the
``influxdb/<table>`` asset does (stream record batches → validate → convert → batched writes),
and reports its peak RSS. Side by side: the same process reading the whole partition into memory
first (what `pq.read_table` + a dataframe serializer would do). The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ons_pipeline.local.generator import generate_canonical, write_ons_parquet
from ons_pipeline.local.servers import InfluxServer

TABLE = "geracao_usina"
ROWS_PER_DAY = 12_840  # 535 plants x 24 h


def build(path: Path, rows: int) -> tuple[int, str, str]:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    days = -(-rows // ROWS_PER_DAY)
    end = start + timedelta(days=days)
    chunks = generate_canonical(TABLE, start, end, seed=2)
    total = write_ons_parquet(chunks, path, row_group_size=50_000)
    return total, start.isoformat(), end.isoformat()


CHILD = """
import resource, sys, json
from datetime import datetime
import pyarrow.parquet as pq
from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.migration.loader import load_tables
from ons_pipeline.lib.partitions import validate_table
from ons_pipeline.lib.ons_time import Window
path, url, db, start, end, mode = sys.argv[1:]
spec = schema.table("geracao_usina")
window = Window(datetime.fromisoformat(start), datetime.fromisoformat(end))
with InfluxClient(InfluxConfig(url=url, database=db)) as client:
    client.ensure_database(db)
    if mode == "streamed":
        source = (validate_table(b, spec, window, path)
                  for b in pq.ParquetFile(path).iter_batches(batch_size=10_000))
    else:
        source = [validate_table(pq.read_table(path), spec, window, path)]
    report = load_tables(source, spec, client, partition="bench")
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"points": report.points, "peak_rss_mb": round(peak_mb, 1),
                  "seconds": round(report.seconds, 1)}))
"""


def load_in_child(path: Path, url: str, db: str, start: str, end: str, mode: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), url, db, start, end, mode],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,3000000,10000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.rows.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="ons-bench-mem-") as tmp:
        server = InfluxServer(Path(tmp) / "state")
        info = server.start()
        try:
            for index, size in enumerate(sizes):
                path = Path(tmp) / f"part-{size}.parquet"
                rows, start, end = build(path, size)
                streamed = load_in_child(path, info.url, f"s{index}", start, end, "streamed")
                whole = load_in_child(path, info.url, f"w{index}", start, end, "whole")
                assert streamed["points"] == whole["points"] > 0
                results.append(
                    {
                        "rows": rows,
                        "parquet_mb": round(path.stat().st_size / 2**20, 1),
                        "streamed_peak_rss_mb": streamed["peak_rss_mb"],
                        "whole_partition_peak_rss_mb": whole["peak_rss_mb"],
                        "streamed_seconds": streamed["seconds"],
                    }
                )
                print(
                    f"{rows:>11,} rows  streamed peak RSS {streamed['peak_rss_mb']:>7.1f} MB   "
                    f"whole-partition peak RSS {whole['peak_rss_mb']:>7.1f} MB"
                )
                path.unlink()
        finally:
            server.stop()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    growth = results[-1]["streamed_peak_rss_mb"] / results[0]["streamed_peak_rss_mb"]
    print(
        json.dumps(
            {
                "sizes": results,
                "streamed_growth_ratio_largest_vs_smallest": round(growth, 2),
                "driver_peak_rss_mb": round(own, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
