"""Check Flux with InfluxData's own Flux language server, without an InfluxDB 2.x server.

``fluxlsp/check.mjs`` runs npm's ``@influxdata/flux-lsp-browser`` (the Flux LSP compiled to
WebAssembly) under node and answers one JSON line per query with the LSP diagnostics: syntax
errors and semantic ones (undefined identifiers, unknown or missing arguments, wrong argument
types, bad imports). :class:`FluxChecker` keeps one node process for many checks (~1 ms each).

Install once: ``npm ci --prefix ons_pipeline/lib/query/fluxlsp`` (or :func:`install`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

FLUXLSP_DIR = Path(__file__).with_name("fluxlsp")
PACKAGE = "@influxdata/flux-lsp-browser"


class FluxCheckError(RuntimeError):
    """node, the npm package or the checker process is missing or failed."""


@dataclass(frozen=True)
class Diagnostic:
    """One LSP diagnostic; lines and characters are 0-based."""

    message: str
    line: int
    character: int
    end_line: int
    end_character: int
    severity: int = 1

    @classmethod
    def from_lsp(cls, data: dict[str, Any]) -> Diagnostic:
        rng = data.get("range", {})
        start, end = rng.get("start", {}), rng.get("end", {})
        return cls(
            message=str(data.get("message", "")),
            line=int(start.get("line", 0)),
            character=int(start.get("character", 0)),
            end_line=int(end.get("line", 0)),
            end_character=int(end.get("character", 0)),
            severity=int(data.get("severity", 1)),
        )

    def __str__(self) -> str:
        return f"{self.line + 1}:{self.character + 1}: {self.message}"


def node_binary() -> str | None:
    """Path of ``node`` (None when not installed)."""
    return shutil.which("node")


def is_installed(directory: Path = FLUXLSP_DIR) -> bool:
    return (directory / "node_modules" / PACKAGE / "flux-lsp-browser_bg.wasm").is_file()


def install(directory: Path = FLUXLSP_DIR, timeout: float = 300) -> None:
    """``npm ci`` (or ``npm install`` without a lockfile) in the checker's directory."""
    npm = shutil.which("npm")
    if npm is None:
        raise FluxCheckError("npm is not installed")
    command = "ci" if (directory / "package-lock.json").is_file() else "install"
    done = subprocess.run(
        [npm, command, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise FluxCheckError(f"npm {command} failed: {done.stderr.strip()[-2000:]}")


class FluxChecker:
    """A running Flux LSP (node); ``check(source)`` returns its diagnostics (empty = valid)."""

    def __init__(
        self, directory: Path = FLUXLSP_DIR, node: str | None = None, timeout: float = 30.0
    ) -> None:
        binary = node or node_binary()
        if binary is None:
            raise FluxCheckError("node is not installed (Flux checks need node >= 18)")
        if not is_installed(directory):
            raise FluxCheckError(f"{PACKAGE} is not installed: run `npm ci --prefix {directory}`")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._seq = 0
        self._proc = subprocess.Popen(
            [binary, str(directory / "check.mjs")],
            cwd=directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        first = self._read()
        if not first.get("ready"):
            self.close()
            raise FluxCheckError(f"the Flux LSP did not start: {first}")

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        result: dict[str, Any] = {}

        def reader() -> None:
            assert self._proc.stdout is not None
            while True:
                line = self._proc.stdout.readline()
                if not line:
                    result["fatal"] = "the checker process ended"
                    return
                try:
                    result.update(json.loads(line))
                    return
                except ValueError:
                    continue

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            self.close()
            raise FluxCheckError(f"the Flux LSP did not answer within {self.timeout} s")
        if "fatal" in result:
            raise FluxCheckError(f"the Flux LSP failed: {result['fatal']}")
        return result

    def check(self, source: str) -> list[Diagnostic]:
        """Diagnostics of a Flux program (syntax and semantics); empty when it is valid."""
        return [Diagnostic.from_lsp(d) for d in self._ask(source, False).get("diagnostics", [])]

    def ast(self, source: str) -> dict[str, Any]:
        """The AST of a Flux program as InfluxData's parser builds it (``File`` node)."""
        return dict(self._ask(source, True).get("ast") or {})

    def _ask(self, source: str, ast: bool) -> dict[str, Any]:
        with self._lock:
            if self._proc.poll() is not None or self._proc.stdin is None:
                raise FluxCheckError("the Flux LSP process is not running")
            self._seq += 1
            request = {"id": self._seq, "source": source, "ast": ast}
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            answer = self._read()
            if answer.get("id") != self._seq:
                raise FluxCheckError(f"unexpected answer from the Flux LSP: {answer}")
            if "error" in answer:
                raise FluxCheckError(f"the Flux LSP failed on a query: {answer['error']}")
            return answer

    def close(self) -> None:
        proc = self._proc
        if proc.poll() is None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> FluxChecker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
