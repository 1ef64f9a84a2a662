"""A local PostgreSQL (Debian's ``postgresql`` package) on loopback, for Dagster's storage tests.

PostgreSQL refuses to run as root. When this process is root the cluster is created and run as
the ``postgres`` user (``setpriv`` switches user and then *execs*, so the recorded PID is the
postmaster's own): ``initdb`` into a data directory owned by ``postgres`` (under the system temp
directory, because pytest's temp tree is private to root), then the postmaster in the foreground
on a free loopback port. ``stop`` sends SIGINT (PostgreSQL's "fast" shutdown: it does not wait
for pooled client connections to close) and removes that data directory.

Host connections need a password (``scram-sha-256``); with ``ssl=True`` the server also speaks
TLS with a self-signed certificate, so clients can use ``sslmode=require`` as in production.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ons_pipeline.local.servers import (
    LOOPBACK,
    LocalServer,
    ServerError,
    ServerInfo,
    _pid_alive,
    _reap,
)

SUPERUSER = "postgres"


def find_pg_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` with ``initdb`` and ``postgres``, or None.
    ``ONS_PG_BINDIR`` overrides."""
    override = os.environ.get("ONS_PG_BINDIR")
    candidates = [override] if override else []
    found = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(found, key=lambda p: int(Path(p).parent.name), reverse=True)
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "postgres").exists():
            return path
    return None


class PostgresServer(LocalServer):
    """``postgres`` in the foreground with its own cluster; superuser ``postgres``/``password``."""

    name = "postgres"
    command_marker = "postgres"

    def __init__(
        self,
        state_dir: Path | str,
        port: int | None = None,
        *,
        password: str,
        ssl: bool = False,
        bindir: Path | str | None = None,
        run_as: str | None = None,
    ) -> None:
        super().__init__(state_dir, port)
        found = Path(bindir) if bindir else find_pg_bindir()
        self.bindir = found
        self.password = password
        self.ssl = ssl
        self.run_as = run_as if run_as is not None else (SUPERUSER if os.geteuid() == 0 else "")
        self.data_dir: Path | None = None

    # -- helpers ------------------------------------------------------------------------------
    def _binary(self, name: str) -> str:
        if self.bindir is None or not (self.bindir / name).exists():
            raise ServerError(
                "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: install Debian's "
                "package (`apt-get install -y postgresql`) or set ONS_PG_BINDIR"
            )
        return str(self.bindir / name)

    def _as_owner(self, argv: list[str]) -> list[str]:
        if not self.run_as:
            return argv
        return [
            "setpriv",
            f"--reuid={self.run_as}",
            f"--regid={self.run_as}",
            "--init-groups",
            *argv,
        ]

    def _chown(self, path: Path) -> None:
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _make_certificate(self, data_dir: Path) -> None:
        cert, key = data_dir / "server.crt", data_dir / "server.key"
        subprocess.run(
            [
                *["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"],
                *["-subj", f"/CN={LOOPBACK}", "-addext", f"subjectAltName=IP:{LOOPBACK}"],
                *["-keyout", str(key), "-out", str(cert)],
            ],
            check=True,
            capture_output=True,
        )
        for path in (cert, key):
            path.chmod(0o600)
            self._chown(path)

    # -- LocalServer --------------------------------------------------------------------------
    def url_for(self, port: int) -> str:
        return f"postgresql://{LOOPBACK}:{port}"

    def is_ready(self, url: str) -> bool:
        port = url.rsplit(":", 1)[-1]
        try:
            result = subprocess.run(
                [self._binary("pg_isready"), "-h", LOOPBACK, "-p", port, "-t", "1"],
                capture_output=True,
                timeout=5,
            )
        except (OSError, subprocess.TimeoutExpired, ServerError):
            return False
        return result.returncode == 0

    def prepare(self, port: int) -> dict[str, str]:
        super().prepare(port)
        if self.run_as:
            # The postgres user cannot enter root's private pytest/state tree: the cluster lives
            # in a directory of its own under the system temp directory.
            data_dir = Path(tempfile.mkdtemp(prefix="ons-pg-"))
        else:
            data_dir = self.state_dir / "data"
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
        data_dir.chmod(0o700)
        self._chown(data_dir)
        self.data_dir = data_dir
        pwfile = data_dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        cluster = data_dir / "cluster"
        result = subprocess.run(
            self._as_owner(
                [
                    self._binary("initdb"),
                    "-D",
                    str(cluster),
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ServerError(f"initdb failed ({result.returncode}):\n{result.stderr[-2000:]}")
        if self.ssl:
            self._make_certificate(cluster)
        return {"data_dir": str(data_dir), "cluster": str(cluster), "ssl": str(self.ssl).lower()}

    def command(self, port: int) -> list[str]:
        if self.data_dir is None:
            raise ServerError("prepare() must run before command()")
        cluster = self.data_dir / "cluster"
        argv = [
            self._binary("postgres"),
            "-D",
            str(cluster),
            "-p",
            str(port),
            "-k",
            str(self.data_dir),
            "-c",
            f"listen_addresses={LOOPBACK}",
            "-c",
            "fsync=off",  # test cluster: durability is not the point, speed is
            "-c",
            "full_page_writes=off",
        ]
        if self.ssl:
            argv += ["-c", "ssl=on"]
        return self._as_owner(argv)

    def stop(self, timeout: float = 15.0) -> bool:
        """Fast shutdown (SIGINT) by PID, then remove the cluster's directory."""
        state, info = self.status()
        if info is None:
            return False
        self.info_file.unlink(missing_ok=True)
        stopped = False
        if state != "stale":
            stopped = _stop_pid(info, signal.SIGINT, self.command_marker, timeout)
        data_dir = info.extra.get("data_dir")
        if data_dir and Path(data_dir).name.startswith(("ons-pg-", "data")):
            shutil.rmtree(data_dir, ignore_errors=True)
        return stopped

    def dsn(self, database: str = "postgres", user: str = SUPERUSER) -> dict[str, str]:
        """Connection keywords (psycopg2 / libpq) for the running server."""
        info = self.read_info()
        if info is None:
            raise ServerError("the PostgreSQL server is not running")
        return {
            "host": LOOPBACK,
            "port": str(info.port),
            "dbname": database,
            "user": user,
            "password": self.password,
        }


def _stop_pid(info: ServerInfo, sig: signal.Signals, marker: str, timeout: float) -> bool:
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(info.pid)
        if not _pid_alive(info.pid, marker):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGKILL)
    _reap(info.pid)
    return True
