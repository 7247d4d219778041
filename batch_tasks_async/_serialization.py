"""The one converter between the SDK's attrs models and the Batch service's JSON wire format.

Everything that turns a model into JSON (or JSON into a model) goes through the functions here,
which call per-class functions *generated* (compiled from Python source) by ``_codegen`` from the
models' field types; nothing is written per field:

* Wire names are derived from the attribute names (``command_line`` -> ``commandLine``). The few
  the spec spells differently (``odata.nextLink``, ``userCPUTime``, ``readIOGiB``, ``username``...)
  are stored in the attrs field metadata under `WIRE_NAME` by the models module.
* Unset (``None``) properties are omitted from request bodies.
* Properties the model does not declare (newer service versions, older renamed properties,
  ``odata.*`` annotations) are collected into the model's ``additional_properties`` dict when
  structuring and written back when unstructuring, so a round trip loses nothing.
* Datetimes are timezone-aware `datetime` values and ISO-8601 durations are
  `timedelta` values, parsed and formatted by ``_dates`` (their one home; the
  helpers are re-exported here for older imports). In models read from the service they are
  parsed when first read: until then the model holds the wire text and sends it back as it came.
  Replies are checked by JSON shape when structured (``_shapes``), so those reads cannot fail.

`prepare` generates every class's functions at once (the client calls it when it is made,
so the first request does not pay for code generation). `converter` is a cattrs converter
whose model hooks are these same generated functions, for code that wants the cattrs API.

Public helpers used by the rest of the SDK: `to_wire`, `from_wire`, `dumps`,
`loads`, `prepare`; and, from ``_dates``, ``format_datetime``, ``parse_datetime``,
``format_http_date``, ``parse_http_date``, ``format_duration`` and ``parse_duration``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import orjson
from cattrs.preconf.orjson import OrjsonConverter, make_converter

from ._codegen import (
    INT64,
    WIRE_NAME,
    generate_init,
    is_lazy,
    is_model,
    make_structure,
    make_unstructure,
    python_key_error,
    wire_name,
)
from ._dates import (
    format_datetime,
    format_duration,
    format_http_date,
    parse_datetime,
    parse_duration,
    parse_http_date,
)
from ._shapes import make_check
from .errors import ClientValidationError

if TYPE_CHECKING:  # models imports this module
    from .models import TaskAddResult

__all__ = [
    "INT64",
    "WIRE_NAME",
    "converter",
    "dumps",
    "format_datetime",
    "format_duration",
    "format_http_date",
    "from_wire",
    "loads",
    "parse_datetime",
    "parse_duration",
    "parse_http_date",
    "parse_task_add_results",
    "prepare",
    "python_key_error",
    "to_wire",
    "wire_name",
]

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# Generated per-class functions
# ---------------------------------------------------------------------------------------------

_STRUCTURE_HOOKS: dict[type[Any], Callable[[Any], Any]] = {}
_CHECK_HOOKS: dict[type[Any], Callable[[Any], None]] = {}
_UNSTRUCTURE_HOOKS: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}
_LOCK: Final = threading.Lock()  # generation is rare; two threads must not build one class twice


def structure_hook(cls: type[Any]) -> Callable[[Any], Any]:
    """The generated ``structure(data)`` of the model ``cls`` (made on first use)."""
    hook = _STRUCTURE_HOOKS.get(cls)
    if hook is None:
        with _LOCK:
            hook = _structure_hook_unlocked(cls)
    return hook


def _structure_hook_unlocked(cls: type[Any]) -> Callable[[Any], Any]:
    hook = _STRUCTURE_HOOKS.get(cls)
    if hook is None:
        hook = make_structure(cls, _structure_hook_unlocked, _check_hook_unlocked)
        _STRUCTURE_HOOKS[cls] = hook
    return hook


def _check_hook_unlocked(cls: type[Any]) -> Callable[[Any], None]:
    """The generated JSON shape ``check(data)`` of ``cls`` (``_shapes``; called under the lock)."""
    hook = _CHECK_HOOKS.get(cls)
    if hook is None:
        hook = _CHECK_HOOKS[cls] = make_check(cls, _check_hook_unlocked)
    return hook


def _unstructure_hook(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    hook = _UNSTRUCTURE_HOOKS.get(cls)
    if hook is None:
        with _LOCK:
            hook = _unstructure_hook_unlocked(cls)
    return hook


def _unstructure_hook_unlocked(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    hook = _UNSTRUCTURE_HOOKS.get(cls)
    if hook is None:
        hook = _UNSTRUCTURE_HOOKS[cls] = make_unstructure(cls, _unstructure_hook_unlocked)
    return hook


def prepare() -> None:
    """Generate every model's ``__init__`` and wire functions now (idempotent; cheap after the
    first call).

    [`BatchClient`][batch_tasks_async.BatchClient] calls it when it is made, so that the first
    request does not spend milliseconds generating code.
    """
    if _prepared:
        return
    from . import models

    for name in models.__all__:
        cls = getattr(models, name)
        if is_model(cls):
            generate_init(cls)
            structure_hook(cls)
            _unstructure_hook(cls)
    _mark_prepared()


_prepared = False


def _mark_prepared() -> None:
    global _prepared
    _prepared = True


converter: OrjsonConverter = make_converter(
    detailed_validation=False,
    forbid_extra_keys=False,
    prefer_attrib_converters=False,
)
"""A cattrs converter whose model hooks are the generated functions above."""


def _cattrs_structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
    hook = structure_hook(cls)
    return lambda data, _: hook(data)


converter.register_structure_hook_factory(is_model, _cattrs_structure_factory)
converter.register_unstructure_hook_factory(is_model, _unstructure_hook)


def to_wire(obj: Any) -> dict[str, Any]:
    """Unstructure a model into its JSON-ready wire dict (camelCase keys, ``None`` omitted)."""
    cls = type(obj)
    hook = _UNSTRUCTURE_HOOKS.get(cls)
    if hook is None:
        if not is_model(cls):
            raise TypeError(f"to_wire() expects a batch_tasks_async model, got {cls.__name__}")
        hook = _unstructure_hook(cls)
    return hook(obj)


def from_wire(cls: type[T], data: Any) -> T:
    """Structure wire JSON from the service (an already parsed dict) into the model ``cls``.

    Every present property is checked by its JSON shape (nested objects recursively, datetime
    and duration text parsed); datetimes, durations and nested objects are then converted when
    first read, which cannot fail. For data from users, ``cls.from_dict`` checks every value
    as the constructor does.

    Raises:
        TypeError: ``cls`` is not a model.
        ClientValidationError: ``data`` or a value inside it, however deep, has the wrong JSON
            type or unparsable datetime/duration text, or a required property is missing or
            null (``_response`` turns this into ``ResponseDecodeError`` for the caller).
    """
    hook = _STRUCTURE_HOOKS.get(cls)
    if hook is None:
        if not is_model(cls):
            raise TypeError(f"from_wire() expects a batch_tasks_async model, got {cls!r}")
        hook = structure_hook(cls)
    result: T = hook(data)
    return result


def from_user(cls: type[T], data: Any) -> T:
    """Build the model ``cls`` from a user's mapping of wire (camelCase) names, every value
    checked as the constructor checks it (what ``from_dict`` does)."""
    builder: Callable[[Any], T] = cls.__dict__["__wire_from_user__"]
    return builder(data)


# ---------------------------------------------------------------------------------------------
# Add-collection results: the bulk engine's hot path
# ---------------------------------------------------------------------------------------------


#: The fields of ``TaskAddResult`` (and which are lazily converted) the fast path below fills.
_TASK_ADD_RESULT_SLOTS: Final = (
    ("status", False),
    ("task_id", False),
    ("e_tag", False),
    ("last_modified", True),
    ("location", False),
    ("error", True),
    ("additional_properties", False),
)


def _fast_results_fit(cls: type[Any]) -> bool:
    """Whether the model still has exactly the slots the fast path fills (checked once)."""
    fits: bool | None = cls.__dict__.get("__wire_fast_results__")
    if fits is None:
        fields = attrs.fields(cls)
        fits = tuple(
            (field.name, is_lazy(cls, field.name)) for field in fields
        ) == _TASK_ADD_RESULT_SLOTS and not hasattr(cls, "__attrs_post_init__")
        type.__setattr__(cls, "__wire_fast_results__", fits)
    return fits


def parse_task_add_results(values: list[Any]) -> list[TaskAddResult]:
    """Structure the ``value`` list of an add-collection response into ``TaskAddResult``s.

    The same as ``[from_wire(TaskAddResult, item) for item in values]``, faster on the common
    entry -- exactly ``status``, ``taskId``, ``eTag``, ``lastModified`` and ``location``, with a
    status spelling seen before and a string id -- whose slots are filled directly (the bulk
    engine's hot path). ``lastModified`` stays wire text until read, as in every reply. Any
    other entry (an error, unknown or missing keys, odd types) goes through the generated hook,
    which also raises its errors.

    Raises:
        ClientValidationError: ``values`` is not a list, or an entry is not a valid result.
    """
    from .models import TaskAddResult, TaskAddStatus

    if type(values) is not list:
        raise ClientValidationError(
            f"the add-collection 'value' must be a JSON array, got {type(values).__name__}"
        )
    structure = _STRUCTURE_HOOKS.get(TaskAddResult) or structure_hook(TaskAddResult)
    if not _fast_results_fit(TaskAddResult):
        return [structure(item) for item in values]
    members: dict[Any, Any] = TaskAddStatus._value2member_map_
    new = object.__new__
    iso = datetime.fromisoformat
    results: list[TaskAddResult] = []
    append = results.append
    for item in values:
        if type(item) is dict and len(item) == 5:
            try:
                status = members[item["status"]]
                task_id = item["taskId"]
                e_tag = item["eTag"]
                last_modified = item["lastModified"]
                location = item["location"]
                if type(task_id) is str and type(e_tag) is str and type(location) is str:
                    iso(last_modified)  # checked now, parsed when read (TypeError if not text)
                    result = new(TaskAddResult)
                    result.status = status
                    result.task_id = task_id
                    result.e_tag = e_tag
                    result._raw_last_modified = last_modified  # type: ignore[attr-defined]
                    result.location = location
                    result._raw_error = None  # type: ignore[attr-defined]
                    result.additional_properties = {}
                    append(result)
                    continue
            except (KeyError, TypeError, ValueError):
                pass  # the generated hook raises the error, if there is one
        append(structure(item))
    return results


def _orjson_default(obj: Any) -> Any:
    if is_model(type(obj)):
        return to_wire(obj)
    if isinstance(obj, datetime):
        return format_datetime(obj)
    if isinstance(obj, timedelta):
        return format_duration(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    raise TypeError(f"type {type(obj).__name__} is not JSON serializable")


_OPTIONS: Final = orjson.OPT_PASSTHROUGH_DATETIME


def dumps(obj: Any) -> bytes:
    """Serialize a model, or plain JSON data that may contain models, to compact UTF-8 JSON.

    Datetimes and timedeltas anywhere in plain data are formatted like model fields (naive
    datetimes are rejected).
    """
    cls = type(obj)
    if cls is dict:  # plain data (the bulk engine's mapping input): no model lookup needed
        return orjson.dumps(obj, default=_orjson_default, option=_OPTIONS)
    hook = _UNSTRUCTURE_HOOKS.get(cls)
    if hook is not None:
        return orjson.dumps(hook(obj), option=_OPTIONS)
    if is_model(cls):
        return orjson.dumps(to_wire(obj), option=_OPTIONS)
    return orjson.dumps(obj, default=_orjson_default, option=_OPTIONS)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON text (as received from the service) into plain Python data."""
    return orjson.loads(data)
