"""The schema mapping: the setting that finds it, user files that add or replace tables, and
validation errors that name the file, the table and the key."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from ons_pipeline.lib import schema
from ons_pipeline.lib.schema import (
    MAPPING_FILE,
    Layout,
    MappingSettings,
    SchemaError,
    Source,
    load_mapping,
    load_mappings,
)
from ons_pipeline.lib.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mappings" / "ons_extra.toml"

USER_FILE = """
[tables.curva_carga]
description = "Curva de carga horária, written to another measurement"
source = "ons"
measure_name = "carga"
grain = "1h"
series = 8
tags = ["id_subsistema", "nom_subsistema"]
fields = { val_cargaenergiahomwmed = "DOUBLE" }
measurement = "carga_horaria"
raw_time_column = "din_instante"

[tables.telemetria]
description = "Single-measure records of a user's Timestream table"
source = "timestream"
database = "plant_ops"
timestream_table = "Telemetria-Usinas"
layout = "single"
grain = "15m"
series = 6
tags = ["usina", "unidade"]
optional_tags = ["unidade"]
fields = { potencia = "DOUBLE", partidas = "BIGINT", estado = "VARCHAR", disponivel = "BOOLEAN" }
units = { potencia = "MW" }
source_columns = { usina = "PlantId", potencia = "active_power" }
"""

GOOD = {
    "description": '"a table"',
    "source": '"ons"',
    "measure_name": '"m"',
    "grain": '"1h"',
    "tags": '["id_subsistema"]',
    "fields": '{ val_x = "DOUBLE" }',
}


def write(tmp_path: Path, text: str, name: str = "user.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def entry(name: str = "minha_tabela", **keys: str | None) -> str:
    values = {**GOOD, **keys}
    body = "\n".join(f"{k} = {v}" for k, v in values.items() if v is not None)
    return f"[tables.{name}]\n{body}\n"


def test_the_shipped_mapping_is_the_default() -> None:
    assert MappingSettings.from_env({}).files == (MAPPING_FILE,)
    assert Settings.from_env({}).mapping == MappingSettings()
    specs = schema.tables(MappingSettings())
    assert {s.origin for s in specs.values()} == {str(MAPPING_FILE)}
    assert specs["generation_data"].layout is Layout.SINGLE
    assert specs["curva_carga"].layout is Layout.MULTI


def test_settings_read_the_base_file_and_the_extra_files() -> None:
    env = {
        "ONS_MAPPING_FILE": "/etc/ons/base.toml",
        "ONS_MAPPING_EXTRA": f"a.toml{os.pathsep}b.toml",
    }
    mapping = Settings.from_env(env).mapping
    assert mapping.files == (Path("/etc/ons/base.toml"), Path("a.toml"), Path("b.toml"))


def test_a_user_file_adds_and_replaces_tables(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user = write(tmp_path, USER_FILE)
    monkeypatch.setenv("ONS_MAPPING_EXTRA", str(user))
    specs = schema.tables()
    shipped = load_mapping(MAPPING_FILE)
    assert set(specs) == set(shipped) | {"telemetria"}
    curva = schema.table("curva_carga")  # replaced whole, by the user's entry
    assert (curva.measurement, curva.series, curva.origin) == ("carga_horaria", 8, str(user))
    assert specs["ear_diario"] == shipped["ear_diario"]  # the others as shipped
    tele = schema.table("telemetria")
    assert tele.source is Source.TIMESTREAM and tele.layout is Layout.SINGLE
    assert (tele.database, tele.source_table) == ("plant_ops", "Telemetria-Usinas")
    assert tele.source_column("usina") == "PlantId" and tele.source_column("unidade") == "unidade"
    assert tele.grain == timedelta(minutes=15)
    # every call reads the setting: unset, the shipped mapping again (nothing cached stale)
    monkeypatch.delenv("ONS_MAPPING_EXTRA")
    assert "telemetria" not in schema.tables()
    assert schema.table("curva_carga").measurement == "curva_carga"


def test_an_edited_user_file_is_read_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user = write(tmp_path, entry("primeira"))
    monkeypatch.setenv("ONS_MAPPING_EXTRA", str(user))
    assert "primeira" in schema.tables()
    user.write_text(entry("segunda", grain='"30m"'), encoding="utf-8")
    os.utime(user, ns=(1, 1))  # a different modification time, whatever the clock's resolution
    assert "segunda" in schema.tables() and "primeira" not in schema.tables()


def test_the_base_file_can_be_replaced(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base = write(tmp_path, entry("unica"), "base.toml")
    monkeypatch.setenv("ONS_MAPPING_FILE", str(base))
    assert list(schema.tables()) == ["unica"]


@pytest.mark.parametrize(
    "section",
    ['[retention.curto]\npolicy = "curto"\nduration = "30d"\n', '[rollups]\ntables = ["x"]\n'],
)
def test_an_extra_file_declaring_retention_or_rollups_is_refused_by_name(
    tmp_path: Path, section: str
) -> None:
    extra = write(tmp_path, entry() + section)
    name = section.split("]")[0].split(".")[0].lstrip("[")
    with pytest.raises(SchemaError, match=rf"user\.toml: \[{name}\] belongs in the project"):
        load_mappings([MAPPING_FILE, extra])
    assert "minha_tabela" in load_mappings([MAPPING_FILE, write(tmp_path, entry(), "ok.toml")])


def test_the_example_file_adds_the_two_ons_datasets() -> None:
    specs = load_mappings([MAPPING_FILE, EXAMPLE])
    weekly, daily = specs["cmo_semanal"], specs["carga_energia"]
    assert weekly.grain == timedelta(days=7) and daily.grain == timedelta(days=1)
    assert weekly.field_names == (
        "val_cmomediasemanal",
        "val_cmoleve",
        "val_cmomedia",
        "val_cmopesada",
    )
    assert weekly.raw_columns[:3] == ("id_subsistema", "nom_subsistema", "din_instante")
    assert daily.field_names == ("val_cargaenergiamwmed",)


BROKEN = [
    # (what is wrong, the entry, the key the error names, words of the message)
    ("unknown key", entry(colour='"blue"'), "colour", "unknown key"),
    ("missing key", entry(grain=None), "grain", "missing"),
    ("bad source", entry(source='"csv"'), "source", "must be one of"),
    ("bad layout", entry(layout='"wide"'), "layout", "must be one of"),
    ("tags not a list", entry(tags='"id_subsistema"'), "tags", "list of strings"),
    ("fields not a table", entry(fields='["val_x"]'), "fields", "table of strings"),
    ("unknown type", entry(fields='{ val_x = "FLOAT" }'), "fields", "'FLOAT'"),
    ("no field", entry(fields="{}"), "fields", "at least one field"),
    ("bad column name", entry(tags='["Id-Subsistema"]'), "tags", "must match"),
    ("tag and field", entry(fields='{ id_subsistema = "DOUBLE" }'), "fields", "used twice"),
    ("bad grain", entry(grain='"1 hour"'), "grain", "'1 hour'"),
    ("grain not text", entry(grain="60"), "grain", "must be a string"),
    ("units of nothing", entry(units='{ val_y = "MW" }'), "units", "unknown fields"),
    ("optional not a tag", entry(optional_tags='["region"]'), "optional_tags", "not tags"),
    ("bad series", entry(series="0"), "series", "positive integer"),
    ("no measure name", entry(measure_name=None), "measure_name", "missing"),
    (
        "measure name of single records",
        entry(layout='"single"', source='"timestream"'),
        "measure_name",
        "not used with layout 'single'",
    ),
    ("bad decimal", entry(raw_decimal='";"'), "raw_decimal", "'.' or ','"),
    (
        "header without tags",
        entry(raw_time_column='"din_instante"', raw_columns='["din_instante", "val_x"]'),
        "raw_columns",
        "lacks ['id_subsistema']",
    ),
    ("header without time", entry(raw_columns='["id_subsistema"]'), "raw_columns", "needs"),
    ("bad Timestream name", entry(timestream_table='"a b"'), "timestream_table", "not a Times"),
    ("stray rename", entry(source_columns='{ other = "X" }'), "source_columns", "neither"),
    ("empty database", entry(database='""'), "database", "non-empty string"),
    (
        "legacy with multi records",
        entry(source='"legacy"', layout='"multi"', measure_name='"value"'),
        "layout",
        "single-measure",
    ),
    (
        "legacy with another measure",
        entry(source='"legacy"', measure_name='"value"'),
        "fields",
        "one DOUBLE measure named 'value'",
    ),
]


@pytest.mark.parametrize(("problem", "text", "key", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_validation_errors_name_the_file_the_table_and_the_key(
    tmp_path: Path, problem: str, text: str, key: str, words: str
) -> None:
    path = write(tmp_path, entry("boa") + text)
    with pytest.raises(SchemaError) as info:
        load_mappings([MAPPING_FILE, path])
    message = str(info.value)
    assert message.startswith(f"{path}: table 'minha_tabela', key '{key}': "), message
    assert words in message, message


def test_errors_of_the_file_itself_name_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nowhere.toml"
    monkeypatch.setenv("ONS_MAPPING_EXTRA", str(missing))
    with pytest.raises(SchemaError, match=re.escape(f"{missing}: cannot read the mapping file")):
        schema.tables()
    bad = write(tmp_path, "[tables.x\n")
    with pytest.raises(SchemaError, match=re.escape(str(bad))):
        load_mapping(bad)
    other = write(tmp_path, 'title = "mine"\n' + entry(), "other.toml")
    with pytest.raises(SchemaError, match=re.escape(f"{other}: key 'title': unknown")):
        load_mapping(other)
    empty = write(tmp_path, "# nothing yet\n", "empty.toml")
    with pytest.raises(SchemaError, match=re.escape(f"{empty}: no [tables.<name>] entries")):
        load_mapping(empty)


def test_two_tables_may_not_write_one_measurement(tmp_path: Path) -> None:
    path = write(tmp_path, entry("copia", measurement='"curva_carga"'))
    with pytest.raises(SchemaError) as info:
        load_mappings([MAPPING_FILE, path])
    message = str(info.value)
    assert message.startswith(f"{path}: table 'copia', key 'measurement': ")
    assert "'curva_carga'" in message and str(MAPPING_FILE) in message


def test_a_project_file_may_declare_its_own_retention(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shipped = MAPPING_FILE.read_text(encoding="utf-8")
    base = tmp_path / "project.toml"
    marker = 'description = "Every table above'
    base.write_text(shipped.replace(marker, 'note = "x"\n' + marker, 1), encoding="utf-8")
    monkeypatch.setenv("ONS_MAPPING_FILE", str(base))
    with pytest.raises(SchemaError, match=rf"{re.escape(str(base))}: retention group 'raw'"):
        schema.retention_groups()

    without = tmp_path / "tables_only.toml"
    without.write_text(shipped.split("[retention.raw]")[0], encoding="utf-8")
    monkeypatch.setenv("ONS_MAPPING_FILE", str(without))
    assert schema.retention_groups() == schema.load_retention(MAPPING_FILE)
    assert schema.rollup_config() == schema.load_rollups(MAPPING_FILE)
