"""The request-body schema the emulator validates against, from the Batch REST spec.

``batch_schema.json`` (next to this module) is a compact form of the definitions reachable from
``TaskAddParameter``, ``TaskUpdateParameter`` and ``JobAddParameter`` in the spec's
``BatchService.json``. Regenerate it with:

    python -m batch_tasks_async.emulator._schema path/to/BatchService.json

Each definition is ``{"properties": {name: type}, "required": [names]}`` or ``{"enum": [values]}``;
a type is ``"string"``, ``"int32"``, ``"int64"``, ``"boolean"``, ``"double"``, ``"duration"``,
``"date-time"``, ``"#Definition"``, ``["<type>"]`` (an array) or ``{"map": "<type>"}`` (an object of
that type's values). Enums written inline on a property become definitions named
``Definition.property``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

__all__ = ["ROOTS", "SCHEMA_PATH", "compact_schema", "load_schema"]

#: The request bodies the emulator checks.
ROOTS = ("TaskAddParameter", "TaskUpdateParameter", "JobAddParameter")
SCHEMA_PATH = Path(__file__).with_name("batch_schema.json")

_SCALARS: dict[tuple[Any, Any], str] = {
    ("string", None): "string",
    ("string", "duration"): "duration",
    ("string", "date-time"): "date-time",
    ("integer", "int32"): "int32",
    ("integer", "int64"): "int64",
    ("integer", None): "int64",
    ("boolean", None): "boolean",
    ("number", "double"): "double",
    ("number", None): "double",
}


def compact_schema(spec: Mapping[str, Any], roots: tuple[str, ...] = ROOTS) -> dict[str, Any]:
    """The compact schema of ``roots`` and every definition they reach in ``spec``."""
    definitions: Mapping[str, Any] = spec["definitions"]
    out: dict[str, Any] = {}
    pending = list(roots)

    def type_of(owner: str, name: str, prop: Mapping[str, Any]) -> Any:
        ref = prop.get("$ref")
        if ref is not None:
            target = ref.rsplit("/", 1)[-1]
            pending.append(target)
            return "#" + target
        kind = prop.get("type")
        if kind == "array":
            return [type_of(owner, name, prop["items"])]
        if kind == "object" or (kind is None and "additionalProperties" in prop):
            extra = prop.get("additionalProperties")
            if isinstance(extra, Mapping):
                return {"map": type_of(owner, name, extra)}
            return {"map": "string"}
        if "enum" in prop:
            enum_name = f"{owner}.{name}"
            out[enum_name] = {"enum": list(prop["enum"])}
            return "#" + enum_name
        scalar = _SCALARS.get((kind, prop.get("format")))
        if scalar is None:
            raise ValueError(f"{owner}.{name}: unsupported type {kind!r} {prop.get('format')!r}")
        return scalar

    while pending:
        name = pending.pop()
        if name in out:
            continue
        definition = definitions[name]
        if "enum" in definition:
            out[name] = {"enum": list(definition["enum"])}
            continue
        out[name] = {}  # placeholder against cycles
        properties = {
            prop_name: type_of(name, prop_name, prop)
            for prop_name, prop in definition.get("properties", {}).items()
        }
        out[name] = {"properties": properties, "required": list(definition.get("required", []))}
    return dict(sorted(out.items()))


def load_schema() -> dict[str, Any]:
    """The shipped compact schema."""
    data: dict[str, Any] = orjson.loads(SCHEMA_PATH.read_bytes())
    return data


def main(argv: list[str]) -> int:
    """Write ``batch_schema.json`` from the spec file named in ``argv``."""
    if len(argv) != 1:
        print("usage: python -m batch_tasks_async.emulator._schema BatchService.json")
        return 2
    spec = orjson.loads(Path(argv[0]).read_bytes())
    version = spec.get("info", {}).get("version", "")
    schema = {"version": version, "definitions": compact_schema(spec)}
    SCHEMA_PATH.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {SCHEMA_PATH} ({len(schema['definitions'])} definitions, spec {version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
