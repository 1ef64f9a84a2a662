"""The migration report: per table, what is done, failed and pending, and whether it is exact.

Pure: the Dagster side (``ons_pipeline.defs.integrity.report``) gathers the figures from the
instance (materializations, asset check evaluations, runs) and the dead-letter store into a
:class:`MigrationReport`; :func:`render_markdown` writes it for the UI and for stakeholders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

DONE = "done"
FAILED = "failed"
PENDING = "pending"
RUNNING = "in progress"


@dataclass
class PartitionStatus:
    """One table-day."""

    day: str
    state: str = PENDING
    rows: int | None = None
    points: int | None = None
    verified: bool | None = None  # exact verification: passed, failed, not run
    checksum: str | None = None
    gx_passed: bool | None = None  # blocking GX suite
    gx_warnings: int = 0  # failed non-blocking expectations
    error: str | None = None


@dataclass
class DeadLetterSummary:
    partition: str
    batches: int
    lines: int
    error: str


@dataclass
class TableStatus:
    table: str
    measurement: str
    partitions: list[PartitionStatus]
    dead_letters: list[DeadLetterSummary] = field(default_factory=list)

    def days(self, state: str) -> list[str]:
        return [p.day for p in self.partitions if p.state == state]

    @property
    def rows(self) -> int:
        return sum(p.rows or 0 for p in self.partitions if p.state == DONE)

    @property
    def points(self) -> int:
        return sum(p.points or 0 for p in self.partitions if p.state == DONE)

    @property
    def verified(self) -> int:
        return sum(1 for p in self.partitions if p.verified is True)

    @property
    def mismatched(self) -> list[PartitionStatus]:
        return [p for p in self.partitions if p.verified is False]

    @property
    def unverified(self) -> list[str]:
        return [p.day for p in self.partitions if p.state == DONE and p.verified is None]

    @property
    def coverage(self) -> tuple[str, str] | None:
        done = sorted(self.days(DONE))
        return (done[0], done[-1]) if done else None

    @property
    def gaps(self) -> list[tuple[str, str]]:
        """Ranges of days not done between the first and the last day done."""
        cover = self.coverage
        if cover is None:
            return []
        done = set(self.days(DONE))
        inside = [
            p.day for p in self.partitions if cover[0] <= p.day <= cover[1] and p.day not in done
        ]
        return day_ranges(inside)

    @property
    def dead_letter_batches(self) -> int:
        return sum(d.batches for d in self.dead_letters)


@dataclass
class MigrationReport:
    generated_at: datetime
    first_day: date
    last_day: date
    tables: list[TableStatus]
    equivalence: str | None = None  # Markdown of the latest query-equivalence run
    notes: list[str] = field(default_factory=list)
    storage: str | None = None  # Markdown: retention per group and series cardinality

    def count(self, state: str) -> int:
        return sum(len(t.days(state)) for t in self.tables)

    @property
    def partitions(self) -> int:
        return sum(len(t.partitions) for t in self.tables)

    def figures(self) -> dict[str, int]:
        return {
            "partitions": self.partitions,
            "done": self.count(DONE),
            "failed": self.count(FAILED),
            "pending": self.count(PENDING),
            "in progress": self.count(RUNNING),
            "rows": sum(t.rows for t in self.tables),
            "points": sum(t.points for t in self.tables),
            "verified": sum(t.verified for t in self.tables),
            "mismatched": sum(len(t.mismatched) for t in self.tables),
            "dead-letter batches": sum(t.dead_letter_batches for t in self.tables),
        }


def day_ranges(days: Iterable[str]) -> list[tuple[str, str]]:
    """Contiguous ranges (inclusive) of ISO days."""
    ranges: list[tuple[str, str]] = []
    for text in sorted(set(days)):
        day = date.fromisoformat(text)
        if ranges and date.fromisoformat(ranges[-1][1]) + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], text)
        else:
            ranges.append((text, text))
    return ranges


def _ranges_text(days: Sequence[str], limit: int = 6) -> str:
    ranges = day_ranges(days)
    parts = [a if a == b else f"{a}…{b}" for a, b in ranges[:limit]]
    if len(ranges) > limit:
        parts.append(f"+{len(ranges) - limit} more")
    return ", ".join(parts) if parts else "—"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: MigrationReport) -> str:
    """The report as Markdown (summary table, what needs attention, per-table details)."""
    f = report.figures()
    days = (report.last_day - report.first_day).days + 1
    lines = [
        "# ONS migration report: Timestream → InfluxDB",
        "",
        f"Generated {report.generated_at:%Y-%m-%d %H:%M:%S %Z}. Window {report.first_day} … "
        f"{report.last_day}: {days} day(s) × {len(report.tables)} table(s) = "
        f"{f['partitions']} partitions.",
        "",
        f"**{f['done']}** done, **{f['failed']}** failed, **{f['pending']}** pending"
        + (f", {f['in progress']} in progress" if f["in progress"] else "")
        + f"; {f['rows']:,} source rows, {f['points']:,} points loaded; "
        f"{f['verified']} partitions verified exactly (counts + checksum per series), "
        f"{f['mismatched']} mismatched; {f['dead-letter batches']} failed batch(es) waiting in "
        "the dead-letter store.",
        "",
        "## Summary",
        "",
        "| table | done | failed | pending | rows | points | verified | coverage | gaps "
        "| dead-letter batches |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for t in report.tables:
        cover = t.coverage
        coverage = "—" if cover is None else f"{cover[0]} … {cover[1]}"
        gaps = _ranges_text([d for a, b in t.gaps for d in _expand(a, b)])
        verified = f"{t.verified}/{len(t.days(DONE))}"
        if t.mismatched:
            verified += f" ❌{len(t.mismatched)}"
        lines.append(
            f"| {t.table} | {len(t.days(DONE))} | {len(t.days(FAILED))} | "
            f"{len(t.days(PENDING))} | {t.rows:,} | {t.points:,} | {verified} | {coverage} | "
            f"{gaps} | {t.dead_letter_batches} |"
        )
    attention = _attention(report)
    lines += ["", "## Needs attention", ""]
    lines += attention or ["Nothing: every partition in the window is done and verified."]
    if report.equivalence:
        lines += ["", "## Query equivalence (dual read)", "", report.equivalence]
    if report.storage:
        lines += ["", "## Storage: retention and series cardinality", "", report.storage]
    lines += ["", "## Per table", ""]
    for t in report.tables:
        lines += [
            f"### {t.table} (measurement `{t.measurement}`)",
            "",
            f"- done: {_ranges_text(t.days(DONE))}",
            f"- failed: {_ranges_text(t.days(FAILED))}",
            f"- pending: {_ranges_text(t.days(PENDING))}",
        ]
        if t.days(RUNNING):
            lines.append(f"- in progress: {_ranges_text(t.days(RUNNING))}")
        checksums = [p for p in t.partitions if p.checksum]
        if checksums:
            last = checksums[-1]
            lines.append(
                f"- exact verification: {t.verified} partition(s) matched; latest "
                f"{last.day} checksum `{last.checksum}`"
            )
        if t.unverified:
            lines.append(f"- loaded but not verified: {_ranges_text(t.unverified)}")
        warned = [p.day for p in t.partitions if p.gx_warnings]
        if warned:
            lines.append(f"- GX plausibility warnings: {_ranges_text(warned)}")
        lines.append("")
    for note in report.notes:
        lines.append(f"> {note}")
    return "\n".join(lines).rstrip() + "\n"


def _expand(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=k)).isoformat() for k in range((b - a).days + 1)]


def _attention(report: MigrationReport) -> list[str]:
    items: list[str] = []
    for t in report.tables:
        for p in t.partitions:
            if p.state == FAILED:
                why = _md(p.error or "see the run in Dagster")[:300]
                items.append(f"- ❌ **{t.table} {p.day}** failed: {why}")
            elif p.verified is False:
                items.append(
                    f"- ❌ **{t.table} {p.day}** loaded but differs from the source: "
                    f"{_md(p.error or 'see the exact_verification check')[:300]}"
                )
        for d in t.dead_letters:
            items.append(
                f"- 📮 **{t.table} {d.partition}**: {d.batches} batch(es), {d.lines:,} lines "
                f"in the dead-letter store ({_md(d.error)[:160]}) — `ons-pipeline dlq replay "
                f"--table {t.table} --partition {d.partition}`"
            )
        for a, b in t.gaps:
            items.append(f"- ⏳ **{t.table}** gap {a if a == b else f'{a} … {b}'} not migrated")
    return items
