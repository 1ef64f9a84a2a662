"""Request metrics of the query API: counted in memory on the request path (one lock, one dict
update), published to CloudWatch in batches by a background thread through
:class:`~ons_pipeline.lib.ops.monitoring.MetricsPublisher` — never a ``PutMetricData`` per
request.

Every minute with requests, for each endpoint (dimension ``Endpoint``, the route as
``"POST /v2/query"``) and for all endpoints together (no ``Endpoint`` dimension), both with
``Environment``:

- ``ApiRequests`` (Count) — requests answered;
- ``ApiLatencyMs`` (Milliseconds) — time to the last byte of the response, published as a
  distribution (``Values``/``Counts``, 3 significant digits) so CloudWatch computes percentiles;
- ``Api4xxErrors`` / ``Api5xxErrors`` (Count) — by the status the client received;
- ``ApiTimeouts`` (Count) — failed because InfluxDB or Bedrock did not answer in time (the
  internal 504; the legacy contract shows it as 500);
- ``ApiRejectedKeys`` (Count, 401), ``ApiRateLimited`` (Count, 429), ``ApiMalformedRequests``
  (Count: bodies that failed validation).

Counters are published as 0 in minutes with requests, so an error *rate* is always computable.
A failed publication keeps its data for the next one (at most ``max_periods`` minutes).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ons_pipeline.lib.ops.monitoring import Metric, MetricsPublisher

log = logging.getLogger(__name__)

UNMATCHED = "unmatched"  # requests no route matched (404/405): one label, whatever the path
COUNTERS = (
    "Api4xxErrors",
    "Api5xxErrors",
    "ApiTimeouts",
    "ApiRejectedKeys",
    "ApiRateLimited",
    "ApiMalformedRequests",
)


def quantize_ms(ms: float) -> float:
    """``ms`` to 3 significant digits (≤ 0.5 % off): few distinct values per minute."""
    return float(f"{ms:.3g}") if ms > 0 else 0.0


@dataclass(frozen=True)
class RequestOutcome:
    """What one request did, as the metrics count it."""

    endpoint: str
    status: int
    latency_ms: float
    timeout: bool = False
    malformed: bool = False

    def counters(self) -> list[str]:
        out = []
        if 400 <= self.status < 500:
            out.append("Api4xxErrors")
        if self.status >= 500:
            out.append("Api5xxErrors")
        if self.timeout:
            out.append("ApiTimeouts")
        if self.status == 401:
            out.append("ApiRejectedKeys")
        if self.status == 429:
            out.append("ApiRateLimited")
        if self.malformed:
            out.append("ApiMalformedRequests")
        return out


@dataclass
class _Cell:
    requests: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    latencies: Counter[float] = field(default_factory=Counter)

    def merge(self, other: _Cell) -> None:
        self.requests += other.requests
        self.counters.update(other.counters)
        self.latencies.update(other.latencies)


_Key = tuple[int, str]  # (start of the minute, epoch s; endpoint)


class RequestMetrics:
    """Thread-safe per-minute, per-endpoint aggregates of :class:`RequestOutcome`."""

    def __init__(
        self,
        period_s: int = 60,
        max_periods: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.period_s = period_s
        self.max_periods = max_periods
        self.clock = clock
        self._cells: dict[_Key, _Cell] = {}
        self._lock = threading.Lock()
        self.dropped = 0  # cells dropped after failed publications (oldest first)

    def record(self, outcome: RequestOutcome) -> None:
        start = int(self.clock() // self.period_s * self.period_s)
        with self._lock:
            cell = self._cells.get((start, outcome.endpoint))
            if cell is None:
                cell = self._cells[(start, outcome.endpoint)] = _Cell()
            cell.requests += 1
            cell.counters.update(outcome.counters())
            cell.latencies[quantize_ms(outcome.latency_ms)] += 1

    def take(self) -> dict[_Key, _Cell]:
        """Everything recorded so far; the recorder starts empty."""
        with self._lock:
            cells, self._cells = self._cells, {}
        return cells

    def put_back(self, cells: dict[_Key, _Cell]) -> None:
        """Return cells whose publication failed; keep only the newest ``max_periods`` minutes."""
        with self._lock:
            for key, cell in cells.items():
                mine = self._cells.get(key)
                if mine is None:
                    self._cells[key] = cell
                else:
                    mine.merge(cell)
            periods = sorted({start for start, _ in self._cells}, reverse=True)
            if len(periods) > self.max_periods:
                cutoff = periods[self.max_periods - 1]
                old = [key for key in self._cells if key[0] < cutoff]
                for key in old:
                    del self._cells[key]
                self.dropped += len(old)

    @staticmethod
    def to_metrics(cells: dict[_Key, _Cell]) -> list[Metric]:
        """CloudWatch data of ``cells``: per endpoint, and per minute over all endpoints."""
        totals: dict[int, _Cell] = {}
        for (start, _), cell in cells.items():
            totals.setdefault(start, _Cell()).merge(cell)
        keyed: list[tuple[int, tuple[tuple[str, str], ...], _Cell]] = [
            (start, (("Endpoint", endpoint),), cell)
            for (start, endpoint), cell in sorted(cells.items())
        ]
        keyed += [(start, (), cell) for start, cell in sorted(totals.items())]
        out: list[Metric] = []
        for start, dims, cell in keyed:
            moment = datetime.fromtimestamp(start, UTC)
            out.append(Metric("ApiRequests", float(cell.requests), "Count", moment, dims))
            for name in COUNTERS:
                out.append(Metric(name, float(cell.counters[name]), "Count", moment, dims))
            values = sorted(cell.latencies)
            out.append(
                Metric(
                    "ApiLatencyMs",
                    0.0,
                    "Milliseconds",
                    moment,
                    dims,
                    values=tuple(values),
                    counts=tuple(float(cell.latencies[v]) for v in values),
                )
            )
        return out


class MetricsFlusher:
    """Publishes a :class:`RequestMetrics` every ``interval_s`` from a daemon thread, and once
    more at :meth:`stop`. The publisher (a boto3 client) is made on first use, in that thread;
    failures are logged, never raised, and the data is kept for the next attempt."""

    def __init__(
        self,
        metrics: RequestMetrics,
        publisher: Callable[[], MetricsPublisher],
        interval_s: float = 60.0,
    ) -> None:
        self.metrics = metrics
        self._make_publisher = publisher
        self._publisher: MetricsPublisher | None = None
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self.published = 0  # data sent (PutMetricData datums)
        self.failures = 0

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="api-metrics", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self) -> int:
        """Publish what was recorded; returns the number of data sent (0 on failure)."""
        with self._flush_lock:
            cells = self.metrics.take()
            if not cells:
                return 0
            try:
                if self._publisher is None:
                    self._publisher = self._make_publisher()
                sent = self._publisher.publish(RequestMetrics.to_metrics(cells))
            except Exception as exc:  # a metrics outage must not touch the requests
                self.failures += 1
                self.metrics.put_back(cells)
                log.warning(
                    "API metrics not published (kept for the next attempt): %s: %s",
                    type(exc).__name__,
                    exc,
                )
                return 0
            self.published += sent
            return sent

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and publish what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.flush()
