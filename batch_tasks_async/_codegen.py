"""Per-class functions generated for the models: a validating ``__init__`` and the wire hooks.

Each model class gets, compiled from Python source written for its fields (the technique attrs
and cattrs use, specialised to the SDK's few field kinds):

* ``__init__`` (generated on the first construction, or by ``_serialization.prepare()``): the
  attrs signature, plus a check per field that costs one ``type(value) is T`` test on the
  common path (lists: one per item). Wrong types, ``None`` or a
  missing value for a required property, bad duration text and mappings that are not the
  model's wire JSON raise [`ClientValidationError`][batch_tasks_async.errors.ClientValidationError]
  naming the class and the field. Mappings are accepted where a model is expected and read as
  wire JSON (camelCase keys, the same as ``from_dict``).
* ``from_user`` (``from_dict``): a mapping of wire names to values, through that ``__init__``.
* ``structure`` (``from_wire``, every response): builds the instance without calling
  ``__init__``. Datetimes, durations, nested objects and lists of them are kept in their wire
  form and converted when first read, by a descriptor (``_LazyField``) that replaces the field's
  slot descriptor; the slot stays reachable as ``_raw_<field>`` for the generated code. Every
  present property is checked by its JSON shape first (``_shapes``: nested objects recursively),
  so that first read cannot fail; a bad shape or a missing required property raises
  ``ClientValidationError``, which the client's reply reader turns into ``ResponseDecodeError``.
* ``unstructure`` (``to_wire``/``dumps``): the wire dict, unset properties left out; unread
  datetime and duration text is written back as it came, unread nested objects are converted
  first (so enum spellings come out the same whether or not they were read).

Nothing here is written per field by hand: the kind of each field is read from its resolved type
(``_fields``), and the slow path of each ``__init__`` check lives in ``_checks``.
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from ._checks import checker, fail
from ._dates import _parse_duration_cached, format_datetime, format_duration, parse_datetime
from ._fields import (
    EMPTY,
    EXTRA,
    INT64,
    RAW,
    REQUIRED,
    WIRE_NAME,
    Field,
    Kind,
    compile_function,
    describe,
    is_model,
    model_fields,
    wire_name,
)
from ._shapes import SHAPE_NAMESPACE, present_lines
from .errors import ClientValidationError

__all__ = [
    "EXTRA",
    "INT64",
    "WIRE_NAME",
    "generate_init",
    "install",
    "is_lazy",
    "is_model",
    "make_structure",
    "make_unstructure",
    "python_key_error",
    "python_names",
    "wire_name",
]


# ---------------------------------------------------------------------------------------------
# __init__ and from_dict
# ---------------------------------------------------------------------------------------------

_EXACT_CHECK: Final = {
    "str": "type({v}) is not str",
    "int": "type({v}) is not int",
    "int64": "type({v}) is not int",
    "float": "type({v}) is not float",
    "bool": "type({v}) is not bool",
    "datetime": "(type({v}) is not _datetime or {v}.tzinfo is None)",
    "duration": "type({v}) is not _timedelta",
}


def _make_init(cls: type[Any]) -> Callable[..., None]:
    fields = model_fields(cls)
    namespace: dict[str, Any] = {
        "REQUIRED": REQUIRED,
        "_datetime": datetime,
        "_timedelta": timedelta,
    }
    params: list[str] = []
    body: list[str] = []
    for index, field in enumerate(fields):
        v = field.name
        if keyword.iskeyword(v) or not v.isidentifier():
            raise TypeError(f"field name {v!r} cannot be an argument")
        if field.kind.name == "extra":
            params.append(f"{v}=EMPTY")
            namespace["EMPTY"] = EMPTY
            namespace["_check_extra"] = checker(cls, field)
            body += [
                f"    if {v} is EMPTY:",
                f"        {v} = {{}}",
                f"    elif type({v}) is not dict:",
                f"        {v} = _check_extra({v})",
                f"    self.{v} = {v}",
            ]
            continue
        params.append(f"{v}=REQUIRED" if field.required else f"{v}=None")
        check = f"_check_{index}"
        namespace[check] = checker(cls, field)
        kind = field.kind.name
        if kind == "list":
            # Inlined: a list whose items all have the exact type is kept without a call.
            item = field.kind.target
            exact = f"_item_{index}"
            namespace[exact] = item.target if item.name in ("model", "enum") else str
            test = f"{v} is None or " if field.required else f"{v} is not None and "
            body += [
                f"    if {test}type({v}) is not list:",
                f"        {v} = {check}({v})",
                f"    elif {v} is not None:",
                f"        for _x in {v}:",
                f"            if type(_x) is not {exact}:",
                f"                {v} = {check}({v})",
                "                break",
                f"    self.{RAW if field.lazy else ''}{v} = {v}",
            ]
            continue
        if kind in ("model", "enum"):
            exact = f"_type_{index}"
            namespace[exact] = field.kind.target
            condition = f"type({v}) is not {exact}"
        else:
            condition = _EXACT_CHECK[kind].format(v=v)
        if field.required:
            body.append(f"    if {v} is None or {condition}:")
        else:
            body.append(f"    if {v} is not None and {condition}:")
        body.append(f"        {v} = {check}({v})")
        target = f"{RAW}{v}" if field.lazy else v
        body.append(f"    self.{target} = {v}")
    source = "def __init__(self, *, " + ", ".join(params) + "):\n" + "\n".join(body) + "\n"
    init: Callable[..., None] = compile_function("__init__", cls, source, namespace)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = f"Create a {cls.__name__}; every argument is checked (see the class)."
    return init


def python_names(cls: type[Any]) -> dict[str, str]:
    """The attribute names of ``cls`` that are not its wire names, each with its wire name
    (``{"command_line": "commandLine", ...}``): keys that make a mapping Python-shaped."""
    cached: dict[str, str] | None = cls.__dict__.get("__wire_python_names__")
    if cached is None:
        cached = {
            field.name: field.wire
            for field in model_fields(cls)
            if field.kind.name != "extra" and field.name != field.wire
        }
        type.__setattr__(cls, "__wire_python_names__", cached)
    return cached


def python_key_error(cls: type[Any], data: Mapping[str, Any]) -> ClientValidationError | None:
    """The error for the first key of ``data`` that is a Python attribute name of ``cls`` used
    instead of its wire name (and the wire name is absent), or ``None`` when there is none."""
    names = python_names(cls)
    for key in data:
        wire = names.get(key)
        if wire is not None and wire not in data:
            return ClientValidationError(
                f"{cls.__name__}: key {key!r} is the Python attribute name; mappings use "
                f"the wire name {wire!r}"
            )
    return None


def _make_from_user(cls: type[Any]) -> Callable[[Any], Any]:
    fields = model_fields(cls)
    attr_of = {field.wire: field.name for field in fields if field.kind.name != "extra"}

    def from_user(data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise ClientValidationError(
                f"{cls.__name__} expects a mapping of its wire (camelCase) properties or a "
                f"{cls.__name__}, got {type(data).__name__}"
            )
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            attr = attr_of.get(key)
            if attr is not None:
                if value is not None:  # JSON null: not set
                    kwargs[attr] = value
            else:
                extra[key] = value
        if extra:
            error = python_key_error(cls, data)
            if error is not None:
                raise error
            kwargs[EXTRA] = extra
        return cls(**kwargs)

    from_user.__qualname__ = f"from_user_{cls.__name__}"
    return from_user


# ---------------------------------------------------------------------------------------------
# Lazily parsed fields
# ---------------------------------------------------------------------------------------------


class _LazyField:
    """Replaces a lazily converted field's slot descriptor (see ``Field.lazy``).

    The slot holds what ``structure`` found in the service's JSON -- datetime or duration text,
    a nested object's dict, a list of such dicts -- until the field is first read; the read
    converts it, stores the result in the slot and returns it. Parsed datetimes and durations
    remember their wire text, so a round trip stays exact. Assignments are checked like
    ``__init__`` arguments.
    """

    __slots__ = (
        "_check",
        "_cls",
        "_convert",
        "_field",
        "_get",
        "_is_list",
        "_item",
        "_raw",
        "_set",
        "_type",
    )

    def __init__(
        self,
        cls: type[Any],
        field: Field,
        slot: Any,
        structure_hook: Callable[[type[Any]], Callable[[Any], Any]],
    ) -> None:
        self._cls = cls
        self._field = field
        self._get = slot.__get__
        self._set = slot.__set__
        self._check = checker(cls, field)
        self._is_list = False
        self._item: Any = None
        kind = field.kind
        if kind.name == "datetime":
            self._raw: type[Any] = str
            self._type: type[Any] = datetime
            self._convert = self._parser(parse_datetime, "an ISO-8601 timestamp")
        elif kind.name == "duration":
            self._raw, self._type = str, timedelta
            self._convert = self._parser(_parse_duration_cached, "an ISO-8601 duration")
        elif kind.name == "model":
            self._raw, self._type = dict, kind.target
            self._convert = _deferred(structure_hook, kind.target)
        else:
            self._raw, self._type, self._is_list = list, list, True
            self._item = kind.target.target
            self._convert = _list_structure(
                cls, field.name, kind.target, lambda model: _deferred(structure_hook, model)
            )

    def _parser(self, parse: Callable[[str], Any], what: str) -> Callable[[str], Any]:
        def convert(text: str) -> Any:
            try:
                return parse(text)
            except ValueError:
                raise fail(self._cls, self._field, f"{text!r} is not {what}") from None

        return convert

    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Any:
        if instance is None:
            return self
        value = self._get(instance, owner)
        if type(value) is self._raw:
            if self._is_list and not (value and type(value[0]) is not self._item):
                return value  # already models (or empty)
            value = self._convert(value)
            self._set(instance, value)
        elif value is not None and not isinstance(value, self._type):
            raise fail(
                self._cls,
                self._field,
                f"the service sent {type(value).__name__}, not {describe(self._field.kind)}",
            )
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        self._set(instance, self._check(value))

    def __delete__(self, instance: Any) -> None:
        self._set(instance, None)


def is_lazy(cls: type[Any], name: str) -> bool:
    """Whether the field ``name`` of the model ``cls`` is converted when first read."""
    return isinstance(cls.__dict__.get(name), _LazyField)


def _deferred(
    structure_hook: Callable[[type[Any]], Callable[[Any], Any]], model: type[Any]
) -> Callable[[Any], Any]:
    """``structure_hook(model)``, looked up at the first call (hooks are made after install)."""
    hook: list[Callable[[Any], Any]] = []

    def structure(data: Any) -> Any:
        if not hook:
            hook.append(structure_hook(model))
        return hook[0](data)

    return structure


def install(cls: type[Any], structure_hook: Callable[[type[Any]], Callable[[Any], Any]]) -> None:
    """Give a model class its validating ``__init__`` and its lazily converted fields.

    Called by ``models`` once every class is defined (field types must resolve);
    ``structure_hook(model)`` gives the generated ``structure`` of a nested model.
    """
    for field in model_fields(cls):
        if field.lazy:
            slot = cls.__dict__[field.name]
            type.__setattr__(cls, f"{RAW}{field.name}", slot)
            type.__setattr__(cls, field.name, _LazyField(cls, field, slot, structure_hook))
    type.__setattr__(cls, "__init__", _first_init(cls))
    type.__setattr__(cls, "__wire_from_user__", staticmethod(_make_from_user(cls)))


def _first_init(cls: type[Any]) -> Callable[..., None]:
    """An ``__init__`` that generates the real one on the first call (or `generate_init`),
    so importing the models does not compile 45 functions nobody may call."""

    def first_init(self: Any, *args: Any, **kwargs: Any) -> None:
        generate_init(cls)(self, *args, **kwargs)

    first_init.__name__ = "__init__"
    first_init.__qualname__ = f"{cls.__qualname__}.__init__"
    first_init.__wire_first_init__ = True  # type: ignore[attr-defined]
    return first_init


def generate_init(cls: type[Any]) -> Callable[..., None]:
    """The generated ``__init__`` of ``cls``, installed on the class if it is not yet."""
    init: Callable[..., None] = cls.__dict__["__init__"]
    if getattr(init, "__wire_first_init__", False):
        init = _make_init(cls)
        type.__setattr__(cls, "__init__", init)
    return init


# ---------------------------------------------------------------------------------------------
# Structure (the service's JSON) and unstructure (to the wire)
# ---------------------------------------------------------------------------------------------


def _enum_fallback(cls: type[Any], name: str, enum_cls: type[enum.Enum]) -> Callable[[Any], Any]:
    def structure_enum(value: Any) -> Any:
        try:
            return enum_cls(value)  # another letter case, or a value this SDK does not know
        except (ValueError, TypeError):
            raise ClientValidationError(
                f"{cls.__name__}.{name}: expected a {enum_cls.__name__} string, "
                f"got {type(value).__name__}"
            ) from None

    return structure_enum


def _int64(cls: type[Any], name: str) -> Callable[[Any], int]:
    def structure_int64(value: Any) -> int:
        if isinstance(value, int | str) and not isinstance(value, bool):
            try:
                return int(value)
            except ValueError:
                pass
        raise ClientValidationError(
            f"{cls.__name__}.{name}: expected an int64 as a string or number, got {value!r}"
        )

    return structure_int64


def _not_object(cls: type[Any], structure: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def coerce(data: Any) -> Any:
        if isinstance(data, Mapping):
            return structure(dict(data))
        raise ClientValidationError(
            f"{cls.__name__} expects a JSON object, got {type(data).__name__}"
        )

    return coerce


def _list_structure(
    cls: type[Any], name: str, item: Kind, hooks: Callable[[type[Any]], Any]
) -> Callable[[Any], Any]:
    def not_a_list(value: Any) -> ClientValidationError:
        return ClientValidationError(
            f"{cls.__name__}.{name}: expected a JSON array, got {type(value).__name__}"
        )

    if item.name == "model":
        structure_item = hooks(item.target)

        def structure_models(value: Any) -> Any:
            if type(value) is not list:
                raise not_a_list(value)
            return [structure_item(element) for element in value]

        return structure_models
    if item.name == "enum":
        members = item.target._value2member_map_
        fallback = _enum_fallback(cls, name, item.target)

        def structure_enums(value: Any) -> Any:
            if type(value) is not list:
                raise not_a_list(value)
            out = []
            for element in value:
                try:
                    out.append(members[element])
                except (KeyError, TypeError):
                    out.append(fallback(element))
            return out

        return structure_enums

    def structure_strings(value: Any) -> Any:
        if type(value) is not list:
            raise not_a_list(value)
        for element in value:
            if type(element) is not str:
                raise ClientValidationError(
                    f"{cls.__name__}.{name}: expected a list of strings, "
                    f"got an item of type {type(element).__name__}"
                )
        return list(value)

    return structure_strings


def make_structure(
    cls: type[Any],
    hooks: Callable[[type[Any]], Callable[[Any], Any]],
    checks: Callable[[type[Any]], Callable[[Any], None]],
) -> Callable[[Any], Any]:
    """Generate ``structure(data) -> instance`` for a model; ``hooks(model)`` gives the nested
    classes' functions (resolved when this one is generated), ``checks(model)`` their JSON shape
    checks (``_shapes``): every lazily kept value is checked here, so reading it cannot fail."""
    fields = model_fields(cls)
    namespace: dict[str, Any] = {**SHAPE_NAMESPACE, "_cls": cls, "_new": object.__new__}
    lines = [
        "def structure(o):",
        "    if type(o) is not dict:",
        "        return _coerce(o)",
        "    self = _new(_cls)",
        "    get = o.get",
    ]
    known: set[str] = set()
    for index, field in enumerate(fields):
        kind = field.kind.name
        name = field.name
        if kind == "extra":
            continue
        known.add(field.wire)
        lines.append(f"    v = get({field.wire!r})")
        target = f"self.{RAW}{name}" if field.lazy else f"self.{name}"
        if kind in ("str", "int", "float", "bool") or field.lazy:
            # JSON scalars as they are, wire forms kept to read: both checked by JSON type.
            lines += present_lines(field, "    ", namespace, checks)
            lines.append(f"    {target} = v")
            continue
        if field.required:
            lines += [
                "    if v is None:",
                f"        raise _missing(_cls, {name!r}, {field.wire!r})",
            ]
        if kind == "enum":
            namespace[f"_members_{index}"] = field.kind.target._value2member_map_
            namespace[f"_enum_{index}"] = _enum_fallback(cls, name, field.kind.target)
            if field.required:  # None was refused just above
                lines += [
                    "    try:",
                    f"        v = _members_{index}[v]",
                    "    except (KeyError, TypeError):",
                    f"        v = _enum_{index}(v)",
                ]
            else:
                lines += [
                    "    if v is not None:",
                    "        try:",
                    f"            v = _members_{index}[v]",
                    "        except (KeyError, TypeError):",
                    f"            v = _enum_{index}(v)",
                ]
            lines.append(f"    {target} = v")
        else:
            if kind == "model":
                hook: Any = hooks(field.kind.target)
            elif kind == "int64":
                hook = _int64(cls, name)
            else:
                hook = _list_structure(cls, name, field.kind.target, hooks)
            namespace[f"_hook_{index}"] = hook
            lines.append(f"    {target} = None if v is None else _hook_{index}(v)")
    namespace["_known"] = frozenset(known)
    namespace["_issuperset"] = frozenset(known).issuperset
    lines += [
        "    if _issuperset(o):",
        f"        self.{EXTRA} = {{}}",
        "    else:",
        f"        self.{EXTRA} = {{k: o[k] for k in o if k not in _known}}",
        "    return self",
    ]
    structure: Callable[[Any], Any] = compile_function(
        "structure", cls, "\n".join(lines) + "\n", namespace
    )
    namespace["_coerce"] = _not_object(cls, structure)
    structure.__qualname__ = f"structure_{cls.__name__}"
    return structure


def _format_lazy(format_value: Callable[[Any], str]) -> Callable[[Any], Any]:
    def format_or_keep(value: Any) -> Any:
        # Parsed or user values are formatted; anything else came from the wire and goes back.
        return format_value(value) if isinstance(value, datetime | timedelta) else value

    return format_or_keep


def _unstructure_other(model: type[Any], hooks: Callable[[type[Any]], Any]) -> Any:
    """For a value that is not exactly the model: a subclass is sent as its own class; anything
    else can only have come from the service's JSON unconverted, and goes back as it came."""

    def unstructure(value: Any) -> Any:
        if isinstance(value, model):
            return hooks(type(value))(value)
        return value

    return unstructure


def make_unstructure(
    cls: type[Any], hooks: Callable[[type[Any]], Callable[[Any], Any]]
) -> Callable[[Any], dict[str, Any]]:
    """Generate ``unstructure(instance) -> wire dict`` for a model (``hooks`` as above)."""
    fields = model_fields(cls)
    namespace: dict[str, Any] = {
        "_format_datetime": _format_lazy(format_datetime),
        "_format_duration": _format_lazy(format_duration),
    }
    lines = ["def unstructure(i):", "    res = {}"]
    for index, field in enumerate(fields):
        kind = field.kind.name
        key = repr(field.wire)
        if kind == "extra":
            continue
        source = f"i.{RAW}{field.name}" if field.lazy else f"i.{field.name}"
        lines += [f"    v = {source}", "    if v is not None:"]
        if kind in ("str", "int", "float", "bool"):
            value = "v"
        elif kind == "int64":
            value = "str(v)"
        elif kind == "datetime":
            value = "v if type(v) is str else _format_datetime(v)"
        elif kind == "duration":
            value = "v if type(v) is str else _format_duration(v)"
        elif kind == "enum":
            value = "v if type(v) is str else v.value"
        elif kind == "model":
            namespace[f"_type_{index}"] = field.kind.target
            namespace[f"_hook_{index}"] = hooks(field.kind.target)
            namespace[f"_other_{index}"] = _unstructure_other(field.kind.target, hooks)
            lines += ["        if type(v) is dict:", f"            v = i.{field.name}  # converts"]
            value = f"_hook_{index}(v) if type(v) is _type_{index} else _other_{index}(v)"
        else:
            item = field.kind.target
            if item.name == "model":
                namespace[f"_type_{index}"] = item.target
                namespace[f"_hook_{index}"] = hooks(item.target)
                namespace[f"_other_{index}"] = _unstructure_other(item.target, hooks)
                lines += [
                    "        if type(v) is not list:",
                    f"            res[{key}] = v  # unconverted JSON from the service, as it came",
                    "        else:",
                    "            if v and type(v[0]) is dict:",
                    f"                v = i.{field.name}  # converts",
                    f"            res[{key}] = [_hook_{index}(x) if type(x) is _type_{index} "
                    f"else _other_{index}(x) for x in v]",
                ]
                continue
            if item.name == "enum":
                value = "[x if type(x) is str else x.value for x in v]"
            else:
                value = "list(v)"
        lines.append(f"        res[{key}] = {value}")
    lines += [
        f"    extra = i.{EXTRA}",
        "    if extra:",
        "        for k in extra:",
        "            if k not in res:  # a declared property wins over a stray duplicate",
        "                res[k] = extra[k]",
        "    return res",
    ]
    unstructure: Callable[[Any], dict[str, Any]] = compile_function(
        "unstructure", cls, "\n".join(lines) + "\n", namespace
    )
    unstructure.__qualname__ = f"unstructure_{cls.__name__}"
    return unstructure
