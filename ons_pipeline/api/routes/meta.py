"""``GET /v2/tables`` (the schema with units) and the API's version."""

from __future__ import annotations

import importlib.metadata

from fastapi import APIRouter

from ons_pipeline.api.schemas import FieldInfo, TableInfo
from ons_pipeline.lib import schema

router = APIRouter(tags=["meta"])


def api_version() -> str:
    try:
        return importlib.metadata.version("ons-pipeline")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "0"


@router.get("/v2/tables", response_model=list[TableInfo])
def v2_tables() -> list[TableInfo]:
    return [
        TableInfo(
            table=name,
            measurement=spec.measurement,
            description=spec.description,
            source=str(spec.source),
            grain=str(spec.grain),
            tags=list(spec.tags),
            fields=[FieldInfo(name=f.name, type=str(f.type), unit=f.unit) for f in spec.fields],
        )
        for name, spec in schema.tables().items()
    ]
