"""A small thread-safe TTL + LRU cache for query results."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def cache_key(payload: dict[str, Any]) -> str:
    """SHA-256 of the payload as sorted, compact JSON (the normalised query)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    entries: int
    hits: int
    misses: int
    ttl_s: float
    max_entries: int


class TTLCache:
    """Entries expire ``ttl_s`` seconds after they were stored; the least recently used entry is
    evicted beyond ``max_entries``. ``ttl_s = 0`` disables caching."""

    def __init__(
        self,
        ttl_s: float = 300.0,
        max_entries: int = 512,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < 0 or max_entries < 1:
            raise ValueError("ttl_s >= 0 and max_entries >= 1")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[Any, float] | None:
        """``(value, age_s)`` of a live entry, else None."""
        with self._lock:
            item = self._data.get(key)
            now = self._clock()
            if item is None or now - item[0] >= self.ttl_s:
                if item is not None:
                    del self._data[key]
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[1], now - item[0]

    def put(self, key: str, value: Any) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._data[key] = (self._clock(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(len(self._data), self.hits, self.misses, self.ttl_s, self.max_entries)
