"""Checks of values given by users, one per model field (the slow path of the generated
``__init__``, whose fast path is an inlined ``type(value) is T`` test).

Each check returns the value (converted where the field takes other forms: duration or
datetime text, enum strings, wire-JSON mappings for models) or raises
[`ClientValidationError`][batch_tasks_async.errors.ClientValidationError] naming the class and
field. Refused values are described by type only, so secrets stay out of messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from ._dates import _parse_duration_cached, parse_datetime
from ._fields import REQUIRED, Field, Kind, describe
from .errors import ClientValidationError

__all__ = ["checker", "fail"]


def fail(cls: type[Any], field: Field, message: str) -> ClientValidationError:
    return ClientValidationError(f"{cls.__name__}.{field.name}: {message}")


def checker(cls: type[Any], field: Field) -> Callable[[Any], Any]:
    """The full check of one field's value: returns it (converted) or raises."""
    kind = field.kind
    check = _value_checker(cls, field, kind)

    def check_field(value: Any) -> Any:
        if value is REQUIRED:
            raise fail(cls, field, f"is required (wire name {field.wire!r})")
        if value is None:
            if field.required:
                raise fail(cls, field, "is required and cannot be None")
            return None
        return check(value)

    return check_field


#: What each scalar kind accepts, and the subclasses it refuses (``True`` is not a number).
_SCALAR_TYPES: Final[dict[str, tuple[Any, Any]]] = {
    "str": (str, ()),
    "int": (int, bool),
    "int64": (int, bool),
    "float": (int | float, bool),
    "bool": (bool, ()),
}


def _value_checker(cls: type[Any], field: Field, kind: Kind) -> Callable[[Any], Any]:
    expected = describe(kind)

    def wrong(value: Any) -> ClientValidationError:
        return fail(cls, field, f"expected {expected}, got {type(value).__name__}")

    name = kind.name
    if name in _SCALAR_TYPES:
        accepted, refused = _SCALAR_TYPES[name]

        def check_scalar(value: Any) -> Any:
            if isinstance(value, accepted) and not isinstance(value, refused):
                return value
            if name == "int64" and isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    pass
            raise wrong(value)

        return check_scalar
    if name == "datetime":
        return _datetime_checker(cls, field, wrong)
    if name == "duration":
        return _duration_checker(cls, field, wrong)
    if name == "enum":
        enum_cls = kind.target

        def check_enum(value: Any) -> Any:
            if isinstance(value, enum_cls):
                return value
            if isinstance(value, str):
                return enum_cls(value)  # WireEnum: any letter case; unknown values are kept
            raise wrong(value)

        return check_enum
    if name == "model":
        return _model_checker(cls, field, kind.target, wrong)
    if name == "list":
        return _list_checker(cls, field, kind.target, wrong)

    def check_extra(value: Any) -> Any:
        if isinstance(value, Mapping):
            return dict(value)
        raise wrong(value)

    return check_extra


def _datetime_checker(
    cls: type[Any], field: Field, wrong: Callable[[Any], ClientValidationError]
) -> Callable[[Any], Any]:
    def check_datetime(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_datetime(value)
            except ValueError:
                raise fail(cls, field, f"{value!r} is not an ISO-8601 timestamp") from None
        if not isinstance(value, datetime):
            raise wrong(value)
        if value.tzinfo is None or value.utcoffset() is None:
            raise fail(
                cls,
                field,
                "a naive datetime cannot be sent to the Batch service (its time zone is "
                "unknown); attach one, e.g. value.replace(tzinfo=datetime.UTC)",
            )
        return value

    return check_datetime


def _duration_checker(
    cls: type[Any], field: Field, wrong: Callable[[Any], ClientValidationError]
) -> Callable[[Any], Any]:
    def check_duration(value: Any) -> Any:
        if isinstance(value, timedelta):
            return value
        if isinstance(value, str):
            try:
                return _parse_duration_cached(value)
            except ValueError as exc:
                raise fail(cls, field, str(exc)) from None
        raise wrong(value)

    return check_duration


def _model_checker(
    cls: type[Any],
    field: Field,
    model: type[Any],
    wrong: Callable[[Any], ClientValidationError],
) -> Callable[[Any], Any]:
    def check_model(value: Any) -> Any:
        if isinstance(value, model):
            return value
        if isinstance(value, Mapping):
            return model.from_dict(value)
        raise wrong(value)

    return check_model


def _list_checker(
    cls: type[Any], field: Field, item: Kind, wrong: Callable[[Any], ClientValidationError]
) -> Callable[[Any], Any]:
    item_field = Field(f"{field.name}[]", field.wire, item, required=True)
    check_item = checker(cls, item_field)
    exact: Any = item.target if item.name in ("model", "enum") else str

    def check_list(value: Any) -> Any:
        if type(value) is list:
            for element in value:
                if type(element) is not exact:
                    break
            else:
                return value  # the common case: already the right type, kept as given
        elif not isinstance(value, list | tuple):
            raise wrong(value)
        return [check_item(element) for element in value]

    return check_list
