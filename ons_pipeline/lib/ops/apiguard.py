"""The query API's guards that are not HTTP: API key fingerprints for logs, and a token-bucket
rate limiter per key.

**Fingerprints.** A key never appears in a log, not even a prefix: events carry
``HMAC-SHA256(secret, key)`` cut to 12 hex digits. With the server's configured key as the
secret, the same presented key gives the same fingerprint on every task (so events correlate
across tasks) while nobody without the server's key can test a guess against the logs.

**Rate limit.** One bucket of ``burst`` tokens per key, refilled at ``rate`` tokens a second; a
request takes one token or is refused with the wait until the next token. The buckets live in
the process: behind a load balancer with N tasks a key gets up to N × ``rate`` overall.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

FINGERPRINT_HEX = 12


def key_fingerprint(key: str, secret: bytes) -> str:
    """A short keyed hash of ``key``: safe to log, stable for one ``secret``."""
    digest = hmac.new(secret, key.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:FINGERPRINT_HEX]


@dataclass
class TokenBucket:
    """``burst`` tokens at most, ``rate`` added a second (time in seconds, monotonic)."""

    rate: float
    burst: int
    tokens: float
    updated: float
    refused: int = 0  # refusals since the last one reported (see RateLimiter.check)
    reported: float = -math.inf  # when a refusal was last reported

    def take(self, now: float) -> float:
        """0.0 and one token taken, or the seconds until a token is available."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass(frozen=True)
class Decision:
    """A rate-limit answer. ``report`` is set on the first refusal of a key in
    ``report_every`` seconds, with ``refused`` refusals since the last report (log that, not
    every refusal: a runaway client would flood the logs)."""

    allowed: bool
    retry_after_s: float = 0.0
    report: bool = False
    refused: int = 0

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` in whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after_s)))


class RateLimiter:
    """Token buckets by key id (a fingerprint), thread-safe; ``rate`` 0 allows everything.
    At most ``max_keys`` buckets: beyond, full (idle) buckets are forgotten first."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 10_000,
        report_every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 0 or burst < 1:
            raise ValueError("rate must be >= 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.report_every = report_every
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def check(self, key_id: str) -> Decision:
        if not self.enabled:
            return Decision(True)
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._forget_idle(now)
                bucket = self._buckets[key_id] = TokenBucket(
                    self.rate, self.burst, float(self.burst), now
                )
            wait = bucket.take(now)
            if wait == 0.0:
                return Decision(True)
            bucket.refused += 1
            if now - bucket.reported < self.report_every:
                return Decision(False, wait)
            refused, bucket.refused, bucket.reported = bucket.refused, 0, now
            return Decision(False, wait, report=True, refused=refused)

    def _forget_idle(self, now: float) -> None:
        for key in [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.burst
        ]:
            del self._buckets[key]
        while len(self._buckets) >= self.max_keys:  # all busy: the least recently used goes
            del self._buckets[min(self._buckets, key=lambda k: self._buckets[k].updated)]


class EventThrottle:
    """At most one report per key in ``window_s``; the events in between are counted and told
    with the next report (a client sending wrong keys cannot write log lines at request rate).
    At most ``max_keys`` keys are remembered: past that, the oldest windows are forgotten."""

    def __init__(
        self,
        window_s: float = 10.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[object, tuple[float, int]] = {}

    def check(self, key: object) -> int | None:
        """``None``: inside the key's window (counted); else a report is due, and this is how
        many events of the key went unreported since the last one."""
        now = self._clock()
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last[0] < self.window_s:
                self._seen[key] = (last[0], last[1] + 1)
                return None
            if last is None and len(self._seen) >= self.max_keys:
                cutoff = now - self.window_s
                self._seen = {k: v for k, v in self._seen.items() if v[0] >= cutoff}
                if len(self._seen) >= self.max_keys:
                    self._seen.clear()
            self._seen[key] = (now, 0)
            return last[1] if last is not None else 0
