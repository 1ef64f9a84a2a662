"""Series cardinality and retention figures, read from the real InfluxDB, in the storage report
and the migration report."""

from __future__ import annotations

from datetime import date

import dagster as dg

from ons_pipeline.defs.integrity.report import migration_report, storage_report
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.influx.client import InfluxClient
from ons_pipeline.lib.integrity.cardinality import Target, measure
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline_tests.integrity.conftest import load_day, put_day

DAY = date(2024, 5, 6)


def test_cardinality_per_measurement_and_tag(s3, s3_bucket, influx: InfluxClient) -> None:  # type: ignore[no-untyped-def]
    for table in ("curva_carga", "geracao_usina"):
        put_day(s3, s3_bucket, table, DAY)
        load_day(s3, s3_bucket, influx, table, DAY)
    figures = {f.target.measurement: f for f in measure(influx, [
        Target("curva_carga", expected=4),
        Target("geracao_usina", expected=540),
        Target("nothing_here"),
    ])}  # fmt: skip
    load = figures["curva_carga"]
    assert (load.series, load.tags) == (4, {"id_subsistema": 4, "nom_subsistema": 4})
    assert load.dependent and load.verdict().startswith("✅ series = values of ")
    plants = figures["geracao_usina"]
    assert plants.series is not None and plants.series > 100
    assert plants.tags[plants.key_tag or ""] == plants.series  # names, states, fuels follow
    assert plants.tags["id_subsistema"] < plants.series and plants.dependent
    assert figures["nothing_here"].series is None
    assert figures["nothing_here"].verdict() == "no data"
    # a name that changes under the same code makes the tags multiply: flagged
    influx.write(b"curva_carga,id_subsistema=SE,nom_subsistema=RENAMED v=1 1715000000000000000\n")
    again = measure(influx, [Target("curva_carga", expected=4)])[0]
    assert again.series == 5 and "more series than the mapping expects (4)" in again.verdict()
    # two tags that vary independently multiply the series
    lines = [f"grid,a={a},b={b} v=1 1715000000000000000\n" for a in "12" for b in "xyz"]
    influx.write("".join(lines).encode())
    grid = measure(influx, [Target("grid")])[0]
    assert (grid.series, grid.dependent) == (6, False)
    assert "6 series > 3 values of b: tags vary together" in grid.verdict()


def test_storage_report_feeds_the_migration_report(
    s3,
    s3_bucket,
    influx: InfluxClient,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    put_day(s3, s3_bucket, "curva_carga", DAY)
    load_day(s3, s3_bucket, influx, "curva_carga", DAY)
    url, database = influx.config.url, influx.config.database
    instance = dg.DagsterInstance.ephemeral()
    storage = dg.materialize(
        [storage_report],
        instance=instance,
        resources={"influxdb": InfluxSettings.of(url=url, database=database)},
    )
    assert storage.success
    metadata = storage.asset_materializations_for_node("reports__storage")[0].metadata
    rows = {r["measurement"]: r for r in metadata["cardinality"].value}
    assert rows["curva_carga"]["series"] == 4 and rows["curva_carga"]["expected"] == 4
    assert rows["rollups.curva_carga_1d"]["series"] is None  # no rollups materialised here
    retention = {r["group"]: r for r in metadata["retention"].value}
    assert retention["raw"]["applied"] == "INF" and retention["raw"]["ok"]
    assert retention["rollups"]["action"] == "missing"
    target = tmp_path / "report.md"
    report = dg.materialize(
        [migration_report],
        instance=instance,
        resources={"aws": AwsSettings(endpoint_url=s3.meta.endpoint_url, bucket=s3_bucket)},
        run_config={"ops": {"reports__migration": {"config": {"path": str(target)}}}},
    )
    assert report.success
    text = target.read_text()
    assert "## Storage: retention and series cardinality" in text
    assert "| curva_carga | 4 | 4 |" in text
