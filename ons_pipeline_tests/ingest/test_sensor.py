"""The raw-file sensor, tick by tick (``build_sensor_context``) against the moto S3 server."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pyarrow as pa
import pytest
from botocore.exceptions import ClientError
from dagster._core.test_utils import create_run_for_test

from ons_pipeline.defs.ingest import sensors
from ons_pipeline.defs.ingest.jobs import ingest_raw_object_job
from ons_pipeline.defs.ingest.sensors import RawCursor, evaluate_raw_files, raw_files_sensor
from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.ingest.normalize import normalize_bytes
from ons_pipeline.lib.settings import InfluxSettings, IngestSettings
from ons_pipeline.local.generator import generate_raw_ons, write_ons_parquet
from ons_pipeline_tests.ingest.conftest import SAMPLES
from ons_pipeline_tests.ingest.test_ingest import points

CURVA = (SAMPLES / "curva_carga_2018_excerpt.csv").read_bytes()
CMO = (SAMPLES / "cmo_semihorario_2022_excerpt.csv").read_bytes()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def tick(
    instance: dg.DagsterInstance,
    aws: AwsSettings,
    cursor: str | None,
    config: IngestSettings | None = None,
) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"aws": aws})
    if config is None:
        result = raw_files_sensor(context)
    else:
        result = evaluate_raw_files(context, aws, config)
    assert isinstance(result, dg.SensorResult)
    return result


def put(aws: AwsSettings, key: str, body: bytes) -> str:
    return aws.client("s3").put_object(Bucket=aws.bucket, Key=key, Body=body)["ETag"].strip('"')


def launch(
    instance: dg.DagsterInstance, aws: AwsSettings, influxdb: InfluxSettings, request: dg.RunRequest
) -> bool:
    """Run a request's ingest job as the daemon would (its config, tags and run key)."""
    return ingest_raw_object_job.execute_in_process(
        run_config=request.run_config,
        tags={**request.tags, "dagster/run_key": request.run_key or ""},
        resources={"aws": aws, "influxdb": influxdb},
        instance=instance,
    ).success


def skip(result: dg.SensorResult) -> str:
    return result.skip_reason.skip_message or "" if result.skip_reason else ""


def keys_of(result: dg.SensorResult) -> list[str]:
    return [r.run_key or "" for r in result.run_requests or []]


def test_new_object_then_quiet_then_identical_then_changed_upload(
    instance: dg.DagsterInstance, aws: AwsSettings
) -> None:
    first = tick(instance, aws, None)
    assert first.run_requests == [] and first.skip_reason

    etag = put(aws, "raw/curva_carga/2018-11.csv", CURVA)
    new = tick(instance, aws, first.cursor)
    [request] = new.run_requests or []
    assert request.run_key == f"raw/curva_carga/2018-11.csv@{etag}"
    assert request.run_config == {
        "ops": {
            "normalize_and_load": {"config": {"key": "raw/curva_carga/2018-11.csv", "etag": etag}}
        }
    }
    assert request.tags["ons/dataset"] == "curva_carga"
    assert RawCursor.parse(new.cursor).key == "raw/curva_carga/2018-11.csv"
    # the daemon launches the requested run under its run key (and tags)
    create_run_for_test(
        instance,
        job_name=ingest_raw_object_job.name,
        tags={**request.tags, "dagster/run_key": request.run_key or ""},
    )

    quiet = tick(instance, aws, new.cursor)
    assert quiet.run_requests == [] and skip(quiet) == "no new raw object"

    assert put(aws, "raw/curva_carga/2018-11.csv", CURVA) == etag  # identical re-upload
    same = tick(instance, aws, quiet.cursor)  # in the first upload's second or a later one
    assert same.run_requests == []

    changed_etag = put(aws, "raw/curva_carga/2018-11.csv", CURVA.replace(b"4851.678", b"4851.679"))
    changed = tick(instance, aws, same.cursor)
    assert keys_of(changed) == [f"raw/curva_carga/2018-11.csv@{changed_etag}"]
    assert changed_etag != etag


def test_known_run_key_is_not_requested_again(
    instance: dg.DagsterInstance, aws: AwsSettings, influxdb: InfluxSettings
) -> None:
    """The run a request launched carries its run key: a later tick (even with a lost cursor)
    does not request it again, and the requested run loads the file."""
    put(aws, "raw/cmo/2022-01.csv", CMO)
    [request] = tick(instance, aws, None).run_requests or []
    assert launch(instance, aws, influxdb, request)
    assert tick(instance, aws, None).run_requests == []  # cursor lost: run keys still protect


def test_bad_objects_are_reported_and_skipped_and_the_sensor_goes_on(
    instance: dg.DagsterInstance, aws: AwsSettings
) -> None:
    put(aws, "raw/a-unknown.csv", b"date;price\n2024-01-01;3\n")
    put(aws, "raw/b-binary.xlsx", b"PK\x03\x04\x00\x00binary")
    put(aws, "raw/c-empty.csv", b"")
    put(aws, "raw/d-broken.parquet", b"PAR1 broken footer")
    good = put(aws, "raw/e-good.csv", CMO)
    result = tick(instance, aws, None)
    assert keys_of(result) == [f"raw/e-good.csv@{good}"]
    s3 = aws.client("s3")
    listing = s3.list_objects_v2(Bucket=aws.bucket, Prefix="quarantine/objects/")
    reports = {o["Key"]: o for o in listing.get("Contents", [])}
    assert len(reports) == 4
    unknown = next(k for k in reports if "a-unknown.csv@" in k)
    body = json.loads(s3.get_object(Bucket=aws.bucket, Key=unknown)["Body"].read())
    assert "matches no known ONS dataset" in body["reason"]
    reasons = [
        json.loads(s3.get_object(Bucket=aws.bucket, Key=k)["Body"].read())["reason"]
        for k in sorted(reports)
    ]
    assert "no Excel workbook" in reasons[1]
    assert "empty object" in reasons[2]
    assert "Parquet" in reasons[3]
    # the cursor moved past them: the next tick neither re-reports nor re-requests
    again = tick(instance, aws, result.cursor)
    assert again.run_requests == [] and skip(again) == "no new raw object"


def test_only_bad_objects_give_a_skip_reason(
    instance: dg.DagsterInstance, aws: AwsSettings
) -> None:
    put(aws, "raw/x.csv", b"a;b\n1;2\n")
    result = tick(instance, aws, None)
    assert result.run_requests == []
    assert "1 rejected" in skip(result) and "raw/x.csv" in skip(result)


def test_parquet_objects_are_probed_through_their_footer(
    instance: dg.DagsterInstance, aws: AwsSettings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ear.parquet"
    write_ons_parquet([generate_raw_ons("ear_diario", date(2023, 1, 1))], path, table="ear_diario")
    etag = put(aws, "raw/ear/2023-01-01.parquet", path.read_bytes())
    [request] = tick(instance, aws, None).run_requests or []
    assert request.run_key == f"raw/ear/2023-01-01.parquet@{etag}"
    assert request.tags["ons/dataset"] == "ear_diario"


def test_at_most_max_objects_per_tick(instance: dg.DagsterInstance, aws: AwsSettings) -> None:
    for name in ("a", "b", "c"):
        put(aws, f"raw/{name}.csv", CMO.replace(b"0.24000000", name.encode() + b"0.24"[1:]))
    config = dataclasses.replace(IngestSettings(), max_objects_per_tick=2)
    first = tick(instance, aws, None, config)
    assert [k.split("@")[0] for k in keys_of(first)] == ["raw/a.csv", "raw/b.csv"]
    second = tick(instance, aws, first.cursor, config)
    assert [k.split("@")[0] for k in keys_of(second)] == ["raw/c.csv"]


def test_objects_listed_late_are_found_within_the_lookback(
    instance: dg.DagsterInstance, aws: AwsSettings
) -> None:
    etag = put(aws, "raw/late.csv", CMO)
    modified = aws.client("s3").head_object(Bucket=aws.bucket, Key="raw/late.csv")["LastModified"]
    # a cursor already past the object, as if a later object had been listed first
    ahead = RawCursor(modified + timedelta(seconds=30), "raw/zz.csv").dump()
    found = tick(instance, aws, ahead)
    assert keys_of(found) == [f"raw/late.csv@{etag}"]
    assert tick(instance, aws, found.cursor).run_requests == []
    no_lookback = dataclasses.replace(IngestSettings(), lookback_s=0)
    assert tick(instance, aws, ahead, no_lookback).run_requests == []


def test_a_transient_s3_error_ends_the_tick_before_that_object(
    instance: dg.DagsterInstance, aws: AwsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(aws, "raw/a.csv", CMO)
    put(aws, "raw/b.csv", CMO.replace(b"0.24000000", b"0.25000000"))
    real = sensors.probe_object

    def flaky(s3, bucket, key, **kwargs):  # type: ignore[no-untyped-def]
        if key == "raw/b.csv":
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "GetObject")
        return real(s3, bucket, key, **kwargs)

    monkeypatch.setattr(sensors, "probe_object", flaky)
    first = tick(instance, aws, None)
    assert [k.split("@")[0] for k in keys_of(first)] == ["raw/a.csv"]
    monkeypatch.setattr(sensors, "probe_object", real)
    second = tick(instance, aws, first.cursor)
    assert [k.split("@")[0] for k in keys_of(second)] == ["raw/b.csv"]


def test_s3_refusing_the_credentials_fails_the_tick_and_rejects_nothing(
    instance: dg.DagsterInstance,
    aws: AwsSettings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """AccessDenied reading a raw object (a missing s3:GetObject or kms:Decrypt) was taken for a
    bad file: rejected, reported in quarantine and skipped for good (a security review). The
    tick now fails with a security event, and the object is read once the access is fixed."""
    put(aws, "raw/a.csv", CMO)
    real = sensors.probe_object

    def denied(s3, bucket, key, **kwargs):  # type: ignore[no-untyped-def]
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetObject")

    monkeypatch.setattr(sensors, "probe_object", denied)
    with (
        caplog.at_level("WARNING", logger="ons_pipeline.security"),
        pytest.raises(sensors.S3AccessDenied, match="not a bad file"),
    ):
        tick(instance, aws, None)
    assert any("s3.access_denied" in r.getMessage() for r in caplog.records)
    listed = aws.client("s3").list_objects_v2(Bucket=aws.bucket, Prefix=aws.quarantine_prefix)
    assert not listed.get("Contents")
    monkeypatch.setattr(sensors, "probe_object", real)
    assert [k.split("@")[0] for k in keys_of(tick(instance, aws, None))] == ["raw/a.csv"]


def test_cursor_round_trip_and_unreadable_cursor() -> None:
    moment = datetime.fromisoformat("2024-01-05T10:00:00+00:00")
    cursor = RawCursor(moment, "raw/x.csv", {"raw/x.csv@1": moment.isoformat()})
    parsed = RawCursor.parse(cursor.dump())
    assert (parsed.last_modified, parsed.key, parsed.recent) == (
        moment,
        "raw/x.csv",
        cursor.recent,
    )
    assert RawCursor.parse("not json").last_modified is None
    cursor.advance(moment + timedelta(hours=1), "raw/y.csv", "raw/y.csv@2")
    cursor.prune(timedelta(minutes=5))
    assert list(cursor.recent) == ["raw/y.csv@2"]


def test_missing_bucket_is_a_skip(instance: dg.DagsterInstance, moto_server) -> None:  # type: ignore[no-untyped-def]
    aws = AwsSettings(endpoint_url=moto_server.url, bucket="no-such-bucket-here")
    result = tick(instance, aws, None)
    assert "does not exist" in skip(result)


def test_whole_bucket_as_raw_prefix_ignores_the_pipelines_own_objects(
    instance: dg.DagsterInstance, aws: AwsSettings
) -> None:
    for key in ("parquet/cmo/date=2022-01-01/part-00000.parquet", "quarantine/rows/x.json"):
        put(aws, key, b"not raw")
    etag = put(aws, "CMO_SEMIHORARIO_2022.csv", CMO)
    whole = AwsSettings(endpoint_url=aws.endpoint_url, bucket=aws.bucket, raw_prefix="")
    result = tick(instance, whole, None)
    assert keys_of(result) == [f"CMO_SEMIHORARIO_2022.csv@{etag}"]


@pytest.mark.parametrize("same_second", [False, True], ids=["later", "within-one-second"])
def test_a_version_uploaded_again_after_another_is_loaded_again(
    instance: dg.DagsterInstance,
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    same_second: bool,
) -> None:
    """A → B → A (a correction withdrawn by re-uploading the original): the run key of A was
    known, so the sensor skipped it and the stores kept B's values. S3 stamps whole seconds, so
    the first and last upload may look alike in the listing ("within-one-second" makes sure)."""
    key = "raw/cmo/2022-01.csv"

    def run(request: dg.RunRequest) -> None:
        assert launch(instance, aws, influxdb, request)

    def cmo_values() -> list[float]:
        start, end = datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 2, 1, tzinfo=UTC)
        found = points(influx_url, influxdb.database, "cmo_semihorario", start, end)
        return sorted(f["val_cmo"] for f in found.values())

    original = put(aws, key, CMO)
    first = tick(instance, aws, None)
    [request] = first.run_requests or []
    run(request)
    loaded = cmo_values()
    line = CMO.splitlines()[1]
    value = line.rsplit(b";", 1)[1]
    assert put(aws, key, CMO.replace(line, line.replace(value, b"1.0"), 1)) != original
    second = tick(instance, aws, first.cursor)
    [request] = second.run_requests or []
    run(request)
    assert cmo_values() != loaded

    assert put(aws, key, CMO) == original  # the original again
    cursor = RawCursor.parse(second.cursor)
    if same_second:
        [listed] = aws.client("s3").list_objects_v2(Bucket=aws.bucket, Prefix=key)["Contents"]
        moment = listed["LastModified"]
        cursor.advance(moment, key, f"{key}@{original}@{moment.isoformat()}")
    third = tick(instance, aws, cursor.dump())
    [request] = third.run_requests or []
    assert request.run_key and request.run_key.startswith(f"{key}@{original}@")
    run(request)
    assert cmo_values() == loaded
    assert tick(instance, aws, third.cursor).run_requests == []
    assert tick(instance, aws, None).run_requests == []  # a lost cursor: unchanged since its run


def spreadsheet_copy(csv: bytes) -> bytes:
    """An ONS CSV as a pt-BR Excel saves it, gzip-compressed for the upload: Windows-1252,
    CRLF, day-first times without seconds, decimal comma with dots between thousands."""
    lines = csv.decode().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        code, name, moment, value = line.split(";")
        day, clock = moment.split(" ")
        year, month, dom = day.split("-")
        if value:
            whole, _, fraction = f"{float(value):.3f}".partition(".")
            value = f"{int(whole):,}".replace(",", ".") + "," + fraction
        out.append(f"{code};{name};{dom}/{month}/{year} {clock[:5]};{value}")
    return gzip.compress(("\r\n".join(out) + "\r\n").encode("cp1252"))


def workbook(csv: bytes) -> bytes:
    """An ONS CSV as ONS's own .xlsx holds it: typed date-times and numbers."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    lines = csv.decode().splitlines()
    sheet.append(lines[0].split(";"))
    for line in lines[1:]:
        code, name, moment, value = line.split(";")
        sheet.append([code, name, datetime.fromisoformat(moment), float(value) if value else None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("key", "make", "digits"),
    [
        ("raw/curva_carga/planilha.csv.gz", lambda csv: spreadsheet_copy(csv), 3),
        ("raw/curva_carga/CURVA_CARGA_2018.xlsx", lambda csv: workbook(csv), None),
    ],
    ids=["pt-BR spreadsheet copy, gzip", "xlsx"],
)
def test_a_spreadsheet_copy_of_an_ons_file_loads_the_same_points(
    instance: dg.DagsterInstance,
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
    influx_db: str,
    key: str,
    make: Callable[[bytes], bytes],
    digits: int | None,
) -> None:
    """The sensor recognises a gzip-compressed pt-BR spreadsheet copy of the curva de carga,
    and the workbook ONS publishes beside the CSV; the ingest job loads, to the point, what the
    ONS CSV itself holds (values rounded to the spreadsheet copy's three decimals)."""
    put(aws, key, make(CURVA))
    [request] = tick(instance, aws, None).run_requests or []
    assert request.tags["ons/dataset"] == "curva_carga"
    assert launch(instance, aws, influxdb, request)
    start, end = datetime(2018, 11, 3, tzinfo=UTC), datetime(2018, 11, 6, tzinfo=UTC)
    loaded = points(influx_url, influx_db, "curva_carga", start, end)
    expected = normalize_bytes(CURVA, "ons.csv")
    table = pa.concat_tables(list(expected.days.values()))
    times = table.column("time").cast(pa.int64()).to_pylist()
    assert len(loaded) == table.num_rows == expected.rows > 0
    for row, moment in zip(table.to_pylist(), times, strict=True):
        point = ((row["id_subsistema"], row["nom_subsistema"]), moment)
        value, original = loaded[point]["val_cargaenergiahomwmed"], row["val_cargaenergiahomwmed"]
        assert value == (original if digits is None else round(original, digits)), point


def test_an_object_deleted_before_its_run_then_uploaded_again_is_loaded(
    instance: dg.DagsterInstance,
    aws: AwsSettings,
    influxdb: InfluxSettings,
    influx_url: str,
) -> None:
    """Its run found nothing to load (a success: the object was gone); the same bytes uploaded
    again were taken as loaded by that run and skipped for good, the stores empty."""
    key = "raw/cmo/2022-01.csv"
    put(aws, key, CMO)
    first = tick(instance, aws, None)
    [request] = first.run_requests or []
    aws.client("s3").delete_object(Bucket=aws.bucket, Key=key)
    assert launch(instance, aws, influxdb, request)  # nothing to do: the object is gone
    start, end = datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 2, 1, tzinfo=UTC)
    assert points(influx_url, influxdb.database, "cmo_semihorario", start, end) == {}
    time.sleep(1.1)  # S3 stamps whole seconds: a later upload is told apart by its second
    put(aws, key, CMO)  # the same file again
    again = tick(instance, aws, first.cursor)
    [request] = again.run_requests or []
    assert (
        request.run_key
        and request.run_key.startswith(f"{key}@")
        and request.run_key.count("@") == 2
    )  # its own run key: the first one is taken
    assert launch(instance, aws, influxdb, request)
    expected = normalize_bytes(CMO, key).rows
    assert len(points(influx_url, influxdb.database, "cmo_semihorario", start, end)) == expected
    assert tick(instance, aws, again.cursor).run_requests == []
    assert tick(instance, aws, None).run_requests == []  # a lost cursor: loaded since
