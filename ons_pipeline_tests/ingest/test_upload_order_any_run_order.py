"""Runs finishing in any order leave both stores as the files applied one after the other in
upload order would, and InfluxDB equal to Parquet (a review's reproductions, each of which failed
on the first version of upload ordering: a later whole day with a bad row, a later file without
the programmed column, a later file landing while an earlier one deleted, and the stamps of a
superseded version). On moto and a real InfluxDB, one bucket and database per run order."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from ons_pipeline.lib.aws import AwsSettings
from ons_pipeline.lib.settings import InfluxSettings
from ons_pipeline_tests.conftest import influxql
from ons_pipeline_tests.ingest.test_corrections import _edit, stores
from ons_pipeline_tests.ingest.test_ingest import DAY, NEXT, ingest, raw_csv

EARLY = datetime(2024, 2, 1, 9, 0, 0, tzinfo=UTC)
CURVA = "curva_carga"
CV = "val_cargaenergiahomwmed"
INTER = "intercambio"
VER, PROG = "val_intercambiomwmed", "val_intercambioprogmwmed"


def world(moto_url: str, influx_url: str) -> tuple[AwsSettings, InfluxSettings, str]:
    bucket = f"rv-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_url).create_bucket(Bucket=bucket)
    db = f"rv_{uuid.uuid4().hex[:12]}"
    influxql(influx_url, f'CREATE DATABASE "{db}"')
    aws = AwsSettings(endpoint_url=moto_url, bucket=bucket)
    return aws, InfluxSettings.of(url=influx_url, database=db, batch_lines=2_000), db


def run(moto_url, influx_url, table, base, files, order, days=(DAY, NEXT), **kw):  # type: ignore[no-untyped-def]
    """Base file, then ``files`` {name: (bytes, upload second)} in run ``order``."""
    aws, influxdb, db = world(moto_url, influx_url)
    ingest(aws, influxdb, base, f"raw/{table}/base.csv", etag="base", uploaded=EARLY)
    for name in order:
        data, sec = files[name]
        rep = ingest(
            aws,
            influxdb,
            data,
            f"raw/{table}/{name}.csv",
            etag=f"{name}1",
            uploaded=EARLY + timedelta(seconds=sec),
        )
        assert not rep.failed_batches
    in_influx, in_parquet = stores(
        aws, influx_url, db, table, days[0], days[-1] + timedelta(days=1)
    )
    influxql(influx_url, f'DROP DATABASE "{db}"')
    return in_influx, in_parquet


def diff(a: dict, b: dict) -> list:  # type: ignore[type-arg]
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append((k, a.get(k), b.get(k)))
    return out


def check_all_orders(moto_url, influx_url, table, base, files, days=(DAY, NEXT)):  # type: ignore[no-untyped-def]
    serial = sorted(files, key=lambda n: (files[n][1], n))
    want_i, want_p = run(moto_url, influx_url, table, base, files, serial, days)
    problems = []
    if want_i != want_p:
        problems.append(("serial: stores disagree", diff(want_i, want_p)))
    for order in itertools.permutations(files):
        if list(order) == serial:
            continue
        got_i, got_p = run(moto_url, influx_url, table, base, files, order, days)
        if got_i != got_p:
            problems.append((order, "influx!=parquet", diff(got_i, got_p)[:6]))
        if got_p != want_p:
            problems.append((order, "parquet!=serial (key, got, want)", diff(got_p, want_p)[:6]))
        if got_i != want_i:
            problems.append((order, "influx!=serial (key, got, want)", diff(got_i, want_i)[:6]))
    assert not problems, "\n".join(str(p) for p in problems)


def rows_edit(day: date, pick, values: dict, drop_cols=()):  # type: ignore[no-untyped-def]
    """Keep rows where pick(row) is true; values: {(series-col-value, 'HH:MM'): {col: v}}."""

    def edit(rows: list[dict[str, Any]]) -> None:
        rows[:] = [r for r in rows if pick(r)]
        for r in rows:
            for c in drop_cols:
                r.pop(c, None)
        extra = []
        for (sid, hhmm), change in values.items():
            at = f"{day} {hhmm}:00"
            hit = [r for r in rows if r_id(r) == sid and r["din_instante"] == at]
            if not hit:  # add an off-grid row based on a template of the series
                tmpl = next(r for r in rows if r_id(r) == sid)
                new = dict(tmpl)
                new["din_instante"] = at
                new.update(change)
                extra.append(new)
            for r in hit:
                r.update(change)
        rows.extend(extra)

    return edit


def r_id(r: dict[str, Any]) -> str:
    if "id_subsistema" in r:
        return r["id_subsistema"]
    return r["id_subsistema_origem"] + ">" + r["id_subsistema_destino"]


def hour_in(day: date, hours):  # type: ignore[no-untyped-def]
    def pick(r):  # type: ignore[no-untyped-def]
        at = r["din_instante"]
        return at.startswith(str(day)) and int(at[11:13]) in hours and at.endswith(":00:00")

    return pick


# ---------------------------------------------------------------------------------------------


def test_three_files_curva_all_orders(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    base = raw_csv(CURVA, [DAY, NEXT])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DAY))  # noqa: E731
    full = raw_csv(CURVA, [DAY])
    # A: whole SE day, 12=1, 13=5, 14 withdrawn, 22 (next UTC day) = 11
    a = _edit(
        full,
        rows_edit(
            DAY,
            se,
            {
                ("SE", "12:00"): {CV: "1.0"},
                ("SE", "13:00"): {CV: "5.0"},
                ("SE", "14:00"): {CV: ""},
                ("SE", "22:00"): {CV: "11.0"},
            },
        ),
    )
    # B: partial 12=2, 15 withdrawn, 14=4, 23 = 12, off-grid 13:30 = 9
    b = _edit(
        full,
        rows_edit(
            DAY,
            lambda r: se(r) and hour_in(DAY, {12, 14, 15, 23})(r),
            {
                ("SE", "12:00"): {CV: "2.0"},
                ("SE", "15:00"): {CV: ""},
                ("SE", "14:00"): {CV: "4.0"},
                ("SE", "23:00"): {CV: "12.0"},
                ("SE", "13:30"): {CV: "9.0"},
            },
        ),
    )
    # C: partial 13=7, 15=8, 22 withdrawn
    c = _edit(
        full,
        rows_edit(
            DAY,
            lambda r: se(r) and hour_in(DAY, {13, 15, 22})(r),
            {("SE", "13:00"): {CV: "7.0"}, ("SE", "15:00"): {CV: "8.0"}, ("SE", "22:00"): {CV: ""}},
        ),
    )
    check_all_orders(
        moto_server.url, influx_url, CURVA, base, {"a": (a, 10), "b": (b, 20), "c": (c, 30)}
    )


def test_three_files_curva_whole_last(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    base = raw_csv(CURVA, [DAY, NEXT])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DAY))  # noqa: E731
    full = raw_csv(CURVA, [DAY])
    a = _edit(
        full,
        rows_edit(
            DAY,
            lambda r: se(r) and hour_in(DAY, {12, 22})(r),
            {("SE", "12:00"): {CV: "1.0"}, ("SE", "22:00"): {CV: ""}, ("SE", "13:30"): {CV: "3.0"}},
        ),
    )
    b = _edit(
        full,
        rows_edit(
            DAY,
            lambda r: se(r) and hour_in(DAY, {12, 23})(r),
            {("SE", "12:00"): {CV: ""}, ("SE", "23:00"): {CV: "4.0"}, ("SE", "23:30"): {CV: "6.0"}},
        ),
    )
    c = _edit(full, rows_edit(DAY, se, {("SE", "12:00"): {CV: "7.0"}, ("SE", "23:00"): {CV: ""}}))
    check_all_orders(
        moto_server.url, influx_url, CURVA, base, {"a": (a, 10), "b": (b, 20), "c": (c, 30)}
    )


def test_later_whole_day_with_a_bad_row(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    """B (later) republishes the SE day whole, its 12:00 row unreadable (kept as is);
    A (earlier) corrected 12:00. Serially: A's 12:00 stands (B keeps it)."""
    base = raw_csv(CURVA, [DAY, NEXT])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DAY))  # noqa: E731
    full = raw_csv(CURVA, [DAY])
    a = _edit(
        full,
        rows_edit(DAY, lambda r: se(r) and hour_in(DAY, {12})(r), {("SE", "12:00"): {CV: "1.0"}}),
    )
    b = _edit(
        full, rows_edit(DAY, se, {("SE", "12:00"): {CV: "abc"}, ("SE", "13:00"): {CV: "2.0"}})
    )
    check_all_orders(moto_server.url, influx_url, CURVA, base, {"a": (a, 10), "b": (b, 20)})


def _inter_one(day: date, hhmm: str, change: dict, drop=()):  # type: ignore[no-untyped-def]
    full = raw_csv(INTER, [day])
    pick = lambda r: r_id(r) == "N>NE" and r["din_instante"] == f"{day} {hhmm}:00"  # noqa: E731
    return _edit(full, rows_edit(day, pick, {("N>NE", hhmm): change}, drop_cols=drop))


@pytest.mark.parametrize("later", ["value", "withdrawal"])
def test_intercambio_later_file_lacks_programmed(moto_server, influx_url, later) -> None:  # type: ignore[no-untyped-def]
    """A (earlier) has both fields; B (later) has no programmed column."""
    base = raw_csv(INTER, [DAY, NEXT])
    a = _inter_one(DAY, "10:00", {VER: "1.0", PROG: "2.0"})
    b = _inter_one(DAY, "10:00", {VER: "3.0" if later == "value" else ""}, drop=(PROG,))
    check_all_orders(moto_server.url, influx_url, INTER, base, {"a": (a, 10), "b": (b, 20)})


def test_intercambio_three_files(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    base = raw_csv(INTER, [DAY, NEXT])
    a = _inter_one(DAY, "10:00", {VER: "1.0"}, drop=(PROG,))
    b = _inter_one(DAY, "10:00", {VER: "", PROG: "5.0"})
    c = _inter_one(DAY, "10:00", {VER: "7.0"}, drop=(PROG,))
    check_all_orders(
        moto_server.url, influx_url, INTER, base, {"a": (a, 10), "b": (b, 20), "c": (c, 30)}
    )


def test_a_file_without_the_programmed_column_renaming_a_subsystem(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    """A file without the programmed column spelling SE's name anew failed its day ("rows
    share their series") after changing InfluxDB: the stored points under the old name kept
    their programmed values beside the renamed rows. The renamed rows take them (by code)."""
    base = raw_csv(INTER, [DAY, NEXT])

    def renamed(rows):  # type: ignore[no-untyped-def]
        rows_edit(DAY, lambda r: r["din_instante"].startswith(str(DAY)), {}, (PROG,))(rows)
        for r in rows:
            if r["id_subsistema_origem"] == "SE":
                r["nom_subsistema_origem"] = "Sudeste/Centro-Oeste"

    a = _edit(raw_csv(INTER, [DAY]), renamed)
    b = _inter_one(DAY, "10:00", {VER: "1.0", PROG: "2.0"})
    in_influx, in_parquet = run(moto_server.url, influx_url, INTER, base, {"a": (a, 10)}, ["a"])
    assert in_influx == in_parquet
    programmed = {
        (tags[0], tags[2], at): fields.get(PROG)
        for (tags, at), fields in run(moto_server.url, influx_url, INTER, base, {}, [])[1].items()
    }
    assert programmed == {(t[0], t[2], at): f.get(PROG) for (t, at), f in in_parquet.items()}
    names = {tags[1] for tags, _ in in_parquet if tags[0] == "SE"}
    assert names == {"Sudeste/Centro-Oeste", "SUDESTE"}  # the day's, and the next day's after it
    check_all_orders(moto_server.url, influx_url, INTER, base, {"a": (a, 10), "b": (b, 20)})


DST_DAY = date(2019, 2, 16)  # 23:00 local repeated (DST ends at 24:00)


def _twice_at_23(values):  # type: ignore[no-untyped-def]
    """Edit: the SE 23:00 row written once per value in ``values`` (consecutively)."""

    def edit(rows):  # type: ignore[no-untyped-def]
        out = []
        for r in rows:
            if r["id_subsistema"] == "SE" and r["din_instante"] == f"{DST_DAY} 23:00:00":
                for v in values:
                    out.append({**r, CV: v})
            else:
                out.append(r)
        rows[:] = out

    return edit


def test_dst_end_three_files(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    base = raw_csv(CURVA, [DST_DAY, DST_DAY + timedelta(days=1)])
    full = raw_csv(CURVA, [DST_DAY])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DST_DAY))  # noqa: E731
    only = lambda hours: lambda r: se(r) and int(r["din_instante"][11:13]) in hours  # noqa: E731
    a = _edit(
        _edit(full, lambda rows: rows.__setitem__(slice(None), [r for r in rows if se(r)])),
        _twice_at_23(["1.0", "2.0"]),
    )
    b = _edit(
        _edit(full, lambda rows: rows.__setitem__(slice(None), [r for r in rows if only({23})(r)])),
        _twice_at_23(["3.0"]),
    )
    c = _edit(
        _edit(
            full, lambda rows: rows.__setitem__(slice(None), [r for r in rows if only({22, 23})(r)])
        ),
        _twice_at_23(["5.0", ""]),
    )
    check_all_orders(
        moto_server.url,
        influx_url,
        CURVA,
        base,
        {"a": (a, 10), "b": (b, 20), "c": (c, 30)},
        days=(DST_DAY, DST_DAY + timedelta(days=1)),
    )


def test_dst_end_whole_later(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    base = raw_csv(CURVA, [DST_DAY, DST_DAY + timedelta(days=1)])
    full = raw_csv(CURVA, [DST_DAY])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DST_DAY))  # noqa: E731
    only = lambda hours: lambda r: se(r) and int(r["din_instante"][11:13]) in hours  # noqa: E731
    a = _edit(
        _edit(full, lambda rows: rows.__setitem__(slice(None), [r for r in rows if only({23})(r)])),
        _twice_at_23(["1.0", "2.0"]),
    )
    b = _edit(
        _edit(full, lambda rows: rows.__setitem__(slice(None), [r for r in rows if se(r)])),
        _twice_at_23(["3.0"]),
    )
    check_all_orders(
        moto_server.url,
        influx_url,
        CURVA,
        base,
        {"a": (a, 10), "b": (b, 20)},
        days=(DST_DAY, DST_DAY + timedelta(days=1)),
    )


def test_superseded_version_leaves_stale_stamps(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    """K v1 (uploaded 20 s) sets SE 12:00 = 2; a v2 of K (30 s) is uploaded while v1 loads and
    speaks only of 13:00; v1 stops (ObjectChangedError). A (10 s) sets 12:00 = 1, run last.
    v1 never applied: serially (A, K v2) 12:00 is A's 1.0."""
    from ons_pipeline.lib.ingest.files import ObjectChangedError

    aws, influxdb, db = world(moto_server.url, influx_url)
    base = raw_csv(CURVA, [DAY, NEXT])
    full = raw_csv(CURVA, [DAY])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DAY))  # noqa: E731

    def one(hour: int, value: str) -> bytes:
        pick = lambda r: se(r) and hour_in(DAY, {hour})(r)  # noqa: E731
        return _edit(full, rows_edit(DAY, pick, {("SE", f"{hour:02d}:00"): {CV: value}}))

    ingest(aws, influxdb, base, "raw/curva/base.csv", etag="base", uploaded=EARLY)
    v2 = one(13, "7.0")
    s3 = aws.client("s3")
    etag2 = s3.put_object(Bucket=aws.bucket, Key="raw/curva/k.csv", Body=v2)["ETag"].strip('"')
    with pytest.raises(ObjectChangedError):  # v1's run: v2 landed after v1 was fetched
        ingest(
            aws,
            influxdb,
            one(12, "2.0"),
            "raw/curva/k.csv",
            etag="v1",
            uploaded=EARLY + timedelta(seconds=20),
        )
    ingest(aws, influxdb, v2, "raw/curva/k.csv", etag=etag2, uploaded=EARLY + timedelta(seconds=30))
    a = ingest(
        aws,
        influxdb,
        one(12, "1.0"),
        "raw/curva/a.csv",
        etag="a1",
        uploaded=EARLY + timedelta(seconds=10),
    )
    from ons_pipeline_tests.ingest.test_ingest import local

    assert a.gave_way == 0
    in_i, in_p = stores(aws, influx_url, db, CURVA, DAY, NEXT)
    noon = [f for (t, at), f in in_p.items() if t[0] == "SE" and at == local(DAY, 12)]
    noon_i = [f for (t, at), f in in_i.items() if t[0] == "SE" and at == local(DAY, 12)]
    assert noon == noon_i == [{CV: 1.0}]


def test_renamed_series_three_files(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    base = raw_csv(CURVA, [DAY, NEXT])
    full = raw_csv(CURVA, [DAY])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DAY))  # noqa: E731

    def named(name, pick, values):  # type: ignore[no-untyped-def]
        def edit(rows):  # type: ignore[no-untyped-def]
            rows_edit(DAY, pick, values)(rows)
            for r in rows:
                r["nom_subsistema"] = name

        return _edit(full, edit)

    a = named("Sudeste", se, {("SE", "12:00"): {CV: "1.0"}, ("SE", "22:00"): {CV: "3.0"}})
    b = named(
        "SUDESTE/CO",
        lambda r: se(r) and hour_in(DAY, {12, 13, 22})(r),
        {("SE", "12:00"): {CV: "2.0"}, ("SE", "13:00"): {CV: ""}},
    )
    c = named(
        "SUDESTE", lambda r: se(r) and hour_in(DAY, {13, 14})(r), {("SE", "13:00"): {CV: "7.0"}}
    )
    check_all_orders(
        moto_server.url, influx_url, CURVA, base, {"a": (a, 10), "b": (b, 20), "c": (c, 30)}
    )


def test_a_failed_load_then_later_file_then_rerun(moto_server, influx_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """B (20 s) fails midway (its second UTC day), C (30 s) loads, then A (10 s), then B again."""
    from ons_pipeline.lib.ingest import files as files_mod

    aws, influxdb, db = world(moto_server.url, influx_url)
    base = raw_csv(CURVA, [DAY, NEXT])
    full = raw_csv(CURVA, [DAY])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DAY))  # noqa: E731
    a = _edit(
        full, rows_edit(DAY, se, {("SE", "12:00"): {CV: "1.0"}, ("SE", "23:00"): {CV: "1.5"}})
    )
    b = _edit(
        full,
        rows_edit(
            DAY,
            lambda r: se(r) and hour_in(DAY, {12, 13, 23})(r),
            {("SE", "12:00"): {CV: "2.0"}, ("SE", "13:00"): {CV: ""}, ("SE", "23:00"): {CV: "2.5"}},
        ),
    )
    c = _edit(
        full,
        rows_edit(
            DAY, lambda r: se(r) and hour_in(DAY, {13, 23})(r), {("SE", "13:00"): {CV: "7.0"}}
        ),
    )
    files = {"a": (a, 10), "b": (b, 20), "c": (c, 30)}

    def go(aws, influxdb, name):  # type: ignore[no-untyped-def]
        data, sec = files[name]
        return ingest(
            aws,
            influxdb,
            data,
            f"raw/curva/{name}.csv",
            etag=f"{name}1",
            uploaded=EARLY + timedelta(seconds=sec),
        )

    # serial
    aws2, influxdb2, db2 = world(moto_server.url, influx_url)
    ingest(aws2, influxdb2, base, "raw/curva/base.csv", etag="base", uploaded=EARLY)
    for n in "abc":
        go(aws2, influxdb2, n)
    want = stores(aws2, influx_url, db2, CURVA, DAY, NEXT + timedelta(days=1))
    # B fails at its second day's load
    ingest(aws, influxdb, base, "raw/curva/base.csv", etag="base", uploaded=EARLY)
    real = files_mod.load_tables
    calls = {"n": 0}

    def flaky(*args, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("influx down")
        return real(*args, **kw)

    monkeypatch.setattr(files_mod, "load_tables", flaky)
    with pytest.raises(RuntimeError):
        go(aws, influxdb, "b")
    monkeypatch.setattr(files_mod, "load_tables", real)
    go(aws, influxdb, "c")
    go(aws, influxdb, "a")
    go(aws, influxdb, "b")
    got = stores(aws, influx_url, db, CURVA, DAY, NEXT + timedelta(days=1))
    assert got[0] == got[1], diff(got[0], got[1])[:5]
    assert got[1] == want[1], diff(got[1], want[1])[:5]


@pytest.mark.parametrize("a_kind", ["withdrawal", "whole day without B's off-grid point"])
def test_later_file_landing_while_earlier_reconciles(
    moto_server, influx_url, monkeypatch, a_kind
) -> None:  # type: ignore[no-untyped-def]
    """As test_a_later_file_published_while_an_earlier_one_loads_is_restored_in_influxdb, but A's
    first attempt *deleted* (not wrote) the point B published meanwhile."""
    from ons_pipeline.lib.ingest import files as files_mod
    from ons_pipeline_tests.ingest.test_ingest import local

    aws, influxdb, db = world(moto_server.url, influx_url)
    full = raw_csv(CURVA, [DAY])
    se = lambda r: r["id_subsistema"] == "SE" and r["din_instante"].startswith(str(DAY))  # noqa: E731
    ingest(
        aws,
        influxdb,
        raw_csv(CURVA, [DAY, NEXT]),
        "raw/curva/base.csv",
        etag="base",
        uploaded=EARLY,
    )
    if a_kind == "withdrawal":
        a = _edit(
            full,
            rows_edit(DAY, lambda r: se(r) and hour_in(DAY, {12})(r), {("SE", "12:00"): {CV: ""}}),
        )
        b = _edit(
            full,
            rows_edit(
                DAY, lambda r: se(r) and hour_in(DAY, {12})(r), {("SE", "12:00"): {CV: "2.0"}}
            ),
        )
        at = local(DAY, 12)
    else:
        a = _edit(full, rows_edit(DAY, se, {("SE", "12:00"): {CV: "1.0"}}))
        b = _edit(
            full,
            rows_edit(
                DAY, lambda r: se(r) and hour_in(DAY, {12})(r), {("SE", "13:30"): {CV: "2.0"}}
            ),
        )
        at = local(DAY, 13, 30)
    real = files_mod.reconcile
    arrived: list[bool] = []

    def b_lands(client, spec, claims):  # type: ignore[no-untyped-def]
        if not arrived:
            arrived.append(True)
            ingest(
                aws,
                influxdb,
                b,
                "raw/curva/b.csv",
                etag="b1",
                uploaded=EARLY + timedelta(seconds=20),
            )
        return real(client, spec, claims)

    monkeypatch.setattr(files_mod, "reconcile", b_lands)
    rep = ingest(
        aws, influxdb, a, "raw/curva/a.csv", etag="a1", uploaded=EARLY + timedelta(seconds=10)
    )
    in_i, in_p = stores(aws, influx_url, db, CURVA, DAY, NEXT)
    pi = [f for (t, m), f in in_i.items() if t[0] == "SE" and m == at]
    pp = [f for (t, m), f in in_p.items() if t[0] == "SE" and m == at]
    assert arrived and not rep.failed_batches and rep.gave_way == 1
    assert pp == [{CV: 2.0}] and pi == pp


def _named(name: str, pick: Any, values: dict[tuple[str, str], dict[str, str]]) -> bytes:
    """DAY's Southeast rows chosen by ``pick``, changed by ``values``, under the name ``name``."""

    def edit(rows: list[dict[str, Any]]) -> None:
        rows_edit(DAY, pick, values)(rows)
        for row in rows:
            row["nom_subsistema"] = name

    return _edit(raw_csv(CURVA, [DAY]), edit)


def _southeast(row: dict[str, Any]) -> bool:
    return row["id_subsistema"] == "SE" and row["din_instante"].startswith(str(DAY))


def test_a_later_withdrawal_under_a_new_spelling(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    """B (later) withdraws the Southeast's noon under the name 'Sudeste', A (earlier) writes it
    under that name: the stored 'SUDESTE' point was not withdrawn (a withdrawal matched the
    name too), yet A gave way to B's stamp (by code) — the result depended on the run order. A
    withdrawal, a bad row and a whole series-day now name the series by its code."""

    def noon(row: dict[str, Any]) -> bool:
        return _southeast(row) and hour_in(DAY, {12})(row)

    a = _named("Sudeste", noon, {("SE", "12:00"): {CV: "1.0"}})
    b = _named("Sudeste", noon, {("SE", "12:00"): {CV: ""}})
    check_all_orders(
        moto_server.url,
        influx_url,
        CURVA,
        raw_csv(CURVA, [DAY, NEXT]),
        {"a": (a, 10), "b": (b, 20)},
    )


def test_a_later_whole_day_under_a_new_spelling(moto_server, influx_url) -> None:  # type: ignore[no-untyped-def]
    """A (earlier, the stored name) adds 13:30; B (later) holds the Southeast day whole under
    'Sudeste': 13:30 stayed or went depending on the run order."""
    a = _edit(
        raw_csv(CURVA, [DAY]),
        rows_edit(
            DAY, lambda r: _southeast(r) and hour_in(DAY, {12})(r), {("SE", "13:30"): {CV: "9.0"}}
        ),
    )
    b = _named("Sudeste", _southeast, {("SE", "12:00"): {CV: "2.0"}})
    check_all_orders(
        moto_server.url,
        influx_url,
        CURVA,
        raw_csv(CURVA, [DAY, NEXT]),
        {"a": (a, 10), "b": (b, 20)},
    )
