"""Launch and follow a migration backfill on the Dagster instance (used by the CLI and the demo).

The backfill is Dagster's own asset backfill over the missing table-days (``PartitionBackfill``):
its daemon cuts it into runs by the assets' ``BackfillPolicy`` (many days per run, sized by
expected rows) and the run queue runs them. Its runs need a daemon: when none is alive on this
instance, one is started for the backfill and stopped by PID afterwards. Days already migrated
(loaded, and verified after the load) are not redone; days whose verification failed are. A day
whose Parquet partition continuous loading rewrote after its export (a correction merged into it)
is reloaded from that partition, never exported again: Timestream lacks what the file corrected.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from ons_pipeline.cli.common import stop_process_group
from ons_pipeline.defs.keys import DAY_MIGRATED, INGEST_JOB, influxdb_key, parquet_key
from ons_pipeline.defs.state import (
    metadata_totals,
    partition_writers,
    pending_partitions,
)
from ons_pipeline.lib.ons_time import day_range

FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
MIGRATION_TAG = "ons/migration"
BACKFILL_TAG = "dagster/backfill"


class MigrationInterrupted(Exception):
    """The user asked the command to stop (Ctrl-C) while it followed the backfill."""


@dataclass
class BackfillReport:
    planned: dict[str, list[str]] = field(default_factory=dict)  # table → days run
    skipped: int = 0  # table-days already migrated
    succeeded: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)
    runs: int = 0
    rows: int = 0
    points: int = 0
    seconds: float = 0.0
    backfill_id: str | None = None
    causes: list[str] = field(default_factory=list)  # the failed runs' own messages

    @property
    def failed_partitions(self) -> list[str]:
        return [f"{table} {day}" for table, days in self.failed.items() for day in days]

    def summary(self) -> str:
        planned = sum(len(d) for d in self.planned.values())
        succeeded = sum(len(d) for d in self.succeeded.values())
        rate = self.points / self.seconds if self.seconds else 0.0
        return "\n".join(
            [
                "migration summary"
                + (f" (backfill {self.backfill_id})" if self.backfill_id else ""),
                f"  table-days run:      {planned} in {self.runs} run(s) "
                f"(succeeded {succeeded}, failed {len(self.failed_partitions)})",
                f"  table-days skipped:  {self.skipped} (already migrated and verified)",
                f"  rows exported:       {self.rows:,}",
                f"  points loaded:       {self.points:,}",
                f"  end to end:          {rate:,.0f} points/s (export, checks, load and "
                "verification, run start-up included)",
                f"  wall time:           {self.seconds:.1f} s",
            ]
        )


def close_abandoned(instance: dg.DagsterInstance) -> list[str]:
    """Close what an interrupted migration left when no daemon is alive to own it: its runs
    (STARTED or QUEUED forever, holding the run queue's slots and pool slots) are marked failed
    and its backfill canceled, so the next migration starts from the instance's true state.
    Partitions an interrupted run did not materialize are redone; loads overwrite the same
    series+time, so nothing is duplicated."""
    from dagster._core.execution.backfill import BulkActionStatus

    closed: list[str] = []
    if _daemon_alive(instance):
        return closed
    unfinished = instance.get_runs(
        filters=dg.RunsFilter(statuses=[s for s in dg.DagsterRunStatus if s not in FINISHED])
    )
    for run in unfinished:
        if MIGRATION_TAG not in run.tags:
            continue
        instance.report_run_failed(run, message="interrupted migration: no process owns it")
        # The killed steps still hold their concurrency-pool slots: give them back.
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        closed.append(run.run_id)
    for backfill in instance.get_backfills(status=BulkActionStatus.REQUESTED):
        if MIGRATION_TAG in backfill.tags:
            instance.update_backfill(
                backfill.with_status(BulkActionStatus.CANCELED).with_end_timestamp(time.time())
            )
            closed.append(backfill.backfill_id)
    return closed


def _daemon_pid_file() -> Path:
    return Path(os.environ["DAGSTER_HOME"]) / "ons-daemon.pid"


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot: with the pid, names one process
    across pid reuse); None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]  # a zombie has exited


def _pid_record(daemon: int) -> str:
    """The pid file's line: the daemon's pid and start time, then the owning command's (a pid
    alone could name another process once its own has ended)."""
    return f"{daemon} {_started(daemon)} {os.getpid()} {_started(os.getpid())}"


def stop_orphaned_daemon(instance: dg.DagsterInstance) -> int | None:
    """Stop the daemon (its process group: code servers and run workers too) of a command that
    was killed without stopping it: left running, it would go on with the killed command's
    backfill beside the next one's. Its pid; None when there was none."""
    pid_file = _daemon_pid_file()
    try:
        pid, daemon_started, owner, owner_started = pid_file.read_text().split()
        daemon = int(pid)
    except (OSError, ValueError):
        return None  # no daemon of ours, or one recorded without its owner
    if _started(int(owner)) == owner_started or _started(daemon) != daemon_started:
        return None  # its command is alive, or the daemon is gone (_daemon_alive tidies up)
    for sig, wait in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0)):
        with suppress(ProcessLookupError):
            os.killpg(daemon, sig)
        deadline = time.monotonic() + wait
        while _started(daemon) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
    pid_file.unlink(missing_ok=True)
    instance.wipe_daemon_heartbeats()
    return daemon


def _daemon_alive(instance: dg.DagsterInstance) -> bool:
    """Is a daemon serving this instance? Ours is known by its pid file; another one (e.g.
    `dagster dev`) by fresh heartbeats. A daemon of ours that died leaves heartbeats that look
    fresh for a while: they are wiped."""
    pid_file = _daemon_pid_file()
    if pid_file.exists():
        fields = pid_file.read_text().split()
        try:
            pid = int(fields[0])
            os.kill(pid, 0)
            if len(fields) > 1 and _started(pid) != fields[1]:
                raise ProcessLookupError(pid)  # the pid names another process now
            return True
        except (ValueError, IndexError, ProcessLookupError):
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
    ``dagster dev``), else one started here, recorded in a pid file and stopped by PID after.
    A daemon started here leaves the ``rollups_in_step`` sensor stopped (unless
    ``ONS_ROLLUPS_SENSOR`` says otherwise): the rollup runs it would launch would be killed with
    it at the end of the command, and they would take CPU and run slots from the command's own
    runs. The next long-lived daemon (``dagster dev``, production) brings the rollups in step."""
    if _daemon_alive(instance):
        yield None
        return
    rollups = env.get("ONS_ROLLUPS_SENSOR") or "stopped"
    with (home / "daemon.log").open("ab") as log:
        daemon = subprocess.Popen(
            [daemon_bin, "run", "-m", "ons_pipeline.definitions"],
            env={**env, "ONS_ROLLUPS_SENSOR": rollups},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _daemon_pid_file().write_text(_pid_record(daemon.pid))
    echo(f"started dagster-daemon (pid {daemon.pid}) for {purpose}")
    try:
        yield daemon
    finally:
        stop_process_group(daemon, timeout=30)
        # Its last heartbeats would make the next command think a daemon is alive.
        instance.wipe_daemon_heartbeats()
        _daemon_pid_file().unlink(missing_ok=True)
        stopped = f"stopped dagster-daemon (pid {daemon.pid})"
        if rollups.strip().lower() == "stopped":
            stopped += (
                "; rollups of the days loaded are brought in step by the next long-lived daemon "
                "(`make dev`, `dagster dev`, production)"
            )
        echo(stopped)


def check_daemon(daemon: subprocess.Popen[bytes] | None, home: Path) -> None:
    if daemon is not None and daemon.poll() is not None:
        raise RuntimeError(f"dagster-daemon exited with {daemon.returncode}; see {home}/daemon.log")


def corrected_since_export(instance: dg.DagsterInstance, table: str, days: list[str]) -> set[str]:
    """Days whose newest ``parquet/<table>`` materialization is continuous loading's, after an
    export: their partition holds corrections Timestream does not have."""
    writers = partition_writers(instance, table, days)
    return {
        day
        for day, jobs in writers.items()
        if jobs[-1] == INGEST_JOB and any(job != INGEST_JOB for job in jobs)
    }


def launch_backfill(
    instance: dg.DagsterInstance, todo: dict[str, list[date]], tags: dict[str, str], title: str
) -> str:
    """Add an asset backfill of exactly the ``todo`` table-days (both stores of each table, and
    their checks) to the instance; the daemon runs it. Days corrected since their export get
    only their load (from the partition) and its checks. Its id."""
    from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
    from dagster._core.definitions.events import AssetKeyPartitionKey
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    from ons_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    wanted: set[AssetKeyPartitionKey] = set()
    for table, days in todo.items():
        keys = [d.isoformat() for d in days]
        corrected = corrected_since_export(instance, table, keys)
        for day in keys:
            stores = [influxdb_key(table)]
            if day not in corrected:
                stores.append(parquet_key(table))
            wanted |= {AssetKeyPartitionKey(key, day) for key in stores}
    backfill = PartitionBackfill.from_asset_graph_subset(
        backfill_id=make_new_backfill_id(),
        backfill_timestamp=time.time(),
        tags=tags,
        dynamic_partitions_store=instance,
        asset_graph_subset=AssetGraphSubset.from_asset_partition_set(wanted, graph),
        title=title,
        description="ons-pipeline migrate: the table-days not yet migrated and verified",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def run_backfill(
    *,
    tables: list[str],
    first: date,
    last: date,
    home: Path,
    daemon_bin: str,
    timeout: float,
    echo: Callable[[str], None],
    interrupted: threading.Event | None = None,
) -> BackfillReport:
    """Back-fill the table-days of ``tables`` not yet migrated and follow the runs to their end;
    ``interrupted`` (set on Ctrl-C) stops the following at its next look, its daemon with it."""
    started = time.monotonic()
    report = BackfillReport()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    days = day_range(first, last)
    with dg.DagsterInstance.get() as instance:
        orphan = stop_orphaned_daemon(instance)
        if orphan is not None:
            echo(f"stopped the dagster-daemon (pid {orphan}) of an interrupted migration")
        abandoned = close_abandoned(instance)
        if abandoned:
            echo(f"closed {len(abandoned)} run(s)/backfill(s) of an interrupted migration")
        todo = {t: d for t, d in pending_partitions(instance, tables, days).items() if d}
        report.planned = {t: [d.isoformat() for d in ds] for t, ds in todo.items()}
        report.skipped = len(tables) * len(days) - sum(len(d) for d in todo.values())
        if todo:
            # No automatic run retry: a retry redoes every day of a multi-day run; migrate redoes
            # exactly the days that failed.
            tags = {MIGRATION_TAG: uuid.uuid4().hex[:12], "dagster/max_retries": "0"}
            names = ", ".join(sorted(todo)) if len(todo) <= 2 else f"{len(todo)} tables"
            title = f"migrate {first}…{last} ({names})"
            report.backfill_id = launch_backfill(instance, todo, tags, title)
            total = sum(len(d) for d in todo.values())
            echo(f"backfill {report.backfill_id}: {total} table-day(s) of {len(todo)} table(s)")
            with owned_daemon(instance, home, env, daemon_bin, echo, "the backfill") as daemon:
                _follow(instance, report, todo, daemon, home, timeout, started, echo, interrupted)
            if daemon is not None:
                _close_followed(instance, report)
        for table, days_run in report.planned.items():
            exported = metadata_totals(instance, parquet_key(table), days_run)
            loaded = metadata_totals(instance, influxdb_key(table), days_run)
            report.rows += int(exported["rows"])
            report.points += int(loaded["points"])
    report.seconds = time.monotonic() - started
    return report


class Progress:
    """Days done / total, points, rate and ETA: one redrawn line on a terminal, else a line
    every few seconds."""

    def __init__(self, total: int, started: float, echo: Callable[[str], None]) -> None:
        self.total, self.started, self.echo = total, started, echo
        self.tty = sys.stdout.isatty()
        self.shown = ""
        self.last = 0.0

    def update(self, done: int, failed: int, points: int, runs: str, final: bool = False) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = points / elapsed
        finished = done + failed
        eta = elapsed / finished * (self.total - finished) if finished else float("nan")
        width = 24
        filled = int(width * finished / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"  [{bar}] {finished}/{self.total} table-days ({failed} failed) · {points:,} points "
            f"· {rate:,.0f} points/s · {runs} · ETA {_duration(eta)}"
        )
        if self.tty:
            sys.stdout.write("\r" + line + ("\n" if final else ""))
            sys.stdout.flush()
        elif final or (line != self.shown and time.monotonic() - self.last >= 5.0):
            self.echo(line)
            self.last = time.monotonic()
        self.shown = line


def _duration(seconds: float) -> str:
    if seconds != seconds:  # NaN: not known yet
        return "--"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _follow(
    instance: dg.DagsterInstance,
    report: BackfillReport,
    todo: dict[str, list[date]],
    daemon: subprocess.Popen[bytes] | None,
    home: Path,
    timeout: float,
    started: float,
    echo: Callable[[str], None],
    interrupted: threading.Event | None = None,
) -> None:
    """Wait for the backfill's runs, showing progress; fill the report's outcome per table-day."""
    assert report.backfill_id is not None
    wanted = {t: {d.isoformat() for d in ds} for t, ds in todo.items()}
    total = sum(len(d) for d in wanted.values())
    progress = Progress(total, started, echo)
    done: dict[str, set[str]] = {t: set() for t in wanted}
    failed: dict[str, set[str]] = {t: set() for t in wanted}
    points = 0
    cursors: dict[str, int | None] = {t: None for t in wanted}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if interrupted is not None and interrupted.is_set():
            raise MigrationInterrupted(f"backfill {report.backfill_id} interrupted")
        for table in wanted:  # new load materializations since the last look
            page = instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=influxdb_key(table),
                    asset_partitions=sorted(wanted[table]),
                    after_storage_id=cursors[table],
                ),
                limit=10_000,
                ascending=True,
            )
            for record in page.records:
                event = record.asset_materialization
                if event is not None:
                    points += tally(event, done[table], failed[table])
                cursors[table] = record.storage_id
        runs = instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: report.backfill_id}))
        running = [r for r in runs if r.status not in FINISHED]
        backfill = instance.get_backfill(report.backfill_id)
        requested_all = backfill is not None and _requested_all(backfill)
        finished = requested_all and not running
        ended = len(runs) - len(running)
        failed_so_far = sum(len(d) for d in failed.values())
        if finished:
            failed_so_far = total - sum(len(d) for d in done.values())
        progress.update(
            sum(len(d) for d in done.values()),
            failed_so_far,
            points,
            f"runs {ended}/{len(runs)}",
            final=finished,
        )
        if finished:
            report.runs = len(runs)
            report.causes = _failure_messages(instance, runs)
            states = pending_partitions(
                instance,
                wanted,
                [date.fromisoformat(d) for d in sorted(set().union(*wanted.values()))],
            )
            for table, days in wanted.items():
                left = {d.isoformat() for d in states[table]} & days
                report.failed[table] = sorted(left)
                report.succeeded[table] = sorted(days - left)
            report.failed = {t: d for t, d in report.failed.items() if d}
            return
        check_daemon(daemon, home)
        time.sleep(1.0)
    raise TimeoutError(f"backfill {report.backfill_id} not finished after {timeout:.0f}s")


def tally(event: dg.AssetMaterialization, done: set[str], failed: set[str]) -> int:
    """Count one load materialization's day as done, or as failed when a stage after the load
    failed it (its points are written but the day is not migrated); the points it adds."""
    day = str(event.partition)
    if day in done or day in failed:
        return 0
    migrated = event.metadata.get(DAY_MIGRATED)
    if getattr(migrated, "value", migrated) is False:
        failed.add(day)
        return 0
    done.add(day)
    value = event.metadata.get("points")
    return int(getattr(value, "value", 0) or 0)


def _failure_messages(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> list[str]:
    """What the failed runs' steps said (each names its table, days and why)."""
    messages = []
    for run in runs:
        if run.status != dg.DagsterRunStatus.FAILURE:
            continue
        for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            event = record.dagster_event
            data = event.step_failure_data if event is not None else None
            if data is not None and data.error is not None:
                messages.append(data.error.message.strip())
    return messages


def _close_followed(instance: dg.DagsterInstance, report: BackfillReport) -> None:
    """Mark the backfill done, as its daemon would have on its next pass had it not been stopped
    once every run ended (else the next command would take it for an interrupted one)."""
    from dagster._core.execution.backfill import BulkActionStatus

    assert report.backfill_id is not None
    backfill = instance.get_backfill(report.backfill_id)
    if backfill is None or backfill.status != BulkActionStatus.REQUESTED:
        return
    status = BulkActionStatus.COMPLETED_SUCCESS
    if report.failed:
        status = BulkActionStatus.COMPLETED_FAILED
    instance.update_backfill(backfill.with_status(status).with_end_timestamp(time.time()))


def _requested_all(backfill: object) -> bool:
    """Has the daemon launched runs for every table-day of the backfill?"""
    data = getattr(backfill, "asset_backfill_data", None)
    if data is None:
        return False
    target = data.target_subset.num_partitions_and_non_partitioned_assets
    requested = data.requested_subset.num_partitions_and_non_partitioned_assets
    return requested >= target
