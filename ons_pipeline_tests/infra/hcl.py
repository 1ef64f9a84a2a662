"""Read the Terraform under ``infra/`` with python-hcl2, normalised to plain Python values.

python-hcl2 8.x keeps the quotes of literal strings (``'"abc"'``) and of block labels, marks
blocks with ``__is_block__`` and collects comments under ``__comments__``. :func:`load` strips
all that: literal strings come back bare (``"abc"``), expressions stay ``"${...}"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

hcl2 = pytest.importorskip(
    "hcl2", reason="pip install python-hcl2 (HCL parser for the infra tests)"
)

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
ROOT_DIR = INFRA_DIR  # the one root module; environments are envs/<env>.tfvars + .tfbackend
MODULES_DIR = INFRA_DIR / "modules"
ENVS_DIR = INFRA_DIR / "envs"
ENVS = ("dev", "prod")

_MARKERS = {"__is_block__", "__comments__", "__start_line__", "__end_line__"}


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {unquote(k): normalise(v) for k, v in value.items() if k not in _MARKERS}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return unquote(value)
    return value


@cache
def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return normalise(hcl2.load(handle))


def is_expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


def expr(value: Any) -> str:
    """The expression inside ``${...}`` (or the value itself)."""
    if is_expr(value):
        return value[2:-1].strip()
    return str(value)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class Module:
    """All blocks of the ``.tf`` files of one directory."""

    path: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    moved: list[dict[str, str]] = field(default_factory=list)
    texts: dict[Path, str] = field(default_factory=dict)

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.resources.items() if t == type_}

    def data_of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.data.items() if t == type_}


@cache
def module(path: Path) -> Module:
    mod = Module(path)
    for tf in sorted(path.glob("*.tf")):
        mod.texts[tf] = tf.read_text(encoding="utf-8")
        doc = load(tf)
        for block in doc.get("resource", []):
            for type_, named in block.items():
                for name, body in named.items():
                    mod.resources[(type_, name)] = body
        for block in doc.get("data", []):
            for type_, named in block.items():
                for name, body in named.items():
                    mod.data[(type_, name)] = body
        for block in doc.get("variable", []):
            mod.variables.update(block)
        for block in doc.get("output", []):
            mod.outputs.update(block)
        for block in doc.get("locals", []):
            mod.locals.update(block)
        for block in doc.get("module", []):
            mod.modules.update(block)
        mod.moved.extend(doc.get("moved", []))
    return mod


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES_DIR.iterdir() if p.is_dir() and any(p.glob("*.tf")))


def root_dirs() -> list[Path]:
    return [ROOT_DIR]


def all_dirs() -> list[Path]:
    return module_dirs() + root_dirs()


def all_modules() -> Iterator[Module]:
    for path in all_dirs():
        yield module(path)


def tfvars(env: str) -> dict[str, Any]:
    return load(ENVS_DIR / f"{env}.tfvars")


def tfbackend(env: str) -> dict[str, Any]:
    return load(ENVS_DIR / f"{env}.tfbackend")


def walk_strings(value: Any) -> Iterator[str]:
    """Every string inside a parsed value (keys excluded)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_strings(v)
    elif isinstance(value, str):
        yield value


def references(value: Any, pattern: re.Pattern[str]) -> set[str]:
    found: set[str] = set()
    for text in walk_strings(value):
        found.update(m.group(1) for m in pattern.finditer(text))
    return found

