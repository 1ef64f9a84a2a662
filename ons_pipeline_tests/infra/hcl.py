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

_MARKERS = {
    "__is_block__",
    "__comments__",
    "__inline_comments__",
    "__start_line__",
    "__end_line__",
}


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


def first(value: Any) -> Any:
    """The first (usually only) item of a block list, or None."""
    return as_list(value)[0] if as_list(value) else None


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of an ``aws_iam_policy_document``, dynamic ones included."""
    found = as_list(doc.get("statement"))
    for dynamic in as_list(doc.get("dynamic")):
        for content in as_list(dynamic.get("statement", {}).get("content")):
            found.append(content)
    return found


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


_EACH_VALUE = re.compile(r"\$\{each\.value\.([A-Za-z0-9_]+)\}")
_LOCAL_PATH = re.compile(r"\$\{local\.([A-Za-z0-9_.]+)\}")
_MERGED_LOCALS = re.compile(r"\$\{merge\((local\.[A-Za-z0-9_.]+(?:, local\.[A-Za-z0-9_.]+)*)\)\}")


def resolve_local(mod: Module, value: Any) -> Any:
    """``"${local.a.b}"`` -> the parsed value of ``locals { a = { b = ... } }``, and
    ``"${merge(local.a, local.b)}"`` -> the two maps merged; else ``value``."""
    merged = _MERGED_LOCALS.fullmatch(value) if isinstance(value, str) else None
    if merged:
        parts = [resolve_local(mod, f"${{{name}}}") for name in merged.group(1).split(", ")]
        if all(isinstance(part, dict) for part in parts):
            return {k: v for part in parts for k, v in part.items()}
        return value
    match = _LOCAL_PATH.fullmatch(value) if isinstance(value, str) else None
    if not match:
        return value
    resolved: Any = mod.locals
    for step in match.group(1).split("."):
        if not isinstance(resolved, dict) or step not in resolved:
            return value
        resolved = resolved[step]
    return resolve_local(mod, resolved)


def _substitute(value: Any, key: str, item: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, key, item) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, key, item) for v in value]
    if not isinstance(value, str):
        return value
    whole = _EACH_VALUE.fullmatch(value)
    if whole and whole.group(1) in item:
        return item[whole.group(1)]
    if value == "${each.key}":
        return key

    def inline(match: re.Match[str]) -> str:
        found = item.get(match.group(1), match.group(0))
        return f"${{{expr(found)}}}" if is_expr(found) else str(found)

    return _EACH_VALUE.sub(inline, value).replace("${each.key}", key)


def instances(
    mod: Module, body: dict[str, Any], items: dict[str, Any] | None = None
) -> dict[str | None, dict[str, Any]]:
    """A block's instances: ``{None: body}`` without for_each; with ``for_each = local.x`` (a map
    written in the module), one body per key, ``each.key`` and ``each.value.<attr>`` replaced by
    what the map holds for that key. Other for_each expressions stay unexpanded, under None,
    unless the caller passes ``items``: the map it has worked out that expression to be."""
    if items is None:
        items = resolve_local(mod, body.get("for_each"))
    if not isinstance(items, dict):
        return {None: body}
    out = {}
    for key, item in items.items():
        item = resolve_local(mod, item)
        assert isinstance(item, dict), f"for_each item {key} is not a map: {item!r}"
        out[key] = _substitute(
            {k: v for k, v in body.items() if k != "for_each"},
            key,
            {k: resolve_local(mod, v) for k, v in item.items()},
        )
    return out
