"""The daemon a command starts for itself leaves the rollups sensor stopped (its rollup runs would
be killed with it), unless ONS_ROLLUPS_SENSOR says otherwise; the sensor follows the setting."""

import os
import stat
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from ons_pipeline.cli.backfill import owned_daemon
from ons_pipeline.defs.rollup import rollup_sensors
from ons_pipeline.lib.settings import SettingsError


def fake_daemon(tmp_path: Path) -> tuple[str, Path]:
    """An executable standing in for dagster-daemon: records the variable, then waits. Like the
    real daemon it takes SIGTERM even when started from a shell that ignores it."""
    seen = tmp_path / "seen"
    script = tmp_path / "dagster-daemon"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        f"open({str(seen)!r}, 'w').write(os.environ.get('ONS_ROLLUPS_SENSOR', '') + '\\n')\n"
        "time.sleep(60)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), seen


@pytest.mark.parametrize(
    ("given", "expected"), [(None, "stopped"), ("", "stopped"), ("running", "running")]
)
def test_a_daemon_started_for_a_command_stops_the_rollups_sensor_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str | None, expected: str
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    daemon_bin, seen = fake_daemon(tmp_path)
    env = {"PATH": os.environ["PATH"]}
    if given is not None:
        env["ONS_ROLLUPS_SENSOR"] = given
    said: list[str] = []
    with (
        dg.instance_for_test() as instance,
        owned_daemon(instance, tmp_path, env, daemon_bin, said.append, "a test") as daemon,
    ):
        assert daemon is not None
        deadline = time.monotonic() + 10
        while not seen.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert seen.read_text().strip() == expected
    assert daemon.poll() is not None, "stopped by PID at the end of the block"
    assert said[-1].startswith("stopped dagster-daemon")
    assert ("brought in step by the next long-lived daemon" in said[-1]) == (expected == "stopped")


@pytest.mark.parametrize(
    ("value", "status"),
    [(None, dg.DefaultSensorStatus.RUNNING), ("stopped", dg.DefaultSensorStatus.STOPPED)],
)
def test_the_rollups_sensor_follows_its_setting(
    monkeypatch: pytest.MonkeyPatch, value: str | None, status: dg.DefaultSensorStatus
) -> None:
    if value is None:
        monkeypatch.delenv("ONS_ROLLUPS_SENSOR", raising=False)
    else:
        monkeypatch.setenv("ONS_ROLLUPS_SENSOR", value)
    (sensor,) = rollup_sensors()
    assert sensor.name == "rollups_in_step" and sensor.default_status == status


def test_a_bad_rollups_sensor_value_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONS_ROLLUPS_SENSOR", "sometimes")
    with pytest.raises(SettingsError, match="ONS_ROLLUPS_SENSOR"):
        rollup_sensors()


def test_only_the_daemon_of_a_killed_command_is_stopped_never_a_reused_pid() -> None:
    """The pid file records the daemon's and its command's pids with their start times: a
    daemon whose command is gone is stopped (its process group); a pid that now names another
    process is neither stopped nor taken for a live daemon."""
    import subprocess

    from ons_pipeline.cli import backfill

    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        with dg.instance_for_test() as instance:
            pid_file = backfill._daemon_pid_file()  # in the test instance's DAGSTER_HOME
            pid_file.write_text(f"{orphan.pid} {backfill._started(orphan.pid)} {gone.pid} 1")
            assert backfill._daemon_alive(instance)
            assert backfill.stop_orphaned_daemon(instance) == orphan.pid
            assert orphan.wait(timeout=10) is not None and not pid_file.exists()
            # the same pid line, but the process under that pid started at another time
            pid_file.write_text(f"{other.pid} 1 {gone.pid} 1")
            assert backfill.stop_orphaned_daemon(instance) is None
            assert not backfill._daemon_alive(instance) and not pid_file.exists()
            assert other.poll() is None  # untouched
            # a live command's daemon is its own to stop
            mine = f"{other.pid} {backfill._started(other.pid)} {os.getpid()}"
            pid_file.write_text(f"{mine} {backfill._started(os.getpid())}")
            assert backfill.stop_orphaned_daemon(instance) is None and other.poll() is None
    finally:
        for process in (orphan, other):
            if process.poll() is None:
                process.kill()
                process.wait()
