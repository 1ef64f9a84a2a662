"""The settings of this process: the ``ONS_*`` environment, with the local servers' URLs filled in
when ``ons-pipeline servers start`` runs them and no endpoint is set.

The only place that joins production configuration (:mod:`ons_pipeline.lib.settings`) and the
local stand-ins (:mod:`ons_pipeline.local`), so the same commands work on a laptop and, with the
variables set, against real AWS and Timestream for InfluxDB.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ons_pipeline.lib.settings import Settings
from ons_pipeline.local.servers import local_endpoints


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """:meth:`Settings.from_env` of ``env`` (default ``os.environ``) over the running local
    servers' endpoints (an explicitly set variable always wins)."""
    source = dict(os.environ if env is None else env)
    state_dir = Path(source.get("ONS_STATE_DIR") or ".ons-pipeline").resolve()
    return Settings.from_env({**local_endpoints(state_dir, source), **source})
