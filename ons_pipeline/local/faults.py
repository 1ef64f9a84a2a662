"""Fault injectors for the reliability tests and ``benchmarks/faults.py``.

* :class:`FaultProxy` — an HTTP-aware TCP proxy on loopback in front of a local server (InfluxDB,
  the moto endpoint). The pipeline talks to the proxy; hooks see every request (method, path,
  headers, body, the client's port) before it is forwarded and may answer it themselves, reset
  the connection, or let it pass. :meth:`FaultProxy.cut` makes the endpoint unreachable (every
  connection reset) until :meth:`FaultProxy.restore`. :class:`Trigger` runs an action once, at the
  n-th request that matches: the way a fault lands "mid-export" or "mid-load" at a chosen point.
* Processes, by PID only: the descendants of a process (``/proc``), the process that owns the
  client end of a proxied connection (the run worker that sent a request), ``kill -9``,
  ``SIGSTOP``/``SIGCONT`` (an endpoint that hangs, then recovers).
* :class:`InfluxOutage` — stop the local InfluxDB by its PID (``SIGTERM``, or ``SIGKILL`` for a
  crash) and start it again on the same port with the same data directory.
* The independent check that judges a trial: every point of a table-day read from InfluxDB's
  own API and compared with the source points (:func:`compare`: lost, different, extra), not
  through the pipeline's verification.

The injectors know nothing of the pipeline: tests and the benchmark combine them.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import struct
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib.ons_time import day_window, format_local
from ons_pipeline.lib.schema import TIME_COLUMN, TableSpec
from ons_pipeline.lib.schema import table as schema_table
from ons_pipeline.local.servers import LOOPBACK, InfluxServer, ServerError

_HEAD_LIMIT = 1 << 20


@dataclass(frozen=True)
class Request:
    """One HTTP request as the proxy saw it (``body`` is empty when it was streamed through,
    i.e. sent with ``Expect: 100-continue``)."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    client_port: int  # the client's source port: see :func:`socket_owner`

    @property
    def amz_target(self) -> str:
        return self.headers.get("x-amz-target", "")

    def timestream_sql(self) -> str | None:
        """The ``QueryString`` of a Timestream ``Query`` call, else ``None``."""
        if not self.amz_target.endswith(".Query") or not self.body:
            return None
        try:
            return str(json.loads(self.body)["QueryString"])
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Reply:
    """Answer the request from the proxy (the upstream never sees it); the connection closes."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain"

    def encode(self) -> bytes:
        head = (
            f"HTTP/1.1 {self.status} Fault\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + self.body


RESET = "reset"  # close the client's connection abruptly (TCP RST), nothing forwarded
Action = Reply | str | None  # None: let the request through
Hook = Callable[[Request], Action]


def s3_error(status: int, code: str, message: str) -> Reply:
    """An S3-style XML error answer (e.g. ``403 AccessDenied``)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()
    return Reply(status, body, "application/xml")


def influx_write(request: Request) -> bool:
    return request.method == "POST" and request.path.startswith("/write")


def s3_write_under(bucket: str, prefix: str) -> Callable[[Request], bool]:
    """Writes (PUT/POST, path-style addressing) of keys under ``bucket/prefix``."""
    start = f"/{bucket}/{prefix.strip('/')}/"
    return lambda r: r.method in ("PUT", "POST") and r.path.startswith(start)


def any_request(request: Request) -> bool:
    return True


class NotYet(Exception):
    """Raised by a trigger's action to let this request pass and fire at the next match."""


class Trigger:
    """Calls ``fire(request)`` once, at the ``nth`` request matching ``predicate`` (or the first
    after it when ``fire`` raises :class:`NotYet`); its result is the request's action. ``fired``
    is set when it has run (``at`` = the monotonic time, ``error`` what it raised)."""

    def __init__(
        self, predicate: Callable[[Request], bool], nth: int, fire: Callable[[Request], Action]
    ) -> None:
        if nth < 1:
            raise ValueError("nth counts from 1")
        self.predicate, self.nth, self.fire = predicate, nth, fire
        self.seen = 0
        self.fired = threading.Event()
        self.at: float | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Action:
        with self._lock:
            if self.fired.is_set() or not self.predicate(request):
                return None
            self.seen += 1
            if self.seen < self.nth:
                return None
            try:
                action = self.fire(request)
            except NotYet:
                return None
            except BaseException as exc:  # reported to the caller, never kills the proxy
                self.at = time.monotonic()
                self.error = exc
                self.fired.set()
                return None
            self.at = time.monotonic()
            self.fired.set()
            return action


@dataclass(eq=False)
class _Link:
    client: socket.socket
    upstream: socket.socket | None = None
    closed: bool = False


@dataclass
class ProxyStats:
    requests: Counter[str] = field(default_factory=Counter)  # "METHOD first-path-segment"
    timestream_sql: Counter[str] = field(default_factory=Counter)  # forwarded Query strings
    reset: int = 0
    replied: int = 0


class FaultProxy:
    """A proxy on ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream_port>`` (HTTP/1.1, keep-alive).

    Requests are read whole (head and body, ``Content-Length`` or chunked) before the hooks
    decide, except bodies announced with ``Expect: 100-continue``, which are streamed after the
    decision. Answers flow back untouched.
    """

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, port))
        self._listener.listen(256)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.stats = ProxyStats()
        self._hooks: list[Hook] = []
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- control ------------------------------------------------------------------------------
    def add(self, hook: Hook) -> Hook:
        with self._lock:
            self._hooks.append(hook)
        return hook

    def remove(self, hook: Hook) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._hooks.remove(hook)

    def clear(self) -> None:
        with self._lock:
            self._hooks.clear()

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        """The endpoint becomes unreachable: open connections are reset, new ones too."""
        with self._lock:
            self._cut = True
            links = list(self._links)
        for link in links:
            self._drop(link, reset=True)

    def restore(self) -> None:
        self._cut = False

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            self._drop(link, reset=False)

    # -- plumbing -----------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                client, address = self._listener.accept()
            except OSError:
                return
            if self._cut:
                _reset(client)
                self.stats.reset += 1
                continue
            link = _Link(client)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._serve, args=(link, int(address[1])), daemon=True).start()

    def _decide(self, request: Request) -> Action:
        if self._cut:
            return RESET
        with self._lock:
            hooks = list(self._hooks)
        action: Action = None
        for hook in hooks:  # every hook sees every request (triggers count)
            outcome = hook(request)
            if action is None:
                action = outcome
        if self._cut:  # a hook may have cut the endpoint
            return RESET
        return action

    def _serve(self, link: _Link, client_port: int) -> None:
        reader = _Reader(link.client)
        try:
            while not link.closed:
                head = reader.head()
                if head is None:
                    return
                method, path, headers = _parse_head(head)
                streamed = headers.get("expect", "").lower() == "100-continue"
                body = b"" if streamed else reader.body(headers)
                request = Request(method, path, headers, body, client_port)
                action = self._decide(request)
                if action == RESET:
                    self.stats.reset += 1
                    self._drop(link, reset=True)
                    return
                if isinstance(action, Reply):
                    self.stats.replied += 1
                    with contextlib.suppress(OSError):
                        link.client.sendall(action.encode())
                    self._drop(link, reset=False)
                    return
                if link.upstream is None:
                    try:
                        link.upstream = socket.create_connection(
                            (LOOPBACK, self.upstream_port), timeout=5
                        )
                        link.upstream.settimeout(None)
                    except OSError:  # the server is down: the client sees a reset
                        self.stats.reset += 1
                        self._drop(link, reset=True)
                        return
                    threading.Thread(target=self._pump_back, args=(link,), daemon=True).start()
                self.stats.requests[f"{method} /{path.split('?')[0].split('/')[1]}"] += 1
                sql = request.timestream_sql()
                if sql is not None:
                    self.stats.timestream_sql[sql] += 1
                link.upstream.sendall(head + body)
                if streamed:
                    for chunk in reader.stream_body(headers):
                        link.upstream.sendall(chunk)
        except (OSError, ValueError):
            self._drop(link, reset=True)
        finally:
            self._drop(link, reset=False)

    def _pump_back(self, link: _Link) -> None:
        """Answers back to the client. The server closing the connection closes the client's
        once the answer is through; a server reset (or a dropped link) resets it."""
        upstream = link.upstream
        assert upstream is not None
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                link.client.sendall(data)
        except OSError:
            self._drop(link, reset=True)
            return
        self._drop(link, reset=False)

    def _drop(self, link: _Link, *, reset: bool) -> None:
        if link.closed:
            return
        link.closed = True
        if reset:
            _reset(link.client)
        else:
            with contextlib.suppress(OSError):
                link.client.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                link.client.close()
        if link.upstream is not None:
            with contextlib.suppress(OSError):
                link.upstream.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                link.upstream.close()
        self._forget(link)

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)


def _reset(sock: socket.socket) -> None:
    """Abort the connection (RST). Shutting down reads first wakes a thread blocked reading the
    socket: closing alone would leave the socket open while that read waits."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


class _Reader:
    """Buffered reads of HTTP requests from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buffer += data
        return True

    def head(self) -> bytes | None:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > _HEAD_LIMIT:
                raise ValueError("request head too large")
            if not self._more():
                return None
        end = self.buffer.index(b"\r\n\r\n") + 4
        head, self.buffer = self.buffer[:end], self.buffer[end:]
        return head

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._more():
                raise ValueError("connection closed inside a request body")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._more():
                raise ValueError("connection closed inside a chunked body")
        end = self.buffer.index(b"\r\n") + 2
        data, self.buffer = self.buffer[:end], self.buffer[end:]
        return data

    def body(self, headers: dict[str, str]) -> bytes:
        return b"".join(self.stream_body(headers))

    def stream_body(self, headers: dict[str, str]) -> Iterator[bytes]:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = self.line()
                yield size_line
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:  # trailers, up to the empty line
                        trailer = self.line()
                        yield trailer
                        if trailer == b"\r\n":
                            return
                yield self.exactly(size + 2)
        left = int(headers.get("content-length", "0") or 0)
        while left > 0:
            if not self.buffer and not self._more():
                raise ValueError("connection closed inside a request body")
            data, self.buffer = self.buffer[:left], self.buffer[left:]
            left -= len(data)
            yield data


# -- processes, by PID ------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    """pid → parent pid of every process visible in /proc."""
    out: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # comm may hold spaces and parentheses: the fields after it follow the last ')'
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children first, then theirs)."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        current = todo.pop(0)
        found.append(current)
        todo += children.get(current, [])
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def socket_owner(local_port: int, remote_port: int, among: Iterable[int]) -> int | None:
    """The process among ``among`` holding the loopback TCP socket ``local_port → remote_port``
    (e.g. the run worker that opened a connection to a proxy)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            parts = row.split()
            local, remote, inode = parts[1], parts[2], parts[9]
            if (
                int(local.rsplit(":", 1)[1], 16) == local_port
                and int(remote.rsplit(":", 1)[1], 16) == remote_port
            ):
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for pid in among:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(fd) in inodes:
                    return pid
    return None


def kill9(pid: int) -> bool:
    """``kill -9 pid``; False when it was already gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """``SIGSTOP`` for the block, then ``SIGCONT``: a server that hangs, then recovers."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def later(seconds: float, action: Callable[[], object]) -> threading.Thread:
    """Run ``action`` in a thread after ``seconds`` (join the thread to wait for it)."""

    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


class InfluxOutage:
    """Stop the local InfluxDB (state directory ``state_dir``) by its PID and start it again on
    the same port, with the same data, WAL and meta directories."""

    def __init__(self, state_dir: Path | str) -> None:
        self.state_dir = Path(state_dir)
        info = InfluxServer(self.state_dir).read_info()
        if info is None:
            raise ServerError(f"no InfluxDB recorded under {self.state_dir}")
        self.port = info.port
        self.stops = 0

    @property
    def server(self) -> InfluxServer:
        return InfluxServer(self.state_dir, port=self.port)

    def stop(self, *, crash: bool = False) -> int:
        """``SIGTERM`` (``crash``: ``SIGKILL``) the server and wait until it is gone; its PID."""
        server = self.server
        info = server.read_info()
        if info is None:
            raise ServerError("InfluxDB is not running")
        if crash:
            kill9(info.pid)
            if not wait_gone(info.pid):
                raise ServerError(f"influxd {info.pid} survived SIGKILL")
            server.info_file.unlink(missing_ok=True)
        else:
            server.stop()
        self.stops += 1
        return info.pid

    def start(self) -> None:
        self.server.start()


def sender(request: Request, proxy: FaultProxy, root: int) -> int | None:
    """The descendant of ``root`` that sent ``request`` through ``proxy`` (``None``: another
    process, or the connection is already gone)."""
    return socket_owner(request.client_port, proxy.port, descendants(root))


# -- the independent check: every point, straight from InfluxDB, against the source -----------

Key = tuple[tuple[Any, ...], int]  # (tag values, time ns)
Points = dict[Key, dict[str, Any]]


def as_points(table: pa.Table, spec: TableSpec) -> Points:
    """Canonical rows → points (a row without any field is not a point)."""
    times = pc.cast(pc.cast(table.column(TIME_COLUMN), pa.timestamp("ns")), pa.int64())
    tags = [table.column(t).to_pylist() for t in spec.tags]
    values = {f: table.column(f).to_pylist() for f in spec.field_names}
    out: Points = {}
    for i, moment in enumerate(times.to_pylist()):
        fields = {f: v[i] for f, v in values.items() if v[i] is not None}
        if fields:
            out[(tuple(c[i] for c in tags), moment)] = fields
    return out


def source_points(table: str, day: date, seed: int = 0) -> Points:
    """The generated UTC day (what the local Timestream stand-in serves for it) as points."""
    from ons_pipeline.local.generator import generate_canonical

    window = day_window(day)
    spec = schema_table(table)
    out: Points = {}
    for chunk in generate_canonical(table, window.start, window.end, seed=seed):
        out.update(as_points(chunk, spec))
    return out


def influx_points(url: str, database: str, table: str, day: date) -> Points:
    """Every point of ``table``'s measurement in the UTC day, read from InfluxDB's own API."""
    spec = schema_table(table)
    window = day_window(day)
    query = (
        f'SELECT * FROM "{spec.measurement}" WHERE time >= {window.start_ns} '
        f"AND time < {window.end_ns}"
    )
    params = {"db": database, "q": query, "epoch": "ns", "chunked": "true", "chunk_size": "20000"}
    request = urllib.request.Request(f"{url}/query?{urllib.parse.urlencode(params)}")
    out: Points = {}
    with urllib.request.urlopen(request, timeout=120) as response:
        for line in response:
            if not line.strip():
                continue
            for result in json.loads(line).get("results", []):
                if "error" in result:
                    raise RuntimeError(f"InfluxDB: {result['error']}")
                for series in result.get("series", []):
                    index = {c: i for i, c in enumerate(series["columns"])}
                    for row in series["values"]:
                        tags = tuple(row[index[t]] if t in index else None for t in spec.tags)
                        out[(tags, int(row[0]))] = {
                            f: row[index[f]]
                            for f in spec.field_names
                            if f in index and row[index[f]] is not None
                        }
    return out


@dataclass
class Counts:
    """A comparison of stored points with the source."""

    points: int = 0  # source points compared
    lost: int = 0  # missing, or missing a field
    differs: int = 0  # present with another value (a second, different write of series+time)
    extra: int = 0  # stored, not in the source

    @property
    def clean(self) -> bool:
        return not (self.lost or self.differs or self.extra)

    def add(self, other: Counts) -> None:
        self.points += other.points
        self.lost += other.lost
        self.differs += other.differs
        self.extra += other.extra

    def __str__(self) -> str:
        return (
            f"{self.points:,} source points: lost {self.lost}, differ {self.differs}, "
            f"extra {self.extra}"
        )


def compare(source: Points, stored: Points) -> Counts:
    counts = Counts(points=len(source))
    for key, fields in source.items():
        found = stored.get(key)
        if found is None or any(f not in found for f in fields):
            counts.lost += 1
        elif found != fields:
            counts.differs += 1
    counts.extra = sum(1 for key in stored if key not in source)
    return counts


# -- a partial correction file ----------------------------------------------------------------


def correction_csv(
    table: str, source: Points, keys: list[Key], rng: random.Random
) -> tuple[bytes, Points]:
    """A partial correction: an ONS file (``;`` CSV, local Brasília time) holding only the
    points ``keys`` of ``source``, every value changed; and those points as the file makes them
    (what InfluxDB must hold for them once it is ingested — the rest of the day unchanged)."""
    from ons_pipeline.local.generator.raw_files import raw_columns

    spec = schema_table(table)
    columns = raw_columns(table)
    lines = [";".join(columns)]
    corrected: Points = {}
    for key in keys:
        tags, moment = key
        label = format_local(pa.array([moment], pa.timestamp("ns")))[0].as_py()
        values: dict[str, str] = {}
        for name, value in source[key].items():
            values[name] = f"{value + rng.randint(1, 5000) / 100:.8f}"
        row = {**dict(zip(spec.tags, tags, strict=True)), spec.raw_time_column: label, **values}
        lines.append(";".join(str(row[c]) for c in columns))
        corrected[key] = {name: float(text) for name, text in values.items()}
    return ("\n".join(lines) + "\n").encode(), corrected
