"""Great Expectations suites for Parquet partitions: what a table-day must satisfy to be loaded.

Each table's suite is declared here as plain data (:class:`Rule`: a GX 1.x expectation class name,
its arguments, whether it is *blocking*, and why), built into a GX ``ExpectationSuite`` only when a
partition is validated. GX is imported lazily (``import great_expectations`` costs ~2.5 s and
~270 MB) and one ephemeral data context, pandas data source and whole-dataframe batch definition
serve every validation of the process (:func:`gx_context`).

Blocking rules protect InfluxDB from data whose load would do harm, silently:

* columns and types: a missing tag or field, or a field of another type, cannot be written as the
  mapping says (InfluxDB fixes a field's type on first write and rejects the other type later);
* non-null, non-empty keys: InfluxDB drops empty tag values, merging two series into one;
* tag values InfluxDB cannot store faithfully (newline, trailing or stray backslash);
* timestamps inside the partition's UTC day: a point outside would land in another partition,
  where re-loads and rollbacks of that day would not see it;
* no duplicate series+time: InfluxDB keeps the last write of a series+time, so a duplicate is
  silently lost (the counts would disagree with the source forever);
* finite values: NaN and infinity have no line-protocol form.

Non-blocking rules (severity WARN) flag implausible values: the migration copies the source
faithfully, so an implausible value is still loaded (refusing it would leave the day missing),
but it is shown in the UI for a human to look at: value ranges per measure (load and generation
>= 0, EAR percent 0-100, CMO within plausible bounds), solar generation 0 at night within a
tolerance, verified storage <= maximum storage, at least one row.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ons_pipeline.lib.ons_time import Window, day_window
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.schema import TIME_COLUMN, MeasureType, TableSpec

NONFINITE_COLUMN = "_nonfinite_fields"
UTC_HOUR_COLUMN = "_utc_hour"
DERIVED_COLUMNS = (NONFINITE_COLUMN, UTC_HOUR_COLUMN)
EXAMPLES = 5

# Tag values InfluxDB stores faithfully (see ons_pipeline.lib.influx.lineprotocol): no newline,
# and a backslash only before a character other than backslash, comma, space or '='.
STORABLE_TAG_REGEX = r"^(?:[^\\\n]|\\[^\\, =\n])+\Z"
OPTIONAL_TAG_REGEX = r"^(?:[^\\\n]|\\[^\\, =\n])*\Z"

# Night for solar generation, in UTC: [01:00, 07:00) is 22:00-04:00 in Brasília standard time
# (UTC-3), 23:00-05:00 under the pre-2019 summer time (UTC-2) and 20:00-02:00 in Acre (UTC-5):
# dark in every subsystem all year (sunrise in Brazil is never before ~05:00 local time).
NIGHT_UTC_HOURS = (1, 7)


@dataclass(frozen=True)
class Bounds:
    """Plausible range of a measure, with the reason for it."""

    low: float | None
    high: float | None
    why: str


# MW-scale physical bounds. The SIN's peak load is ~105 GW (2024) and its installed capacity
# ~230 GW: no subsystem value of load or generation reaches 150 GW. Interchange between
# subsystems is bounded by the transmission corridors (< 30 GW each).
_MW = Bounds(0.0, 150_000.0, "load/generation in MWmed: >= 0 and below the SIN's capacity")
_SIGNED_MW = Bounds(-50_000.0, 50_000.0, "interchange in MWmed: signed, within corridor limits")
FIELD_BOUNDS: dict[tuple[str, str], Bounds] = {
    ("curva_carga", "val_cargaenergiahomwmed"): _MW,
    ("balanco_subsistema", "val_gerhidraulica"): _MW,
    ("balanco_subsistema", "val_gertermica"): _MW,
    ("balanco_subsistema", "val_gereolica"): _MW,
    ("balanco_subsistema", "val_gersolar"): _MW,
    ("balanco_subsistema", "val_carga"): _MW,
    ("balanco_subsistema", "val_intercambio"): _SIGNED_MW,
    # Real CMO values go slightly negative (-6.18 R$/MWh in 2022) and peaked near R$ 2,500/MWh;
    # beyond [-1,000, 20,000] a value is a unit or export error, not a market outcome.
    ("cmo_semihorario", "val_cmo"): Bounds(-1_000.0, 20_000.0, "CMO in R$/MWh: plausible band"),
    ("ear_diario", "ear_max_subsistema"): Bounds(0.0, 400_000.0, "storage in MWmês: SIN ~290k"),
    ("ear_diario", "ear_verif_subsistema_mwmes"): Bounds(0.0, 400_000.0, "storage in MWmês"),
    ("ear_diario", "ear_verif_subsistema_percentual"): Bounds(0.0, 100.0, "a percentage"),
    ("ena_diario", "ena_bruta_regiao_mwmed"): Bounds(0.0, 500_000.0, "inflow energy >= 0"),
    ("ena_diario", "ena_armazenavel_regiao_mwmed"): Bounds(0.0, 500_000.0, "inflow energy >= 0"),
    # Percent of the long-term mean: floods reach a few hundred percent, never below 0.
    ("ena_diario", "ena_bruta_regiao_percentualmlt"): Bounds(0.0, 1_000.0, "%MLT: 0-1000"),
    ("ena_diario", "ena_armazenavel_regiao_percentualmlt"): Bounds(0.0, 1_000.0, "%MLT: 0-1000"),
    ("intercambio", "val_intercambiomwmed"): _SIGNED_MW,
    ("intercambio", "val_intercambioprogmwmed"): _SIGNED_MW,
    # The largest plant (Itaipu, both sectors) generates < 14.5 GW.
    ("geracao_usina", "val_geracao"): Bounds(0.0, 15_000.0, "plant generation in MWmed"),
    ("generation_data", "value"): _MW,
    ("consumption_data", "value"): _MW,
    ("transmission_data", "value"): _SIGNED_MW,
}

# Solar at night: (field, row filter, tolerance in MWmed). Metering noise of a subsystem total or a
# plant may leave a few MW at night; more is a time-zone or column mix-up.
SOLAR_AT_NIGHT: dict[str, tuple[str, list[tuple[str, str, Any]], float]] = {
    "balanco_subsistema": ("val_gersolar", [], 5.0),
    "geracao_usina": ("val_geracao", [("nom_tipousina", "==", "FOTOVOLTAICA")], 1.0),
    "generation_data": ("value", [("energy_source", "==", "solar")], 5.0),
}
# A rule's row filter: a conjunction of (column, operator, value), made a GX ``Condition``.
WHERE = "where"

# Types GX checks per canonical type. Timestamps and strings are validated element by element
# (their columns are handed to GX as object columns: GX's dtype comparison does not know pandas'
# tz-aware and string dtypes), numbers by dtype.
_TYPE_NAMES: dict[MeasureType, list[str]] = {
    MeasureType.DOUBLE: ["float64"],
    MeasureType.BIGINT: ["Int64Dtype"],
    MeasureType.VARCHAR: ["str"],
    MeasureType.BOOLEAN: ["BooleanDtype"],
    MeasureType.TIMESTAMP: ["Timestamp"],
}
_OBJECT_TYPES = (MeasureType.VARCHAR, MeasureType.TIMESTAMP)


@dataclass(frozen=True)
class Rule:
    """One expectation of a table's suite: GX class name, arguments, blocking, and why."""

    expectation: str
    kwargs: dict[str, Any]
    blocking: bool
    why: str

    @property
    def target(self) -> str:
        kw = self.kwargs
        if "column" in kw and WHERE in kw:
            where = " and ".join(f"{c} {op} {v!r}" for c, op, v in kw[WHERE])
            return f"{kw['column']} where {where}"
        if "column" in kw:
            return str(kw["column"])
        if "column_list" in kw:
            return ", ".join(kw["column_list"])
        if "column_set" in kw:
            return "columns"
        if "column_A" in kw:
            return f"{kw['column_A']} ≥ {kw['column_B']}"
        return "table"


def rules_for(spec: TableSpec, window: Window) -> list[Rule]:
    """The suite of ``spec`` for a partition covering ``window`` (blocking rules first)."""
    required = [t for t in spec.tags if t not in spec.optional_tags]
    columns = [*spec.columns, *derived_columns(spec)]
    rules = [
        Rule(
            "ExpectTableColumnsToMatchSet",
            {"column_set": columns, "exact_match": True},
            True,
            "the columns of the mapping (time, tags, fields), no more, no fewer",
        ),
        Rule(
            "ExpectColumnValuesToNotBeNull",
            {"column": TIME_COLUMN},
            True,
            "every point needs a time",
        ),
        Rule(
            "ExpectColumnValuesToBeBetween",
            {
                "column": TIME_COLUMN,
                "min_value": window.start,
                "max_value": window.end,
                "strict_max": True,
            },
            True,
            "tz-aware times inside the partition's UTC day [start, end)",
        ),
    ]
    for tag in spec.tags:
        if tag in required:
            rules.append(
                Rule(
                    "ExpectColumnValuesToNotBeNull",
                    {"column": tag},
                    True,
                    "a key tag: InfluxDB drops missing tags, merging series",
                )
            )
        regex = STORABLE_TAG_REGEX if tag in required else OPTIONAL_TAG_REGEX
        why = "no newline or stray backslash (InfluxDB cannot store them)"
        if tag in required:
            why = "non-empty (InfluxDB drops empty tags, merging series), " + why
        rules.append(
            Rule("ExpectColumnValuesToMatchRegex", {"column": tag, "regex": regex}, True, why)
        )
    for f in spec.fields:
        rules.append(
            Rule(
                "ExpectColumnValuesToBeInTypeList",
                {"column": f.name, "type_list": _TYPE_NAMES[f.type]},
                True,
                f"{f.type.value} field: InfluxDB fixes a field's type at its first write",
            )
        )
    rules += [
        Rule(
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": [TIME_COLUMN, *spec.identity_tags]},
            True,
            "one row per series (its key tags) and time: a second spelling of a descriptive tag "
            "would be a second point",
        ),
        Rule(
            "ExpectColumnValuesToBeNull",
            {"column": NONFINITE_COLUMN},
            True,
            "finite values: NaN and infinity have no line-protocol form",
        ),
        Rule(
            "ExpectTableRowCountToBeBetween",
            {"min_value": 1},
            False,
            "a day without rows is suspicious (ONS does publish empty days)",
        ),
    ]
    for f in spec.fields:
        bounds = FIELD_BOUNDS.get((spec.name, f.name))
        if bounds is None or f.type not in (MeasureType.DOUBLE, MeasureType.BIGINT):
            continue
        rules.append(
            Rule(
                "ExpectColumnValuesToBeBetween",
                {"column": f.name, "min_value": bounds.low, "max_value": bounds.high},
                False,
                bounds.why,
            )
        )
    solar = SOLAR_AT_NIGHT.get(spec.name)
    if solar is not None:
        column, where, tolerance = solar
        lo, hi = NIGHT_UTC_HOURS
        conditions: list[tuple[str, str, Any]] = [*where, (UTC_HOUR_COLUMN, ">=", lo)]
        conditions.append((UTC_HOUR_COLUMN, "<", hi))
        rules.append(
            Rule(
                "ExpectColumnValuesToBeBetween",
                {
                    "column": column,
                    "min_value": -tolerance,
                    "max_value": tolerance,
                    WHERE: conditions,
                },
                False,
                f"solar is 0 at night ({lo:02d}:00-{hi:02d}:00 UTC) within ±{tolerance:g} MWmed",
            )
        )
    if spec.name == "ear_diario":
        rules.append(
            Rule(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "ear_max_subsistema",
                    "column_B": "ear_verif_subsistema_mwmes",
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
                False,
                "verified storage cannot exceed the maximum storage",
            )
        )
    return rules


def derived_columns(spec: TableSpec) -> tuple[str, ...]:
    """Helper columns added to the validated frame (computed with Arrow, vectorised)."""
    if spec.name in SOLAR_AT_NIGHT:
        return (NONFINITE_COLUMN, UTC_HOUR_COLUMN)
    return (NONFINITE_COLUMN,)


# -- results ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One expectation's result, with GX's unexpected counts and examples."""

    rule: Rule
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[Any] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    observed: Any = None
    error: str | None = None

    @property
    def name(self) -> str:
        return self.rule.expectation

    def describe(self) -> str:
        """One line: what failed, how many, examples and rows."""
        text = f"{self.rule.expectation} [{self.rule.target}]"
        if self.error:
            return f"{text}: error: {self.error}"
        parts = []
        if self.unexpected_count:
            pct = f" ({self.unexpected_percent:.3g}%)" if self.unexpected_percent else ""
            parts.append(f"{self.unexpected_count} unexpected{pct}")
        if self.examples:
            parts.append("e.g. " + ", ".join(_show(v) for v in self.examples))
        if self.rows:
            parts.append("rows " + ", ".join(str(r) for r in self.rows))
        if self.observed is not None and not parts:
            parts.append(f"observed {_show(self.observed)}")
        return text + (": " + "; ".join(parts) if parts else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.rule.expectation,
            "target": self.rule.target,
            "blocking": self.rule.blocking,
            "why": self.rule.why,
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "examples": [_show(v) for v in self.examples],
            "rows": self.rows,
            "observed": None if self.observed is None else _show(self.observed),
            "error": self.error,
        }


@dataclass
class ValidationReport:
    """Every outcome of one partition's suite."""

    table: str
    partition: str
    rows: int
    outcomes: list[Outcome]
    seconds: float
    files: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.rule.blocking]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.rule.blocking]

    @property
    def blocking_failures(self) -> list[Outcome]:
        return [o for o in self.blocking if not o.success]

    @property
    def warning_failures(self) -> list[Outcome]:
        return [o for o in self.warnings if not o.success]

    @property
    def passed(self) -> bool:
        """True when no blocking expectation failed (the partition may be loaded)."""
        return not self.blocking_failures

    def summary(self, blocking: bool) -> str:
        failed = self.blocking_failures if blocking else self.warning_failures
        total = len(self.blocking if blocking else self.warnings)
        head = f"{self.table} {self.partition}: {total - len(failed)}/{total} expectations passed"
        return "\n".join([head, *("  " + o.describe() for o in failed)])

    def markdown(self, blocking: bool) -> str:
        """A Markdown table of the outcomes (failures first) for the Dagster UI."""
        outcomes = self.blocking if blocking else self.warnings
        ordered = sorted(outcomes, key=lambda o: o.success)
        lines = [
            f"**{self.table} {self.partition}** — {self.rows:,} rows, "
            f"{sum(not o.success for o in outcomes)} of {len(outcomes)} expectations failed",
            "",
            "| | expectation | column(s) | unexpected | examples | rows | why |",
            "|---|---|---|---|---|---|---|",
        ]
        for o in ordered:
            mark = "✅" if o.success else ("❌" if o.rule.blocking else "⚠️")
            unexpected = "" if o.unexpected_count is None else f"{o.unexpected_count:,}"
            if o.unexpected_percent:
                unexpected += f" ({o.unexpected_percent:.3g}%)"
            examples = o.error or ", ".join(_show(v) for v in o.examples)
            if not examples and not o.success and o.observed is not None:
                examples = f"observed {_show(o.observed)}"
            rows = ", ".join(str(r) for r in o.rows)
            lines.append(
                f"| {mark} | `{o.rule.expectation}` | {_md(o.rule.target)} | {unexpected} | "
                f"{_md(examples)} | {rows} | {_md(o.rule.why)} |"
            )
        return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- GX plumbing --------------------------------------------------------------------------------

_LOCK = threading.Lock()


@cache
def gx_context() -> Any:
    """The process's one GX ephemeral context and whole-dataframe batch definition (cached)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("ons_partitions").add_dataframe_asset("partition")
    return asset.add_batch_definition_whole_dataframe("whole_partition")


def build_suite(name: str, rules: Sequence[Rule]) -> Any:
    """A GX ``ExpectationSuite`` of ``rules`` (each expectation carries its rule index)."""
    import great_expectations as gx
    from great_expectations.expectations.metadata_types import FailureSeverity

    suite = gx.ExpectationSuite(name=name)
    for index, rule in enumerate(rules):
        cls = getattr(gx.expectations, rule.expectation)
        severity = FailureSeverity.CRITICAL if rule.blocking else FailureSeverity.WARNING
        kwargs = dict(rule.kwargs)
        if WHERE in kwargs:
            kwargs["row_condition"] = _condition(kwargs.pop(WHERE))
        suite.add_expectation(cls(**kwargs, severity=severity, meta={"rule": index}))
    return suite


def _condition(terms: Sequence[tuple[str, str, Any]]) -> Any:
    """GX 1.x row condition (``Column(a) == x`` & ...) of a conjunction of terms."""
    import operator

    from great_expectations.expectations.row_conditions import Column

    ops = {
        "==": operator.eq,
        "!=": operator.ne,
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
    }
    condition = None
    for column, op, value in terms:
        term = ops[op](Column(column), value)
        condition = term if condition is None else condition & term
    return condition


def prepare_frame(table: pa.Table, spec: TableSpec) -> Any:
    """The pandas frame GX validates: the partition's columns plus the derived helper columns.

    Optional tags' nulls become ``""`` (InfluxDB identifies a series by its non-empty tags, so
    null and empty are the same series); BIGINT fields keep nulls exactly (pandas ``Int64``).
    """
    import pandas as pd

    columns = {}
    names = set(table.schema.names)
    for name in table.schema.names:
        column = table.column(name)
        if name in spec.optional_tags and pa.types.is_string(column.type):
            column = pc.fill_null(column, "")
        if name in spec.tags and pa.types.is_string(column.type):
            # pandas categoricals: GX's regex and null checks then look at each distinct value
            # once (a tag has a few hundred values over hundreds of thousands of rows)
            column = pc.dictionary_encode(column)
        columns[name] = column
    columns[NONFINITE_COLUMN] = _nonfinite(table, spec)
    if UTC_HOUR_COLUMN in derived_columns(spec):
        if TIME_COLUMN in names and pa.types.is_timestamp(table.column(TIME_COLUMN).type):
            columns[UTC_HOUR_COLUMN] = pc.cast(pc.hour(table.column(TIME_COLUMN)), pa.int8())
        else:
            columns[UTC_HOUR_COLUMN] = pa.nulls(table.num_rows, pa.int8())
    frame = pa.table(columns).to_pandas(
        types_mapper={pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
    )
    as_objects = [f.name for f in spec.fields if f.type in _OBJECT_TYPES]
    for name in as_objects:
        if name in frame.columns:
            frame[name] = frame[name].astype(object)
    return frame


def _nonfinite(table: pa.Table, spec: TableSpec) -> pa.Array:
    """Per row, the names of float fields holding NaN or ±infinity (null when none)."""
    flagged: dict[str, list[bool]] = {}
    for f in spec.fields:
        if f.name not in table.schema.names:
            continue
        column = table.column(f.name)
        if not pa.types.is_floating(column.type):
            continue
        bad = pc.fill_null(pc.invert(pc.is_finite(column)), False)
        if pc.any(bad).as_py():
            flagged[f.name] = bad.to_pylist()
    if not flagged:  # the usual case: no Python per row
        return pa.nulls(table.num_rows, pa.string())
    names = [
        ",".join(name for name, mask in flagged.items() if mask[row]) or None
        for row in range(table.num_rows)
    ]
    return pa.array(names, pa.string())


def _outcome(rule: Rule, result: Any) -> Outcome:
    details = dict(result.result or {})
    error = None
    info = result.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        error = str(info.get("exception_message") or "exception")[:300]
    elif isinstance(info, dict):
        for nested in info.values():
            if isinstance(nested, dict) and nested.get("exception_message"):
                error = str(nested["exception_message"]).splitlines()[0][:300]
                break
    if not result.success and not details and error is None:
        error = "could not be evaluated (missing column or incomparable values)"
    examples = list(details.get("partial_unexpected_list") or [])[:EXAMPLES]
    rows = [int(r) for r in (details.get("partial_unexpected_index_list") or [])[:EXAMPLES]]
    return Outcome(
        rule=rule,
        success=bool(result.success),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        examples=examples,
        rows=rows,
        observed=details.get("observed_value"),
        error=error,
    )


def validate_table(
    table: pa.Table, spec: TableSpec, window: Window, partition: str = ""
) -> ValidationReport:
    """Run ``spec``'s suite for ``window`` on a partition's rows (as read, not yet cast)."""
    began = time.perf_counter()
    rules = rules_for(spec, window)
    frame = prepare_frame(table, spec)
    with _LOCK:
        batch_definition = gx_context()
        suite = build_suite(f"{spec.name}_{partition or 'partition'}", rules)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES},
        )
    outcomes: list[Outcome | None] = [None] * len(rules)
    for item in result.results:
        index = int((item.expectation_config.meta or {}).get("rule", -1))
        if 0 <= index < len(rules):
            outcomes[index] = _outcome(rules[index], item)
    done = [
        o if o is not None else Outcome(rule=r, success=False, error="no result from GX")
        for o, r in zip(outcomes, rules, strict=True)
    ]
    return ValidationReport(
        table=spec.name,
        partition=partition,
        rows=table.num_rows,
        outcomes=done,
        seconds=time.perf_counter() - began,
    )


def validate_partition(store: ParquetStore, spec: TableSpec, day: date) -> ValidationReport:
    """Read a partition from S3 and validate it; a partition without files fails blocking."""
    began = time.perf_counter()
    partition = Partition(spec.name, day)
    table, keys = store.read_raw(partition)
    if table is None:
        rule = Rule("PartitionHasParquetFiles", {}, True, "the export wrote the partition")
        outcome = Outcome(rule, False, error=f"no Parquet files under {store.uri(partition)}")
        return ValidationReport(spec.name, partition.key, 0, [outcome], time.perf_counter() - began)
    report = validate_table(table, spec, partition.window, partition.key)
    report.files = [f"s3://{store.bucket}/{k}" for k in keys]
    report.seconds = time.perf_counter() - began
    return report


def describe_rules(spec: TableSpec) -> list[dict[str, Any]]:
    """The suite of a table as JSON-able rows (for docs and the UI), window left symbolic."""
    sample = rules_for(spec, day_window(date(2018, 1, 1)))
    return [
        {
            "expectation": r.expectation,
            "target": r.target,
            "blocking": r.blocking,
            "why": r.why,
        }
        for r in sample
    ]


def validate_days(tables: Mapping[date, pa.Table], spec: TableSpec) -> dict[date, ValidationReport]:
    """Each day's report, from as few GX runs as possible: the days are validated together (one
    suite over the concatenated rows, its time rule spanning the days); a group where something
    fails is split in halves until the failing days are validated alone, so every day's report
    says exactly what a validation of that day alone would. Days with rows outside their own UTC
    day, and days without rows, are validated alone from the start."""
    reports: dict[date, ValidationReport] = {}
    together = []
    for day in sorted(tables):
        table = tables[day]
        if table.num_rows == 0 or not _inside_day(table, day):
            reports[day] = validate_table(table, spec, day_window(day), day.isoformat())
        else:
            together.append(day)
    _validate_group(together, tables, spec, reports)
    return reports


def _inside_day(table: pa.Table, day: date) -> bool:
    if TIME_COLUMN not in table.schema.names or not pa.types.is_timestamp(
        table.schema.field(TIME_COLUMN).type
    ):
        return False  # structural problems are reported by the day's own validation
    window = day_window(day)
    times = pc.cast(table.column(TIME_COLUMN), pa.int64())
    low, high = pc.min(times).as_py(), pc.max(times).as_py()
    return low is not None and window.start_ns <= low and high < window.end_ns


def _validate_group(
    days: list[date],
    tables: Mapping[date, pa.Table],
    spec: TableSpec,
    reports: dict[date, ValidationReport],
) -> None:
    if not days:
        return
    if len(days) == 1:
        day = days[0]
        reports[day] = validate_table(tables[day], spec, day_window(day), day.isoformat())
        return
    window = Window(day_window(days[0]).start, day_window(days[-1]).end)
    try:
        combined = pa.concat_tables([tables[d] for d in days], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        combined = None  # schemas differ: each day says how
    if combined is not None:
        group = validate_table(combined, spec, window, f"{days[0]}…{days[-1]}")
        if all(o.success for o in group.outcomes):
            share = group.seconds / len(days)
            for day in days:
                reports[day] = ValidationReport(
                    table=spec.name,
                    partition=day.isoformat(),
                    rows=tables[day].num_rows,
                    outcomes=group.outcomes,
                    seconds=share,
                )
            return
    half = len(days) // 2
    _validate_group(days[:half], tables, spec, reports)
    _validate_group(days[half:], tables, spec, reports)
