"""Rollback: delete a table's days from InfluxDB and record exactly what was deleted."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from ons_pipeline.lib.influx.client import InfluxClient, quote_ident
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.rollup.publish import withdraw_coverage
from ons_pipeline.lib.schema import TableSpec


@dataclass
class RollbackRecord:
    """What a rollback removed: per series (tag set), the number of values of each field."""

    table: str
    measurement: str
    database: str
    first_day: str
    last_day: str
    start_ns: int
    end_ns: int
    requested_at: str
    deleted: list[dict] = field(default_factory=list)
    remaining_after: int = 0

    @property
    def values_deleted(self) -> int:
        return sum(sum(entry["counts"].values()) for entry in self.deleted)

    def to_json(self) -> bytes:
        return json.dumps(
            {**asdict(self), "values_deleted": self.values_deleted}, indent=2
        ).encode()


def count_by_series(
    client: InfluxClient, spec: TableSpec, start_ns: int, end_ns: int
) -> list[dict]:
    """``[{"tags": {...}, "counts": {field: n}}]`` of the points in ``[start_ns, end_ns)``."""
    statement = (
        f"SELECT count(*) FROM {quote_ident(spec.measurement)} "
        f"WHERE time >= {start_ns} AND time < {end_ns} GROUP BY *"
    )
    out = []
    for result in client.query(statement):
        for series in result.get("series", []):
            columns = series["columns"][1:]
            values = series["values"][0][1:]
            counts = {
                c.removeprefix("count_"): int(v) for c, v in zip(columns, values, strict=True)
            }
            out.append({"tags": series.get("tags", {}), "counts": counts})
    return sorted(out, key=lambda e: sorted(e["tags"].items()))


def rollback_days(
    client: InfluxClient, spec: TableSpec, first_day: date, last_day: date
) -> RollbackRecord:
    """Delete the UTC days ``[first_day, last_day]`` of ``spec``'s measurement."""
    if last_day < first_day:
        raise ValueError(f"rollback range is empty: {first_day} … {last_day}")
    start_ns = day_window(first_day).start_ns
    end_ns = day_window(last_day).end_ns
    record = RollbackRecord(
        table=spec.name,
        measurement=spec.measurement,
        database=client.config.database,
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        start_ns=start_ns,
        end_ns=end_ns,
        requested_at=datetime.now(UTC).isoformat(),
        deleted=count_by_series(client, spec, start_ns, end_ns),
    )
    withdraw_coverage(client, spec.name, start_ns, end_ns)  # its rollups no longer answer
    client.delete_range(spec.measurement, start_ns, end_ns)
    remaining = count_by_series(client, spec, start_ns, end_ns)
    record.remaining_after = sum(sum(e["counts"].values()) for e in remaining)
    return record
