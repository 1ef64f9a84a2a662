"""Fixtures of the API tests: a real InfluxDB (the session server of the root conftest) holding
data made by ``generate_canonical``, written as the loader writes it; the same Arrow tables, as
pandas frames, are the independent reference every expected number is computed from.

The embedding model (all-MiniLM-L6-v2) is loaded once per session, in one knowledge index that
every app shares.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from ons_pipeline.api.app import create_app
from ons_pipeline.lib import schema
from ons_pipeline.lib.influx.lineprotocol import iter_encoded
from ons_pipeline.lib.query.backend import InfluxBackend
from ons_pipeline.lib.query.service import QueryProcessor
from ons_pipeline.lib.rag.embeddings import MiniLMEmbedder
from ons_pipeline.lib.rag.index import KnowledgeIndex
from ons_pipeline.lib.rag.knowledge import load_knowledge
from ons_pipeline.lib.rag.service import RagService
from ons_pipeline.lib.settings import ApiSettings, InfluxSettings, Settings
from ons_pipeline.local.generator import generate_canonical
from ons_pipeline_tests.conftest import influx_write, influxql

API_KEY = "test-key-0123456789abcdef"
SEED = 11
START = datetime(2024, 3, 1, 3, tzinfo=UTC)  # 2024-03-01 00:00 in Brasília
END = datetime(2024, 3, 8, 3, tzinfo=UTC)
NOW = datetime(2024, 3, 8, 12, tzinfo=UTC)  # "today" of the tests: 2024-03-08 09:00 local
TABLES = {
    "curva_carga": (START, END),
    "balanco_subsistema": (START, END),
    "cmo_semihorario": (START, END),
    "ear_diario": (START, END),
    "ena_diario": (START, END),
    "intercambio": (START, END),
    "geracao_usina": (START, datetime(2024, 3, 3, 3, tzinfo=UTC)),
    "generation_data": (START, END),
}


@dataclass
class ApiData:
    url: str
    db: str
    frames: dict[str, pd.DataFrame]

    def influx(self) -> InfluxSettings:
        """The settings of the database holding the data."""
        return InfluxSettings.of(url=self.url, database=self.db)


def _write(url: str, db: str, table: str, data: pa.Table) -> None:
    spec = schema.table(table)
    for batch in iter_encoded(data, spec, max_lines=10_000):
        influx_write(url, db, batch.data)


@pytest.fixture(scope="session")
def api_data(influx_url: str) -> Iterator[ApiData]:
    db = f"api_{uuid.uuid4().hex[:10]}"
    influxql(influx_url, f'CREATE DATABASE "{db}"')
    frames = {}
    for table, (start, end) in TABLES.items():
        data = pa.concat_tables(list(generate_canonical(table, start, end, seed=SEED)))
        _write(influx_url, db, table, data)
        frames[table] = data.to_pandas()
    yield ApiData(influx_url, db, frames)
    influxql(influx_url, f'DROP DATABASE "{db}"')


@pytest.fixture(scope="session")
def knowledge_index(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    """The shipped knowledge base embedded with the real model (once per session)."""
    index = KnowledgeIndex(
        load_knowledge(), MiniLMEmbedder(), cache_dir=tmp_path_factory.mktemp("rag")
    )
    index.vectors()
    return index


def app_client(settings: Settings, knowledge_index: KnowledgeIndex) -> TestClient:
    """A TestClient, sending the test key, of a fresh app on ``settings``: its own backend and
    query processor (clock at ``NOW``, own cache), the session's knowledge index."""
    backend = InfluxBackend.connect(settings.influx)
    processor = QueryProcessor(backend, settings.api, clock=lambda: NOW)
    rag = RagService(processor, retriever=knowledge_index)
    app = create_app(settings, backend=backend, processor=processor, rag=rag)
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["X-API-Key"] = API_KEY
    return client


@pytest.fixture
def make_client(
    api_data: ApiData, knowledge_index: KnowledgeIndex
) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)`` → a TestClient of a fresh app (own cache) on the test data."""
    clients: list[TestClient] = []

    def make(
        influx: InfluxSettings | None = None, api_key: str | None = API_KEY, **kwargs: object
    ) -> TestClient:
        settings = Settings(
            influx=influx or api_data.influx(),
            api=ApiSettings(api_key=api_key, **kwargs),  # type: ignore[arg-type]
        )
        client = app_client(settings, knowledge_index)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def frame(
    data: ApiData, table: str, start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Rows of ``table`` with time in ``[start, end)`` (RFC 3339)."""
    df = data.frames[table]
    if start is not None:
        df = df[df["time"] >= pd.Timestamp(start)]
    if end is not None:
        df = df[df["time"] < pd.Timestamp(end)]
    return df


def rfc3339(ts: pd.Timestamp) -> str:
    text = ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S")
    return text + "Z"
