"""`ons-pipeline migrate`: Dagster's own backfill, run by a real daemon, resumable after a kill."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.migration.timestream import export_query, stage_query_results, table_to_pages
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.defs.cli import migrate_command, stage_exports
from ons_pipeline_tests.defs.test_migration import field_counts_in_influx, field_counts_in_source

pytestmark = pytest.mark.slow


def migrate(env: dict[str, str], table: str, first: date, last: date, **kwargs):  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        migrate_command(table, first, last),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def runs_by_range(env: dict[str, str]) -> list[tuple[str, str, dg.DagsterRunStatus]]:
    """(first day, last day, status) of every run, oldest first."""
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            return [
                (
                    run.tags.get("dagster/asset_partition_range_start", "?"),
                    run.tags.get("dagster/asset_partition_range_end", "?"),
                    run.status,
                )
                for run in reversed(instance.get_runs())
            ]
    finally:
        os.environ.pop("DAGSTER_HOME", None)


def loads_by_day(env: dict[str, str], table: str) -> dict[str, int]:
    """How many times each day of ``table`` was loaded into InfluxDB (materializations)."""
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(["influxdb", table])), limit=1000
            ).records
            out: dict[str, int] = {}
            for record in records:
                day = str(record.asset_materialization.partition)  # type: ignore[union-attr]
                out[day] = out.get(day, 0) + 1
            return out
    finally:
        os.environ.pop("DAGSTER_HOME", None)


def test_failed_partition_reruns_alone_and_finished_ones_are_not_redone(cli_env) -> None:  # type: ignore[no-untyped-def]
    table = "curva_carga"
    good, bad = date(2018, 11, 3), date(2018, 11, 4)
    stage_exports(cli_env, table, [good])
    # The bad day's export meets a record with an unknown measure_name: its run fails.
    spec = schema.table(table)
    pages = table_to_pages([], spec)
    pages[0]["Rows"] = [
        {
            "Data": [
                {"ScalarValue": "2018-11-04 05:00:00.000000000"},
                {"ScalarValue": "N"},
                {"ScalarValue": "NORTE"},
                {"ScalarValue": "unexpected"},
                {"ScalarValue": "1.5"},
            ]
        }
    ]
    stage_query_results(
        cli_env["ONS_AWS_ENDPOINT_URL"], {export_query(spec, "ons", day_window(bad)): pages}
    )
    first = migrate(cli_env, table, good, bad)
    output, _ = first.communicate(timeout=400)
    assert first.returncode != 0, output
    assert "1 table-day(s) failed: curva_carga 2018-11-04" in output, output
    # why, in the failed run's own words: the table, the day and the record it could not map
    why = output.split("why:", 1)[1]
    assert "curva_carga" in why and "2018-11-04" in why and "unexpected" in why, output
    # One run covered both days: the good day is migrated, only the bad day failed.
    assert runs_by_range(cli_env) == [("2018-11-03", "2018-11-04", dg.DagsterRunStatus.FAILURE)]
    assert loads_by_day(cli_env, table) == {"2018-11-03": 1}

    stage_exports(cli_env, table, [bad])
    second = migrate(cli_env, table, good, bad)
    output, _ = second.communicate(timeout=400)
    assert second.returncode == 0, output
    assert "table-days skipped:  1 (already migrated and verified)" in output, output
    assert "interrupted migration" not in output, output  # the first one ended: nothing to close
    # The failed day ran again alone; the finished day was not redone.
    assert runs_by_range(cli_env)[1:] == [("2018-11-04", "2018-11-04", dg.DagsterRunStatus.SUCCESS)]
    assert loads_by_day(cli_env, table) == {"2018-11-03": 1, "2018-11-04": 1}
    for day in (good, bad):
        assert field_counts_in_influx(
            cli_env["ONS_INFLUX_URL"], cli_env["ONS_INFLUX_DATABASE"], table, day
        ) == field_counts_in_source(table, day)


def stop_if_alive(pid: int) -> None:
    """Kill the process group ``pid`` leads, if it still runs (a daemon a test left behind)."""
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


@pytest.mark.parametrize("killed", ["everything", "the command alone"])
def test_killing_a_migration_halfway_then_rerunning_loses_and_duplicates_nothing(
    cli_env,  # type: ignore[no-untyped-def]
    killed: str,
    request: pytest.FixtureRequest,
) -> None:
    """Killed with its daemon and runs, or the command alone (kill -9: its daemon, in a session
    of its own, goes on): the next migrate stops what was left and redoes exactly the rest."""
    table = "geracao_usina"
    days = [date(2018, 11, 1) + timedelta(days=k) for k in range(7)]
    # One page per day: a kill between pages would leave the stand-in's queue half consumed,
    # which real Timestream (that simply answers a repeated query again) never does.
    stage_exports(cli_env, table, days, page_bytes=1 << 30)
    process = migrate(cli_env, table, days[0], days[-1], start_new_session=True)
    daemon_pid: int | None = None
    deadline = time.monotonic() + 240
    measurement = schema.table(table).measurement
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    output = ""
    while time.monotonic() < deadline:
        output = "".join(lines)
        found = re.search(r"dagster-daemon \(pid (\d+)\)", output)
        if found:
            daemon_pid = int(found.group(1))
        body = influxql(
            cli_env["ONS_INFLUX_URL"],
            f'SELECT count(*) FROM "{measurement}"',
            cli_env["ONS_INFLUX_DATABASE"],
        )
        if body["results"][0].get("series"):
            break
        time.sleep(0.05)
    assert daemon_pid is not None, output
    request.addfinalizer(lambda: stop_if_alive(daemon_pid))  # should the test fail midway
    # Kill everything the migration started (the CLI, the daemon and the runs it launched), or
    # the CLI alone.
    groups = (daemon_pid, process.pid) if killed == "everything" else (process.pid,)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10  # a killed process takes a moment to be gone
    while killed == "everything" and alive(daemon_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(daemon_pid) is (killed != "everything")
    loaded = sum(
        sum(
            field_counts_in_influx(
                cli_env["ONS_INFLUX_URL"], cli_env["ONS_INFLUX_DATABASE"], table, d
            ).values()
        )
        for d in days
    )
    expected = sum(sum(field_counts_in_source(table, d).values()) for d in days)
    if killed == "everything":  # else the daemon left running may finish them meanwhile
        assert 0 < loaded < expected, "the kill must land halfway through the migration"

    # Days interrupted mid-export consumed their staged pages: stage the unfinished days again,
    # as the real Timestream would simply answer the query again.
    os.environ["DAGSTER_HOME"] = cli_env["DAGSTER_HOME"]
    try:
        from ons_pipeline.defs.state import pending_partitions

        with dg.DagsterInstance.get() as instance:
            todo = pending_partitions(instance, [table], days)[table]
    finally:
        os.environ.pop("DAGSTER_HOME", None)
    assert todo or killed != "everything", "some days must be left to do"
    # (the daemon left running may take a page of any day until the next migrate stops it)
    again = todo if killed == "everything" else days
    stage_exports(cli_env, table, again, page_bytes=1 << 30)
    rerun = migrate(cli_env, table, days[0], days[-1])
    output, _ = rerun.communicate(timeout=400)
    assert rerun.returncode == 0, output
    orphan = f"stopped the dagster-daemon (pid {daemon_pid}) of an interrupted migration"
    assert (orphan in output) is (killed != "everything"), output
    assert not alive(daemon_pid)
    for day in days:
        assert field_counts_in_influx(
            cli_env["ONS_INFLUX_URL"], cli_env["ONS_INFLUX_DATABASE"], table, day
        ) == field_counts_in_source(table, day), day


def test_ctrl_c_stops_the_migration_with_a_clear_message_and_the_next_one_resumes(cli_env) -> None:  # type: ignore[no-untyped-def]
    table = "cmo_semihorario"
    days = [date(2018, 11, 1) + timedelta(days=k) for k in range(3)]
    stage_exports(cli_env, table, days)
    process = migrate(cli_env, table, days[0], days[-1], start_new_session=True)
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 120
    while "started dagster-daemon" not in "".join(lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    found = re.search(r"dagster-daemon \(pid (\d+)\)", "".join(lines))
    assert found, "".join(lines)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C on a terminal: the command's process group
    process.wait(timeout=60)
    reader.join(timeout=10)
    output = "".join(lines)
    assert process.returncode == 1, output
    assert "interrupted: the days already migrated and verified stay so" in output, output
    assert "Traceback" not in output, output
    assert not alive(int(found.group(1)))  # its daemon stopped with it
    stage_exports(cli_env, table, days)
    rerun = migrate(cli_env, table, days[0], days[-1])
    output, _ = rerun.communicate(timeout=400)
    assert rerun.returncode == 0, output
    for day in days:
        assert field_counts_in_influx(
            cli_env["ONS_INFLUX_URL"], cli_env["ONS_INFLUX_DATABASE"], table, day
        ) == field_counts_in_source(table, day), day
