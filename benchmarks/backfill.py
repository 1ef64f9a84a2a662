"""The historical backfill end to end against the server's raw ingest: a year of every table.

    .venv/bin/python benchmarks/backfill.py [--start 2024-01-01] [--days 366] [--tables all]

Side A (ours, the user's path): ``ons-pipeline migrate`` on a fresh Dagster instance — an asset
backfill run by a dagster-daemon it starts, runs of many days, export of every table-day from the
Timestream stand-in in UNLOAD mode (moto: S3 and timestream-query on loopback), Great Expectations
checks, load into InfluxDB and the exact verification of every day — timed from the command's
start to its summary. Staging the year in the stand-in happens before and is not counted.
Side B (raw): the same points, pre-built as line protocol before the clock starts, POSTed to the
same InfluxDB (a fresh database) over two keep-alive connections at the best of three batch sizes.

With ``--direct``, a third side shows what Dagster's bookkeeping costs: the same table-days
exported, checked, loaded and verified again by the same pipeline code
(``lib.migration.pipeline.TableMigration``, same settings) called directly, two tables at a time
in two processes (as the two run slots), into a fresh database, without Dagster runs, events or
the daemon.

While the command runs, the CPU each kind of process uses (InfluxDB, moto, Dagster's runs, daemon
and code servers, the command, everything else) is read from ``/proc`` and printed: on a machine
whose cores are all busy, that, not any one stage's speed, is what sets the wall time.

Both sides run on servers this script starts on loopback (its own state directory) and stops.
The last line printed is one JSON object: ``points``, ``wall_s``, ``raw_s``,
``backfill_over_raw_time`` (= wall_s / raw_s) and ``verified`` (true only when every table-day
passed its exact verification and both databases hold the same number of points per table);
with ``--direct`` also ``direct_s`` and ``direct_over_raw_time``; ``cpu_core_s_during_migrate``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import dagster as dg
import requests
from load import raw_seconds  # a sibling script: benchmarks/ is sys.path[0] when run as one

from ons_pipeline.defs.state import pending_partitions
from ons_pipeline.environment import load_settings
from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.lineprotocol import iter_encoded
from ons_pipeline.lib.migration.exporter import export_days
from ons_pipeline.lib.migration.pipeline import Stages, TableMigration
from ons_pipeline.lib.ons_time import Window, day_range, day_window
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline.local.generator import generate_canonical
from ons_pipeline.local.servers import InfluxServer, MotoServer
from ons_pipeline.local.staging import stage_day

REPO = Path(__file__).resolve().parent.parent
DATABASE = "ons_backfill"
DIRECT_DATABASE = "ons_backfill_direct"
BATCH_SIZES = (5_000, 10_000, 20_000)


def stage_year(aws: AwsSettings, tables: list[str], days: list[date]) -> int:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=aws.bucket)

    def one(job: tuple[str, date]) -> int:
        table, day = job
        staged = stage_day(
            schema.table(table),
            day,
            mode="unload",
            endpoint_url=str(aws.endpoint_url),
            target=aws,
            s3=s3,
        )
        return staged.rows

    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(one, [(t, d) for t in tables for d in days]))


# Who used the CPU while ``migrate`` ran, by command line (first match wins).
CPU_USERS = (
    ("influxdb", "influxd"),
    ("moto (S3 + Timestream stand-in)", "timestream_standin"),
    ("dagster runs", "spawn_main"),
    ("dagster-daemon", "dagster-daemon"),
    ("dagster code servers", "dagster api grpc"),
    ("migrate command", "ons_pipeline.cli.main"),
)


class CpuMeter:
    """Core-seconds each kind of process used between ``__enter__`` and ``__exit__``, read from
    ``/proc`` every half second (a process that ends is counted up to its last reading)."""

    def __init__(self) -> None:
        self.used: dict[str, float] = {}
        self._first: dict[str, float] = {}
        self._last: dict[str, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def _read(self) -> dict[str, tuple[str, float]]:
        seen: dict[str, tuple[str, float]] = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / self._tick
            seen[pid] = (command or self._last.get(pid, ("", 0.0))[0], cpu)
        return seen

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            self._last.update(self._read())

    def __enter__(self) -> CpuMeter:
        self._last = self._read()
        self._first = {pid: cpu for pid, (_, cpu) in self._last.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._read())
        for pid, (command, cpu) in self._last.items():
            kind = next((k for k, mark in CPU_USERS if mark in command), "other")
            self.used[kind] = self.used.get(kind, 0.0) + cpu - self._first.get(pid, 0.0)


def migrate(env: dict[str, str], tables: list[str], first: date, last: date) -> tuple[float, str]:
    command = [
        sys.executable,
        "-m",
        "ons_pipeline.cli.main",
        "migrate",
        "--tables",
        ",".join(tables),
        "--start",
        first.isoformat(),
        "--end",
        last.isoformat(),
        "--timeout",
        "7200",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"migrate failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return wall, done.stdout


def direct_table(env: dict[str, str], table: str, days: list[date], database: str) -> int:
    """Migrate ``table``'s days with the pipeline's code, no Dagster; returns the failed days."""
    settings = load_settings(env)
    spec, aws = schema.table(table), settings.aws
    s3, query = aws.client("s3"), aws.client("timestream-query")
    with settings.influx.client() as client:
        client.ensure_database(database)
        migration = TableMigration(
            spec,
            ParquetStore.of(aws, s3),
            export=lambda day: export_days(spec, [day], query, s3, aws)[day],  # type: ignore[return-value]
            export_days=lambda group: export_days(
                spec, group, query, s3, aws, settings.migration.export_threads
            ),
            client=client,
            settings=settings.migration,
            batch_lines=settings.influx.batch_lines,
            writers=settings.influx.write_connections,
            database=database,
        )
        return sum(not o.ok for group in migration.run(days, Stages()) for o in group)


def direct(env: dict[str, str], tables: list[str], days: list[date]) -> tuple[float, int]:
    """Seconds for every table through :func:`direct_table`, two tables at a time (largest
    first); and the failed table-days."""
    env = {**env, "ONS_INFLUX_DATABASE": DIRECT_DATABASE}
    ordered = sorted(tables, key=lambda t: -schema.table(t).rows_per_day)
    started = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        failed = sum(
            pool.map(partial(direct_table, env, days=days, database=DIRECT_DATABASE), ordered)
        )
    return time.perf_counter() - started, failed


def prebuilt(tables: list[str], window: Window) -> dict[int, tuple[list[bytes], int]]:
    """Per batch size, the payloads of every point of ``tables`` in ``window`` and their lines."""
    out: dict[int, tuple[list[bytes], int]] = {size: ([], 0) for size in BATCH_SIZES}
    for table in tables:
        spec = schema.table(table)
        for chunk in generate_canonical(table, window.start, window.end, seed=0):
            for size in BATCH_SIZES:
                payloads, lines = out[size]
                for batch in iter_encoded(chunk, spec, max_lines=size):
                    if batch.lines:
                        payloads.append(batch.data)
                        lines += batch.lines
                out[size] = (payloads, lines)
    return out


def points_in(url: str, db: str, measurement: str) -> int:
    body = requests.post(
        f"{url}/query", params={"db": db, "q": f'SELECT count(*) FROM "{measurement}"'}
    ).json()
    series = body["results"][0].get("series")
    if not series:
        return 0
    return max(int(v) for v in series[0]["values"][0][1:] if v is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--tables", default="all", help="all or a,b,c")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="work in this directory and keep it (the Dagster "
        "instance of the runs, to open with DAGSTER_HOME=<dir>/dagster_home dagster dev)",
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="also time the same work through the pipeline code without Dagster",
    )
    args = parser.parse_args()
    tables = list(schema.tables()) if args.tables == "all" else args.tables.split(",")
    days = day_range(args.start, args.start + timedelta(days=args.days - 1))
    window = Window(day_window(days[0]).start, day_window(days[-1]).end)
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = str(args.keep)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="ons-bench-backfill-"))
        state = Path(tmp) / "state"
        influx, moto = InfluxServer(state), MotoServer(state)
        influx_info, moto_info = influx.start(), moto.start()
        try:
            env = {
                **os.environ,
                "ONS_STATE_DIR": str(state),
                "DAGSTER_HOME": str(Path(tmp) / "dagster_home"),
                "ONS_EXPORT_MODE": "unload",
                "ONS_INFLUX_URL": influx_info.url,
                "ONS_INFLUX_DATABASE": DATABASE,
                "ONS_AWS_ENDPOINT_URL": moto_info.url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
            }
            aws = AwsSettings(endpoint_url=moto_info.url, export_mode="unload")
            began = time.perf_counter()
            rows = stage_year(aws, tables, days)
            seconds = time.perf_counter() - began
            print(
                f"staged {rows:,} rows, {len(tables)} tables × {len(days)} days in {seconds:.0f} s"
            )
            with CpuMeter() as meter:
                wall, output = migrate(env, tables, days[0], days[-1])
            print("\n".join(output.strip().splitlines()[-8:]), flush=True)
            cpu = {kind: round(used, 1) for kind, used in sorted(meter.used.items())}
            print(
                f"CPU while migrate ran (core-s; {os.cpu_count()} cores × {wall:.0f} s = "
                f"{(os.cpu_count() or 1) * wall:.0f}): "
                + ", ".join(f"{kind} {used}" for kind, used in cpu.items())
            )
            direct_s, direct_failed = direct(env, tables, days) if args.direct else (0.0, 0)
            if args.direct:
                print(f"direct (no Dagster): {direct_s:.1f} s, {direct_failed} failed table-days")
            os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
            with dg.DagsterInstance.get() as instance:
                pending = pending_partitions(instance, tables, days)
            not_verified = sum(len(d) for d in pending.values())
            payloads = prebuilt(tables, window)
            raw: dict[int, float] = {}
            for size, (batches, lines) in payloads.items():
                raw[size] = raw_seconds(influx_info.url, batches, f"raw_{size}", timeout=120)
                print(f"  raw POST, {size:>6}-line batches: {lines / raw[size]:>12,.0f} points/s")
            best = min(raw, key=lambda s: raw[s])
            points = payloads[best][1]
            compared = [DATABASE, DIRECT_DATABASE] if args.direct else [DATABASE]
            same = direct_failed == 0 and all(
                points_in(influx_info.url, db, schema.table(t).measurement)
                == points_in(influx_info.url, f"raw_{best}", schema.table(t).measurement)
                for t in tables
                for db in compared
            )
        finally:
            influx.stop()
            moto.stop()
    result = {
        "tables": len(tables),
        "days": len(days),
        "points": points,
        "wall_s": round(wall, 1),
        "raw_s": round(raw[best], 2),
        "raw_best_batch_lines": best,
        "ours_points_per_s": round(points / wall),
        "raw_points_per_s": round(points / raw[best]),
        "backfill_over_raw_time": round(wall / raw[best], 2),
        **(
            {"direct_s": round(direct_s, 1), "direct_over_raw_time": round(direct_s / raw[best], 2)}
            if args.direct
            else {}
        ),
        "cpu_core_s_during_migrate": cpu,
        "table_days_not_verified": not_verified,
        "verified": not_verified == 0 and same,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
