"""What each field of a model is: its wire name and its kind, read once from its resolved type.

Shared by the generated-code modules (``_checks``, ``_codegen``); nothing here is per class.
"""

from __future__ import annotations

import enum
import linecache
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import NoneType, UnionType
from typing import Any, Final, Union, get_args, get_origin

import attrs

__all__ = [
    "EMPTY",
    "EXTRA",
    "INT64",
    "RAW",
    "REQUIRED",
    "WIRE_NAME",
    "Field",
    "Kind",
    "compile_function",
    "describe",
    "is_enum",
    "is_model",
    "model_fields",
    "wire_name",
]

#: attrs field metadata key holding a wire name that camelCasing the attribute name cannot derive.
WIRE_NAME: Final = "batch_tasks_async.wire_name"
#: Field metadata flag for the spec's ``int64`` properties. The service speaks OData v3, which
#: writes Edm.Int64 as JSON strings (``"readIOps": "0"``): they are read from a string or a number
#: into ``int`` and written back as strings, as the service and the official SDK do.
INT64: Final = "batch_tasks_async.int64"
#: Name of the attribute every model uses for properties it does not declare.
EXTRA: Final = "additional_properties"
#: Prefix of the class attribute that reaches a lazily parsed field's slot directly.
RAW: Final = "_raw_"


class _Required:
    """Default of required ``__init__`` arguments: tells "not given" from ``None``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Final = _Required()


class _EmptyDict:
    """Default of ``additional_properties``: a new empty dict for each instance."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "{}"


EMPTY: Final = _EmptyDict()


def _to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_name(field: attrs.Attribute[Any]) -> str:
    """The JSON property name of an attrs model field (metadata override, else camelCase)."""
    explicit = field.metadata.get(WIRE_NAME)
    return str(explicit) if explicit is not None else _to_camel(field.name)


def is_model(cls: Any) -> bool:
    """Whether ``cls`` is one of the SDK's wire models (an attrs class with extra properties)."""
    return isinstance(cls, type) and attrs.has(cls) and EXTRA in attrs.fields_dict(cls)


def is_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, enum.Enum)


# ---------------------------------------------------------------------------------------------
# Field kinds
# ---------------------------------------------------------------------------------------------

_SCALARS: Final = {str: "str", int: "int", float: "float", bool: "bool"}


@dataclass(frozen=True, slots=True)
class Kind:
    """What a field (or a list item) holds: ``str``, ``int``, ``int64``, ``float``, ``bool``,
    ``datetime``, ``duration``, ``enum``, ``model``, ``list`` or ``extra``."""

    name: str
    target: Any = None  # the enum or model class; the item kind of a list


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    wire: str
    kind: Kind
    required: bool

    @property
    def lazy(self) -> bool:
        """Kept in its wire form by ``structure`` and converted when first read."""
        kind = self.kind
        return kind.name in ("datetime", "duration", "model") or (
            kind.name == "list" and kind.target.name == "model"
        )


def _kind_of(tp: Any) -> Kind:
    if tp in _SCALARS:
        return Kind(_SCALARS[tp])
    if tp is datetime:
        return Kind("datetime")
    if tp is timedelta:
        return Kind("duration")
    if is_enum(tp):
        return Kind("enum", tp)
    if is_model(tp):
        return Kind("model", tp)
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        kind = _kind_of(item)
        if kind.name not in ("str", "enum", "model"):
            raise TypeError(f"unsupported list item type {item!r}")
        return Kind("list", kind)
    raise TypeError(f"unsupported model field type {tp!r}")


def _strip_optional(tp: Any) -> Any:
    if get_origin(tp) in (Union, UnionType):
        args = [arg for arg in get_args(tp) if arg is not NoneType]
        if len(args) == 1:
            return args[0]
    return tp


def model_fields(cls: type[Any]) -> tuple[Field, ...]:
    cached: tuple[Field, ...] | None = cls.__dict__.get("__wire_fields__")
    if cached is not None:
        return cached
    specs = []
    for field in attrs.fields(cls):
        if field.name == EXTRA:
            kind = Kind("extra")
        elif field.metadata.get(INT64):
            kind = Kind("int64")
        else:
            kind = _kind_of(_strip_optional(field.type))
        specs.append(Field(field.name, wire_name(field), kind, field.default is attrs.NOTHING))
    result = tuple(specs)
    type.__setattr__(cls, "__wire_fields__", result)
    return result


def describe(kind: Kind) -> str:
    if kind.name in ("model", "enum"):
        return str(kind.target.__name__)
    if kind.name == "list":
        return f"a list of {describe(kind.target)}"
    return {
        "int64": "an int64 (an int or a numeric string)",
        "datetime": "an aware datetime",
        "duration": "a timedelta or ISO-8601 duration text",
        "extra": "a dict",
    }.get(kind.name, kind.name)


def compile_function(name: str, cls: type[Any], source: str, namespace: dict[str, Any]) -> Any:
    filename = f"<batch_tasks_async generated {name} {cls.__qualname__}>"
    # Registered like attrs does, so tracebacks and debuggers show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    exec(code, namespace)
    return namespace[name]
