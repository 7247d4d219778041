"""Checks of the service's JSON shapes, so a reply that does not fit fails when it is structured.

``structure`` (``_codegen``) keeps datetimes, durations and nested objects in their wire form and
converts them when first read. So that no first read can fail after a call returned, it checks
each such value when it structures the outer object -- by JSON type only, which costs one
``type(value) is T`` test per present property:

* a datetime or duration must be text the parser accepts (``datetime.fromisoformat``, or the
  cached duration parser: the C parse is tens of nanoseconds, no object is kept);
* a nested object must be a JSON object whose own properties pass the same checks, recursively
  (required ones present, scalars of their JSON type, enums strings, int64 an int or numeric
  text), through a ``check`` function generated per class by :func:`make_check`;
* a list must be a JSON array of items of the right JSON type.

Failures raise [`ClientValidationError`][batch_tasks_async.errors.ClientValidationError] naming
the class and property; the client's reply reader (``_response``) turns them into
[`ResponseDecodeError`][batch_tasks_async.errors.ResponseDecodeError]. Refused values are
described by type only (datetime and duration text excepted), so secrets stay out of messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from ._dates import _parse_duration_cached
from ._fields import Field, compile_function, model_fields
from .errors import ClientValidationError

__all__ = ["make_check", "shape_lines"]


def _wrong(cls: type[Any], name: str, value: Any, expected: str) -> ClientValidationError:
    return ClientValidationError(
        f"{cls.__name__}.{name}: the service sent {type(value).__name__}, not {expected}"
    )


def _bad_text(cls: type[Any], name: str, value: str, expected: str) -> ClientValidationError:
    return ClientValidationError(f"{cls.__name__}.{name}: {value[:40]!r} is not {expected}")


def _missing(cls: type[Any], name: str, wire: str) -> ClientValidationError:
    return ClientValidationError(
        f"{cls.__name__}.{name}: the required property {wire!r} is missing or null"
    )


def _not_object(cls: type[Any], value: Any) -> ClientValidationError:
    return ClientValidationError(
        f"{cls.__name__} expects a JSON object, got {type(value).__name__}"
    )


def _int64_text(value: Any) -> bool:
    """Whether a JSON value that is not an int is an int64's numeric text."""
    if type(value) is not str:
        return False
    try:
        int(value)
    except ValueError:
        return False
    return True


#: The namespace every generated check line may use.
SHAPE_NAMESPACE: Final[dict[str, Any]] = {
    "_wrong": _wrong,
    "_bad_text": _bad_text,
    "_missing": _missing,
    "_not_object": _not_object,
    "_iso": datetime.fromisoformat,
    "_duration": _parse_duration_cached,
    "_int64_text": _int64_text,
}

#: ``type(v)`` tests of the JSON scalar kinds, and what the error says was expected.
_SCALAR_TESTS: Final = {
    "str": ("type(v) is not str", "a string"),
    "int": ("type(v) is not int", "an integer"),
    "float": ("type(v) is not float and type(v) is not int", "a number"),
    "bool": ("type(v) is not bool", "a boolean"),
    "enum": ("type(v) is not str", "an enum string"),
    "int64": ("type(v) is not int and not _int64_text(v)", "an int64 (a number or numeric text)"),
}


def shape_lines(
    field: Field,
    index: int,
    indent: str,
    namespace: dict[str, Any],
    checks: Callable[[type[Any]], Callable[[Any], None]],
) -> list[str]:
    """Source lines raising when ``v`` (not ``None``) does not have ``field``'s JSON shape.

    ``_cls`` must name the model class in the generated function's namespace; ``checks(model)``
    gives a nested model's generated ``check``.
    """
    kind = field.kind.name
    name = field.name

    def raise_wrong(expected: str, value: str = "v") -> str:
        return f"raise _wrong(_cls, {name!r}, {value}, {expected!r})"

    if kind in _SCALAR_TESTS:
        test, expected = _SCALAR_TESTS[kind]
        return [f"{indent}if {test}:", f"{indent}    {raise_wrong(expected)}"]
    if kind in ("datetime", "duration"):
        parse, expected = (
            ("_iso", "an ISO-8601 timestamp")
            if kind == "datetime"
            else ("_duration", "an ISO-8601 duration")
        )
        return [
            f"{indent}if type(v) is not str:",
            f"{indent}    {raise_wrong(expected)}",
            f"{indent}try:",
            f"{indent}    {parse}(v)",
            f"{indent}except ValueError:",
            f"{indent}    raise _bad_text(_cls, {name!r}, v, {expected!r}) from None",
        ]
    if kind == "model":
        namespace[f"_check_{index}"] = checks(field.kind.target)
        return [
            f"{indent}if type(v) is not dict:",
            f"{indent}    {raise_wrong('a JSON object')}",
            f"{indent}_check_{index}(v)",
        ]
    if kind == "list":
        item = field.kind.target
        lines = [f"{indent}if type(v) is not list:", f"{indent}    {raise_wrong('a JSON array')}"]
        if item.name == "model":
            namespace[f"_check_{index}"] = checks(item.target)
            return [*lines, f"{indent}for x in v:", f"{indent}    _check_{index}(x)"]
        return [
            *lines,
            f"{indent}for x in v:",
            f"{indent}    if type(x) is not str:",
            f"{indent}        {raise_wrong('a list of strings', 'x')}",
        ]
    raise TypeError(f"no JSON shape for field kind {kind!r}")


def make_check(
    cls: type[Any], checks: Callable[[type[Any]], Callable[[Any], None]]
) -> Callable[[Any], None]:
    """Generate ``check(data)`` for a model: raises unless ``data`` is a JSON object that
    ``structure`` turns into an instance whose every field can be read without an error."""
    namespace: dict[str, Any] = {**SHAPE_NAMESPACE, "_cls": cls}
    lines = [
        "def check(o):",
        "    if type(o) is not dict:",
        "        raise _not_object(_cls, o)",
        "    get = o.get",
    ]
    for index, field in enumerate(model_fields(cls)):
        if field.kind.name == "extra":
            continue
        lines.append(f"    v = get({field.wire!r})")
        if field.required:
            lines += [
                "    if v is None:",
                f"        raise _missing(_cls, {field.name!r}, {field.wire!r})",
            ]
            lines += shape_lines(field, index, "    ", namespace, checks)
        else:
            lines.append("    if v is not None:")
            lines += shape_lines(field, index, "        ", namespace, checks)
    lines.append("    return None")
    check: Callable[[Any], None] = compile_function(
        "check", cls, "\n".join(lines) + "\n", namespace
    )
    check.__qualname__ = f"check_{cls.__name__}"
    return check
