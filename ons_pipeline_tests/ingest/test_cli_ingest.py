"""``ons-pipeline normalize`` and ``ons-pipeline load`` (registered on a group as cli.py does)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ons_pipeline.cli.ingest import register
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.ingest.conftest import SAMPLES


@click.group()
def cli() -> None:
    """Stand-in for ``ons_pipeline.cli.main.main``."""


register(cli)

BROKEN = (
    "id_subsistema;nom_subsistema;din_instante;val_cmo\n"
    "N;NORTE;2022-01-01 00:00:00;1.5\n"
    "S;SUL;2022-01-01 00:00:00;abc\n"
)


def test_normalize_reports_rows_days_and_bad_rows(tmp_path: Path) -> None:
    runner = CliRunner()
    sample = SAMPLES / "curva_carga_2018_excerpt.csv"
    result = runner.invoke(cli, ["normalize", str(sample)])
    assert result.exit_code == 0, result.output
    assert "dataset curva_carga" in result.output and "DST-gap dropped 4" in result.output
    as_json = json.loads(runner.invoke(cli, ["normalize", str(sample), "--json"]).output)
    assert as_json["rows normalised"] == 140 and as_json["bad_rows"] == []

    broken = tmp_path / "broken.csv"
    broken.write_text(BROKEN)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["normalize", str(broken), "--out", str(out)])
    assert result.exit_code == 0
    assert "row 3, column 'val_cmo': not a number: 'abc'" in result.output
    assert (out / "cmo_semihorario" / "date=2022-01-01" / "part-00000.parquet").exists()
    assert (out / "quarantine" / "broken.csv.json").exists()
    assert runner.invoke(cli, ["normalize", str(broken), "--strict"]).exit_code == 1
    # a file of which nothing could be read fails, even without --strict
    nothing = tmp_path / "nothing.csv"
    nothing.write_text(
        "id_subsistema;nom_subsistema;din_instante;val_cmo\nN;NORTE;ontem;1.0\n", encoding="utf-8"
    )
    result = runner.invoke(cli, ["normalize", str(nothing)])
    assert result.exit_code == 1 and "none of the 1 rows" in result.output
    # how a file not written as ONS writes it was read is said
    excel = tmp_path / "excel.csv"
    excel.write_text(
        "id_subsistema;nom_subsistema;din_instante;val_cmo\nN;NORTE;01/01/2022 00:00;1,5\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["normalize", str(excel)])
    assert result.exit_code == 0 and "read as: times: dates written dd/mm/yyyy" in result.output


def test_normalize_unknown_dataset_is_a_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "prices.csv"
    other.write_text("date;price\n2024-01-01;3\n")
    result = CliRunner().invoke(cli, ["normalize", str(other)])
    assert result.exit_code == 1
    assert "prices.csv" in result.output and "matches no known ONS dataset" in result.output


def test_load_writes_partitions_quarantine_and_points(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_server,  # type: ignore[no-untyped-def]
    s3_bucket: str,
    influx_url: str,
    influx_db: str,
) -> None:
    for name, value in {
        "ONS_STATE_DIR": str(tmp_path / "no-local-servers"),
        "ONS_INFLUX_URL": influx_url,
        "ONS_INFLUX_DATABASE": influx_db,
        "ONS_AWS_ENDPOINT_URL": moto_server.url,
        "ONS_S3_BUCKET": s3_bucket,
    }.items():
        monkeypatch.setenv(name, value)
    broken = tmp_path / "broken.csv"
    broken.write_text(BROKEN)
    result = CliRunner().invoke(cli, ["load", str(broken)])
    assert result.exit_code == 0, result.output
    assert "wrote 1 points" in result.output
    assert f"quarantine: s3://{s3_bucket}/quarantine/rows/manual/broken.csv@" in result.output
    body = influxql(influx_url, 'SELECT * FROM "cmo_semihorario"', influx_db)
    assert body["results"][0]["series"][0]["values"][0][-1] == 1.5
    result = CliRunner().invoke(cli, ["load", str(SAMPLES / "geracao_usina_2021_excerpt.csv")])
    assert result.exit_code == 0 and "wrote 280 points" in result.output
