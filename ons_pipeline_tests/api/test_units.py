"""Pure parts of the query service and the API: language detection, the read-only guard,
normalised keys, the TTL cache, Flux annotated CSV and raw-result tables, configuration, the
domain errors' HTTP statuses."""

from __future__ import annotations

import pytest

from ons_pipeline.api.errors import ApiError
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig
from ons_pipeline.lib.query import detect
from ons_pipeline.lib.query.backend import (
    InfluxBackend,
    column_unit,
    table_from_flux_csv,
    table_from_influxql,
)
from ons_pipeline.lib.query.cache import TTLCache, cache_key
from ons_pipeline.lib.query.errors import QueryRefused
from ons_pipeline.lib.query.model import ModelError
from ons_pipeline.lib.query.service import QueryProcessor
from ons_pipeline.lib.settings import ApiSettings


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Qual foi a carga média do Sudeste ontem?", "question"),
        ("average CMO in the south last week", "question"),
        ('from(bucket: "ons") |> range(start: -1h)', "flux"),
        ('import "strings"\nfrom(bucket:"ons")', "flux"),
        ("SHOW MEASUREMENTS", "influxql"),
        ('SELECT mean("val_cmo") FROM "cmo_semihorario" GROUP BY time(1h)', "influxql"),
        ('SELECT max("val_cmo") FROM "cmo_semihorario" WHERE time > now() - 1d', "influxql"),
        ('SELECT * FROM "ons".."curva_carga" LIMIT 1', "influxql"),
        (
            'SELECT avg(measure_value::double) FROM "ons_energy_data"."generation_data" '
            "WHERE time > ago(1d)",
            "timestream_sql",
        ),
        ("SELECT region, avg(x) FROM t WHERE time BETWEEN ago(7d) AND now()", "timestream_sql"),
        ("  -- comment\n select bin(time, 1h) from generation_data", "timestream_sql"),
        # database.table, unquoted or not: Timestream's, unless the first part is a retention
        # policy (InfluxQL's rp.measurement)
        ("SELECT max(val_cmo) FROM ons.cmo_semihorario", "timestream_sql"),
        ('SELECT max(val_cmo) FROM "ons".cmo_semihorario', "timestream_sql"),
        ("SELECT max(val_cmo_max) FROM rollups.cmo_semihorario_1d", "influxql"),
        ("SELECT max(val_cmo) FROM autogen.cmo_semihorario", "influxql"),
    ],
)
def test_detection(text: str, language: str) -> None:
    assert detect.detect_language(text)[0] == language


def test_readonly_guard() -> None:
    assert detect.check_readonly_influxql("SELECT 1 FROM m; SHOW TAG KEYS") == [
        "SELECT 1 FROM m",
        "SHOW TAG KEYS",
    ]
    # a semicolon inside a string or identifier does not split
    assert len(detect.check_readonly_influxql("SELECT \"a;b\" FROM m WHERE t = 'x;y'")) == 1
    for bad in (
        "SELECT * INTO x FROM m",
        "select * into x from m",
        "CREATE DATABASE x",
        "SHOW USERS",
        "SHOW GRANTS FOR admin",
        "SELECT 1; ALTER RETENTION POLICY p ON d DURATION 1h",
        "SELECT * FROM m WHERE a = 'unterminated",
        "",
    ):
        with pytest.raises(QueryRefused) as info:
            detect.check_readonly_influxql(bad)
        assert ApiError.from_service(info.value).status == 400


READ_FLUX = """import "strings"
import "influxdata/influxdb/schema"
// a comment saying to(bucket: "x") is no call
from(bucket: "ons")
  |> range(start: -1d)
  |> filter(fn: (r) => r._measurement == "curva_carga" and r.note == "to(bucket)")
  |> aggregateWindow(every: 1h, fn: mean)
  |> map(fn: (r) => ({r with label: strings.toUpper(v: r.id_subsistema)}))"""


@pytest.mark.parametrize(
    "flux",
    [
        'from(bucket: "ons") |> range(start: -1h) |> to(bucket: "copy")',
        'from(bucket: "ons") |> range(start: -1h) |> wideTo(bucket: "copy")',
        'import "experimental"\nfrom(bucket: "ons") |> experimental.to(bucket: "x")',
        'import "http"\nhttp.post(url: "http://169.254.169.254/", data: bytes(v: ""))',
        'import "sql"\nsql.from(driverName: "postgres", dataSourceName: "x", query: "y")',
        'import "influxdata/influxdb/secrets"\nsecrets.get(key: "k")',
        'import "csv"\ncsv.from(url: "http://example.com/data.csv")',
        'from(bucket: "ons", host: "http://10.0.0.5:8086", token: "t") |> range(start: -1h)',
    ],
)
def test_flux_that_writes_or_reaches_out_is_refused(flux: str) -> None:
    """Raw Flux went to InfluxDB 2.x unchecked: a write (to), HTTP/SQL call-outs and secrets
    were answered 200 (a security review). Only reads of the configured server pass."""
    with pytest.raises(QueryRefused) as info:
        detect.check_readonly_flux(flux)
    assert info.value.code == "forbidden_statement"
    assert ApiError.from_service(info.value).status == 400
    detect.check_readonly_flux(READ_FLUX)


def test_normalised_text() -> None:
    a = detect.normalise_query_text("SELECT  *\n FROM m  -- c\n WHERE a = 'x  y'")
    b = detect.normalise_query_text("SELECT * FROM m /* other */ WHERE a = 'x  y'")
    assert a == b == "SELECT * FROM m WHERE a = 'x  y'"


def test_normalised_text_keeps_literals() -> None:
    n = detect.normalise_query_text
    # InfluxQL: a /regex/ after =~ or !~ (with \\/ escapes), or in FROM, is kept as written
    assert n("SELECT * FROM m WHERE a =~ /--|SE/") != n("SELECT * FROM m WHERE a =~ /--|N$/")
    assert n("SELECT * FROM m WHERE a !~ /x  \\/  y/") == "SELECT * FROM m WHERE a !~ /x  \\/  y/"
    assert n("SELECT * FROM /a  b/") == "SELECT * FROM /a  b/"
    assert n("SELECT a  /  b FROM m -- c") == "SELECT a / b FROM m"  # a division
    assert n("SELECT a FROM m WHERE b = 'x  --y'  -- c") == "SELECT a FROM m WHERE b = 'x  --y'"
    assert n('SELECT "a  --b" FROM m') == 'SELECT "a  --b" FROM m'
    # an unterminated quote keeps the rest as written (never collapsed into another query)
    assert n("SELECT a FROM m WHERE b = 'x  y") != n("SELECT a FROM m WHERE b = 'x y")
    # Flux: "…" strings (with ${…} inside), // comments, /regex/ literals; -- is no comment
    flux = 'from(bucket: "b")\n  |> filter(fn: (r) => r.a =~ /--|SE/ and r.b == "x // y")'
    assert n(flux + "  // c", "flux") == (
        'from(bucket: "b") |> filter(fn: (r) => r.a =~ /--|SE/ and r.b == "x // y")'
    )
    assert n(flux.replace("SE", "N$"), "flux") != n(flux, "flux")
    assert n('x = "a ${"b  c"}"', "flux") == 'x = "a ${"b  c"}"'
    assert n("x = 1 --2", "flux") != n("x = 1", "flux")
    assert n("x = 10  /  2 / 5", "flux") == "x = 10 / 2 / 5"


def test_readonly_guard_sees_statements_after_a_regex() -> None:
    # "--" inside a regex hid the rest of the line (a second statement) from the guard
    with pytest.raises(QueryRefused):
        detect.check_readonly_influxql("SELECT a FROM m WHERE b =~ /--x/; SHOW USERS")
    assert detect.check_readonly_influxql("SELECT a FROM m WHERE b =~ /x;y/") == [
        "SELECT a FROM m WHERE b =~ /x;y/"
    ]


def test_cache_key_is_order_independent() -> None:
    assert cache_key({"a": 1, "b": [1, 2]}) == cache_key({"b": [1, 2], "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})


def test_ttl_and_lru() -> None:
    now = [0.0]
    cache = TTLCache(ttl_s=10, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 4
    assert cache.get("a") == (1, 4)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("c") == (3, 0)
    now[0] = 10
    assert cache.get("a") is None  # expired at ttl
    stats = cache.stats()
    assert (stats.hits, stats.entries) == (3, 1)


def test_flux_csv_and_influxql_tables() -> None:
    text = (
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,double\n"
        "#group,false,false,true,true,false,true,false\n"
        "#default,_result,,,,,,\n"
        ",result,table,_start,_stop,_time,id_subsistema,val_cmo\n"
        ",,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:30:00Z,S,12.5\n"
        "\n"
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,double\n"
        "#group,false,false,true,true,false,true,false\n"
        "#default,_result,,,,,,\n"
        ",result,table,_start,_stop,_time,id_subsistema,val_cmo\n"
        ",,1,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:30:00Z,N,\n"
    )
    table = table_from_flux_csv(text, "flux", 1.0)
    assert [(c.name, c.kind, c.unit) for c in table.columns] == [
        ("time", "time", "ns"), ("id_subsistema", "tag", ""), ("val_cmo", "value", ""),
    ]  # fmt: skip
    assert table.rows == [[1704069000000000000, "S", 12.5], [1704069000000000000, "N", None]]
    results = [
        {"statement_id": 0, "series": [
            {"name": "cmo_semihorario", "tags": {"id_subsistema": "S"},
             "columns": ["time", "mean_val_cmo"], "values": [[1, 2.0]]},
            {"name": "cmo_semihorario", "tags": {"id_subsistema": "N"},
             "columns": ["time", "mean_val_cmo"], "values": [[1, 3.0]]},
        ]},
    ]  # fmt: skip
    table = table_from_influxql(results, "q", 1.0)
    assert [c.name for c in table.columns] == ["time", "id_subsistema", "mean_val_cmo"]
    assert table.columns[2].unit == "R$/MWh" and table.rows == [[1, "S", 2.0], [1, "N", 3.0]]
    assert column_unit("curva_carga", "max") == "MWmed"
    assert column_unit("curva_carga", "count_val_cargaenergiahomwmed") == ""
    assert column_unit("unknown", "x") == ""


def test_settings_from_env(tmp_path: object) -> None:
    settings = load_settings(
        {
            "ONS_INFLUX_URL": "http://127.0.0.1:9",
            "ONS_INFLUX_DATABASE": "d",
            "ONS_API_KEY": "sekret-value-42",
            "ONS_API_CACHE_TTL": "5",
            "ONS_API_QUERY_TIMEOUT": "2.5",
            "ONS_STATE_DIR": str(tmp_path),
        }
    )
    assert settings.influx.url == "http://127.0.0.1:9" and settings.influx.database == "d"
    api = settings.api
    assert api.api_key == "sekret-value-42" and api.cache_ttl_s == 5 and api.query_timeout_s == 2.5
    assert "sekret" not in repr(settings)
    with pytest.raises(ValueError):
        load_settings({"ONS_API_CACHE_TTL": "soon", "ONS_STATE_DIR": str(tmp_path)})


def test_an_unknown_time_zone_fails_when_the_service_starts() -> None:
    backend = InfluxBackend(InfluxClient(InfluxConfig()))
    QueryProcessor(backend, ApiSettings())
    with pytest.raises(ModelError, match="Mars/Olympus"):
        QueryProcessor(backend, ApiSettings(timezone="Mars/Olympus"))
    backend.close()
