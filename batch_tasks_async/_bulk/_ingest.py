"""Turning one input item into a task ready to pack, or the reason it can never be sent.

Pure and synchronous: the ledger calls `prepare` once per item read. A model is serialized as
it is; a mapping must use the wire's camelCase names (a snake_case key of ``TaskAddParameter``
is refused, naming the key and its wire name); any value JSON cannot carry (``NaN``,
``Infinity``, which ``orjson`` would send as ``null``) is refused with ``InvalidRequestBody``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from .. import models
from .._serialization import dumps, wire_name
from ..errors import ClientValidationError
from ._outcomes import client_error

__all__ = ["SNAKE_CASE_KEYS", "Rejected", "check_mapping", "non_finite_path", "prepare"]

_TASK_MODEL: Final = models.TaskAddParameter

#: ``TaskAddParameter``'s snake_case field names that are not its wire names, with the wire name.
SNAKE_CASE_KEYS: Final[dict[str, str]] = {
    field.name: wire_name(field)
    for field in attrs.fields(models.TaskAddParameter)
    if "_" in field.name and field.name != "additional_properties"
}
_SNAKE: Final = frozenset(SNAKE_CASE_KEYS)


class Rejected:
    """An input item that can never be sent, with its final ``clienterror`` result."""

    __slots__ = ("result", "task_id")

    def __init__(self, result: models.TaskAddResult) -> None:
        self.result = result
        self.task_id = result.task_id


def non_finite_path(value: object, path: str = "") -> str | None:
    """The JSON path of the first ``NaN`` or infinity in plain data (or a model), else ``None``."""
    if type(value) is float:
        return None if math.isfinite(value) else path or "$"
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = non_finite_path(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = non_finite_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):  # type: ignore[arg-type]
            found = non_finite_path(
                getattr(value, field.name), f"{path}.{field.name}" if path else field.name
            )
            if found is not None:
                return found
    elif isinstance(value, float) and not math.isfinite(value):
        return path or "$"
    return None


def check_mapping(task: Mapping[str, Any]) -> None:
    """Refuse a mapping task with a snake_case key or a non-finite number (single-task ``add``).

    Raises:
        ClientValidationError: Naming the key and its wire name, or the path of the number.
    """
    if not _SNAKE.isdisjoint(task):
        key = next(k for k in task if k in _SNAKE)
        raise ClientValidationError(_snake_message(task.get("id"), key))
    path = non_finite_path(task)
    if path is not None:
        raise ClientValidationError(_non_finite_message(task.get("id"), path))


def _snake_message(task_id: object, key: str) -> str:
    return (
        f"Task {task_id!r} has the key {key!r}: a task mapping uses the wire's camelCase "
        f"names, here {SNAKE_CASE_KEYS[key]!r} (or pass a models.TaskAddParameter)."
    )


def _non_finite_message(task_id: object, path: str) -> str:
    return (
        f"Task {task_id!r} holds a number JSON cannot carry (NaN or an infinity) at {path!r}; "
        "the service would receive null."
    )


def prepare(raw: object, seq: int) -> tuple[str, bytes] | Rejected:
    """Validate and serialize one input item: ``(id, json)``, or why it can never be sent."""
    cls = type(raw)
    # Exact types first: `isinstance(raw, Mapping)` is an ABC check, slow for models.
    if cls is _TASK_MODEL:
        task_id: object = raw.id  # type: ignore[attr-defined]
        model = True
    elif cls is dict or isinstance(raw, Mapping):
        task_id = raw.get("id")  # type: ignore[attr-defined]
        model = False
        if not _SNAKE.isdisjoint(raw):  # type: ignore[arg-type]
            key = next(k for k in raw if k in _SNAKE)  # type: ignore[attr-defined]
            return Rejected(
                client_error(
                    task_id if type(task_id) is str else "",
                    "InvalidPropertyName",
                    _snake_message(task_id, key),
                    {"PropertyName": key, "WireName": SNAKE_CASE_KEYS[key]},
                )
            )
    elif isinstance(raw, _TASK_MODEL):
        task_id = raw.id
        model = True
    else:
        return Rejected(
            client_error(
                "",
                "InvalidRequestBody",
                f"Input task #{seq} is a {cls.__name__}; expected a "
                "models.TaskAddParameter or a wire-format mapping.",
            )
        )
    if type(task_id) is not str or not task_id:
        return Rejected(_bad_id(seq, task_id, model=model))
    try:
        body = dumps(raw if model or cls is dict else dict(raw))  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        return Rejected(
            client_error(
                task_id,
                "InvalidRequestBody",
                f"Task {task_id!r} cannot be serialized to JSON: {exc}",
            )
        )
    if b"null" in body:  # orjson writes NaN and infinities as null: look closer only then
        path = non_finite_path(raw)
        if path is not None:
            return Rejected(
                client_error(
                    task_id,
                    "InvalidRequestBody",
                    _non_finite_message(task_id, path),
                    {"PropertyPath": path},
                )
            )
    return task_id, body


def _bad_id(seq: int, task_id: object, *, model: bool) -> models.TaskAddResult:
    if model:
        return client_error(
            "",
            "InvalidPropertyValue",
            f"Input task #{seq} has an id that is not a non-empty string: {task_id!r}.",
            {"PropertyName": "id"},
        )
    if task_id is None:
        return client_error(
            "",
            "MissingRequiredProperty",
            f"Input task #{seq} has no 'id' property.",
            {"PropertyName": "id"},
        )
    return client_error(
        str(task_id) if isinstance(task_id, str | int) else "",
        "InvalidPropertyValue",
        f"Input task #{seq} has an 'id' that is not a non-empty string: {task_id!r}.",
        {"PropertyName": "id"},
    )
