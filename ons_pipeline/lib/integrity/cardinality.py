"""Series cardinality of the measurements, read from InfluxDB and checked against the mapping.

InfluxDB indexes every series (measurement + tag set): the index grows with the number of
series, not of points, so the mapping keeps tags that add no series (names, states, fuels that
follow from an identifying code) and values as fields. This module measures that choice, in the
style of ``SHOW SERIES CARDINALITY``:

* series — distinct series keys (``SHOW SERIES FROM``);
* index entries — ``SHOW SERIES CARDINALITY FROM`` (on 1.x, the sum over the shards: what the
  index holds);
* per tag, its distinct values (``SHOW TAG VALUES``), and whether the tag set is *dependent*:
  when the series number equals the distinct values of one tag, every other tag follows from it
  and adds no series; otherwise the tags multiply (named in the verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ons_pipeline.lib.influx.client import (
    SECURITY_ERRORS,
    InfluxClient,
    InfluxError,
    quote_ident,
)


@dataclass(frozen=True)
class Target:
    """A measurement to measure: its name, retention policy and the series the mapping expects."""

    measurement: str
    policy: str | None = None
    expected: int | None = None
    kind: str = "raw"


@dataclass
class Cardinality:
    target: Target
    series: int | None = None
    index_entries: int | None = None
    tags: dict[str, int] = field(default_factory=dict)
    fields: int | None = None
    error: str | None = None

    @property
    def source(self) -> str:
        t = self.target
        return f"{t.policy}.{t.measurement}" if t.policy else t.measurement

    @property
    def key_tag(self) -> str | None:
        """The tag with the most distinct values (the one the others may follow from)."""
        return max(self.tags, key=lambda t: (self.tags[t], t)) if self.tags else None

    @property
    def dependent(self) -> bool | None:
        """Whether every other tag follows from the key tag (series = its distinct values)."""
        if self.series is None or not self.tags:
            return None
        return self.series == self.tags[self.key_tag or ""]

    def verdict(self) -> str:
        if self.error:
            return f"not measured: {self.error}"
        if self.series is None:
            return "no data"
        if not self.tags:
            return "no tags: one series"
        key = self.key_tag
        if self.dependent:
            others = len(self.tags) - 1
            text = f"✅ series = values of {key}"
            if others:
                text += f"; the {others} other tag(s) add no series"
        else:
            most = self.tags[key or ""]
            text = f"⚠️ {self.series} series > {most} values of {key}: tags vary together"
        expected = self.target.expected
        if expected is not None and self.series > expected:
            text += (
                f"; ⚠️ more series than the mapping expects ({expected}): a code under two "
                "names, or new series (update `series` in tables.toml)"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "measurement": self.source,
            "kind": self.target.kind,
            "series": self.series,
            "expected": self.target.expected,
            "index entries": self.index_entries,
            "tags": dict(self.tags),
            "fields": self.fields,
            "verdict": self.verdict(),
        }


def _source(target: Target) -> str:
    name = quote_ident(target.measurement)
    return f"{quote_ident(target.policy)}.{name}" if target.policy else name


def _rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    return [row for r in results for s in r.get("series", []) or [] for row in s.get("values", [])]


def measure(
    client: InfluxClient, targets: Sequence[Target], database: str | None = None
) -> list[Cardinality]:
    """The cardinality figures of each target (one request per target; errors are reported per
    measurement, e.g. an engine without ``SHOW SERIES``)."""
    out = []
    for target in targets:
        source = _source(target)
        found = Cardinality(target)
        text = ";".join(
            [
                f"SHOW SERIES FROM {source}",
                f"SHOW SERIES CARDINALITY FROM {source}",
                f"SHOW TAG VALUES FROM {source} WITH KEY =~ /.*/",
                f"SHOW FIELD KEYS FROM {source}",
            ]
        )
        try:
            results = client.query(text, database, epoch=None)
        except SECURITY_ERRORS:
            raise  # refused credentials or TLS: not one measurement's problem
        except InfluxError as error:
            found.error = str(error)[:200]
            out.append(found)
            continue
        by_id = {int(r.get("statement_id", i)): r for i, r in enumerate(results)}
        keys = _rows([by_id.get(0, {})])
        if keys:
            found.series = len({row[0] for row in keys})
            counted = _rows([by_id.get(1, {})])
            found.index_entries = int(counted[0][0]) if counted else None
            for key, _value in _rows([by_id.get(2, {})]):
                found.tags[key] = found.tags.get(key, 0) + 1
            found.fields = len(_rows([by_id.get(3, {})]))
        out.append(found)
    return out


def markdown(figures: Sequence[Cardinality]) -> str:
    lines = [
        "| measurement | series | expected | index entries | distinct values per tag | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    for f in figures:
        tags = ", ".join(f"{t} {n}" for t, n in sorted(f.tags.items(), key=lambda kv: -kv[1]))
        lines.append(
            f"| {f.source} | {'—' if f.series is None else f.series} | "
            f"{'—' if f.target.expected is None else f.target.expected} | "
            f"{'—' if f.index_entries is None else f.index_entries} | {tags or '—'} | "
            f"{f.verdict().replace('|', '/')} |"
        )
    return "\n".join(lines)
