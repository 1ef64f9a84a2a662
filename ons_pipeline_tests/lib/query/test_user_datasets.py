"""The question vocabulary and the knowledge base know the datasets a user mapping file adds
(the example file's weekly CMO and daily load), and only when the mapping holds them; questions
on the real weekly CMO file are answered from the real InfluxDB."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.ingest.normalize import normalize_file
from ons_pipeline.lib.migration.loader import load_tables
from ons_pipeline.lib.query.execute import execute
from ons_pipeline.lib.query.nl import translate
from ons_pipeline.lib.rag.knowledge import load_knowledge
from ons_pipeline_tests.ingest.conftest import EXAMPLE_MAPPING, EXTRA_SAMPLES

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONS_MAPPING_EXTRA", str(EXAMPLE_MAPPING))


def model_of(question: str) -> tuple[str, list[str], str | None]:
    tr = translate(question, now=NOW)
    assert tr.model is not None and tr.complete, (question, tr.unmapped)
    return (
        tr.model.table,
        [s.alias for s in tr.model.selections],
        tr.model.window and str(tr.model.window),
    )


def test_weekly_cmo_questions_read_the_weekly_dataset_when_it_is_mapped(extra: None) -> None:
    assert model_of("CMO semanal do Sudeste em 2024") == (
        "cmo_semanal",
        ["mean_val_cmomediasemanal"],
        "1w",
    )
    assert model_of("CMO no patamar pesado do Sul em abril de 2024") == (
        "cmo_semanal",
        ["mean_val_cmopesada"],
        "1w",
    )
    assert model_of("weekly CMO at light load in the southeast in 2024")[:2] == (
        "cmo_semanal",
        ["mean_val_cmoleve"],
    )
    # an aggregate of the weekly values over the period: one value per subsystem
    assert model_of("maior CMO semanal de 2024") == (
        "cmo_semanal",
        ["max_val_cmomediasemanal"],
        None,
    )
    tr = translate("CMO semanal do Sudeste em 2024", now=NOW)
    assert "CMO semanal (média dos patamares)" in tr.interpretation


def test_daily_load_questions_read_the_daily_dataset_only_for_the_daily_values(
    extra: None,
) -> None:
    assert model_of("carga diária do Sul em março de 2024") == (
        "carga_energia",
        ["mean_val_cargaenergiamwmed"],
        "1d",
    )
    # the daily peak is a maximum of hourly values: still the hourly curve
    assert model_of("carga máxima diária do Sul em março de 2024")[0] == "curva_carga"
    assert model_of("carga do Sul em março de 2024")[0] == "curva_carga"


def test_without_the_datasets_the_questions_read_as_before() -> None:
    assert "cmo_semanal" not in schema.tables()
    assert model_of("CMO semanal do Sudeste em 2024") == ("cmo_semihorario", ["mean_val_cmo"], "1w")
    assert model_of("carga diária do Sul em março de 2024")[0] == "curva_carga"
    tr = translate("CMO no patamar pesado do Sul em abril de 2024", now=NOW)
    assert not tr.complete
    [gap] = tr.unmapped
    assert gap.kind == "measure" and "cmo_semanal" in gap.reason


def test_a_load_level_without_the_cmo_is_not_understood(extra: None) -> None:
    tr = translate("carga pesada do Sul em abril de 2024", now=NOW)
    assert not tr.complete and any("weekly CMO" in u.reason for u in tr.unmapped)


def test_the_knowledge_base_documents_the_datasets_only_when_mapped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped = {d.id for d in load_knowledge()}
    assert not {"cmo-semanal", "carga-diaria"} & shipped
    monkeypatch.setenv("ONS_MAPPING_EXTRA", str(EXAMPLE_MAPPING))
    docs = {d.id: d for d in load_knowledge()}
    assert set(docs) == shipped | {"cmo-semanal", "carga-diaria"}
    weekly = docs["cmo-semanal"]
    assert weekly.live is not None and weekly.live.table == "cmo_semanal"
    assert "val_cmopesada" in weekly.body
    # a document about several tables stays; a live query on an unmapped table is dropped
    only = load_knowledge(mapped=["balanco_subsistema"])
    carga = next(d for d in only if d.id == "carga")
    assert carga.live is None and "ear" not in {d.id for d in only}


def test_questions_on_the_real_weekly_file_answer_its_values(
    extra: None, influx_url: str, influx_db: str
) -> None:
    spec = schema.table("cmo_semanal")
    normalized = normalize_file(EXTRA_SAMPLES / "cmo_semanal_2024_excerpt.csv")
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        report = load_tables(list(normalized.days.values()), spec, client, partition="test")
        assert report.failed_batches == 0 and report.points == 28
    tr = translate("CMO no patamar pesado do Sul em abril de 2024", now=NOW)
    assert tr.model is not None
    result = execute(tr.model, influx_url, influx_db)
    values = [row[result.names.index("mean_val_cmopesada")] for row in result.rows]
    # the Sul rows of April 2024 in the file: 16.11, 8.24, 8.16, 3.89 (one per week)
    assert sorted(v for v in values if v is not None) == [3.89, 8.16, 8.24, 16.11]
    top = translate("maior CMO semanal do Sul em abril de 2024", now=NOW)
    assert top.model is not None
    peak = execute(top.model, influx_url, influx_db)
    assert [row[peak.names.index("max_val_cmomediasemanal")] for row in peak.rows] == [15.65]
