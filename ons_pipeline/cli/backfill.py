"""Launch and follow a migration backfill on the Dagster instance (used by the CLI).

The backfill is Dagster's own (``dagster job backfill``: one queued run per day). Its runs need a
daemon: when none is alive on this instance, one is started for the backfill and stopped by PID
afterwards. Days whose every selected table is already loaded into InfluxDB are not redone.
"""

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from ons_pipeline.defs.keys import influxdb_key, parquet_key
from ons_pipeline.defs.migration.jobs import jobs_for
from ons_pipeline.defs.state import metadata_totals, pending_days
from ons_pipeline.lib.ons_time import day_range

FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
MIGRATION_TAG = "ons/migration"


@dataclass
class BackfillReport:
    days: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    rows: int = 0
    points: int = 0
    load_seconds: float = 0.0
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.points / self.load_seconds if self.load_seconds else 0.0
        return "\n".join(
            [
                "migration summary",
                f"  partitions run:      {len(self.days)} "
                f"(succeeded {len(self.succeeded)}, failed {len(self.failed)})",
                f"  partitions skipped:  {len(self.skipped)} (already migrated)",
                f"  rows exported:       {self.rows:,}",
                f"  points loaded:       {self.points:,}",
                f"  load throughput:     {rate:,.0f} points/s over the load steps (small daily "
                "partitions pay per-request overhead; benchmarks/load.py measures the path)",
                f"  wall time:           {self.seconds:.1f} s",
            ]
        )


def close_abandoned_runs() -> list[str]:
    """Mark unfinished runs of earlier migrations failed when no daemon is alive to own them.

    A migration killed mid-way leaves runs STARTED or QUEUED forever; they would hold the run
    queue's slots. Their partitions are not materialized, so the next backfill redoes them, and
    since loads overwrite the same series+time nothing is duplicated.
    """
    closed: list[str] = []
    with dg.DagsterInstance.get() as instance:
        if _daemon_alive(instance):
            return closed
        unfinished = [
            run
            for run in instance.get_runs(
                filters=dg.RunsFilter(
                    statuses=[s for s in dg.DagsterRunStatus if s not in FINISHED]
                )
            )
            if MIGRATION_TAG in run.tags
        ]
        for run in unfinished:
            instance.report_run_failed(run, message="interrupted migration: no process owns it")
            # The killed steps still hold their concurrency-pool slots: give them back.
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            closed.append(run.run_id)
    return closed


def _daemon_pid_file() -> Path:
    return Path(os.environ["DAGSTER_HOME"]) / "ons-daemon.pid"


def _daemon_alive(instance: dg.DagsterInstance) -> bool:
    """Is a daemon serving this instance? Ours is known by its pid file; another one (e.g.
    `dagster dev`) by fresh heartbeats. A daemon of ours that died leaves heartbeats that look
    fresh for a while: they are wiped."""
    pid_file = _daemon_pid_file()
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, 0)
            return True
        except (ValueError, ProcessLookupError):
            pid_file.unlink(missing_ok=True)
            instance.wipe_daemon_heartbeats()
            return False
    heartbeats = instance.get_daemon_heartbeats()
    now = time.time()
    return any(now - hb.timestamp < 60 for hb in heartbeats.values())


@contextmanager
def owned_daemon(
    instance: dg.DagsterInstance,
    home: Path,
    env: dict[str, str],
    daemon_bin: str,
    echo: Callable[[str], None],
    purpose: str,
) -> Iterator[subprocess.Popen[bytes] | None]:
    """A dagster-daemon serving ``instance`` for the block: the one already alive (e.g.
    ``dagster dev``), else one started here, recorded in a pid file and stopped by PID after."""
    if _daemon_alive(instance):
        yield None
        return
    with (home / "daemon.log").open("ab") as log:
        daemon = subprocess.Popen(
            [daemon_bin, "run", "-m", "ons_pipeline.definitions"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _daemon_pid_file().write_text(str(daemon.pid))
    echo(f"started dagster-daemon (pid {daemon.pid}) for {purpose}")
    try:
        yield daemon
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        # Its last heartbeats would make the next command think a daemon is alive.
        instance.wipe_daemon_heartbeats()
        _daemon_pid_file().unlink(missing_ok=True)


def check_daemon(daemon: subprocess.Popen[bytes] | None, home: Path) -> None:
    if daemon is not None and daemon.poll() is not None:
        raise RuntimeError(f"dagster-daemon exited with {daemon.returncode}; see {home}/daemon.log")


def run_backfill(
    *,
    tables: list[str],
    first: date,
    last: date,
    home: Path,
    dagster_bin: str,
    daemon_bin: str,
    timeout: float,
    echo: Callable[[str], None],
) -> BackfillReport:
    started = time.monotonic()
    report = BackfillReport()
    todo = pending_days(tables, first, last, home)
    report.skipped = [d.isoformat() for d in day_range(first, last) if d not in todo]
    report.days = [d.isoformat() for d in todo]
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    migration_id = uuid.uuid4().hex[:12]
    abandoned = close_abandoned_runs()
    if abandoned:
        echo(f"marked {len(abandoned)} run(s) of an interrupted migration as failed: {abandoned}")
    if todo:
        jobs = jobs_for(tables)
        for job in jobs:
            echo(f"backfill {job}: {len(todo)} partition(s) {todo[0]} … {todo[-1]}")
            subprocess.run(
                [
                    dagster_bin,
                    "job",
                    "backfill",
                    "-m",
                    "ons_pipeline.definitions",
                    "-j",
                    job,
                    "--partitions",
                    ",".join(report.days),
                    "--tags",
                    json.dumps({MIGRATION_TAG: migration_id}),
                    "--noprompt",
                ],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        _follow(home, migration_id, len(todo) * len(jobs), daemon_bin, env, timeout, echo, report)
    with dg.DagsterInstance.get() as instance:
        for table in tables:
            exported = metadata_totals(instance, parquet_key(table), report.succeeded)
            loaded = metadata_totals(instance, influxdb_key(table), report.succeeded)
            report.rows += int(exported["rows"])
            report.points += int(loaded["points"])
            report.load_seconds += float(loaded["seconds"])
    report.seconds = time.monotonic() - started
    return report


def _follow(
    home: Path,
    migration_id: str,
    expected: int,
    daemon_bin: str,
    env: dict[str, str],
    timeout: float,
    echo: Callable[[str], None],
    report: BackfillReport,
) -> None:
    with (
        dg.DagsterInstance.get() as instance,
        owned_daemon(instance, home, env, daemon_bin, echo, "the backfill") as daemon,
    ):
        deadline = time.monotonic() + timeout
        last_line = ""
        while time.monotonic() < deadline:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={MIGRATION_TAG: migration_id}))
            done = [r for r in runs if r.status in FINISHED]
            line = f"  {len(done)}/{expected} runs finished"
            if line != last_line:
                echo(line)
                last_line = line
            if len(runs) >= expected and len(done) == len(runs):
                failed = {
                    run.tags.get("dagster/partition", "?")
                    for run in runs
                    if run.status != dg.DagsterRunStatus.SUCCESS
                }
                report.failed = sorted(failed)
                report.succeeded = sorted(set(report.days) - failed)
                return
            check_daemon(daemon, home)
            time.sleep(1.0)
        raise TimeoutError(f"backfill {migration_id} not finished after {timeout:.0f}s")
