"""Local servers on loopback: Debian's InfluxDB 1.x and a moto server as the AWS endpoint.

Each server lives in its own state directory (config, data, log, pid file, port file). ``start`` is
idempotent: a server from an earlier run that still answers is reused, a stale pid file from a
crashed run is cleaned up, never duplicated. ``stop`` stops the process by its PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"


class ServerError(RuntimeError):
    """A local server could not be started, reached or stopped."""


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerInfo:
    """What a running server's state file records."""

    name: str
    pid: int
    port: int
    url: str
    state_dir: str
    log: str
    extra: dict[str, str] = field(default_factory=dict)


def _pid_alive(pid: int, expected_cmd: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    # A recycled PID belongs to some other program: do not treat it as our server.
    return expected_cmd in cmdline and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _http_status(url: str, timeout: float = 1.0, context: object | None = None) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


class LocalServer:
    """Common life cycle of a server process owned by this project."""

    name = "server"
    command_marker = ""

    def __init__(self, state_dir: Path | str, port: int | None = None) -> None:
        self.state_dir = Path(state_dir).resolve() / self.name
        self.requested_port = port
        self.info_file = self.state_dir / "server.json"
        self.log_file = self.state_dir / "server.log"

    # -- to implement -------------------------------------------------------------------------
    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def url_for(self, port: int) -> str:
        return f"http://{LOOPBACK}:{port}"

    def is_ready(self, url: str) -> bool:
        raise NotImplementedError

    def prepare(self, port: int) -> dict[str, str]:
        """Write config before the start; returns extra facts to record."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return {}

    # -- life cycle ---------------------------------------------------------------------------
    def read_info(self) -> ServerInfo | None:
        try:
            return ServerInfo(**json.loads(self.info_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def status(self) -> tuple[str, ServerInfo | None]:
        """("running" | "stopped" | "stale" | "unresponsive", info)."""
        info = self.read_info()
        if info is None:
            return "stopped", None
        if not _pid_alive(info.pid, self.command_marker):
            return "stale", info
        if not self.is_ready(info.url):
            return "unresponsive", info
        return "running", info

    def start(self, timeout: float = 30.0) -> ServerInfo:
        state, info = self.status()
        if state == "running" and info is not None:
            return info
        if state == "unresponsive" and info is not None:
            raise ServerError(
                f"{self.name}: process {info.pid} from an earlier start is alive but does not "
                f"answer on {info.url}; stop it with `ons-pipeline servers stop` first"
            )
        if state == "stale":
            self.info_file.unlink(missing_ok=True)
        port = self.requested_port or free_port()
        extra = self.prepare(port)
        url = self.url_for(port)
        log = self.log_file.open("ab")
        try:
            process = subprocess.Popen(
                self.command(port),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.state_dir,
                start_new_session=True,  # outlives the CLI that started it; stopped by PID
            )
        finally:
            log.close()
        info = ServerInfo(
            name=self.name,
            pid=process.pid,
            port=port,
            url=url,
            state_dir=str(self.state_dir),
            log=str(self.log_file),
            extra=extra,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with code {process.returncode} at start; "
                    f"last log lines:\n{self.log_tail()}"
                )
            if self.is_ready(url):
                self.info_file.write_text(json.dumps(asdict(info), indent=2))
                return info
            time.sleep(0.1)
        process.kill()
        process.wait()
        raise ServerError(
            f"{self.name} not ready on {url} after {timeout:.0f}s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop the recorded server by its PID; False if none was running."""
        state, info = self.status()
        if info is None:
            return False
        self.info_file.unlink(missing_ok=True)
        if state == "stale":
            return False
        os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _pid_alive(info.pid, self.command_marker):
                _reap(info.pid)
                return True
            _reap(info.pid)
            time.sleep(0.1)
        os.kill(info.pid, signal.SIGKILL)
        _reap(info.pid)
        return True

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _reap(pid: int) -> None:
    """Collect the exit status when the server is our own child (tests), ignore otherwise."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    private_key: Path


class InfluxServer(LocalServer):
    """Debian's ``influxd`` (1.6.x) with its own config and data under the state directory."""

    name = "influxdb"
    command_marker = "influxd"

    def __init__(
        self,
        state_dir: Path | str,
        port: int | None = None,
        auth_enabled: bool = False,
        tls: TlsFiles | None = None,
        binary: str | None = None,
    ) -> None:
        super().__init__(state_dir, port)
        self.auth_enabled = auth_enabled
        self.tls = tls
        self.binary = binary or shutil.which("influxd") or "/usr/bin/influxd"

    def command(self, port: int) -> list[str]:
        if not Path(self.binary).exists():
            raise ServerError(
                f"influxd not found at {self.binary}: install Debian's package "
                "(`apt-get install -y influxdb`), or run `make setup`"
            )
        return [self.binary, "run", "-config", str(self.state_dir / "influxdb.conf")]

    def url_for(self, port: int) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{LOOPBACK}:{port}"

    def is_ready(self, url: str) -> bool:
        context = None
        if url.startswith("https"):
            import ssl

            context = ssl._create_unverified_context()  # readiness only; clients verify
        return _http_status(f"{url}/ping", context=context) == 204

    def prepare(self, port: int) -> dict[str, str]:
        super().prepare(port)
        rpc_port = free_port()
        while rpc_port == port:  # the HTTP port, just released by its own probe
            rpc_port = free_port()
        https = ""
        if self.tls:
            https = (
                "  https-enabled = true\n"
                f'  https-certificate = "{self.tls.certificate}"\n'
                f'  https-private-key = "{self.tls.private_key}"\n'
            )
        config = f"""\
reporting-enabled = false
bind-address = "{LOOPBACK}:{rpc_port}"

[meta]
  dir = "{self.state_dir / "meta"}"
  retention-autocreate = true

[data]
  dir = "{self.state_dir / "data"}"
  wal-dir = "{self.state_dir / "wal"}"
  query-log-enabled = false
  cache-max-memory-size = "1g"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{LOOPBACK}:{port}"
  auth-enabled = {"true" if self.auth_enabled else "false"}
  log-enabled = false
  max-body-size = 0
{https}
[continuous_queries]
  log-enabled = false
"""
        (self.state_dir / "influxdb.conf").write_text(config)
        return {"rpc_port": str(rpc_port), "auth_enabled": str(self.auth_enabled).lower()}


class MotoServer(LocalServer):
    """moto's server mode: the local AWS endpoint (S3, Timestream, CloudWatch, SNS, ...), with
    the Timestream stand-in's UNLOAD of any staged window (``local/timestream_standin.py``)."""

    name = "moto"
    command_marker = "timestream_standin"

    def command(self, port: int) -> list[str]:
        module = "ons_pipeline.local.timestream_standin"
        return [sys.executable, "-m", module, "-H", LOOPBACK, "-p", str(port)]

    def is_ready(self, url: str) -> bool:
        return _http_status(f"{url}/moto-api/data.json") == 200


def default_state_dir() -> Path:
    """Where `ons-pipeline servers` keeps its servers: $ONS_STATE_DIR or ./.ons-pipeline."""
    return Path(os.environ.get("ONS_STATE_DIR", ".ons-pipeline")).resolve()


def local_servers(state_dir: Path | None = None) -> list[LocalServer]:
    base = state_dir or default_state_dir()
    return [InfluxServer(base), MotoServer(base)]


def local_endpoints(state_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``ONS_INFLUX_URL`` / ``ONS_AWS_ENDPOINT_URL`` of the local servers that run, for the ones
    ``env`` does not set (an endpoint chosen in the environment is never overridden)."""
    found: dict[str, str] = {}
    if not env.get("ONS_INFLUX_URL"):
        state, info = InfluxServer(state_dir).status()
        if state == "running" and info is not None:
            found["ONS_INFLUX_URL"] = info.url
    if not (env.get("ONS_AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL")):
        state, info = MotoServer(state_dir).status()
        if state == "running" and info is not None:
            found["ONS_AWS_ENDPOINT_URL"] = info.url
    return found
