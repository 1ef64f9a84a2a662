"""The migration of one table over many days, as one pipeline: export → validate → load → verify.

Days are cut into groups of about ``group_rows`` expected rows. While a group is validated (one GX
run for the group, split only where something fails), loaded (the same writer threads for every
day) and verified (one read of InfluxDB for the group), the next group is already being exported
(``export_threads`` days at a time, or, with a range exporter, one statement per run of
consecutive days of the group: Timestream's UNLOAD). Each day's rows are read once: the exported
(or, when only the load is asked for, the stored) Parquet partition feeds the checks, the load
and the source side of the verification.

Every stage reports per day, and a day that fails at any stage does not stop the others: its
outcome says where and why, and the caller fails the run after recording the days that passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import pyarrow as pa

from ons_pipeline.lib.influx.client import InfluxClient
from ons_pipeline.lib.integrity.validation import ValidationReport, validate_days
from ons_pipeline.lib.integrity.verification import VerificationResult, verify_days
from ons_pipeline.lib.migration.deadletter import DeadLetterStore
from ons_pipeline.lib.migration.exporter import ExportResult
from ons_pipeline.lib.migration.loader import Loader, LoadReport, load_tables
from ons_pipeline.lib.partitions import (
    FILE_CLAIMS,
    ParquetStore,
    Partition,
    PartitionChangedError,
    PartitionError,
    validate_table,
)
from ons_pipeline.lib.rollup.publish import withdraw_coverage
from ons_pipeline.lib.schema import TableSpec
from ons_pipeline.lib.settings import MigrationSettings


@dataclass(frozen=True)
class Stages:
    """What a run was asked for: produce the Parquet partitions, the checks on them, the load,
    the exact verification of the load."""

    export: bool = True
    validate: bool = True
    load: bool = True
    verify: bool = True


@dataclass
class DayOutcome:
    """What happened to one table-day; ``error`` names the first stage that failed."""

    partition: Partition
    export: ExportResult | None = None
    validation: ValidationReport | None = None
    load: LoadReport | None = None
    verification: VerificationResult | None = None
    reloaded: bool = False  # loaded a second time after InfluxDB showed fewer points
    error: str | None = None
    rows: pa.Table | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def fail(self, stage: str, reason: str) -> None:
        if self.error is None:
            self.error = f"{stage}: {reason}"


@dataclass
class _Read:
    """A day's rows: canonical (what is loaded and verified) and as stored (what GX checks)."""

    canonical: pa.Table
    raw: pa.Table
    export: ExportResult | None = None
    generation: str | None = None  # the Parquet partition's, when known
    claims_etag: str | None = None  # of the ONS files' claims when read (None: no file)


Exporter = Callable[[date], ExportResult]
# Exports many days in as few statements as it can; each day gets its result or its error.
RangeExporter = Callable[[list[date]], Mapping[date, ExportResult | Exception]]


class _Pending(Protocol):
    def result(self) -> _Read: ...


def _exported(result: ExportResult, spec: TableSpec) -> _Read:
    data = result.data if result.data is not None else spec.arrow_schema().empty_table()
    return _Read(
        canonical=data,
        raw=data,
        export=result,
        generation=result.generation,
        claims_etag=result.claims_etag,
    )


@dataclass
class _FromRange:
    """One day of a range export (a failed statement fails each of its days)."""

    whole: Future[Mapping[date, ExportResult | Exception]]
    day: date
    spec: TableSpec

    def result(self) -> _Read:
        value = self.whole.result()[self.day]
        if isinstance(value, Exception):
            raise value
        return _exported(value, self.spec)


class TableMigration:
    """Runs :class:`Stages` of one table over days; yields each group's outcomes when done."""

    def __init__(
        self,
        spec: TableSpec,
        store: ParquetStore,
        *,
        export: Exporter,
        export_days: RangeExporter | None = None,
        check_source: Callable[[], object] | None = None,
        client: InfluxClient | None,
        settings: MigrationSettings,
        deadletter: DeadLetterStore | None = None,
        batch_lines: int = 10_000,
        writers: int = 1,
        database: str | None = None,
    ) -> None:
        self.spec = spec
        self.store = store
        self.export = export
        self.export_days = export_days
        self.check_source = check_source
        self.client = client
        self.settings = settings
        self.deadletter = deadletter
        self.batch_lines = batch_lines
        self.writers = writers
        self.database = database

    def groups(self, days: Sequence[date]) -> list[list[date]]:
        size = self.settings.days_per_group(self.spec.rows_per_day)
        ordered = sorted(days)
        return [ordered[i : i + size] for i in range(0, len(ordered), size)]

    def run(self, days: Sequence[date], stages: Stages) -> Iterator[list[DayOutcome]]:
        if (stages.load or stages.verify) and self.client is None:
            raise ValueError("loading or verifying needs an InfluxDB client")
        if stages.export and self.check_source is not None:
            self.check_source()  # a source that does not match the mapping stops every day
        groups = self.groups(days)
        with ThreadPoolExecutor(self.settings.export_threads, "export") as pool:
            loader = (
                Loader(
                    self.spec,
                    self.client,  # type: ignore[arg-type]
                    deadletter=self.deadletter,
                    batch_lines=self.batch_lines,
                    writers=self.writers,
                )
                if stages.load
                else None
            )
            try:
                reading = self._submit(pool, groups[0], stages) if groups else {}
                for index, group in enumerate(groups):
                    current = reading
                    if index + 1 < len(groups):  # export the next group while this one loads
                        reading = self._submit(pool, groups[index + 1], stages)
                    yield self._process(group, current, stages, loader)
            finally:
                if loader is not None:
                    loader.close()

    def _submit(
        self, pool: ThreadPoolExecutor, group: list[date], stages: Stages
    ) -> dict[date, _Pending]:
        if stages.export and self.export_days is not None:
            whole = pool.submit(self.export_days, group)
            return {day: _FromRange(whole, day, self.spec) for day in group}
        return {day: pool.submit(self._read, day, stages) for day in group}

    def _read(self, day: date, stages: Stages) -> _Read:
        if stages.export:
            return _exported(self.export(day), self.spec)
        partition = Partition(self.spec.name, day)
        generation = self.store.generation(partition)
        claims, claims_etag = self.store.claims_and_etag(partition)
        if claims is not None and claims.pending:
            # an ONS file is being loaded into the day (or its load failed): its rows may be in
            # InfluxDB already and the partition not yet published, so these rows could be older
            raise PartitionChangedError(
                f"{self.store.uri(partition)}: the load of {', '.join(sorted(claims.pending))} "
                "into this day has not finished (running, or failed): load the day once that "
                "file's ingest has finished"
            )
        raw, _keys = self.store.read_raw(partition)
        if raw is None:
            raise PartitionError(
                f"table {self.spec.name!r}: partition {self.store.uri(partition)} has no Parquet "
                "files (export it first)"
            )
        where = f"table {self.spec.name!r}, partition {self.store.uri(partition)}"
        canonical = validate_table(raw, self.spec, partition.window, where)
        return _Read(canonical=canonical, raw=raw, generation=generation, claims_etag=claims_etag)

    def _listing(self, days: list[date]) -> dict[date, dict[str, str]] | None:
        """The objects of ``days``' partitions with their ETags, one LIST for the group
        (``None``: it failed, each day asks its manifest and claims)."""
        try:
            return self.store.listed_days_etags(self.spec.name, min(days), max(days))
        except Exception:
            return None

    def _unchanged_since_read(
        self,
        day: date,
        read: _Read,
        outcome: DayOutcome,
        listing: dict[date, dict[str, str]] | None = None,
    ) -> None:
        """A load (of a reload or an export) fails its day when continuous loading rewrote the
        partition meanwhile: the rows just written are older than InfluxDB's (the correction's)
        and the verification, against the rows read, would pass. Data files are named by their
        generation: a listing that holds only the one read answers without the manifest."""
        partition = Partition(self.spec.name, day)
        if read.generation is None:
            return
        keys = (listing or {}).get(day, {})
        if listing is not None:
            claims = next((e for k, e in keys.items() if k.endswith("/" + FILE_CLAIMS)), None)
        else:  # no listing: the claims' object asked alone
            claims = self.store.claims_and_etag(partition)[1]
        if claims != read.claims_etag:
            # an ONS file began loading into the day after the export looked: its points in
            # InfluxDB may be older than the ones this run just loaded over them, or newer
            outcome.fail(
                "load",
                f"{self.store.uri(partition)}: an ONS file was loaded into this day while this "
                "run loaded it: `ons-pipeline migrate` exports it again, keeping the file's rows",
            )
            return
        files = [k for k in keys if k.endswith(".parquet")]
        if files and all(f"/part-{read.generation}-" in k for k in files):
            return
        now = self.store.generation(partition)
        if now != read.generation:
            outcome.fail(
                "load",
                f"{self.store.uri(partition)} was rewritten while this run loaded it (generation "
                f"{read.generation} → {now}, a correction): the day holds older values; "
                "`ons-pipeline migrate` reloads it",
            )

    def _process(
        self,
        group: list[date],
        reading: dict[date, _Pending],
        stages: Stages,
        loader: Loader | None,
    ) -> list[DayOutcome]:
        outcomes = {day: DayOutcome(Partition(self.spec.name, day)) for day in group}
        data: dict[date, _Read] = {}
        for day, future in reading.items():
            try:
                data[day] = future.result()
            except Exception as exc:  # this day only: the others go on
                stage = "export" if stages.export else "read"
                outcomes[day].fail(stage, f"{type(exc).__name__}: {exc}")
                continue
            outcomes[day].export = data[day].export
            outcomes[day].rows = data[day].canonical
        if stages.validate and data:
            for day, report in validate_days(
                {d: r.raw for d, r in data.items()}, self.spec
            ).items():
                outcomes[day].validation = report
                if not report.passed:
                    outcomes[day].fail("gx_structure", report.summary(blocking=True))
        loadable = [d for d in sorted(data) if outcomes[d].ok]
        if stages.load and loader is not None and loadable:
            # the rollups of these days no longer answer for them until they are built again
            withdraw_coverage(
                self.client,  # type: ignore[arg-type]
                self.spec.name,
                Partition(self.spec.name, loadable[0]).window.start_ns,
                Partition(self.spec.name, loadable[-1]).window.end_ns,
                self.database,
            )
            for day in loadable:
                loader.load(day.isoformat(), [data[day].canonical], generation=data[day].generation)
            reports = loader.drain()
            listing = self._listing(loadable)
            for day in loadable:
                report = reports[day.isoformat()]
                outcomes[day].load = report
                if not report.ok:
                    outcomes[day].fail(
                        "load",
                        f"{report.failed_batches} of {report.batches} batches "
                        f"({report.failed_points} points) failed: {report.errors[0]}",
                    )
                else:
                    self._unchanged_since_read(day, data[day], outcomes[day], listing)
        if stages.verify and self.client is not None:
            verifiable = {d: data[d].canonical for d in sorted(data) if outcomes[d].ok}
            results = verify_days(verifiable, self.client, self.spec, database=self.database)
            short = [d for d, r in results.items() if not r.ok and r.influx_rows < r.source_rows]
            if short and stages.load and loader is not None:
                # InfluxDB acknowledged every batch of these days yet holds fewer points: write
                # them once more (idempotent: same series+time) and verify again; what still
                # differs fails the day.
                for day in short:
                    load_tables(
                        [data[day].canonical],
                        self.spec,
                        self.client,
                        partition=day.isoformat(),
                        deadletter=self.deadletter,
                        batch_lines=self.batch_lines,
                        writers=self.writers,
                        generation=data[day].generation,
                    )
                    outcomes[day].reloaded = True
                relisted = self._listing(short)  # a file loaded meanwhile: older rows written
                for day in short:
                    self._unchanged_since_read(day, data[day], outcomes[day], relisted)
                again = {d: data[d].canonical for d in short}
                results.update(verify_days(again, self.client, self.spec, database=self.database))
            for day, result in results.items():
                outcomes[day].verification = result
                if not result.ok:
                    outcomes[day].fail("exact_verification", result.summary(max_series=3))
        return [outcomes[d] for d in group]
