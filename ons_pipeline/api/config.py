"""Configuration of the query API from environment variables (local defaults).

- ``ONS_API_KEY``: the API key of the protected routes (legacy ``/query``, ``/v1/query`` and the
  ``/v2`` data routes), sent as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``. Unset:
  those routes answer 401 (fail closed); ``ons-pipeline serve`` on loopback generates one.
- ``ONS_API_CACHE_TTL`` (s, default 300; 0 disables), ``ONS_API_CACHE_SIZE`` (default 512)
- ``ONS_API_QUERY_TIMEOUT`` (s, default 30): per InfluxDB request; a timeout answers 504
- ``ONS_API_MAX_ROWS`` (default 10000): rows returned per response (``truncated`` says if cut)
- ``ONS_API_TIMEZONE`` (default ``America/Sao_Paulo``): zone of relative periods in questions
- ``ONS_RAG_CACHE_DIR`` (default ``$ONS_STATE_DIR/rag``): cached knowledge-base embeddings
- ``ONS_RAG_EMBEDDER``: ``minilm`` (default, all-MiniLM-L6-v2 offline) or ``hashing``
- InfluxDB: the ``ONS_INFLUX_*`` variables (``InfluxConfig.from_env``), falling back to the local
  server started by ``ons-pipeline servers start`` (``Settings.from_env``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ons_pipeline.environment import load_settings
from ons_pipeline.lib.influx.client import InfluxConfig
from ons_pipeline.lib.query.model import zone_info


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


@dataclass(frozen=True)
class ApiSettings:
    influx: InfluxConfig = field(default_factory=InfluxConfig)
    api_key: str | None = field(default=None, repr=False)
    cache_ttl_s: float = 300.0
    cache_max_entries: int = 512
    query_timeout_s: float = 30.0
    max_rows: int = 10_000
    timezone: str = "America/Sao_Paulo"
    rag_cache_dir: Path | None = None

    def __post_init__(self) -> None:
        zone_info(self.timezone)
        if self.query_timeout_s <= 0 or self.max_rows < 1 or self.cache_ttl_s < 0:
            raise ValueError("query timeout and max rows must be positive, cache TTL >= 0")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        settings = load_settings(env)
        api = settings.api
        return cls(
            influx=settings.influx.config(),
            api_key=api.api_key,
            cache_ttl_s=api.cache_ttl_s,
            cache_max_entries=api.cache_max_entries,
            query_timeout_s=api.query_timeout_s,
            max_rows=api.max_rows,
            timezone=api.timezone,
            rag_cache_dir=api.rag_cache_dir,
        )
