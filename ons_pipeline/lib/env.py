"""Typed reads of environment variables, for the settings parsers."""

from __future__ import annotations

import math
from collections.abc import Mapping

from ons_pipeline.lib.aws import SettingsError


class Env:
    """Typed reads of one environment mapping; errors name the variable."""

    def __init__(self, source: Mapping[str, str]) -> None:
        self.source = source

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.source.get(name)
        return default if value is None or value.strip() == "" else value

    def number(self, name: str, default: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None
        if not math.isfinite(value):
            raise SettingsError(f"{name} must be finite, not {raw!r}")
        return value

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        value = int(self.number(name, default))
        return value if minimum is None else max(minimum, value)

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")

    def running(self, name: str, default: bool = True) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        status = raw.strip().lower()
        if status not in {"running", "stopped"}:
            raise SettingsError(f"{name} must be 'running' or 'stopped', not {raw!r}")
        return status == "running"
