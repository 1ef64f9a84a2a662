"""Retention as configuration: applied and read back on the real InfluxDB 1.6.7 (and through the
Dagster asset), on a fake InfluxDB 2.x API (no 2.x server can run here), documented for 3.x."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pytest

from ons_pipeline.defs.rollup.assets import influxdb_retention
from ons_pipeline.lib.influx.client import InfluxClient, InfluxConfig, RetentionConflict
from ons_pipeline.lib.influx.retention import apply_retention, markdown, read_retention
from ons_pipeline.lib.schema import RetentionGroup, SchemaError, load_retention
from ons_pipeline.lib.settings import InfluxSettings, Settings, SettingsError
from ons_pipeline_tests.conftest import influxql

RAW = RetentionGroup("raw", "history", None, "INF")
ROLLUPS = RetentionGroup("rollups", "rollups", "rollups", "INF", "52w")
SCRATCH = RetentionGroup("scratch", "expires", "scratch", "30d", "1d")


def policies(url: str, database: str) -> dict[str, list[Any]]:
    body = influxql(url, f'SHOW RETENTION POLICIES ON "{database}"')
    return {row[0]: row[1:] for row in body["results"][0]["series"][0]["values"]}


def test_groups_are_created_and_read_back_on_the_server(influx_url: str, influx_db: str) -> None:
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        applied = apply_retention(client, [RAW, ROLLUPS, SCRATCH])
        read = read_retention(client, [RAW, ROLLUPS, SCRATCH])
    assert [(s.group, s.policy, s.action, s.applied) for s in applied] == [
        ("raw", "autogen", "unchanged", "INF"),
        ("rollups", "rollups", "created", "INF"),
        ("scratch", "scratch", "created", "30d"),
    ]
    assert all(s.ok for s in applied) and all(s.ok for s in read)
    on_server = policies(influx_url, influx_db)
    assert on_server["autogen"][:2] == ["0s", "168h0m0s"]  # raw history: kept forever
    assert on_server["rollups"][:2] == ["0s", "8736h0m0s"]
    assert on_server["scratch"][:2] == ["720h0m0s", "24h0m0s"]
    assert "| scratch | scratch | 30d | 30d | 1d | ✅ created |" in markdown(applied)


def test_lengthening_is_applied_shortening_is_refused_unless_allowed(
    influx_url: str, influx_db: str
) -> None:
    with InfluxClient(InfluxConfig(url=influx_url, database=influx_db)) as client:
        apply_retention(client, [SCRATCH])
        longer = RetentionGroup("scratch", "", "scratch", "90d")
        assert [s.action for s in apply_retention(client, [longer])] == ["lengthened"]
        shorter = RetentionGroup("scratch", "", "scratch", "7d")
        refused = apply_retention(client, [shorter])
        assert [(s.action, s.applied, s.ok) for s in refused] == [("refused", "90d", False)]
        assert "ONS_RETENTION_ALLOW_SHORTEN" in refused[0].note
        assert policies(influx_url, influx_db)["scratch"][0] == "2160h0m0s"  # untouched
        with pytest.raises(RetentionConflict):
            client.ensure_retention_policy("scratch", "7d")
        done = apply_retention(client, [shorter], allow_shorten=True)
        assert [(s.action, s.applied) for s in done] == [("shortened", "1w")]
        # and the raw group kept forever can be made to expire only the same explicit way
        assert [s.action for s in apply_retention(client, [RAW])] == ["unchanged"]
        drift = read_retention(client, [RetentionGroup("scratch", "", "scratch", "30d")])
        assert [(s.action, s.ok) for s in drift] == [("differs", False)]


def test_the_retention_asset_applies_the_configuration_and_shows_it(
    influx_url: str, influx_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONS_RETENTION_ROLLUPS", "3650d")
    result = dg.materialize(
        [influxdb_retention],
        resources={"influxdb": InfluxSettings.of(url=influx_url, database=influx_db)},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("influxdb_retention")[0].metadata
    assert metadata["raw kept"].value == "INF" and metadata["rollups kept"].value == "3650d"
    assert "| rollups | rollups | 3650d | 3650d |" in metadata["retention"].value
    assert policies(influx_url, influx_db)["rollups"][0] == "87600h0m0s"
    monkeypatch.setenv("ONS_RETENTION_ROLLUPS", "30d")  # shorter: refused, the run fails
    failed = dg.materialize(
        [influxdb_retention],
        resources={"influxdb": InfluxSettings.of(url=influx_url, database=influx_db)},
        raise_on_error=False,
    )
    assert not failed.success
    assert policies(influx_url, influx_db)["rollups"][0] == "87600h0m0s"


def test_configuration_is_validated() -> None:
    assert (
        Settings.from_env({"ONS_RETENTION_RAW": "520w"}).retention.group("raw").duration == "520w"
    )
    with pytest.raises(SettingsError, match="ONS_RETENTION_ROLLUPS"):
        Settings.from_env({"ONS_RETENTION_ROLLUPS": "forever"})
    groups = load_retention()
    assert groups["raw"].policy is None and groups["raw"].forever  # raw history kept forever


def test_a_mapping_with_two_default_groups_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tables.toml"
    path.write_text(
        '[retention.a]\npolicy = ""\nduration = "INF"\n[retention.b]\npolicy = ""\n'
        'duration = "INF"\n'
    )
    with pytest.raises(SchemaError, match="exactly one"):
        load_retention(path)


def test_influxdb_3_is_reported_unmanaged_and_nothing_is_sent() -> None:
    # a closed port: any request would fail
    config = InfluxConfig(url="http://127.0.0.1:9", database="ons", engine="3", token="t")
    with InfluxClient(config) as client:
        statuses = apply_retention(client, [RAW, ROLLUPS])
    assert [(s.policy, s.action, s.ok) for s in statuses] == [
        ("ons", "unmanaged", True),
        ("ons/rollups", "unmanaged", True),
    ]
    assert "--retention-period" in statuses[1].note


# -- InfluxDB 2.x: buckets and DBRP mappings, on a fake /api/v2 ---------------------------------


class FakeV2:
    """Buckets, organisations and DBRP mappings as InfluxDB 2.x serves them (state kept)."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, Any]] = {}
        self.dbrps: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                parts = urlsplit(self.path)
                status, payload = fake.answer(self.command, parts.path, parse_qs(parts.query), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        self.calls.append((method, path))
        if path == "/api/v2/orgs":
            return 200, {"orgs": [{"id": "0000000000000001", "name": "ons"}]}
        if path == "/api/v2/buckets" and method == "GET":
            name = (query.get("name") or [""])[0]
            found = [b for b in self.buckets.values() if b["name"] == name]
            return 200, {"buckets": found}
        if path == "/api/v2/buckets" and method == "POST":
            bucket = {**body, "id": f"{len(self.buckets) + 1:016x}", "type": "user"}
            self.buckets[bucket["id"]] = bucket
            return 201, bucket
        if path.startswith("/api/v2/buckets/") and method == "PATCH":
            bucket = self.buckets[path.rsplit("/", 1)[1]]
            bucket["retentionRules"] = body.get("retentionRules", [])
            return 200, bucket
        if path == "/api/v2/dbrps" and method == "GET":
            db, rp = (query.get("db") or [""])[0], (query.get("rp") or [""])[0]
            found = [d for d in self.dbrps if d["database"] == db and d["retention_policy"] == rp]
            return 200, {"content": found}
        if path == "/api/v2/dbrps" and method == "POST":
            self.dbrps.append({**body, "id": f"{len(self.dbrps) + 1:016x}", "virtual": False})
            return 201, self.dbrps[-1]
        return 404, {"code": "not found", "message": path}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_v2() -> Iterator[FakeV2]:
    fake = FakeV2()
    yield fake
    fake.close()


def test_influxdb_2_groups_are_buckets_mapped_to_database_and_policy(fake_v2: FakeV2) -> None:
    config = InfluxConfig(url=fake_v2.url, database="ons", token="tok", engine="2", org="ons")
    with InfluxClient(config) as client:
        first = apply_retention(client, [RAW, ROLLUPS, SCRATCH])
        assert [(s.policy, s.action, s.applied) for s in first] == [
            ("ons", "created", "INF"),
            ("ons_rollups", "created", "INF"),
            ("ons_scratch", "created", "30d"),
        ]
        by_name = {b["name"]: b for b in fake_v2.buckets.values()}
        assert by_name["ons"]["retentionRules"] == []
        scratch = by_name["ons_scratch"]["retentionRules"][0]
        assert (scratch["everySeconds"], scratch["shardGroupDurationSeconds"]) == (
            30 * 86_400,
            86_400,
        )
        mapped = {(d["database"], d["retention_policy"]): d["bucketID"] for d in fake_v2.dbrps}
        assert mapped == {
            ("ons", "rollups"): by_name["ons_rollups"]["id"],
            ("ons", "scratch"): by_name["ons_scratch"]["id"],
        }
        longer = RetentionGroup("scratch", "", "scratch", "90d")
        assert [s.action for s in apply_retention(client, [longer])] == ["lengthened"]
        assert by_name["ons_scratch"]["retentionRules"][0]["everySeconds"] == 90 * 86_400
        refused = apply_retention(client, [RetentionGroup("scratch", "", "scratch", "1d")])
        assert [(s.action, s.applied) for s in refused] == [("refused", "90d")]
        again = apply_retention(client, [RAW, ROLLUPS])
        assert [s.action for s in again] == ["unchanged", "unchanged"]
    assert len(fake_v2.dbrps) == 2  # mappings are not duplicated
    assert ("PATCH", f"/api/v2/buckets/{by_name['ons_scratch']['id']}") in fake_v2.calls
