"""GX suites on partitions: generated days pass; each kind of bad row is caught and shown."""

from __future__ import annotations

import datetime as dt
from datetime import date

import pyarrow as pa
import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.integrity.validation import (
    NONFINITE_COLUMN,
    ValidationReport,
    describe_rules,
    gx_context,
    validate_partition,
    validate_table,
)
from ons_pipeline.lib.ons_time import day_window
from ons_pipeline.lib.partitions import ParquetStore
from ons_pipeline_tests.integrity.conftest import PARQUET, generated, put_day

DAY = date(2018, 11, 4)


@pytest.fixture(scope="module", autouse=True)
def gx_imported() -> None:
    gx_context()  # the one-off import (~2.5 s) is not part of a partition's validation


def failures(report: ValidationReport, blocking: bool) -> dict[tuple[str, str], object]:
    failed = report.blocking_failures if blocking else report.warning_failures
    return {(o.rule.expectation, o.rule.target): o for o in failed}


@pytest.mark.parametrize("table", list(schema.tables()))
def test_generated_days_pass_every_expectation(table: str) -> None:
    report = validate_table(generated(table, DAY), schema.table(table), day_window(DAY), "d")
    assert report.passed, report.summary(blocking=True)
    assert not report.warning_failures, report.summary(blocking=False)
    assert report.seconds >= 0  # timed (speed is for benchmarks, not tests)


def test_bad_rows_fail_blocking_expectations_with_rows_and_examples() -> None:
    spec = schema.table("ear_diario")
    rows = generated("ear_diario", DAY).to_pylist()
    rows.append(dict(rows[2], nom_subsistema="Sudeste"))  # row 4: row 2's series (its code) again
    rows[0]["time"] += dt.timedelta(days=1)  # outside the UTC day
    rows[1]["id_subsistema"] = None  # a key tag missing
    rows[3]["nom_subsistema"] = "SUL\\"  # a trailing backslash InfluxDB cannot store
    rows[3]["ear_max_subsistema"] = float("nan")
    report = validate_table(pa.Table.from_pylist(rows, spec.arrow_schema()), spec, day_window(DAY))
    assert not report.passed
    found = failures(report, blocking=True)
    window = found[("ExpectColumnValuesToBeBetween", "time")]
    assert window.rows == [0] and window.unexpected_count == 1  # type: ignore[attr-defined]
    assert found[("ExpectColumnValuesToNotBeNull", "id_subsistema")].rows == [1]  # type: ignore[attr-defined]
    assert found[("ExpectColumnValuesToMatchRegex", "nom_subsistema")].examples == ["SUL\\"]  # type: ignore[attr-defined]
    assert found[("ExpectColumnValuesToBeNull", NONFINITE_COLUMN)].examples == [  # type: ignore[attr-defined]
        "ear_max_subsistema"
    ]
    duplicate = found[("ExpectCompoundColumnsToBeUnique", "time, id_subsistema")]
    assert sorted(duplicate.rows) == [2, 4]  # type: ignore[attr-defined]
    markdown = report.markdown(blocking=True)
    assert "❌" in markdown and "`ExpectCompoundColumnsToBeUnique`" in markdown


def test_wrong_columns_and_types_are_blocking() -> None:
    spec = schema.table("curva_carga")
    rows = generated("curva_carga", DAY)
    wrong = rows.drop_columns(["nom_subsistema"]).set_column(
        2, "val_cargaenergiahomwmed", rows.column("val_cargaenergiahomwmed").cast(pa.string())
    )
    report = validate_table(wrong, spec, day_window(DAY))
    found = failures(report, blocking=True)
    assert ("ExpectTableColumnsToMatchSet", "columns") in found
    assert ("ExpectColumnValuesToBeInTypeList", "val_cargaenergiahomwmed") in found
    assert ("ExpectColumnValuesToMatchRegex", "nom_subsistema") in found  # could not run


def test_implausible_values_only_warn() -> None:
    spec = schema.table("balanco_subsistema")
    rows = generated("balanco_subsistema", DAY).to_pylist()
    night = next(i for i, r in enumerate(rows) if r["time"].hour == 3)
    rows[night]["val_gersolar"] = 850.0  # sunshine at 00:00 in Brasília
    rows[10]["val_carga"] = -5.0  # negative load
    report = validate_table(pa.Table.from_pylist(rows, spec.arrow_schema()), spec, day_window(DAY))
    assert report.passed  # loaded anyway: the migration copies the source faithfully
    found = failures(report, blocking=False)
    assert found[("ExpectColumnValuesToBeBetween", "val_carga")].examples == [-5.0]  # type: ignore[attr-defined]
    night_rule = "val_gersolar where _utc_hour >= 1 and _utc_hour < 7"
    solar = found[("ExpectColumnValuesToBeBetween", night_rule)]
    assert solar.examples == [850.0] and solar.rows == [night]  # type: ignore[attr-defined]

    ear = schema.table("ear_diario")
    rows = generated("ear_diario", DAY).to_pylist()
    rows[0]["ear_verif_subsistema_percentual"] = 101.5
    rows[1]["ear_verif_subsistema_mwmes"] = rows[1]["ear_max_subsistema"] + 1
    report = validate_table(pa.Table.from_pylist(rows, ear.arrow_schema()), ear, day_window(DAY))
    found = failures(report, blocking=False)
    assert found[("ExpectColumnValuesToBeBetween", "ear_verif_subsistema_percentual")]
    assert (
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "ear_max_subsistema ≥ ear_verif_subsistema_mwmes",
    ) in found


def test_partition_read_from_s3_and_missing_partition(s3, s3_bucket) -> None:  # type: ignore[no-untyped-def]
    spec = schema.table("cmo_semihorario")
    put_day(s3, s3_bucket, "cmo_semihorario", DAY)
    report = validate_partition(ParquetStore(s3, s3_bucket, PARQUET), spec, DAY)
    assert report.passed and report.rows > 0 and report.files
    missing = validate_partition(ParquetStore(s3, s3_bucket, "nothing"), spec, DAY)
    assert not missing.passed and "no Parquet files" in missing.summary(blocking=True)


def test_every_table_has_blocking_and_plausibility_rules() -> None:
    for name, spec in schema.tables().items():
        rules = describe_rules(spec)
        assert any(r["blocking"] for r in rules) and any(not r["blocking"] for r in rules), name
