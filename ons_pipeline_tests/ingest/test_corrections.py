"""What a file replaces (issue #11, item 2): partial files upsert, whole series-days replace.

Every test compares both stores with what they must hold, point by point: InfluxDB and the Parquet
partitions of every UTC day the files touch.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ons_pipeline.lib import ons_time, schema
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ingest.normalize import normalize_bytes
from ons_pipeline.lib.partitions import ParquetStore, Partition
from ons_pipeline.lib.schema import TIME_COLUMN
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline.local.generator.raw_files import generate_raw_ons, write_ons_csv
from ons_pipeline_tests.ingest.conftest import SAMPLES
from ons_pipeline_tests.ingest.test_ingest import DAY, NEXT, ingest, local, points, raw_csv

Points = dict[tuple[tuple[str, ...], int], dict[str, object]]


def as_points(table: pa.Table, table_name: str) -> Points:
    spec = schema.table(table_name)
    times = pc.cast(table.column(TIME_COLUMN), pa.int64()).to_pylist()
    tags = [table.column(t).to_pylist() for t in spec.tags]
    fields = {f: table.column(f).to_pylist() for f in spec.field_names}
    out: Points = {}
    for i, moment in enumerate(times):
        key = (tuple(c[i] for c in tags), moment)
        out[key] = {f: v[i] for f, v in fields.items() if v[i] is not None}
    return out


def expected(data: bytes, table: str) -> Points:
    """The points a file's good rows make (what the stores hold after ingesting it alone)."""
    normalized = normalize_bytes(data, "expected.csv")
    assert normalized.table == table and not normalized.bad_rows
    out: Points = {}
    for rows in normalized.days.values():
        out.update(as_points(rows, table))
    return out


def stores(
    aws: AwsSettings, url: str, db: str, table: str, first: date, last: date
) -> tuple[Points, Points]:
    """(InfluxDB, Parquet partitions) over the UTC days ``first``..``last``."""
    spec = schema.table(table)
    start = ons_time.utc_day_bounds(first)[0]
    end = ons_time.utc_day_bounds(last)[1]
    in_influx = points(url, db, table, start, end)
    store = ParquetStore.of(aws, aws.client("s3"))
    in_parquet: Points = {}
    day = first
    while day <= last:
        partition = Partition(table, day)
        if store.keys(partition):
            in_parquet.update(as_points(store.read(partition, spec), table))
        day += timedelta(days=1)
    return in_influx, in_parquet


# --- (1) the quarantine workflow: fix the bad rows, re-upload them ----------------------------

CURVA = (SAMPLES / "curva_carga_2018_excerpt.csv").read_bytes()
BROKEN = {  # two hours of one series, with the comma decimals of a spreadsheet
    b"N;NORTE;2018-11-04 05:00:00;5071.55000000": b"N;NORTE;2018-11-04 05:00:00;5.071,55",
    b"N;NORTE;2018-11-04 14:00:00;4564.61500000": b"N;NORTE;2018-11-04 14:00:00;4.564,615",
}


def test_a_fixed_quarantine_file_restores_its_points_and_keeps_the_rest_of_the_day(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    table = "curva_carga"
    broken = CURVA
    for good, bad in BROKEN.items():
        assert good in broken
        broken = broken.replace(good, bad)
    first = ingest(aws, influxdb, broken, "raw/curva_carga/CURVA_CARGA_2018.csv")
    assert len(first.normalized.bad_rows) == 2 and first.points_written == 138
    csv_key = first.quarantine_keys[1]

    # the human's side: download the quarantine CSV, fix the two values, upload it as a raw file
    s3 = aws.client("s3")
    quarantined = s3.get_object(Bucket=aws.bucket, Key=csv_key)["Body"].read()
    fixed = quarantined
    for good, bad in BROKEN.items():
        fixed = fixed.replace(bad, good)
    assert fixed.count(b"\n") == 3  # header + the two fixed lines: a partial file
    uploaded = s3.put_object(Bucket=aws.bucket, Key="raw/curva_carga/fix.csv", Body=fixed)
    second = ingest(aws, influxdb, fixed, "raw/curva_carga/fix.csv", etag=uploaded["ETag"])

    # the two points are back and nothing else of 2018-11-04 moved, in either store
    want = expected(CURVA, table)
    in_influx, in_parquet = stores(
        aws, influx_url, influx_db, table, date(2018, 11, 3), date(2018, 11, 5)
    )
    assert len(want) == 140
    assert in_influx == want
    assert in_parquet == want
    assert second.points_written == 2 and second.points_deleted == 0
    # kept as they were: the points of local 2018-11-04 (01:00-21:00 = UTC 11-04, the UTC day the
    # fix changes) that the fix does not mention; UTC 11-05 is unchanged, so not even looked at
    assert [d.day for d in second.days] == [date(2018, 11, 4)]
    assert second.points_kept == 21 * 4 - 2


# --- (2) a file holding only some series of a day ---------------------------------------------


def _balanco_patch() -> tuple[bytes, bytes, str]:
    def only_se(rows: list[dict]) -> None:
        rows[:] = [r for r in rows if r["id_subsistema"] == "SE"]
        for r in rows:
            r["val_carga"] = "40000.00000000"

    def everything_then_patched(rows: list[dict]) -> None:
        for r in rows:
            if r["id_subsistema"] == "SE" and r["din_instante"].startswith(DAY.isoformat()):
                r["val_carga"] = "40000.00000000"

    table = "balanco_subsistema"
    full = raw_csv(table, [DAY, NEXT])
    patch = _edit(raw_csv(table, [DAY]), only_se)
    want = _edit(full, everything_then_patched)
    return full, patch, want.decode()


def _edit(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    lines = data.decode().splitlines()
    header = lines[0].split(";")
    rows = [dict(zip(header, line.split(";"), strict=True)) for line in lines[1:]]
    edit(rows)
    head = ";".join(rows[0]) if rows else lines[0]  # the edit may drop columns
    return ("\n".join([head, *(";".join(r.values()) for r in rows)]) + "\n").encode()


EAR = (SAMPLES / "ear_diario_subsistema_2023_excerpt.csv").read_bytes()
EAR_SE = b"SE;SUDESTE;2023-01-10;204615.328125;123191.5234375;60.20640182"
EAR_SE_FIXED = b"SE;SUDESTE;2023-01-10;204615.328125;124000.0;60.6"


@pytest.mark.parametrize("case", ["balanco: one subsystem, 24 hours", "ear_diario: one row"])
def test_a_file_with_only_some_series_of_a_day_keeps_the_other_series(
    case: str, aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    if case.startswith("balanco"):
        table = "balanco_subsistema"
        full, patch, want_text = _balanco_patch()
        want_data = want_text.encode()
        first_day, last_day = DAY, NEXT + timedelta(days=1)
    else:
        table = "ear_diario"
        full = EAR
        header = EAR.splitlines()[0]
        patch = header + b"\n" + EAR_SE_FIXED + b"\n"
        want_data = EAR.replace(EAR_SE, EAR_SE_FIXED)
        first_day, last_day = date(2023, 1, 1), date(2023, 1, 31)
    ingest(aws, influxdb, full, f"raw/{table}/full.csv")
    report = ingest(aws, influxdb, patch, f"raw/{table}/patch.csv", etag="e2")
    want = expected(want_data, table)
    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, first_day, last_day)
    assert in_influx == want
    assert in_parquet == want
    assert report.points_deleted == 0


# --- (3) a complete corrected day still deletes exactly what vanished -------------------------


def test_a_complete_corrected_day_deletes_exactly_the_vanished_points(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    table = "balanco_subsistema"
    stray = "2024-01-05 10:30:00"  # an off-grid point an earlier file published for N

    def with_stray(rows: list[dict]) -> None:
        extra = next(r for r in rows if r["id_subsistema"] == "N")
        rows.append({**extra, "din_instante": stray})

    def corrected(rows: list[dict], *, bad: bool = True) -> None:
        for r in rows:
            if not r["din_instante"].startswith(DAY.isoformat()):
                continue
            series, clock = r["id_subsistema"], r["din_instante"][11:16]
            if series == "N" and clock == "11:00":  # withdrawn: published without values
                for f in schema.table(table).field_names:
                    r[f] = ""
            if series == "SE" and clock == "12:00":
                r["val_carga"] = "12345.67800000"
            if series == "NE" and clock == "13:00":
                r["val_gersolar"] = ""
            if series == "S" and clock == "14:00" and bad:
                r["val_carga"] = "1,5"  # quarantined: the stored point must stay as it is

    ingest(aws, influxdb, raw_csv(table, [DAY, NEXT], with_stray), "raw/balanco/2024.csv")
    first_day, last_day = DAY, NEXT + timedelta(days=1)
    before, before_parquet = stores(aws, influx_url, influx_db, table, first_day, last_day)
    assert before == before_parquet
    correction = raw_csv(table, [DAY, NEXT], corrected)
    report = ingest(aws, influxdb, correction, "raw/balanco/2024.csv", etag="e2")

    n, se, ne, s = ("N", "NORTE"), ("SE", "SUDESTE/CENTRO-OESTE"), ("NE", "NORDESTE"), ("S", "SUL")
    vanished = {(n, local(DAY, 10, 30)), (n, local(DAY, 11))}
    want = {k: dict(v) for k, v in before.items() if k not in vanished}
    want[(se, local(DAY, 12))]["val_carga"] = 12345.678
    del want[(ne, local(DAY, 13))]["val_gersolar"]
    assert (s, local(DAY, 14)) in want  # kept with its old values

    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, first_day, last_day)
    assert in_influx == want
    assert in_parquet == want
    recon = [d.reconciliation for d in report.days]
    assert sum(r.deleted_points for r in recon) == 2
    assert sum(r.rewritten_points for r in recon) == 1
    assert sum(r.protected_points for r in recon) == 1
    # the same correction, its bad row fixed: the last stale value is replaced, nothing else moves
    fixed = raw_csv(table, [DAY, NEXT], lambda rows: corrected(rows, bad=False))
    ingest(aws, influxdb, fixed, "raw/balanco/2024.csv", etag="e3")
    want[(s, local(DAY, 14))] = expected(fixed, table)[(s, local(DAY, 14))]
    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, first_day, last_day)
    assert in_influx == want == in_parquet


def test_a_fall_back_day_written_with_its_hour_once_deletes_neither_occurrence(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str, tmp_path: Path
) -> None:
    """Local 2018-02-17 has 25 hours (23:00 twice), as migrated from Timestream; ONS files write
    the repeated hour once. The whole day re-published that way names only one of the two
    instants: the other is not withdrawn, in InfluxDB nor in the partitions."""
    table, day = "curva_carga", date(2018, 2, 17)

    def written(repeated_hour: str, name: str) -> bytes:
        path = tmp_path / name
        write_ons_csv([generate_raw_ons(table, day, repeated_hour=repeated_hour)], path)
        return path.read_bytes()

    ingest(aws, influxdb, written("repeat", "both.csv"), "raw/curva/2018.csv")
    first, last = day, day + timedelta(days=1)  # local 2018-02-17 spans these two UTC days
    before, before_parquet = stores(aws, influx_url, influx_db, table, first, last)
    assert before == before_parquet and len(before) == 4 * 25
    report = ingest(aws, influxdb, written("drop", "once.csv"), "raw/curva/2018.csv", etag="e2")
    after, after_parquet = stores(aws, influx_url, influx_db, table, first, last)
    assert after == before and after_parquet == before
    assert sum(d.reconciliation.deleted_points for d in report.days) == 0


# --- (4) a field the file has no column for ----------------------------------------------------


def test_a_file_without_a_field_column_keeps_that_field(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """Real ONS intercâmbio files have no programmed-interchange column; the stored values of it
    (migrated from Timestream) are not theirs to change."""
    table = "intercambio"
    prog = "val_intercambioprogmwmed"
    ingest(aws, influxdb, raw_csv(table, [DAY, NEXT]), "raw/intercambio/migrated.csv")
    first_day, last_day = DAY, NEXT + timedelta(days=1)
    before, _ = stores(aws, influx_url, influx_db, table, first_day, last_day)
    assert sum(prog in fields for fields in before.values()) > 150

    def as_ons_publishes(rows: list[dict]) -> None:
        for r in rows:
            del r[prog]
            if r["din_instante"] == "2024-01-05 10:00:00" and r["id_subsistema_origem"] == "N":
                r["val_intercambiomwmed"] = "1234.50000000"
            if r["din_instante"] == "2024-01-05 11:00:00" and r["id_subsistema_origem"] == "N":
                r["val_intercambiomwmed"] = ""  # withdrawn: the measured value only

    ons_file = _edit(raw_csv(table, [DAY, NEXT]), as_ons_publishes)
    report = ingest(aws, influxdb, ons_file, "raw/intercambio/INTERCAMBIO_2024.csv", etag="e2")
    assert report.normalized.missing_fields == [prog]

    want = {k: dict(v) for k, v in before.items()}
    for (series, moment), fields in want.items():
        if series[0] != "N":
            continue
        if moment == local(DAY, 10):
            fields["val_intercambiomwmed"] = 1234.5
        if moment == local(DAY, 11):
            fields.pop("val_intercambiomwmed", None)
    want = {k: v for k, v in want.items() if v}
    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, first_day, last_day)
    assert in_influx == want
    assert in_parquet == want
    # the same file again: nothing to do
    again = ingest(aws, influxdb, ons_file, "raw/intercambio/INTERCAMBIO_2024.csv", etag="e3")
    assert again.days == []


def test_a_tag_influxdb_cannot_store_is_a_bad_row_and_the_rest_of_the_day_is_rewritten(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """A trailing backslash failed the encoder only after the day's changed points had been
    deleted: the point rewritten without one field lost all its others, on every retry."""
    table = "balanco_subsistema"
    ingest(aws, influxdb, raw_csv(table, [DAY]), "raw/balanco/day.csv")
    before, _ = stores(aws, influx_url, influx_db, table, DAY, NEXT)

    def edit(rows: list[dict]) -> None:
        for r in rows:
            if r["din_instante"] == "2024-01-05 12:00:00" and r["id_subsistema"] == "NE":
                r["val_gersolar"] = ""  # withdrawn: the solar value only
            if r["din_instante"] == "2024-01-05 13:00:00" and r["id_subsistema"] == "S":
                r["nom_subsistema"] = "SUL\\"  # InfluxDB cannot read a trailing backslash back

    fixed = _edit(raw_csv(table, [DAY]), edit)
    report = ingest(aws, influxdb, fixed, "raw/balanco/fix.csv", etag="e2")
    (bad,) = report.normalized.bad_rows
    assert bad.column == "nom_subsistema" and "backslash" in bad.reason
    want = {k: dict(v) for k, v in before.items()}
    for (series, moment), fields in want.items():
        if series[0] == "NE" and moment == local(DAY, 12):
            fields.pop("val_gersolar")
    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, DAY, NEXT)
    assert in_influx == want  # the S 13:00 point kept as it was (protected by its bad row)
    assert in_parquet == want


def test_a_failed_batch_of_a_correction_is_redone_by_its_ingest_not_replayed_alone(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """A replay wrote the corrected points to InfluxDB only: the partition, left as it was when
    the batch failed, kept the old values (and a reload from it would bring them back)."""
    import dagster as dg

    from ons_pipeline.defs.state import dead_letter_supersession
    from ons_pipeline.lib.migration.deadletter import S3DeadLetterStore
    from ons_pipeline_tests.conftest import influxql

    table = "curva_carga"
    ingest(aws, influxdb, raw_csv(table, [DAY]), "raw/curva/day.csv")

    def correct(rows: list[dict]) -> None:
        for r in rows:
            if r["id_subsistema"] == "SE":
                r["val_cargaenergiahomwmed"] = "1.00000000"

    s3 = aws.client("s3")
    letters = S3DeadLetterStore(aws.bucket, aws.deadletter_prefix, client=s3)
    # InfluxDB refuses the points for a while: a retention of one hour drops 2024's points
    policy = f'RETENTION POLICY "short" ON "{influx_db}"'
    influxql(influx_url, f"CREATE {policy} DURATION 1h REPLICATION 1 DEFAULT")
    try:
        fixed = _edit(raw_csv(table, [DAY]), correct)
        report = ingest(aws, influxdb, fixed, "raw/curva/fix.csv", etag="e2", deadletter=letters)
    finally:
        influxql(influx_url, f"ALTER {policy} DURATION INF")
    assert report.failed_batches and report.dead_letter_ids()
    with dg.instance_for_test() as instance, influxdb.client() as client:
        supersession = dead_letter_supersession(instance, ParquetStore.of(aws, s3))
        replayed = letters.replay(client, superseded=supersession)
    assert not replayed.replayed and set(replayed.superseded) == set(report.dead_letter_ids())
    assert all("re-execute that object's ingest" in r for r in replayed.superseded.values())
    # redoing the ingest corrects both stores
    influxql(influx_url, f'ALTER RETENTION POLICY "autogen" ON "{influx_db}" DEFAULT')
    ingest(aws, influxdb, fixed, "raw/curva/fix.csv", etag="e2", deadletter=letters)
    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, DAY, NEXT)
    assert in_influx == in_parquet
    se = [f for (series, _), f in in_parquet.items() if series[0] == "SE"]
    assert se and all(f["val_cargaenergiahomwmed"] == 1.0 for f in se)


def test_a_file_that_renames_a_descriptive_tag_replaces_the_series_not_duplicates_it(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """Re-publishing a day with ``nom_subsistema`` spelt anew added a second series of each code
    beside the first: every hourly value of a subsystem counted twice."""
    table = "curva_carga"
    ingest(aws, influxdb, raw_csv(table, [DAY]), "raw/curva/day.csv")
    before, _ = stores(aws, influx_url, influx_db, table, DAY, NEXT)

    def title_case(rows: list[dict]) -> None:
        for r in rows:
            r["nom_subsistema"] = r["nom_subsistema"].title()

    renamed = _edit(raw_csv(table, [DAY]), title_case)
    report = ingest(aws, influxdb, renamed, "raw/curva/renamed.csv", etag="e2")
    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, DAY, NEXT)
    want = {((code, name.title()), moment): f for ((code, name), moment), f in before.items()}
    assert in_influx == want and in_parquet == want
    assert sum(d.reconciliation.deleted_points for d in report.days) == len(before)


@pytest.mark.parametrize(
    ("table", "key", "renamed"),
    [
        ("curva_carga", "id_subsistema", "nom_subsistema"),  # a patch of one subsystem
        ("geracao_usina", "id_ons", "nom_tipocombustivel"),  # a plant's fuel corrected
    ],
)
def test_a_patch_that_respells_a_descriptive_tag_replaces_its_series(
    table: str,
    key: str,
    renamed: str,
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
) -> None:
    """A file of some series of a day that spelt a descriptive tag anew (SUDESTE → Sudeste, a
    plant's fuel) kept the old spelling's points beside the new ones: each hour counted twice."""
    full = raw_csv(table, [DAY])
    ingest(aws, influxdb, full, f"raw/{table}/day.csv")
    before, _ = stores(aws, influx_url, influx_db, table, DAY, NEXT)
    lines = full.decode().splitlines()
    column = lines[0].split(";").index(key)
    chosen = lines[1].split(";")[column]

    def one_series_respelt(rows: list[dict]) -> None:
        rows[:] = [r for r in rows if r[key] == chosen]
        for r in rows:
            r[renamed] = r[renamed] + " (corrigido)"

    patch = _edit(full, one_series_respelt)
    ingest(aws, influxdb, patch, f"raw/{table}/patch.csv", etag="e2")
    in_influx, in_parquet = stores(aws, influx_url, influx_db, table, DAY, NEXT)
    tags = schema.table(table).tags
    position, respelt = tags.index(key), tags.index(renamed)

    def corrected(series: tuple[str, ...]) -> tuple[str, ...]:
        if series[position] != chosen:
            return series
        return tuple(v + " (corrigido)" if i == respelt else v for i, v in enumerate(series))

    want = {(corrected(series), moment): f for (series, moment), f in before.items()}
    assert len(want) == len(before)
    assert in_influx == want and in_parquet == want


def _se_noon_set_to_one(rows: list[dict]) -> None:
    """A correction of one point: the Southeast's load at noon of DAY."""
    for r in rows:
        if r["id_subsistema"] == "SE" and r["din_instante"] == "2024-01-05 12:00:00":
            r["val_cargaenergiahomwmed"] = "1.00000000"


def test_a_reload_that_a_correction_overtakes_fails_its_day(
    aws: AwsSettings, influxdb: InfluxSettings, influx_url: str, influx_db: str
) -> None:
    """A reload from the partition read it, a correction was ingested, then the reload wrote the
    old rows over the correction and verified them against what it had read: a pass, with
    InfluxDB holding the old values and Parquet the corrected ones."""
    from ons_pipeline.lib.migration.pipeline import Stages, TableMigration
    from ons_pipeline.lib.settings import MigrationSettings

    table = "curva_carga"
    ingest(aws, influxdb, raw_csv(table, [DAY]), "raw/curva/day.csv")

    store = ParquetStore.of(aws, aws.client("s3"))
    read_raw = store.read_raw

    def read_then_a_correction_arrives(partition: Partition):  # type: ignore[no-untyped-def]
        rows = read_raw(partition)
        ingest(
            aws,
            influxdb,
            _edit(raw_csv(table, [DAY]), _se_noon_set_to_one),
            "raw/curva/fix.csv",
            etag="e2",
        )
        return rows

    store.read_raw = read_then_a_correction_arrives  # type: ignore[method-assign]
    with influxdb.client() as client:
        migration = TableMigration(
            schema.table(table), store, export=None, client=client, settings=MigrationSettings()
        )
        stages = Stages(export=False, validate=False, load=True, verify=True)
        (outcomes,) = list(migration.run([DAY], stages))
    (outcome,) = outcomes
    # the correction's stamps change the claims first (its rows then the generation)
    assert not outcome.ok and "while this run loaded it" in (outcome.error or "")


def test_a_reload_that_reads_a_day_a_correction_is_being_loaded_into_fails_its_day(
    aws: AwsSettings,
    influxdb: InfluxSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reload that reads the partition after a correction's rows reached InfluxDB but before
    the correction published its partition would write the old rows over the new ones and pass
    its own verification (it compares with what it read): it fails the day instead, and once the
    correction has finished InfluxDB holds exactly the corrected partition."""
    import ons_pipeline.lib.ingest.files as files
    from ons_pipeline.lib.integrity.verification import verify_partition
    from ons_pipeline.lib.migration.pipeline import Stages, TableMigration
    from ons_pipeline.lib.settings import MigrationSettings

    table = "curva_carga"
    spec = schema.table(table)
    ingest(aws, influxdb, raw_csv(table, [DAY]), "raw/curva/day.csv")

    store = ParquetStore.of(aws, aws.client("s3"))
    load_correction = files.load_tables
    reloads = []

    def the_correction_loads_then_a_reload_runs(*args, **kwargs):  # type: ignore[no-untyped-def]
        report = load_correction(*args, **kwargs)  # the corrected rows are in InfluxDB
        with influxdb.client() as client:
            migration = TableMigration(
                spec, store, export=None, client=client, settings=MigrationSettings()
            )
            stages = Stages(export=False, validate=False, load=True, verify=True)
            reloads.extend(*migration.run([DAY], stages))
        return report

    monkeypatch.setattr(files, "load_tables", the_correction_loads_then_a_reload_runs)
    report = ingest(
        aws,
        influxdb,
        _edit(raw_csv(table, [DAY]), _se_noon_set_to_one),
        "raw/curva/fix.csv",
        etag="e2",
    )
    assert report.failed_batches == 0
    (reload,) = reloads
    assert reload.load is None and reload.verification is None  # nothing written over it
    assert not reload.ok and "has not finished" in (reload.error or ""), reload.error
    with influxdb.client() as client:
        after = verify_partition(store, client, spec, DAY)
    assert after.ok, after.summary()
