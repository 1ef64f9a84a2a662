"""Fault injection: migrations and corrections hit by kills and outages, resumed as a user would.

    .venv/bin/python benchmarks/faults.py [--seed N] [--trials 20] [--days-per-trial 2]

On servers of its own (InfluxDB 1.6 and moto on loopback, a temporary state directory), each
trial backfills new days of every table with ``ons-pipeline migrate`` (a Dagster asset backfill
run by the dagster-daemon the command starts; the days are staged in the local Timestream
stand-in in query mode) while one fault lands at a point drawn from the seed:

* ``kill_worker_export`` / ``kill_worker_load`` — ``kill -9`` of the run worker that sends the
  n-th export request (Timestream query or Parquet PUT) / InfluxDB write;
* ``kill_daemon`` — ``kill -9`` of the dagster-daemon at the n-th export request or write;
* ``influx_restart`` / ``influx_crash`` — InfluxDB stopped (SIGTERM) for 1–4 s / killed (SIGKILL)
  for 16–24 s at the n-th write, then started again on the same port and data directory;
* ``s3_hang`` — the AWS endpoint (moto) frozen with SIGSTOP for 2–10 s at the n-th export
  request or write, then SIGCONT (an endpoint that hangs, then recovers);
* ``s3_cut_export`` / ``s3_cut_load`` — the AWS endpoint unreachable (every connection reset by
  the proxy in front of it) for 3–15 s from the n-th export request / InfluxDB write;
* ``deadletter_fail`` — InfluxDB killed for 16–24 s at the n-th write while the dead-letter
  store refuses every write (403 AccessDenied, or connection reset);
* ``correction`` — a partial correction file (a few hours of a few series of an ONS dataset, on a
  day an earlier trial migrated) dropped on the raw prefix and ingested (sensor tick, ingest run,
  verification run — in this process, as the tests run them), with InfluxDB killed at the
  correction's write, the AWS endpoint cut at its partition write, InfluxDB killed during the
  verification run that follows, or no fault.

Then the user's resume, when the command failed: ``ons-pipeline migrate`` again over the trial's
days, and ``ons-pipeline dlq replay`` when the dead-letter store holds pending entries (before
each migrate, the answers the stand-in hands out only once are topped up: real Timestream answers
a query again). A command that reported success is not resumed: its data must be complete. For a
correction: ``dlq replay`` (which refuses a correction's batches: they are redone by the
re-executed run), the failed run re-executed (same job and config, as the UI's Re-execute, what
the failed run's message advises), then the verification run the sensor
requests and ``ons-pipeline migrate`` over every day so far, which must reload a corrected day
whose verification failed and never bring back the values the file corrected.

Every point is then compared, straight from InfluxDB (and, separately, from the day's Parquet
partition, the copy a reload reads), with the source: the generated days (what
the stand-in served) with the corrections applied. ``lost_points``: source points missing or
missing a field; ``duplicated_points``: points present with another value (a second, different
write of the same series and time — InfluxDB cannot hold two); ``extra_points``: points the source
does not have. Each table-day is checked after its trial's resume and again at the end; its
count is the larger of the two. ``silent_failures`` counts trials whose faulted command, or the
user's resume, reported success while points were missing or wrong — the bug this hunts.

The last line is one JSON object: ``trials``, ``lost_points``, ``duplicated_points``,
``extra_points``, ``silent_failures``, ``seed`` and more.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ons_pipeline.lib import schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.migration.timestream import (
    count_query,
    database_for,
    describe_answer,
    describe_query,
    export_query,
    stage_query_results,
)
from ons_pipeline.lib.ons_time import day_range, day_window
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.local.faults import (
    RESET,
    Counts,
    FaultProxy,
    InfluxOutage,
    NotYet,
    Points,
    Request,
    Trigger,
    as_points,
    cmdline,
    compare,
    correction_csv,
    influx_points,
    influx_write,
    kill9,
    later,
    s3_error,
    s3_write_under,
    sender,
    source_points,
)
from ons_pipeline.local.servers import InfluxServer, MotoServer
from ons_pipeline.local.staging import stage_day

DATABASE = "ons_faults"
BUCKET = "ons-pipeline"
BATCH_LINES = 500  # several write requests per day, so a fault can land inside a day's load
FIRST_DAY = date(2024, 3, 1)
KINDS = (
    "kill_worker_export",
    "kill_worker_load",
    "kill_daemon",
    "influx_restart",
    "influx_crash",
    "s3_hang",
    "s3_cut_export",
    "s3_cut_load",
    "deadletter_fail",
    "correction",
)
CORRECTABLE = ("curva_carga", "balanco_subsistema", "cmo_semihorario", "intercambio")
MIGRATE_TIMEOUT = 600
# Runs executed in this process do not log to the console (their events are in the instance, and
# each run's outcome is reported with its trial).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

# -- one run of the benchmark ------------------------------------------------------------------


@dataclass
class Command:
    name: str
    returncode: int
    seconds: float
    summary: str

    def line(self) -> str:
        status = "ok" if self.returncode == 0 else f"exit {self.returncode}"
        return f"{self.name}: {status} in {self.seconds:.1f} s — {self.summary}"


@dataclass
class Trial:
    index: int
    kind: str
    days: list[date]
    params: dict[str, Any] = field(default_factory=dict)
    injected: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    before_resume: Counts | None = None
    after_resume: Counts | None = None
    silent: bool = False  # the faulted command reported success, points were missing or wrong
    silent_resume: bool = False  # so did the user's resume
    failed_loudly: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not (self.silent or self.silent_resume)
            and self.after_resume is not None
            and self.after_resume.clean
        )


def _summary(output: str) -> str:
    """The lines of a command's output a user reads first: result, failures, errors."""
    keep: list[str] = []
    not_replayed = 0
    for line in output.splitlines():
        text = line.strip()
        if text.startswith("not replayed"):
            not_replayed += 1
        elif text.startswith(
            (
                "table-days run",
                "table-days skipped",
                "points loaded",
                "Error:",
                "replayed",
                "RuntimeError",
            )
        ):
            keep.append(text[:300])
    if not_replayed:
        keep.append(f"{not_replayed} superseded entries named with their reason")
    return " | ".join(keep) if keep else (output.strip().splitlines() or [""])[-1][:300]


class Bench:
    def __init__(self, tmp: Path, seed: int, days_per_trial: int) -> None:
        self.tmp = tmp
        self.seed = seed
        self.rng = random.Random(seed)
        self.days_per_trial = days_per_trial
        self.tables = list(schema.tables())
        state = tmp / "state"
        self.influx, self.moto = InfluxServer(state), MotoServer(state)
        self.influx_info, self.moto_info = self.influx.start(), self.moto.start()
        self.outage = InfluxOutage(state)
        self.influx_proxy = FaultProxy(self.influx_info.port)
        self.moto_proxy = FaultProxy(self.moto_info.port)
        self.aws = AwsSettings(endpoint_url=self.moto_info.url, bucket=BUCKET)
        self.s3 = self.aws.client("s3")
        self.s3.create_bucket(Bucket=BUCKET)
        self.env = {
            **os.environ,
            "ONS_STATE_DIR": str(tmp / "no-local-servers"),
            "DAGSTER_HOME": str(tmp / "dagster_home"),
            "ONS_INFLUX_URL": self.influx_proxy.url,
            "ONS_INFLUX_DATABASE": DATABASE,
            "ONS_INFLUX_BATCH_LINES": str(BATCH_LINES),
            "ONS_AWS_ENDPOINT_URL": self.moto_proxy.url,
            "ONS_S3_BUCKET": BUCKET,
            "ONS_EXPORT_MODE": "query",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            # Corrections are ingested by this script at chosen moments, not by the daemon.
            "ONS_INGEST_SENSOR": "stopped",
            "ONS_INGEST_VERIFY": "stopped",
        }
        self.env.pop("AWS_ENDPOINT_URL", None)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith(("ONS_", "AWS_"))})
        os.environ["DAGSTER_HOME"] = self.env["DAGSTER_HOME"]
        from ons_pipeline.cli.common import dagster_home

        dagster_home()  # copies dagster.yaml into the fresh instance
        self.source: dict[tuple[str, date], Points] = {}
        self.staged: Counter[str] = Counter()
        self.checked: dict[tuple[str, date], Counts] = {}
        self.partitions: dict[tuple[str, date], Counts] = {}
        self.migrated_days: list[date] = []
        self.raw_cursor: str | None = None
        self.running: subprocess.Popen[str] | None = None  # the user's command now running

    def close(self) -> None:
        self.influx_proxy.close()
        self.moto_proxy.close()
        self.influx.stop()
        self.moto.stop()

    # -- the source -------------------------------------------------------------------------
    def source_of(self, table: str, day: date) -> Points:
        if (table, day) not in self.source:
            self.source[(table, day)] = source_points(table, day)
        return self.source[(table, day)]

    def expected_writes(self, days: list[date]) -> int:
        return sum(
            math.ceil(len(self.source_of(t, d)) / BATCH_LINES) for t in self.tables for d in days
        )

    # -- the Timestream stand-in -------------------------------------------------------------
    def _sqls(self, table: str, day: date) -> tuple[str, str, str]:
        spec = schema.table(table)
        database = database_for(
            spec, self.aws.timestream_database, self.aws.timestream_legacy_database
        )
        window = day_window(day)
        return (
            export_query(spec, database, window),
            count_query(spec, database, window),
            describe_query(database, spec.name),
        )

    def left(self, sql: str) -> int:
        return self.staged[sql] - self.moto_proxy.stats.timestream_sql[sql]

    def top_up(self, days: list[date], keep: int = 2) -> int:
        """Stage answers so that each table-day of ``days`` not migrated yet can be exported at
        least ``keep`` more times (one page per day, so any staged copy is a whole answer)."""
        import dagster as dg

        from ons_pipeline.defs.state import pending_partitions

        with dg.DagsterInstance.get() as instance:
            pending = pending_partitions(instance, self.tables, days)
        staged = 0
        for table, todo in pending.items():
            spec = schema.table(table)
            for day in todo:
                export, count, describe = self._sqls(table, day)
                while min(self.left(export), self.left(count)) < keep:
                    stage_day(
                        spec,
                        day,
                        mode="query",
                        endpoint_url=self.moto_info.url,
                        target=self.aws,
                        page_bytes=1 << 30,
                    )
                    for sql in (export, count, describe):
                        self.staged[sql] += 1
                    staged += 1
                if self.left(describe) < 4:
                    stage_query_results(self.moto_info.url, {describe: [describe_answer(spec)] * 4})
                    self.staged[describe] += 4
        return staged

    # -- the user's commands -------------------------------------------------------------------
    def cli(self, args: list[str], name: str, timeout: float = MIGRATE_TIMEOUT) -> Command:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "ons_pipeline.cli.main", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.running = process
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # the command stops its daemon on Ctrl-C
            output, _ = process.communicate(timeout=60)
            output += f"\n(timed out after {timeout:.0f} s: interrupted)"
        finally:
            self.running = None
        return Command(name, process.returncode, time.monotonic() - started, _summary(output))

    def migrate(self, days: list[date], name: str = "ons-pipeline migrate") -> Command:
        return self.cli(
            [
                "migrate",
                "--tables",
                "all",
                "--start",
                days[0].isoformat(),
                "--end",
                days[-1].isoformat(),
                "--timeout",
                str(MIGRATE_TIMEOUT - 30),
            ],
            name,
        )

    def dlq_replay(self) -> Command:
        """``ons-pipeline dlq replay`` when the store holds pending entries (what ``dlq list``
        shows a user; listed here in-process to save a command's start-up when it is empty)."""
        from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore

        store = S3DeadLetterStore(BUCKET, self.aws.deadletter_prefix, client=self.s3)
        if not store.list():
            return Command("dead-letter store", 0, 0.0, "no pending entry: nothing to replay")
        return self.cli(["dlq", "replay"], "ons-pipeline dlq replay", timeout=300)

    # -- checks -------------------------------------------------------------------------------
    def check(self, pairs: list[tuple[str, date]]) -> Counts:
        total = Counts()
        for table, day in pairs:
            counts = compare(
                self.source_of(table, day),
                influx_points(self.influx_info.url, DATABASE, table, day),
            )
            total.add(counts)
        return total

    def partition_check(self, table: str, day: date) -> Counts:
        """The day's Parquet partition (the canonical copy a reload reads) against the source."""
        spec = schema.table(table)
        rows = ParquetStore.of(self.aws, self.s3).read(Partition(table, day), spec)
        return compare(self.source_of(table, day), as_points(rows, spec))

    def record(self, pairs: list[tuple[str, date]]) -> Counts:
        total = Counts()
        for table, day in pairs:
            counts = self.check([(table, day)])
            self.checked[(table, day)] = counts
            self.partitions[(table, day)] = self.partition_check(table, day)
            total.add(counts)
        return total

    def final_sweep(self) -> tuple[Counts, Counts]:
        """Every table-day checked again, in InfluxDB and in its partition; each count is the
        larger of this check and the one after the day's trial."""
        stores = (Counts(), Counts())
        for pair in sorted(self.checked):
            now = (self.check([pair]), self.partition_check(*pair))
            before = (self.checked[pair], self.partitions[pair])
            for total, later_, earlier in zip(stores, now, before, strict=True):
                total.add(
                    Counts(
                        later_.points,
                        max(later_.lost, earlier.lost),
                        max(later_.differs, earlier.differs),
                        max(later_.extra, earlier.extra),
                    )
                )
        return stores

    # -- faults -------------------------------------------------------------------------------
    def restore(self) -> None:
        """Every server up and reachable again, every hook removed."""
        self.influx_proxy.clear()
        self.moto_proxy.clear()
        self.influx_proxy.restore()
        self.moto_proxy.restore()
        os.kill(self.moto_info.pid, signal.SIGCONT)
        state, _ = self.outage.server.status()
        if state != "running":
            self.outage.start()

    def cli_pid(self) -> int:
        if self.running is None:
            raise NotYet
        return int(self.running.pid)

    def daemon_pid(self) -> int:
        try:
            return int((Path(self.env["DAGSTER_HOME"]) / "ons-daemon.pid").read_text())
        except (OSError, ValueError):
            raise NotYet from None

    def export_request(self, request: Request) -> bool:
        return request.timestream_sql() is not None or s3_write_under(
            BUCKET, self.aws.parquet_prefix
        )(request)

    def arm(self, trial: Trial, started: float) -> list[threading.Thread]:
        """Install the trial's fault; the threads that undo it later (joined after the run)."""
        kind, p, rng = trial.kind, trial.params, self.rng
        timers: list[threading.Thread] = []
        writes = self.expected_writes(trial.days)
        exports = 4 * len(self.tables) * len(trial.days)

        def note(text: str) -> None:
            trial.injected.append(f"t+{time.monotonic() - started:.1f}s {text}")

        def kill_sender(proxy: FaultProxy, what: str) -> Callable[[Request], Any]:
            def fire(request: Request) -> Any:
                daemon = self.daemon_pid()
                pid = sender(request, proxy, self.cli_pid())
                if pid is None or pid == daemon:
                    raise NotYet
                command = cmdline(pid)[:70]
                kill9(pid)
                note(f"kill -9 run worker {pid} ({command}) at {what}, {request.path[:40]}")
                return RESET

            return fire

        if kind == "kill_worker_export":
            p["nth"] = rng.randint(1, max(1, exports * 3 // 4))
            fire = kill_sender(self.moto_proxy, f"export request #{p['nth']}")
            self.moto_proxy.add(Trigger(self.export_request, p["nth"], fire))
        elif kind == "kill_worker_load":
            p["nth"] = rng.randint(1, max(1, writes * 3 // 4))
            fire = kill_sender(self.influx_proxy, f"write #{p['nth']}")
            self.influx_proxy.add(Trigger(influx_write, p["nth"], fire))
        elif kind == "kill_daemon":
            p["at"] = rng.choice(["export", "load"])
            p["nth"] = rng.randint(1, max(1, (exports if p["at"] == "export" else writes) // 2))

            def kill_daemon(request: Request) -> None:
                pid = self.daemon_pid()
                kill9(pid)
                note(f"kill -9 dagster-daemon {pid} at {p['at']} request #{p['nth']}")

            if p["at"] == "export":
                self.moto_proxy.add(Trigger(self.export_request, p["nth"], kill_daemon))
            else:
                self.influx_proxy.add(Trigger(influx_write, p["nth"], kill_daemon))
        elif kind in ("influx_restart", "influx_crash", "deadletter_fail"):
            crash = kind != "influx_restart"
            p["nth"] = rng.randint(1, max(1, writes * 3 // 4))
            p["down_s"] = round(rng.uniform(1, 4) if not crash else rng.uniform(16, 24), 1)

            def stop_influx(request: Request) -> str:
                pid = self.outage.stop(crash=crash)
                note(
                    f"InfluxDB {pid} {'killed (SIGKILL)' if crash else 'stopped (SIGTERM)'} at "
                    f"write #{p['nth']}, down {p['down_s']} s"
                )

                def start() -> None:
                    self.outage.start()
                    note("InfluxDB started again (same port, same data)")

                timers.append(later(p["down_s"], start))
                return RESET

            self.influx_proxy.add(Trigger(influx_write, p["nth"], stop_influx))
            if kind == "deadletter_fail":
                p["deadletter"] = rng.choice(["403 AccessDenied", "connection reset"])
                refusal: Any = (
                    s3_error(403, "AccessDenied", "Access Denied")
                    if p["deadletter"].startswith("403")
                    else RESET
                )
                refused = s3_write_under(BUCKET, self.aws.deadletter_prefix)

                refusals = Counter[str]()

                def refuse(request: Request) -> Any:
                    if not refused(request):
                        return None
                    if not refusals:
                        note(f"dead-letter writes refused from now on ({p['deadletter']})")
                    refusals[request.path.split("?")[0]] += 1
                    p["deadletter_refusals"] = sum(refusals.values())
                    p["deadletter_objects_refused"] = len(refusals)
                    return refusal

                self.moto_proxy.add(refuse)
        elif kind == "s3_hang":
            p["at"] = rng.choice(["export", "load"])
            on_load = p["at"] == "load"
            p["nth"] = rng.randint(1, max(1, (writes if on_load else exports) * 3 // 4))
            p["hang_s"] = round(rng.uniform(2, 10), 1)

            def hang(request: Request) -> None:
                os.kill(self.moto_info.pid, signal.SIGSTOP)
                note(f"moto {self.moto_info.pid} SIGSTOP at {p['at']} request #{p['nth']}")

                def resume() -> None:
                    os.kill(self.moto_info.pid, signal.SIGCONT)
                    note(f"moto SIGCONT after {p['hang_s']} s")

                timers.append(later(p["hang_s"], resume))

            if on_load:
                self.influx_proxy.add(Trigger(influx_write, p["nth"], hang))
            else:
                self.moto_proxy.add(Trigger(self.export_request, p["nth"], hang))
        elif kind in ("s3_cut_export", "s3_cut_load"):
            p["cut_s"] = round(rng.uniform(3, 15), 1)
            on_load = kind == "s3_cut_load"
            p["nth"] = rng.randint(1, max(1, (writes if on_load else exports) * 3 // 4))

            def cut(request: Request) -> Any:
                self.moto_proxy.cut()
                note(
                    f"AWS endpoint cut at {'write' if on_load else 'export request'} "
                    f"#{p['nth']} for {p['cut_s']} s"
                )

                def back() -> None:
                    self.moto_proxy.restore()
                    note("AWS endpoint reachable again")

                timers.append(later(p["cut_s"], back))
                return None if on_load else RESET

            if on_load:
                self.influx_proxy.add(Trigger(influx_write, p["nth"], cut))
            else:
                self.moto_proxy.add(Trigger(self.export_request, p["nth"], cut))
        return timers

    # -- trials -------------------------------------------------------------------------------
    def migrate_trial(self, trial: Trial) -> None:
        pairs = [(t, d) for t in self.tables for d in trial.days]
        for table, day in pairs:
            self.source_of(table, day)
        self.top_up(trial.days)
        started = time.monotonic()
        timers = self.arm(trial, started)
        faulted = self.migrate(trial.days)
        for timer in timers:
            timer.join()
        if not trial.injected:
            trial.injected.append("fault not reached (the run ended first)")
        self.restore()
        trial.commands.append(faulted)
        trial.before_resume = self.check(pairs)
        trial.silent = faulted.returncode == 0 and not trial.before_resume.clean
        trial.failed_loudly = faulted.returncode != 0
        # The user resumes what failed: migrate again (it redoes the failed days), then the
        # dead letters; a command that succeeded needs no resume — its data must be complete.
        for attempt in range(2 if trial.failed_loudly else 0):
            self.top_up(trial.days)
            resume = self.migrate(trial.days, f"resume {attempt + 1}: ons-pipeline migrate")
            trial.commands.append(resume)
            trial.commands.append(self.dlq_replay())
            if resume.returncode == 0:
                break
        self.migrated_days += trial.days
        trial.after_resume = self.record(pairs)
        last = trial.commands[-2] if trial.failed_loudly else faulted
        trial.silent_resume = last.returncode == 0 and not trial.after_resume.clean

    def correction_trial(self, trial: Trial) -> None:
        rng, p = self.rng, trial.params
        table = rng.choice(CORRECTABLE)
        day = rng.choice(self.migrated_days[:-1] or self.migrated_days)
        trial.days = [day]
        spec = schema.table(table)
        source = self.source_of(table, day)
        complete = [k for k, f in sorted(source.items()) if len(f) == len(spec.field_names)]
        chosen = rng.sample(complete, min(len(complete), rng.randint(3, 6)))
        body, corrected = correction_csv(table, source, chosen, rng)
        key = f"{self.aws.raw_prefix}/corrections/trial-{trial.index:02d}-{table}.csv"
        p.update(table=table, day=day.isoformat(), rows=len(chosen), key=key)
        drawn = rng.choice(["influx_crash", "s3_cut", "verify_crash", "none"])
        p["fault"] = p.get("fault") or drawn
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        trial.injected.append(
            f"partial correction s3://{BUCKET}/{key}: {len(chosen)} rows of {table} on {day}"
        )
        started = time.monotonic()
        timers: list[threading.Thread] = []

        def note(text: str) -> None:
            trial.injected.append(f"t+{time.monotonic() - started:.1f}s {text}")

        def crash_influx(when: str) -> None:
            p["down_s"] = round(rng.uniform(16, 24), 1)

            def stop_influx(request: Request) -> str:
                pid = self.outage.stop(crash=True)
                note(f"InfluxDB {pid} killed at {when}, down {p['down_s']} s")
                timers.append(later(p["down_s"], self.outage.start))
                return RESET

            self.influx_proxy.add(Trigger(influx_write, 1, stop_influx))

        def settle() -> None:
            for timer in timers:
                timer.join()
            timers.clear()
            self.restore()

        if p["fault"] == "influx_crash":
            crash_influx("the correction's write")
        elif p["fault"] == "s3_cut":
            p["cut_s"] = round(rng.uniform(3, 15), 1)

            def cut(request: Request) -> str:
                self.moto_proxy.cut()
                note(f"AWS endpoint cut at the partition write for {p['cut_s']} s")
                timers.append(later(p["cut_s"], self.moto_proxy.restore))
                return RESET

            parquet = s3_write_under(BUCKET, self.aws.parquet_prefix)
            self.moto_proxy.add(Trigger(parquet, 1, cut))
        first = ingest_runs(self)
        settle()
        trial.commands += [c for c, _ in first]
        self.source[(table, day)] = {**source, **corrected}
        pair = (table, day)
        faulted = [c for c, _ in first]
        if p["fault"] != "verify_crash":
            trial.before_resume = self.check([pair])
        if trial.before_resume is not None and any(c.returncode for c in faulted):
            # What the failed run's message advises first: `dlq list`, then `dlq replay`.
            trial.commands.append(self.dlq_replay())
            stale = self.partition_check(table, day)
            trial.injected.append(f"after the advised dlq replay, the Parquet partition: {stale}")
        for command, run in first:
            if command.returncode != 0 and run is not None:
                trial.commands.append(reexecute(self, run))
        trial.commands.append(self.dlq_replay())
        if p["fault"] == "verify_crash":
            crash_influx("the verification run's reload")
        verified = verify_runs(self)
        settle()
        trial.commands += verified
        if p["fault"] == "verify_crash":
            faulted = verified
            trial.before_resume = self.check([pair])
        trial.failed_loudly = any(c.returncode != 0 for c in faulted)
        trial.silent = not trial.failed_loudly and not trial.before_resume.clean
        # The user's migrate over every day so far (what a failed run's message advises): it must
        # neither leave a corrected day unverified nor bring back the values it corrected.
        self.top_up(sorted(self.migrated_days))
        resume = self.migrate(sorted(self.migrated_days), "ons-pipeline migrate (all days so far)")
        trial.commands.append(resume)
        trial.commands.append(self.dlq_replay())
        trial.after_resume = self.record([pair])
        trial.silent_resume = resume.returncode == 0 and not trial.after_resume.clean


# -- continuous loading, run the way the tests run it ------------------------------------------


def ingest_runs(bench: Bench) -> list[tuple[Command, Any]]:
    """One raw-sensor tick and the ingest runs it requests, executed in this process."""
    import dagster as dg

    from ons_pipeline.definitions import defs
    from ons_pipeline.defs.ingest.sensors import evaluate_raw_files
    from ons_pipeline.defs.keys import INGEST_JOB
    from ons_pipeline.environment import load_settings

    settings = load_settings()
    aws = settings.aws
    out: list[tuple[Command, Any]] = []
    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=bench.raw_cursor)
        result = evaluate_raw_files(context, aws, settings.ingest)
        bench.raw_cursor = result.cursor
        job = defs.get_job_def(INGEST_JOB)
        for request in result.run_requests or []:
            started = time.monotonic()
            run = job.execute_in_process(
                run_config={**request.run_config, **QUIET},
                instance=instance,
                tags={**request.tags, "dagster/run_key": request.run_key or ""},
                raise_on_error=False,
            )
            out.append((_run_command("ingest run (sensor request)", run, started), request))
    return out


def reexecute(bench: Bench, request: Any) -> Command:
    """The failed ingest run again, same job and config (what the UI's Re-execute launches)."""
    import dagster as dg

    from ons_pipeline.definitions import defs
    from ons_pipeline.defs.keys import INGEST_JOB

    with dg.DagsterInstance.get() as instance:
        started = time.monotonic()
        run = defs.get_job_def(INGEST_JOB).execute_in_process(
            run_config={**request.run_config, **QUIET},
            instance=instance,
            tags=dict(request.tags),
            raise_on_error=False,
        )
        return _run_command("ingest run re-executed", run, started)


def verify_runs(bench: Bench) -> list[Command]:
    """What the verify sensor requests after each successful ingest run not verified yet."""
    import dagster as dg

    from ons_pipeline.definitions import defs
    from ons_pipeline.defs.ingest.jobs import VERIFY_JOB
    from ons_pipeline.defs.ingest.sensors import ingest_verify_sensor
    from ons_pipeline.defs.keys import INGEST_JOB

    commands: list[Command] = []
    with dg.DagsterInstance.get() as instance:
        done = {
            r.tags.get("ons/ingest_run")
            for r in instance.get_runs(filters=dg.RunsFilter(job_name=VERIFY_JOB))
        }
        succeeded = instance.get_runs(
            filters=dg.RunsFilter(job_name=INGEST_JOB, statuses=[dg.DagsterRunStatus.SUCCESS])
        )
        for run in succeeded:
            if run.run_id in done:
                continue
            success = next(
                record.event_log_entry.dagster_event
                for record in instance.get_records_for_run(
                    run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS
                ).records
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                context = dg.build_run_status_sensor_context(
                    sensor_name="ons_ingest_verify",
                    dagster_event=success,
                    dagster_instance=instance,
                    dagster_run=run,
                    repository_def=defs.get_repository_def(),
                )
            for request in list(ingest_verify_sensor(context) or []):
                started = time.monotonic()
                job = defs.resolve_job_def(VERIFY_JOB).get_subset(
                    asset_selection=set(request.asset_selection or []),
                    asset_check_selection=set(request.asset_check_keys or []),
                )
                result = job.execute_in_process(
                    run_config=QUIET,
                    partition_key=request.partition_key,
                    instance=instance,
                    tags=request.tags,
                    raise_on_error=False,
                )
                commands.append(_run_command("verify run (sensor request)", result, started))
    return commands


def _run_command(name: str, result: Any, started: float) -> Command:
    summary = "success"
    if not result.success:
        failures = [
            e.step_failure_data.error.message.strip().splitlines()[0][:240]
            for e in result.all_events
            if e.is_step_failure and e.step_failure_data and e.step_failure_data.error
        ]
        summary = "failed: " + ("; ".join(failures) or "see the run")
    checks = getattr(result, "get_asset_check_evaluations", lambda: [])()
    if checks:
        summary += ", checks " + ", ".join(f"{c.check_name}={c.passed}" for c in checks)
    return Command(name, 0 if result.success else 1, time.monotonic() - started, summary)


# -- main --------------------------------------------------------------------------------------


def plan(seed: int, trials: int) -> list[str]:
    """Every kind at least once per round of ``len(KINDS)`` trials, in an order from the seed;
    a correction needs a migrated day before it."""
    rng = random.Random(seed ^ 0x5EED)
    kinds: list[str] = []
    while len(kinds) < trials:
        round_ = list(KINDS)
        rng.shuffle(round_)
        kinds += round_
    kinds = kinds[:trials]
    if kinds[0] == "correction":
        swap = next(i for i, k in enumerate(kinds) if k != "correction")
        kinds[0], kinds[swap] = kinds[swap], kinds[0]
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="default: drawn and printed")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--days-per-trial", type=int, default=2)
    parser.add_argument(
        "--kinds",
        default=None,
        help="a,b,c: these trials in this order (correction=FAULT picks the correction's fault)",
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    # The ingest runs of corrections execute here: their retries and beta warnings are noise in
    # this report (each run's outcome is reported with its trial).
    logging.getLogger("ons_pipeline").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    print(f"seed {seed} (repeat with --seed {seed})", flush=True)
    began = time.monotonic()
    kinds = args.kinds.split(",") if args.kinds else plan(seed, args.trials)
    unknown = {k.split("=")[0] for k in kinds} - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    results: list[Trial] = []
    with tempfile.TemporaryDirectory(prefix="ons-bench-faults-") as tmp:
        bench = Bench(Path(tmp), seed, args.days_per_trial)
        try:
            next_day = FIRST_DAY
            for index, chosen in enumerate(kinds, 1):
                kind, _, variant = chosen.partition("=")
                trial = Trial(index, kind, [], {"fault": variant} if variant else {})
                started = time.monotonic()
                if kind == "correction":
                    bench.correction_trial(trial)
                else:
                    trial.days = day_range(
                        next_day, next_day + timedelta(days=args.days_per_trial - 1)
                    )
                    next_day += timedelta(days=args.days_per_trial)
                    bench.migrate_trial(trial)
                trial.seconds = time.monotonic() - started
                results.append(trial)
                report(trial)
            final, partitions = bench.final_sweep()
        finally:
            bench.close()
    print(f"final sweep over {len(bench.checked)} table-days, InfluxDB: {final}")
    print(f"final sweep over {len(bench.checked)} table-days, Parquet partitions: {partitions}")
    by_kind = Counter(t.kind for t in results)
    summary = {
        "trials": len(results),
        "lost_points": final.lost,
        "duplicated_points": final.differs,
        "extra_points": final.extra,
        "silent_failures": sum(t.silent or t.silent_resume for t in results),
        "trials_ok": sum(t.ok for t in results),
        "failed_loudly_then_resumed": sum(t.failed_loudly and t.ok for t in results),
        "absorbed_without_failure": sum(not t.failed_loudly and t.ok for t in results),
        "partition_lost_points": partitions.lost,
        "partition_differing_points": partitions.differs,
        "partition_extra_points": partitions.extra,
        "points_compared": final.points,
        "table_days": len(bench.checked),
        "kinds": dict(sorted(by_kind.items())),
        "wall_s": round(time.monotonic() - began, 1),
        "seed": seed,
    }
    print(json.dumps(summary))


def report(trial: Trial) -> None:
    days = f"{trial.days[0]}…{trial.days[-1]}" if trial.days else "-"
    verdict = "OK"
    if trial.silent or trial.silent_resume:
        verdict = "SILENT: success reported, points missing or wrong"
    elif not trial.ok:
        verdict = "NOT CLEAN after resume"
    print(
        f"\ntrial {trial.index:2d} {trial.kind} ({days}) {json.dumps(trial.params, default=str)}"
        f" — {verdict} in {trial.seconds:.0f} s",
        flush=True,
    )
    for text in trial.injected:
        print(f"  injected: {text}")
    for command in trial.commands:
        print(f"  {command.line()}")
    print(f"  before resume: {trial.before_resume}")
    print(f"  after resume:  {trial.after_resume}", flush=True)


if __name__ == "__main__":
    main()
