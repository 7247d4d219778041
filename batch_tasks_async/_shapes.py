"""Checks of the service's JSON shapes, so a reply that does not fit fails when it is structured.

``structure`` (``_codegen``) keeps datetimes, durations and nested objects in their wire form and
converts them when first read. So that no first read can fail after a call returned, it checks
each such value when it structures the outer object -- by JSON type only, which costs one
``type(value) is T`` test per present property:

* a datetime or duration must be text the parser accepts (``datetime.fromisoformat``, or the
  cached duration parser: the C parse is tens of nanoseconds, no object is kept);
* a nested object must be a JSON object whose own properties pass the same checks, recursively
  (required ones present, scalars of their JSON type, enums strings, int64 an int or numeric
  text), through a ``check`` function generated per class by `make_check`;
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

__all__ = ["SHAPE_NAMESPACE", "make_check", "present_lines", "shape_lines"]


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


#: Duration texts known to parse: they repeat across tasks (retention time, TimeSpan.MaxValue...).
_GOOD_DURATIONS: Final[set[str]] = set()


def _check_duration(value: str) -> None:
    """Raise ``ValueError`` unless ``value`` is an ISO-8601 duration (remembered if it is)."""
    _parse_duration_cached(value)
    if len(_GOOD_DURATIONS) < 1024:
        _GOOD_DURATIONS.add(value)


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
    "_good_durations": _GOOD_DURATIONS,
    "_check_duration": _check_duration,
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


#: How deep nested objects are checked inline before a call to their class's ``check``.
_INLINE_DEPTH: Final = 3


def shape_lines(
    field: Field,
    indent: str,
    namespace: dict[str, Any],
    checks: Callable[[type[Any]], Callable[[Any], None]],
    *,
    var: str = "v",
    cls: str = "_cls",
    depth: int = 0,
) -> list[str]:
    """Source lines raising when ``var`` (not ``None``) does not have ``field``'s JSON shape.

    ``cls`` names the model class in the generated function's ``namespace``; ``checks(model)``
    gives a nested model's generated ``check``. Nested objects are checked inline (the first
    few levels) or by that ``check``; names the lines need are added to ``namespace``.
    """
    kind = field.kind.name
    name = field.name
    v = var

    def raise_wrong(expected: str, value: str = v) -> str:
        return f"raise _wrong({cls}, {name!r}, {value}, {expected!r})"

    def bind(value: Any) -> str:
        key = f"_n{len(namespace)}"
        namespace[key] = value
        return key

    if kind in _SCALAR_TESTS:
        test, expected = _SCALAR_TESTS[kind]
        return [
            f"{indent}if {test.replace('(v)', f'({v})')}:",
            f"{indent}    {raise_wrong(expected)}",
        ]
    if kind == "datetime":
        return [
            f"{indent}if type({v}) is not str:",
            f"{indent}    {raise_wrong('an ISO-8601 timestamp')}",
            f"{indent}try:",
            f"{indent}    _iso({v})",
            f"{indent}except ValueError:",
            f"{indent}    raise _bad_text({cls}, {name!r}, {v}, 'an ISO-8601 timestamp') from None",
        ]
    if kind == "duration":
        return [
            f"{indent}if type({v}) is not str:",
            f"{indent}    {raise_wrong('an ISO-8601 duration')}",
            f"{indent}if {v} not in _good_durations:",
            f"{indent}    try:",
            f"{indent}        _check_duration({v})",
            f"{indent}    except ValueError:",
            f"{indent}        raise _bad_text("
            f"{cls}, {name!r}, {v}, 'an ISO-8601 duration') from None",
        ]
    if kind == "model":
        lines = [
            f"{indent}if type({v}) is not dict:",
            f"{indent}    {raise_wrong('a JSON object')}",
        ]
        if depth >= _INLINE_DEPTH:
            return [*lines, f"{indent}{bind(checks(field.kind.target))}({v})"]
        return lines + _object_lines(
            field.kind.target, v, indent, namespace, checks, bind(field.kind.target), depth + 1
        )
    if kind == "list":
        item = field.kind.target
        lines = [f"{indent}if type({v}) is not list:", f"{indent}    {raise_wrong('a JSON array')}"]
        x = f"x{depth}"
        if item.name == "model":
            check = bind(checks(item.target))
            return [*lines, f"{indent}for {x} in {v}:", f"{indent}    {check}({x})"]
        return [
            *lines,
            f"{indent}for {x} in {v}:",
            f"{indent}    if type({x}) is not str:",
            f"{indent}        {raise_wrong('a list of strings', x)}",
        ]
    raise TypeError(f"no JSON shape for field kind {kind!r}")


def _object_lines(
    model: type[Any],
    obj: str,
    indent: str,
    namespace: dict[str, Any],
    checks: Callable[[type[Any]], Callable[[Any], None]],
    cls: str,
    depth: int,
) -> list[str]:
    """Lines checking the properties of ``obj``, a dict, against the fields of ``model``."""
    get, v = f"get{depth}", f"v{depth}"
    lines = [f"{indent}{get} = {obj}.get"]
    for field in model_fields(model):
        if field.kind.name != "extra":
            lines.append(f"{indent}{v} = {get}({field.wire!r})")
            lines += present_lines(field, indent, namespace, checks, var=v, cls=cls, depth=depth)
    return lines


def present_lines(
    field: Field,
    indent: str,
    namespace: dict[str, Any],
    checks: Callable[[type[Any]], Callable[[Any], None]],
    *,
    var: str = "v",
    cls: str = "_cls",
    depth: int = 0,
) -> list[str]:
    """Lines checking ``var``, the JSON value of ``field`` or ``None`` when it is absent: a
    required property must be present, a present one must have its JSON shape."""
    v = var
    if field.required:
        return [
            f"{indent}if {v} is None:",
            f"{indent}    raise _missing({cls}, {field.name!r}, {field.wire!r})",
            *shape_lines(field, indent, namespace, checks, var=v, cls=cls, depth=depth),
        ]
    if field.kind.name in _SCALAR_TESTS:  # one test when the value has its type
        test, expected = _SCALAR_TESTS[field.kind.name]
        return [
            f"{indent}if {test.replace('(v)', f'({v})')} and {v} is not None:",
            f"{indent}    raise _wrong({cls}, {field.name!r}, {v}, {expected!r})",
        ]
    return [
        f"{indent}if {v} is not None:",
        *shape_lines(field, indent + "    ", namespace, checks, var=v, cls=cls, depth=depth),
    ]


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
        *_object_lines(cls, "o", "    ", namespace, checks, "_cls", 1),
        "    return None",
    ]
    check: Callable[[Any], None] = compile_function(
        "check", cls, "\n".join(lines) + "\n", namespace
    )
    check.__qualname__ = f"check_{cls.__name__}"
    return check
