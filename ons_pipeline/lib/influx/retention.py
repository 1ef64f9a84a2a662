"""Retention as configuration: apply the declared groups (``[retention.<group>]`` in
``tables.toml``, durations overridable per environment) to InfluxDB and read them back.

Every engine path of :class:`~ons_pipeline.lib.influx.client.InfluxClient`: 1.x retention
policies of the database, 2.x buckets (a group other than the default one is the bucket
``<database>_<policy>``, mapped to ``<database>/<policy>`` for the v1 API), 3.x documented as set
at database creation (reported ``unmanaged``, nothing sent). A duration shorter than the server's
is refused unless allowed (it deletes data); the refusal is reported per group, never hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ons_pipeline.lib.influx.client import (
    SECURITY_ERRORS,
    InfluxClient,
    InfluxError,
    RetentionChange,
    RetentionConflict,
    RetentionPolicyInfo,
    format_duration,
    parse_duration_ns,
)
from ons_pipeline.lib.schema import RetentionGroup

OK_ACTIONS = frozenset({"created", "unchanged", "lengthened", "shortened", "unmanaged"})


@dataclass(frozen=True)
class RetentionStatus:
    """One group: what is declared and what the server keeps (``applied``, read back)."""

    group: str
    description: str
    policy: str  # the retention policy (1.x), bucket (2.x) or database (3.x)
    declared: str
    applied: str | None  # what the server keeps, read back; None: not readable (3.x) or missing
    shard_duration: str | None
    action: str  # created | unchanged | lengthened | shortened | unmanaged | refused | missing
    note: str = ""

    @property
    def ok(self) -> bool:
        """The server keeps exactly what is declared (or the engine manages it elsewhere)."""
        if self.action == "unmanaged":
            return True
        return self.action in OK_ACTIONS and self.applied == self.declared

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "policy": self.policy,
            "declared": self.declared,
            "applied": self.applied,
            "shard duration": self.shard_duration,
            "action": self.action,
            "ok": self.ok,
            "note": self.note,
        }


def _declared(group: RetentionGroup) -> str:
    return format_duration(parse_duration_ns(group.duration))


def _status(group: RetentionGroup, change: RetentionChange) -> RetentionStatus:
    after = change.after
    return RetentionStatus(
        group=group.name,
        description=group.description,
        policy=(after.bucket or after.name) if after else change.policy,
        declared=_declared(group),
        applied=after.duration if after else None,
        shard_duration=after.shard_duration if after else None,
        action=change.action,
        note=change.note,
    )


def apply_retention(
    client: InfluxClient,
    groups: Sequence[RetentionGroup],
    *,
    database: str | None = None,
    allow_shorten: bool = False,
) -> list[RetentionStatus]:
    """Make InfluxDB keep each group as declared; one status per group. A shortening that is
    not allowed is ``refused`` (the server is left as it is); other failures raise."""
    out = []
    for group in groups:
        try:
            change = client.ensure_retention_policy(
                group.policy,
                group.duration,
                shard_duration=group.shard_duration,
                database=database,
                allow_shorten=allow_shorten,
            )
        except RetentionConflict as conflict:
            current = client.retention_policy(group.policy, database)
            out.append(_held(group, current, "refused", str(conflict)))
            continue
        out.append(_status(group, change))
    return out


def read_retention(
    client: InfluxClient, groups: Sequence[RetentionGroup], *, database: str | None = None
) -> list[RetentionStatus]:
    """What InfluxDB keeps for each group, compared with the declaration (nothing changed)."""
    out = []
    for group in groups:
        if client.config.engine == "3":
            change = client.ensure_retention_policy(group.policy, group.duration)  # sends nothing
            out.append(_status(group, change))
            continue
        try:
            current = client.retention_policy(group.policy, database)
        except SECURITY_ERRORS:
            raise  # refused credentials or TLS: not one group's problem
        except InfluxError as error:
            current, note = None, f"unreadable: {error}"
        else:
            note = "" if current else "not created yet (the retention asset or a rollup creates it)"
        applied = current.duration if current else None
        action = "missing" if current is None else "unchanged"
        if current is not None and applied != _declared(group):
            action = "differs"
            note = f"declared {_declared(group)}: materialize influxdb_retention to apply it"
        out.append(_held(group, current, action, note))
    return out


def _held(
    group: RetentionGroup, current: RetentionPolicyInfo | None, action: str, note: str
) -> RetentionStatus:
    """The status of ``group`` from the policy InfluxDB holds (``current``; None: no policy)."""
    return RetentionStatus(
        group=group.name,
        description=group.description,
        policy=_name(current, group),
        declared=_declared(group),
        applied=current.duration if current else None,
        shard_duration=current.shard_duration if current else None,
        action=action,
        note=note,
    )


def _name(current: RetentionPolicyInfo | None, group: RetentionGroup) -> str:
    if current is not None:
        return current.bucket or current.name
    return group.policy or "(default)"


def markdown(statuses: Sequence[RetentionStatus]) -> str:
    """A Markdown table of the groups (asset metadata, the migration report)."""
    lines = [
        "| group | policy / bucket | declared | kept by InfluxDB | shard duration | state |",
        "|---|---|---|---|---|---|",
    ]
    for s in statuses:
        state = ("✅ " if s.ok else "❌ ") + s.action
        if s.note:
            state += f": {s.note}".replace("|", "\\|")[:300]
        lines.append(
            f"| {s.group} | {s.policy} | {s.declared} | {s.applied or '—'} | "
            f"{s.shard_duration or '—'} | {state} |"
        )
    return "\n".join(lines)
