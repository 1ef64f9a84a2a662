"""Validate API responses against the app's own OpenAPI document (JSON Schema 2020-12)."""

from __future__ import annotations

from typing import Any

import jsonschema
from fastapi.testclient import TestClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


class OpenApiValidator:
    def __init__(self, client: TestClient) -> None:
        response = client.get("/openapi.json")
        assert response.status_code == 200
        self.doc = response.json()
        self.registry = Registry().with_resource(
            "urn:openapi", Resource.from_contents(self.doc, default_specification=DRAFT202012)
        )

    def schema_for(self, path: str, method: str, status: int) -> dict[str, Any]:
        operation = self.doc["paths"][path][method.lower()]
        content = operation["responses"][str(status)]["content"]["application/json"]
        return content["schema"]

    def validate(self, path: str, method: str, status: int, body: Any) -> None:
        schema = self.schema_for(path, method, status)
        wrapped = {"$ref": "urn:openapi#" + schema["$ref"][1:]} if "$ref" in schema else schema
        if "$ref" not in schema:
            wrapped = _rebase(schema)
        validator = jsonschema.Draft202012Validator(wrapped, registry=self.registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{method} {path} {status}: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5]
        )


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                "urn:openapi" + v
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebase(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node
