"""Arrow → line protocol: exact text, lossless round trips (independent parser and real InfluxDB).

The independent parser is PyPI's ``line-protocol-parser``. Its gaps (DESIGN.md §3) and how the
strategies avoid them:

* it cannot parse subnormal floats (``5e-324`` → error, although InfluxDB stores them exactly):
  the parser property test draws no subnormals; the real-server test does;
* it rejects a carriage return in names and tag values and any NUL byte (its C binding), all of
  which InfluxDB stores as written: the parser property test draws neither, the real-server
  test draws both;
* a tag value ending in an escaped backslash raises: our encoder rejects every backslash at the end
  of a name or value (InfluxDB 1.x/2.x cannot read those either), so nothing to avoid;
* ``i`` and ``u`` integers both come back as ``int``: we only write ``i``;
* duplicate field keys are not flagged: the encoder rejects duplicate columns itself.
"""

from __future__ import annotations

import json
import math
import os
import struct
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from line_protocol_parser import parse_line

from ons_pipeline.lib.influx import lineprotocol as lp
from ons_pipeline.lib.influx.lineprotocol import (
    TIME_MAX_NS,
    TIME_MIN_NS,
    EncodedBatch,
    LineEncoder,
    LineProtocolError,
    encode,
    encode_columns,
    escape_key,
    escape_measurement,
    escape_string_value,
    iter_encoded,
)
from ons_pipeline.lib.schema import table as table_spec
from ons_pipeline_tests.conftest import influx_write, influxql

NS = pa.timestamp("ns", tz="UTC")


def one_line(columns: dict[str, Any], tags: list[str], fields: list[str], m: str = "m") -> str:
    data = encode_columns(pa.table(columns), m, tags, fields)
    assert data.lines == 1
    return data.data.decode()


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


# -- escaping -------------------------------------------------------------------------------------
def test_escaping_of_names_and_strings() -> None:
    assert escape_measurement("geração usina,x=1") == "geração\\ usina\\,x=1"
    assert escape_key("a b,c=d") == "a\\ b\\,c\\=d"
    assert escape_key('q"uote') == 'q"uote'
    assert escape_key("C:\\dados") == "C:\\dados"  # a backslash before a plain character stays
    assert escape_string_value('say "oi" \\o/') == '"say \\"oi\\" \\\\o/"'
    assert escape_string_value("two\nlines") == '"two\nlines"'


@pytest.mark.parametrize(
    "name",
    ["", "a\nb", "ends\\", "a\\,b", "a\\ b", "a\\=b", "a\\\\b"],
)
def test_names_influxdb_cannot_store_are_rejected(name: str) -> None:
    with pytest.raises(LineProtocolError):
        escape_key(name)
    with pytest.raises(LineProtocolError):
        LineEncoder("m", [name] if name else [""], ["f"])


@pytest.mark.parametrize("name", ["#comment", "\tm", "\x00m"])
def test_measurements_influxdb_would_drop_or_strip_are_rejected(name: str) -> None:
    with pytest.raises(LineProtocolError, match="measurement"):
        LineEncoder(name, [], ["f"])


def test_bad_column_sets_are_rejected() -> None:
    with pytest.raises(LineProtocolError, match="at least one field"):
        LineEncoder("m", ["t"], [])
    with pytest.raises(LineProtocolError, match="twice"):
        LineEncoder("m", ["t"], ["t"])
    with pytest.raises(LineProtocolError, match="'time'"):
        LineEncoder("m", [], ["time"], time_column="ts")
    with pytest.raises(LineProtocolError, match="tab or NUL"):
        LineEncoder("m", [], ["\tf"])
    with pytest.raises(LineProtocolError, match="lacks columns"):
        encode_columns(pa.table({"time": pa.array([1], NS), "f": [1.0]}), "m", ["t"], ["f"])


# -- each type ------------------------------------------------------------------------------------
def test_every_field_type_is_written_exactly() -> None:
    columns = {
        "time": pa.array([1_700_000_000_123_456_789], NS),
        "host": ["São Salvador"],
        "d": [0.1],
        "i": pa.array([-(2**63)], pa.int64()),
        "b": [True],
        "s": ['aspas "duplas", barra \\ e\nnova linha'],
        "ts": pa.array([1_700_000_000_000_000_001], NS),
    }
    line = one_line(columns, ["host"], ["d", "i", "b", "s", "ts"], m="geração")
    assert line == (
        "geração,host=São\\ Salvador d=0.1,i=-9223372036854775808i,b=true,"
        's="aspas \\"duplas\\", barra \\\\ e\nnova linha",ts=1700000000000000001i '
        "1700000000123456789\n"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e20, "1e+20"),
        (-0.0, "-0"),
        (5e-324, "5e-324"),
        (123.0, "123"),
        (0.1, "0.1"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (-1.5e-7, "-1.5e-7"),
    ],
)
def test_doubles_use_the_shortest_round_trip_text(value: float, text: str) -> None:
    line = one_line({"time": pa.array([0], NS), "f": [value]}, [], ["f"])
    assert line == f"m f={text} 0\n"
    assert bits(float(text)) == bits(value)


def test_float32_is_widened_exactly() -> None:
    column = pa.array([0.1], pa.float32())
    line = one_line({"time": pa.array([0], NS), "f": column}, [], ["f"])
    assert line == f"m f={float(np.float32(0.1))!r} 0\n"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_raise_naming_column_and_row(bad: float) -> None:
    columns = {"time": pa.array([0, 1, 2], NS), "ok": [1.0, 2.0, 3.0], "val": [1.0, None, bad]}
    with pytest.raises(LineProtocolError, match=r"'val', row 2"):
        encode_columns(pa.table(columns), "m", [], ["ok", "val"])


def test_other_integer_widths_and_unsigned_overflow() -> None:
    columns = {"time": pa.array([0], NS), "u": pa.array([2**63 - 1], pa.uint64())}
    assert one_line(columns, [], ["u"]) == f"m u={2**63 - 1}i 0\n"
    columns["u"] = pa.array([2**63], pa.uint64())
    with pytest.raises(LineProtocolError, match="'u'"):
        encode_columns(pa.table(columns), "m", [], ["u"])


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_time_in_any_unit_is_cast_exactly(unit: str) -> None:
    moment = datetime(2019, 11, 3, 2, 30, tzinfo=UTC)  # Brazil's last DST start
    column = pa.array([moment], pa.timestamp(unit, tz="America/Sao_Paulo"))
    line = one_line({"time": column, "f": [1.0]}, [], ["f"])
    assert line == f"m f=1 {int(moment.timestamp()) * 10**9}\n"


def test_time_must_be_present_and_in_influxdb_range() -> None:
    with pytest.raises(LineProtocolError, match="row 1: null time"):
        encode_columns(pa.table({"time": pa.array([0, None], NS), "f": [1.0, 2.0]}), "m", [], ["f"])
    too_late = pa.array([0, TIME_MAX_NS + 1], pa.int64()).cast(NS)
    with pytest.raises(LineProtocolError, match=r"row 1.*outside InfluxDB's time range"):
        encode_columns(pa.table({"time": too_late, "f": [1.0, 2.0]}), "m", [], ["f"])
    edges = pa.array([TIME_MIN_NS, TIME_MAX_NS], pa.int64()).cast(NS)
    data = encode_columns(pa.table({"time": edges, "f": [1.0, 2.0]}), "m", [], ["f"]).data
    assert data == f"m f=1 {TIME_MIN_NS}\nm f=2 {TIME_MAX_NS}\n".encode()


# -- tags, nulls, skipped rows --------------------------------------------------------------------
def test_tags_are_sorted_by_key_and_escaped() -> None:
    columns = {
        "time": pa.array([0], NS),
        "z": ["último"],
        "a": ["Usina X, Fase 2"],
        "M": ["k=v"],
        "f": [1.0],
    }
    line = one_line(columns, ["z", "a", "M"], ["f"])
    assert line == "m,M=k\\=v,a=Usina\\ X\\,\\ Fase\\ 2,z=último f=1 0\n"


def test_null_and_empty_values_are_omitted_and_empty_rows_skipped() -> None:
    columns = {
        "time": pa.array([0, 1, 2, 3], NS),
        "t1": ["a", None, "", "b"],
        "t2": ["x", "y", "z", None],
        "f": [None, 2.0, None, None],
        "g": pa.array([5, 6, None, None], pa.int64()),
    }
    batch = encode_columns(pa.table(columns), "m", ["t1", "t2"], ["f", "g"])
    assert batch.data.decode().splitlines() == [
        "m,t1=a,t2=x g=5i 0",
        "m,t2=y f=2,g=6i 1",
    ]
    assert (batch.lines, batch.skipped_rows, batch.rows) == (2, 2, 4)
    lines = LineEncoder("m", ["t1", "t2"], ["f", "g"]).lines(pa.table(columns))
    assert lines.to_pylist() == ["m,t1=a,t2=x g=5i 0\n", "m,t2=y f=2,g=6i 1\n", None, None]


def test_bad_tag_values_raise_naming_column_and_row() -> None:
    columns = {
        "time": pa.array([0, 1, 2], NS),
        "plant": ["ok", "fine", "two\nlines"],
        "f": [1.0, 2.0, 3.0],
    }
    with pytest.raises(LineProtocolError, match=r"tag column 'plant', row 2.*newline"):
        encode_columns(pa.table(columns), "m", ["plant"], ["f"])
    columns["plant"] = ["ok", "ends in \\", "fine"]
    with pytest.raises(LineProtocolError, match=r"tag column 'plant', row 1.*backslash"):
        encode_columns(pa.table(columns), "m", ["plant"], ["f"])
    # the row index is the input's, also after skipped rows and across chunks
    columns = {
        "time": pa.array(range(10), NS),
        "plant": ["a"] * 9 + ["bad\n"],
        "f": [None, 1.0] * 5,
    }
    encoder = LineEncoder("m", ["plant"], ["f"])
    with pytest.raises(LineProtocolError, match="row 9"):
        list(encoder.iter_encoded(pa.table(columns), max_lines=2, chunk_rows=3))


def test_many_high_cardinality_tags_match_a_row_by_row_rendering() -> None:
    """Eight tags of ~300 values each: the combined series index overflows int64 on the way."""
    rng = np.random.default_rng(11)
    rows = 3_000
    columns: dict[str, Any] = {"time": pa.array(rng.integers(0, 10**18, rows), NS)}
    tags = [f"tag {k}" for k in range(8)]
    for k, tag in enumerate(tags):
        values = [f"v={k},{i}" for i in range(300)]
        cells = [values[i] if i < 290 else None for i in rng.integers(0, 300, rows)]
        columns[tag] = pa.array(cells, pa.string())
    f = rng.normal(size=rows)
    g = rng.integers(-100, 100, rows)
    columns["f"] = pa.array([x if i % 3 else None for i, x in enumerate(f.tolist())])
    columns["g"] = pa.array([x if i % 5 else None for i, x in enumerate(g.tolist())], pa.int64())
    table = pa.table(columns)
    expected = []
    times = table.column("time").cast(pa.int64()).to_pylist()
    for row, time in zip(table.to_pylist(), times, strict=True):
        tag_set = "".join(
            f",{escape_key(t)}={escape_key(row[t])}" for t in sorted(tags) if row[t] is not None
        )
        values = []
        if row["f"] is not None:
            values.append(f"f={row['f']!r}".replace("e-0", "e-").replace("e+0", "e+"))
        if row["g"] is not None:
            values.append(f"g={row['g']}i")
        expected.append(f"m{tag_set} {','.join(values)} {time}\n" if values else None)
    got = LineEncoder("m", tags, ["f", "g"]).lines(table).to_pylist()
    assert got == expected


def test_dictionary_tags_give_the_same_bytes() -> None:
    plain = pa.table(
        {
            "time": pa.array(range(6), NS),
            "t": ["a b", None, "", "c", "a b", "c"],
            "f": [1.0, 2.0, 3.0, None, 5.0, 6.0],
        }
    )
    # a dictionary holding an unused value InfluxDB could not store, and a null entry
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array([0, None, 4, 1, 0, 1], pa.int32()), pa.array(["a b", "c", "bad\n", None, ""])
    )
    encoded = plain.set_column(1, "t", dictionary)
    expected = encode_columns(plain, "m", ["t"], ["f"])
    assert encode_columns(encoded, "m", ["t"], ["f"]) == expected
    assert expected.data == b"m,t=a\\ b f=1 0\nm f=2 1\nm f=3 2\nm,t=a\\ b f=5 4\nm,t=c f=6 5\n"


# -- batching -------------------------------------------------------------------------------------
def _batching_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(3)
    f = rng.normal(size=rows)
    f[rng.random(rows) < 0.3] = np.nan
    g = rng.integers(-5, 5, rows).astype(float)
    g[rng.random(rows) < 0.5] = np.nan
    return pa.table(
        {
            "time": pa.array(np.arange(rows) // 7, NS),
            "t": pa.array(rng.choice(["a", "b", "c d"], rows)),
            "f": pa.array(f, from_pandas=True),
            "g": pa.array(g, from_pandas=True),
        }
    )


@pytest.mark.parametrize(("max_lines", "chunk_rows"), [(1, 1), (3, 5), (7, 20), (1000, 64)])
def test_iter_encoded_tiles_the_input(max_lines: int, chunk_rows: int) -> None:
    table = _batching_table(200)
    encoder = LineEncoder("m", ["t"], ["f", "g"])
    whole = encoder.encode(table)
    batches = list(encoder.iter_encoded(table, max_lines=max_lines, chunk_rows=chunk_rows))
    assert b"".join(b.data for b in batches) == whole.data
    assert all(0 < b.lines <= max_lines for b in batches[:-1])
    assert sum(b.lines for b in batches) == whole.lines
    assert sum(b.skipped_rows for b in batches) == whole.skipped_rows
    next_row = 0
    for batch in batches:
        assert batch.first_row == next_row
        assert batch.data.count(b"\n") == batch.lines
        next_row += batch.rows
    assert next_row == table.num_rows


def test_iter_encoded_reports_trailing_skipped_rows_and_accepts_batches() -> None:
    table = pa.table({"time": pa.array(range(5), NS), "f": [1.0, 2.0, None, None, None]})
    batches = list(LineEncoder("m", [], ["f"]).iter_encoded(iter(table.to_batches(2))))
    assert [(b.lines, b.skipped_rows, b.first_row) for b in batches] == [(2, 0, 0), (0, 3, 2)]
    assert batches[-1] == EncodedBatch(b"", 0, 3, 2)


def test_small_input_batches_are_coalesced() -> None:
    table = pa.table(
        {
            "time": pa.array(range(95), NS),
            "t": [f"plant {i % 4}" for i in range(95)],
            "f": np.arange(95.0),
        }
    )
    # row groups of 7 rows, each with its own tag dictionary
    pieces = [b.set_column(1, "t", pc.dictionary_encode(b.column(1))) for b in table.to_batches(7)]
    grouped = pa.Table.from_batches(pieces)
    encoder = LineEncoder("m", ["t"], ["f"])
    batches = list(encoder.iter_encoded(grouped, max_lines=10, chunk_rows=20))
    assert [b.lines for b in batches] == [10] * 9 + [5]
    assert b"".join(b.data for b in batches) == encoder.encode(table).data
    assert b"".join(b.data for b in encoder.iter_encoded(iter(pieces), 10, 20)) == (
        encoder.encode(table).data
    )


def test_all_rows_skipped() -> None:
    table = pa.table({"time": pa.array([0, 1], NS), "f": pa.array([None, None], pa.float64())})
    encoder = LineEncoder("m", [], ["f"])
    assert encoder.encode(table) == EncodedBatch(b"", 0, 2, 0)
    assert encoder.lines(table).to_pylist() == [None, None]
    assert list(encoder.iter_encoded(table)) == [EncodedBatch(b"", 0, 2, 0)]


def test_batches_stay_full_across_chunks() -> None:
    table = pa.table({"time": pa.array(range(25_000), NS), "f": np.arange(25_000.0)})
    batches = LineEncoder("m", [], ["f"]).iter_encoded(table, max_lines=10_000, chunk_rows=15_000)
    assert [b.lines for b in batches] == [10_000, 10_000, 5_000]


def test_empty_input() -> None:
    table = pa.table({"time": pa.array([], NS), "f": pa.array([], pa.float64())})
    assert encode_columns(table, "m", [], ["f"]) == EncodedBatch(b"", 0, 0, 0)
    assert list(LineEncoder("m", [], ["f"]).iter_encoded(table)) == []


def test_threads_give_identical_bytes() -> None:
    table = _batching_table(100_000)
    single = LineEncoder("m", ["t"], ["f", "g"]).encode(table)
    assert LineEncoder("m", ["t"], ["f", "g"], threads=2).encode(table) == single
    parallel = LineEncoder("m", ["t"], ["f", "g"], threads=2).iter_encoded(table, 10_000)
    assert b"".join(b.data for b in parallel) == single.data
    tags = table.column("t").to_pylist()
    tags[90_001] = "bad\n"
    table = table.set_column(1, "t", pa.array(tags))
    assert table.column("f")[90_001].is_valid or table.column("g")[90_001].is_valid  # not skipped
    with pytest.raises(LineProtocolError, match="row 90001"):
        LineEncoder("m", ["t"], ["f", "g"], threads=2).encode(table)


# -- the table spec -------------------------------------------------------------------------------
PLANTS = [
    # id_subsistema, nom_subsistema, id_estado, nom_estado, nom_tipousina, nom_usina, id_ons, ceg
    ("N", "NORTE", "TO", "TOCANTINS", "HIDROELÉTRICA", "São Salvador", "TOUHSS", "UHE.PH.TO.1"),
    ("NE", "NORDESTE", "MA", "MARANHÃO", "EOLIELÉTRICA", "Conj. Paulino Neves", "MAEOPN", None),
    ("SE", "SUDESTE", "SP", "SÃO PAULO", "FOTOVOLTAICA", "Usina X, Fase 2", "SPUFX2", "UFV.RS.1"),
]


def geracao_usina(hours: int = 3) -> pa.Table:
    spec = table_spec("geracao_usina")
    rows: dict[str, list[Any]] = {c: [] for c in spec.columns}
    base = datetime(2024, 2, 11, 3, tzinfo=UTC)
    for hour in range(hours):
        for i, plant in enumerate(PLANTS):
            sub, nom_sub, uf, nom_uf, tipo, usina, id_ons, ceg = plant
            rows["time"].append(int(base.timestamp()) * 10**9 + hour * 3_600 * 10**9)
            values = {
                "id_subsistema": sub,
                "nom_subsistema": nom_sub,
                "id_estado": uf,
                "nom_estado": nom_uf,
                "cod_modalidadeoperacao": "TIPO I",
                "nom_tipousina": tipo,
                "nom_tipocombustivel": "Fonte (renovável)",
                "nom_usina": usina,
                "id_ons": id_ons,
                "ceg": ceg,
                "val_geracao": None if (hour, i) == (1, 1) else 1000.5 * i + hour / 3,
            }
            for key, value in values.items():
                rows[key].append(value)
    return pa.Table.from_pydict(rows, schema=spec.arrow_schema())


def test_ons_plant_generation_through_the_spec() -> None:
    spec = table_spec("geracao_usina")
    table = geracao_usina()
    batch = encode(table, spec)
    assert (batch.lines, batch.skipped_rows) == (8, 1)
    lines = batch.data.decode().splitlines()
    assert lines[0] == (
        "geracao_usina,ceg=UHE.PH.TO.1,cod_modalidadeoperacao=TIPO\\ I,id_estado=TO,"
        "id_ons=TOUHSS,id_subsistema=N,nom_estado=TOCANTINS,nom_subsistema=NORTE,"
        "nom_tipocombustivel=Fonte\\ (renovável),nom_tipousina=HIDROELÉTRICA,"
        "nom_usina=São\\ Salvador val_geracao=0 1707620400000000000"
    )
    parsed = [parse_line(line) for line in lines]
    assert parsed[1]["tags"]["nom_usina"] == "Conj. Paulino Neves"
    assert "ceg" not in parsed[1]["tags"]  # null optional tag: omitted
    assert parsed[2]["tags"]["nom_usina"] == "Usina X, Fase 2"
    assert [b.lines for b in iter_encoded(table, spec, max_lines=3)] == [3, 3, 2]


def test_spec_types_are_enforced() -> None:
    spec = table_spec("curva_carga")
    table = pa.table(
        {
            "time": pa.array([0], pa.timestamp("ms")),
            "id_subsistema": ["SE"],
            "nom_subsistema": ["SUDESTE/CO"],
            "val_cargaenergiahomwmed": pa.array([36803], pa.int64()),  # DOUBLE in the spec
        }
    )
    assert encode(table, spec).data == (
        b"curva_carga,id_subsistema=SE,nom_subsistema=SUDESTE/CO val_cargaenergiahomwmed=36803 0\n"
    )
    table = table.set_column(3, "val_cargaenergiahomwmed", pa.array(["36803"]))
    with pytest.raises(LineProtocolError, match="val_cargaenergiahomwmed"):
        encode(table, spec)


# -- property tests -------------------------------------------------------------------------------
# Pieces of names and tag values: every character class line protocol escapes or could trip on,
# unicode, and backslashes only before a plain character (the others are rejected by design).
TOKENS = [
    "a", "Z", "0", "_", " ", ",", "=", '"', "'", "é", "ç", "ã", "中", "😀", "#", "\t", "\r",
    "\x00", "-", ".", "(", ")", "\\x", "\\é", "{", "/",
]  # fmt: skip


PARSER_TOKENS = [t for t in TOKENS if t not in ("\r", "\x00")]


def words(tokens: list[str], min_size: int = 1, max_size: int = 5) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(tokens), min_size=min_size, max_size=max_size).map("".join)


FLOAT_KIND = "float"
KINDS = [FLOAT_KIND, "int", "bool", "str", "timestamp"]


def _is_subnormal(x: float) -> bool:
    return x != 0.0 and abs(x) < 2.2250738585072014e-308


@st.composite
def tables(draw: st.DrawFn, for_parser: bool = False) -> dict[str, Any]:
    """A random table, its measurement, tag and field columns, and each field's kind.

    ``for_parser``: within line-protocol-parser's abilities (see the module docstring), any time;
    otherwise times stay in a few shards so that the real server has little to do.
    """
    tokens = PARSER_TOKENS if for_parser else TOKENS
    # Measurement and field keys never start with "#", tab or NUL (rejected: InfluxDB drops or
    # strips them); names are distinct and not "time".
    measurement = draw(words(tokens).filter(lambda m: m[0] not in "#\t\x00"))
    names = draw(
        st.lists(words(tokens), min_size=1, max_size=7, unique=True).filter(
            lambda ns: "time" not in ns
        )
    )
    n_fields = draw(st.integers(1, len(names)))
    fields = [f"f{i}" if n[0] in "\t\x00" else n for i, n in enumerate(names[:n_fields])]
    tags = names[n_fields:]
    if len({*fields, *tags}) < len(names):
        fields = [f"f{i}" for i in range(n_fields)]
    rows = draw(st.integers(1, 12))
    floats = st.floats(allow_nan=False, allow_infinity=False)
    text = st.text(st.characters(codec="utf-8"), max_size=12)
    if for_parser:
        floats = floats.filter(lambda x: not _is_subnormal(x))
        text = text.filter(lambda t: "\x00" not in t)
    values: dict[str, tuple[st.SearchStrategy[Any], pa.DataType]] = {
        FLOAT_KIND: (floats, pa.float64()),
        "int": (st.integers(-(2**63), 2**63 - 1), pa.int64()),
        "bool": (st.booleans(), pa.bool_()),
        "str": (text, pa.string()),
        "timestamp": (st.integers(-(2**63) + 1, 2**63 - 1), pa.int64()),
    }
    if for_parser:
        times = draw(st.lists(st.integers(TIME_MIN_NS, TIME_MAX_NS), min_size=rows, max_size=rows))
    else:  # distinct times (no point overwrites another), a few shards, both ends of the range
        base = draw(st.sampled_from([TIME_MIN_NS, -(10**18), 0, TIME_MAX_NS - 10**6]))
        offsets = st.lists(st.integers(0, 10**6), min_size=rows, max_size=rows, unique=True)
        times = [base + o for o in draw(offsets)]
    columns: dict[str, pa.Array] = {"time": pa.array(times, pa.int64()).cast(NS)}
    kinds = {}
    for field in fields:
        kind = draw(st.sampled_from(KINDS))
        strategy, type_ = values[kind]
        column = pa.array(draw(st.lists(st.none() | strategy, min_size=rows, max_size=rows)), type_)
        columns[field] = column.cast(NS) if kind == "timestamp" else column
        kinds[field] = kind
    tag_value = words(tokens, min_size=0, max_size=4)
    for tag in tags:
        cells = draw(st.lists(st.none() | tag_value, min_size=rows, max_size=rows))
        columns[tag] = pa.array(cells, pa.string())
    return {
        "table": pa.table(columns),
        "measurement": measurement,
        "tags": tags,
        "fields": fields,
        "kinds": kinds,
    }


def expected_points(case: dict[str, Any]) -> Iterator[dict[str, Any] | None]:
    """What each input row should read back as (None: skipped, no field value)."""
    table = case["table"]
    for name in ["time", *(f for f in case["fields"] if case["kinds"][f] == "timestamp")]:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pc.cast(table.column(name), pa.int64()))
    for row in table.to_pylist():
        fields = {f: row[f] for f in case["fields"] if row[f] is not None}
        if not fields:
            yield None
            continue
        tags = {t: row[t] for t in case["tags"] if row[t]}
        yield {
            "measurement": case["measurement"],
            "tags": tags,
            "fields": fields,
            "time": row["time"],
        }


def comparable(fields: dict[str, Any]) -> dict[str, Any]:
    """Field values with floats as their bits (so -0.0 != 0.0) and types kept apart."""
    return {
        k: ("float", bits(v)) if isinstance(v, float) else (type(v).__name__, v)
        for k, v in fields.items()
    }


# More examples on demand: ONS_LP_EXAMPLES=5000 pytest ... (the defaults keep the suite fast).
EXAMPLES = int(os.environ.get("ONS_LP_EXAMPLES", "0"))


@settings(max_examples=EXAMPLES or 300, deadline=None)
@given(tables(for_parser=True))
def test_every_line_parses_back_to_its_row(case: dict[str, Any]) -> None:
    encoder = LineEncoder(case["measurement"], case["tags"], case["fields"])
    lines = encoder.lines(case["table"])
    batch = encoder.encode(case["table"])
    assert batch.data == "".join(line for line in lines.to_pylist() if line).encode()
    for line, expected in zip(lines.to_pylist(), expected_points(case), strict=True):
        if expected is None:
            assert line is None
            continue
        assert line.endswith("\n")
        point = parse_line(line[:-1])
        assert point["measurement"] == expected["measurement"]
        assert point["tags"] == expected["tags"]
        assert point["time"] == expected["time"]
        assert comparable(point["fields"]) == comparable(expected["fields"])


@settings(
    max_examples=EXAMPLES // 10 or 25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(case=tables())
def test_round_trip_through_real_influxdb(influx_url: str, case: dict[str, Any]) -> None:
    db = f"hyp_{uuid.uuid4().hex[:12]}"
    influxql(influx_url, f'CREATE DATABASE "{db}"')
    try:
        batch = encode_columns(case["table"], case["measurement"], case["tags"], case["fields"])
        expected = [p for p in expected_points(case) if p is not None]
        if batch.lines:
            influx_write(influx_url, db, batch.data)
        assert read_back(influx_url, db) == sorted_points(expected)
    finally:
        influxql(influx_url, f'DROP DATABASE "{db}"')


def test_nasty_fixed_table_round_trips_through_real_influxdb(
    influx_url: str, influx_db: str
) -> None:
    table = pa.table(
        {
            "time": pa.array(
                [TIME_MIN_NS, -1, 0, 1_707_620_400_000_000_000, TIME_MAX_NS], pa.int64()
            ).cast(NS),
            "nom_usina": ["São Salvador", "Usina X, Fase 2", "a=b c", "C:\\dados", None],
            "id estado": ['"q"', "", "😀", "#1", "\t\r"],
            "val": [5e-324, -0.0, 1e20, 1.7976931348623157e308, None],
            "n": pa.array([-(2**63), 2**63 - 1, None, 2**53 + 1, 0], pa.int64()),
            "s": ['a"b\\', "linha 1\nlinha 2\r\n", "", None, "\\"],
            "ok": [True, False, None, None, True],
            "at": pa.array([None, None, 2**63 - 1, -(2**63) + 1, None], pa.int64()).cast(NS),
        }
    )
    fields = ["val", "n", "s", "ok", "at"]
    kinds = {"val": FLOAT_KIND, "n": "int", "s": "str", "ok": "bool", "at": "timestamp"}
    case = {
        "table": table,
        "measurement": "geração usina,x",
        "tags": ["nom_usina", "id estado"],
        "fields": fields,
        "kinds": kinds,
    }
    batch = encode_columns(table, case["measurement"], case["tags"], fields)
    assert (batch.lines, batch.skipped_rows) == (5, 0)
    influx_write(influx_url, influx_db, batch.data)
    expected = [p for p in expected_points(case) if p is not None]
    assert read_back(influx_url, influx_db) == sorted_points(expected)


def test_ons_table_round_trips_through_real_influxdb(influx_url: str, influx_db: str) -> None:
    spec = table_spec("geracao_usina")
    table = geracao_usina(hours=24)
    influx_write(influx_url, influx_db, encode(table, spec).data)
    body = influxql(
        influx_url,
        'SELECT count("val_geracao") FROM "geracao_usina" GROUP BY "nom_usina"',
        influx_db,
    )
    counts = {s["tags"]["nom_usina"]: s["values"][0][1] for s in body["results"][0]["series"]}
    assert counts == {"Conj. Paulino Neves": 23, "São Salvador": 24, "Usina X, Fase 2": 24}


# -- the vectorised renderer against a row-by-row reference ----------------------------------------
def reference_lines(
    table: pa.Table, measurement: str, tags: list[str], fields: list[str]
) -> list[str | None]:
    """Each row rendered on its own (None: no field value), doubles by Arrow's own formatter."""
    texts: dict[str, list[str | None]] = {}
    for field in fields:
        column = table.column(field)
        type_ = column.type
        if pa.types.is_floating(type_):
            texts[field] = pc.cast(column.cast(pa.float64()), pa.string()).to_pylist()
        elif pa.types.is_boolean(type_):
            texts[field] = [None if v is None else str(v).lower() for v in column.to_pylist()]
        elif pa.types.is_string(type_):
            texts[field] = [
                None if v is None else escape_string_value(v) for v in column.to_pylist()
            ]
        else:  # integers and timestamps
            values = pc.cast(column, pa.int64()).to_pylist()
            texts[field] = [None if v is None else f"{v}i" for v in values]
    times = pc.cast(table.column("time"), pa.int64()).to_pylist()
    tag_values = {t: table.column(t).to_pylist() for t in tags}
    lines: list[str | None] = []
    for row, time in enumerate(times):
        values = [f"{escape_key(f)}={texts[f][row]}" for f in fields if texts[f][row] is not None]
        tag_set = "".join(
            f",{escape_key(t)}={escape_key(tag_values[t][row])}"
            for t in sorted(tags)
            if tag_values[t][row]
        )
        head = escape_measurement(measurement) + tag_set
        lines.append(f"{head} {','.join(values)} {time}\n" if values else None)
    return lines


# Doubles the table-driven path writes (few decimals, below 1e5 or 1e8) mixed with those it
# leaves to Arrow (more digits, exponents, subnormals), both signs, -0 and the range edges.
EDGE_DOUBLES = [
    0.0, -0.0, 1e-6, -1e-6, 1e-7, 5e-7, 0.5, 9.5, 99999.9999, -99999.9999, 1e5, 100000.5,
    12345678.123456, -12345678.123456, 99999999.999999, 99999999.0, 1e8, 1e10, 1e20, 5e-324,
    2.2250738585072014e-308, 0.1 + 0.2, 1 / 3, 123.0, 1234.5678,
]  # fmt: skip
DECIMAL_DOUBLES = st.builds(
    lambda whole, decimals, sign: sign * whole / 10**decimals,
    st.integers(0, 10**14),
    st.integers(0, 8),
    st.sampled_from([1.0, -1.0]),
)
DOUBLES = st.one_of(
    DECIMAL_DOUBLES,
    st.sampled_from(EDGE_DOUBLES),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=EXAMPLES or 300, deadline=None)
@given(st.lists(st.none() | DOUBLES, min_size=1, max_size=300))
def test_doubles_are_written_as_arrows_formatter_writes_them(values: list[float | None]) -> None:
    table = pa.table(
        {
            "time": pa.array(range(len(values)), NS),
            "f": pa.array(values, pa.float64()),
            "g": pa.array([1.0] * len(values)),
        }
    )
    expected = reference_lines(table, "m", [], ["f", "g"])
    assert LineEncoder("m", [], ["f", "g"]).lines(table).to_pylist() == expected
    for line, value in zip(expected, values, strict=True):  # the text reads back bit for bit
        if value is not None:
            assert line is not None
            assert bits(float(line.split("=")[1].split(",")[0])) == bits(value)


def _mixed_doubles(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Doubles of every kind, in runs (the renderer decides per block of rows)."""
    kinds = [
        lambda n: np.round(rng.uniform(0, 3000, n), 3),  # ONS MWmed
        lambda n: np.round(rng.uniform(-1e5, 1e5, n), rng.integers(0, 7)),
        lambda n: np.round(rng.uniform(-1e8, 1e8, n), rng.integers(0, 7)),
        lambda n: rng.normal(size=n) * 10.0 ** rng.integers(-12, 20, n),
        lambda n: rng.choice(EDGE_DOUBLES, n),
    ]
    parts, total = [], 0
    while total < rows:
        n = int(rng.integers(1, 5_000))
        mix = np.concatenate([kinds[int(rng.integers(len(kinds)))](n), kinds[4](n // 50)])
        parts.append(mix[rng.permutation(len(mix))] if rng.random() < 0.5 else mix)
        total += len(mix)
    return np.concatenate(parts)[:rows]


@pytest.mark.parametrize("seed", range(4))
def test_mixed_doubles_over_many_blocks_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = 70_000

    def doubles(null_share: float) -> pa.Array:
        values = _mixed_doubles(rng, rows)
        null = rng.random(rows) < null_share
        # what null slots hold is never looked at: NaN and infinities there must not matter
        values[null] = rng.choice([np.nan, np.inf, -np.inf, -1e300, -5.5, 0.0], int(null.sum()))
        return pa.array(values, mask=null)

    table = pa.table(
        {
            # each time formatted once per run of rows (even seeds) or once per row
            "time": pa.array(
                np.arange(rows) // 50 if seed % 2 == 0 else rng.integers(0, 10**18, rows), NS
            ),
            "plant": pa.array(rng.choice(["Usina São Salvador, Fase 2", "a", ""], rows)),
            "f": doubles(0.1),
            "s": pa.array(rng.choice(['a "quoted" long text value', "b", None], rows)),
            "g": doubles(0.2),
        }
    )
    fields = ["f", "s", "g"]
    expected = reference_lines(table, "m", ["plant"], fields)
    encoder = LineEncoder("m", ["plant"], fields)
    assert encoder.lines(table).to_pylist() == expected
    whole = "".join(line for line in expected if line).encode()
    assert encoder.encode(table).data == whole
    batches = encoder.iter_encoded(table, max_lines=999, chunk_rows=30_000)
    assert b"".join(b.data for b in batches) == whole
    threaded = LineEncoder("m", ["plant"], fields, threads=2)
    assert threaded.encode(table).data == whole
    assert b"".join(b.data for b in threaded.iter_encoded(table, max_lines=5_000)) == whole


def test_tags_that_follow_from_another_tag_give_the_same_lines() -> None:
    """Plain tags whose value follows from the plant's id share its codes; others do not."""
    rng = np.random.default_rng(5)
    rows = 50_000
    plants = [f"usina {i}" for i in range(300)]
    state = {p: str(rng.choice(["SP", "MG", "a,b=c d", "Mato Grosso do Sul"])) for p in plants}
    kind = {p: str(rng.choice(["HIDROELÉTRICA", "EÓLICA", "FOTOVOLTAICA"])) for p in plants}
    plant = rng.choice(plants, rows).tolist()
    almost = [state[p] for p in plant]
    almost[40_000] = "other"  # follows from the plant everywhere but in one row
    columns = {
        "time": pa.array(np.arange(rows) // 300, NS),
        "id": plant,
        "state": [state[p] for p in plant],
        "kind": [kind[p] for p in plant],
        "almost": almost,
        "free": rng.choice(["x", "y z"], rows).tolist(),  # independent of the plant
        "f": np.round(rng.uniform(0, 100, rows), 2),
    }
    tags = ["id", "state", "kind", "almost", "free"]
    table = pa.table(columns)
    expected = reference_lines(table, "m", tags, ["f"])
    encoder = LineEncoder("m", tags, ["f"])
    assert encoder.lines(table).to_pylist() == expected
    batches = encoder.iter_encoded(table, max_lines=1_000, chunk_rows=20_000)
    assert b"".join(b.data for b in batches) == "".join(expected).encode()  # type: ignore[arg-type]
    # a value InfluxDB cannot store, in a tag that follows from the plant: its first row is named
    bad_plant = plant[12_345]
    first = plant.index(bad_plant)
    state[bad_plant] = "bad\n"
    table = table.set_column(2, "state", pa.array([state[p] for p in plant]))
    with pytest.raises(LineProtocolError, match=rf"tag column 'state', row {first}: .*newline"):
        encoder.encode(table)


def test_a_tag_with_the_same_bytes_but_other_values_does_not_follow() -> None:
    """Rebuilt from the id, "ab" "c" "a" "bc" is "a" "bc" "a" "bc" (or "ab" "c" "ab" "c"): the
    same bytes, other values."""
    ids = ["p0", "p1", "p0", "p1", "q1", "q2", "q3", "q4", "q5"]  # more distinct values: the lead
    table = pa.table(
        {
            "time": pa.array(range(len(ids)), NS),
            "id": ids,
            "x": ["ab", "c", "a", "bc", "x", "x", "x", "x", "x"],
            "f": [1.0] * len(ids),
        }
    )
    expected = reference_lines(table, "m", ["id", "x"], ["f"])
    assert LineEncoder("m", ["id", "x"], ["f"]).lines(table).to_pylist() == expected


@settings(max_examples=EXAMPLES or 200, deadline=None)
@given(case=tables(for_parser=True), seed=st.integers(0, 2**32 - 1))
def test_dictionary_tags_give_the_same_bytes_as_plain_tags(case: dict[str, Any], seed: int) -> None:
    """Tags as Parquet's read_dictionary gives them: any dictionary order, unused entries."""
    rng = np.random.default_rng(seed)
    plain = case["table"]
    encoded = plain
    for tag in case["tags"]:
        values = plain.column(tag).to_pylist()
        extra = ["unused", "bad\nvalue", ""] if rng.random() < 0.5 else []
        dictionary = sorted({v for v in values if v is not None} | set(extra))
        order = rng.permutation(len(dictionary)).tolist()
        dictionary = [dictionary[i] for i in order]
        indices = [None if v is None else dictionary.index(v) for v in values]
        column = pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), dictionary)
        encoded = encoded.set_column(encoded.schema.get_field_index(tag), tag, column)
    args = (case["measurement"], case["tags"], case["fields"])
    expected = reference_lines(plain, *args)
    assert LineEncoder(*args).lines(encoded).to_pylist() == expected
    assert LineEncoder(*args).lines(plain).to_pylist() == expected
    assert encode_columns(encoded, *args) == encode_columns(plain, *args)


@settings(max_examples=EXAMPLES or 300, deadline=None)
@given(tables(for_parser=True))
def test_every_table_matches_the_row_by_row_reference(case: dict[str, Any]) -> None:
    args = (case["measurement"], case["tags"], case["fields"])
    assert LineEncoder(*args).lines(case["table"]).to_pylist() == reference_lines(
        case["table"], *args
    )


# -- real-server helpers --------------------------------------------------------------------------


def query(url: str, db: str, q: str) -> dict[str, Any]:
    """InfluxQL with numbers kept as their text: ints beyond 2^53 and -0 survive."""
    response = requests.post(f"{url}/query", params={"q": q, "db": db, "epoch": "ns"}, timeout=30)
    response.raise_for_status()
    body = json.loads(response.text, parse_float=str, parse_int=str)
    result = body["results"][0]
    assert "error" not in result, result
    return result


def read_back(url: str, db: str) -> list[dict[str, Any]]:
    """Every point of the database with typed field values (types from SHOW FIELD KEYS)."""
    types: dict[tuple[str, str], str] = {}
    for series in query(url, db, "SHOW FIELD KEYS").get("series", []):
        for key, type_ in series["values"]:
            types[series["name"], key] = type_
    points = []
    for series in query(url, db, "SELECT * FROM /.*/ GROUP BY *").get("series", []):
        tags = {k: v for k, v in series.get("tags", {}).items() if v != ""}
        for row in series["values"]:
            fields = {}
            for key, value in zip(series["columns"][1:], row[1:], strict=True):
                if value is None:
                    continue
                type_ = types[series["name"], key]
                if type_ == "float":
                    fields[key] = float(value)
                elif type_ == "integer":
                    fields[key] = int(value)
                else:
                    fields[key] = value
            points.append(
                {"measurement": series["name"], "tags": tags, "fields": fields, "time": int(row[0])}
            )
    return sorted_points(points)


def sorted_points(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [{**p, "fields": comparable(p["fields"])} for p in points]
    return sorted(out, key=lambda p: (p["measurement"], p["time"], sorted(p["tags"].items())))


def test_module_exports() -> None:
    assert set(lp.__all__) >= {"encode", "iter_encoded", "encode_columns", "LineEncoder"}
