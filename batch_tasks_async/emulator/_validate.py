"""Validation of request bodies as the service does it, with its error codes and ``values``.

Types come from the REST spec (``batch_schema.json``, see
[`_schema`][batch_tasks_async.emulator._schema]): a string where the spec has an int32, an
object where it has an array and so on answer ``InvalidPropertyValue`` with ``PropertyName``
(the property's own name, as the service names it), ``PropertyValue`` and ``Reason``; a missing
required property ``MissingRequiredProperty``. Enum values are accepted in any casing and
rewritten, in the body that is stored, to the casing the service answers with. On top of the
types: Batch ids, ISO-8601 durations, URIs of resource files and output containers, exactly one
source per resource file, positive slot and instance counts, and the task dependency rules.
Properties the spec does not name are kept as sent.

Checking a task is one pass over the properties it has; a task of only ``id`` and
``commandLine`` (the bulk of any ingest) is checked without walking the schema at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, MutableSequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from .._serialization import parse_duration
from ._filter import parse_datetime
from ._schema import load_schema
from ._state import valid_id

__all__ = [
    "Problem",
    "constraints_problem",
    "job_problem",
    "task_problem",
]

#: Why a body cannot be accepted: the Batch error code and its ``values`` (key, value) pairs.
Problem = tuple[str, tuple[tuple[str, str], ...]]

#: The casing the service answers with, where it is not the spec's enum value
#: (recordings: ``uploadCondition`` sent ``tasksuccess`` comes back ``TaskSuccess``).
_CASING_OVERRIDES: dict[str, tuple[str, ...]] = {
    "OutputFileUploadCondition": ("TaskSuccess", "TaskFailure", "TaskCompletion"),
}
#: Properties whose value must be an absolute http(s) URI (the spec types them as strings).
_URI_PROPERTIES = frozenset({"httpUrl", "storageContainerUrl", "containerUrl"})
_RESOURCE_SOURCES = ("autoStorageContainerName", "storageContainerUrl", "httpUrl")
_INT32 = (-(2**31), 2**31 - 1)
_ID_REASON = (
    "The id can contain any combination of alphanumeric characters including hyphens and "
    "underscores, and cannot contain more than 64 characters."
)
#: The longest ``dependsOn.taskIds`` the service stores (characters of ids, per its docs).
MAX_DEPENDENCY_CHARS = 64_000

# A checker looks at ``container[key]`` (named ``name`` in errors) and may rewrite it.
Checker = Callable[[Any, Any, Any, str], "Problem | None"]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = orjson.dumps(value).decode()
    return text if len(text) <= 200 else text[:197] + "..."


def invalid(name: str, value: Any, reason: str) -> Problem:
    """``InvalidPropertyValue`` naming the property, its value and why."""
    return "InvalidPropertyValue", (
        ("PropertyName", name),
        ("PropertyValue", _text(value)),
        ("Reason", reason),
    )


def missing(name: str) -> Problem:
    """``MissingRequiredProperty`` naming the property."""
    return "MissingRequiredProperty", (("PropertyName", name),)


# -- checkers built from the schema ------------------------------------------------------------


def _string(container: Any, key: Any, value: Any, name: str) -> Problem | None:
    if isinstance(value, str):
        if name in _URI_PROPERTIES and not _is_uri(value):
            return invalid(
                name, value, f"The specified {name[:1].upper()}{name[1:]} is not a valid URI"
            )
        return None
    return invalid(name, value, "The value must be a string.")


def _int32(container: Any, key: Any, value: Any, name: str) -> Problem | None:
    if isinstance(value, int) and not isinstance(value, bool) and _INT32[0] <= value <= _INT32[1]:
        return None
    return invalid(name, value, "The value must be a 32-bit integer.")


def _int64(container: Any, key: Any, value: Any, name: str) -> Problem | None:
    # OData sends 64-bit integers as numbers or as strings of digits.
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return None
    return invalid(name, value, "The value must be a 64-bit integer.")


def _double(container: Any, key: Any, value: Any, name: str) -> Problem | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None
    return invalid(name, value, "The value must be a number.")


def _boolean(container: Any, key: Any, value: Any, name: str) -> Problem | None:
    if isinstance(value, bool):
        return None
    return invalid(name, value, "The value must be true or false.")


def _duration(container: Any, key: Any, value: Any, name: str) -> Problem | None:
    if isinstance(value, str):
        try:
            parse_duration(value)
        except ValueError:
            pass
        else:
            return None
    return invalid(name, value, "The value must be an ISO 8601 duration, such as PT1H.")


def _datetime(container: Any, key: Any, value: Any, name: str) -> Problem | None:
    if isinstance(value, str):
        try:
            parse_datetime(value)
        except ValueError:
            pass
        else:
            return None
    return invalid(name, value, "The value must be an ISO 8601 date and time.")


def _is_uri(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and " " not in text


_SCALAR_CHECKERS: dict[str, Checker] = {
    "string": _string,
    "int32": _int32,
    "int64": _int64,
    "double": _double,
    "boolean": _boolean,
    "duration": _duration,
    "date-time": _datetime,
}


class _Compiler:
    """Turns the compact schema into one checker per definition (compiled once)."""

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self.compiled: dict[str, Checker] = {}

    def definition(self, name: str) -> Checker:
        checker = self.compiled.get(name)
        if checker is not None:
            return checker
        slot: list[Checker] = []

        def late(container: Any, key: Any, value: Any, prop: str) -> Problem | None:
            return slot[0](container, key, value, prop)

        self.compiled[name] = late  # recursive definitions see this until compiled
        definition = self.definitions[name]
        if "enum" in definition:
            real = self._enum(name, definition["enum"])
        else:
            real = self._object(name, definition)
        slot.append(real)
        self.compiled[name] = real
        return real

    def type_checker(self, kind: Any) -> Checker:
        if isinstance(kind, str):
            if kind.startswith("#"):
                return self.definition(kind[1:])
            return _SCALAR_CHECKERS[kind]
        if isinstance(kind, list):
            return self._array(self.type_checker(kind[0]))
        return self._map(self.type_checker(kind["map"]))

    def _enum(self, name: str, values: list[str]) -> Checker:
        canonical = _CASING_OVERRIDES.get(name, tuple(values))
        table = {value.lower(): value for value in canonical}
        allowed = ", ".join(canonical)

        def check(container: Any, key: Any, value: Any, prop: str) -> Problem | None:
            if isinstance(value, str):
                found = table.get(value.lower())
                if found is not None:
                    if found != value:
                        container[key] = found
                    return None
            return invalid(prop, value, f"The value must be one of: {allowed}.")

        return check

    def _array(self, item: Checker) -> Checker:
        def check(container: Any, key: Any, value: Any, prop: str) -> Problem | None:
            if not isinstance(value, list):
                return invalid(prop, value, "The value must be an array.")
            for index, element in enumerate(value):
                if element is None:
                    continue
                problem = item(value, index, element, prop)
                if problem is not None:
                    return problem
            return None

        return check

    def _map(self, item: Checker) -> Checker:
        def check(container: Any, key: Any, value: Any, prop: str) -> Problem | None:
            if not isinstance(value, dict):
                return invalid(prop, value, "The value must be an object.")
            for name, element in value.items():
                problem = item(value, name, element, prop)
                if problem is not None:
                    return problem
            return None

        return check

    def _object(self, name: str, definition: Mapping[str, Any]) -> Checker:
        properties = {
            prop: self.type_checker(kind) for prop, kind in definition["properties"].items()
        }
        required = tuple(definition["required"])
        extra = _EXTRA_RULES.get(name)

        def check(container: Any, key: Any, value: Any, prop: str) -> Problem | None:
            if not isinstance(value, dict):
                return invalid(prop, value, "The value must be an object.")
            for needed in required:
                if value.get(needed) is None:
                    return missing(needed)
            for sub, element in value.items():
                checker = properties.get(sub)
                if checker is None or element is None:
                    continue
                problem = checker(value, sub, element, sub)
                if problem is not None:
                    return problem
            return extra(value) if extra is not None else None

        return check


# -- rules beyond the types ----------------------------------------------------------------------


def _resource_file(value: Mapping[str, Any]) -> Problem | None:
    given = [source for source in _RESOURCE_SOURCES if value.get(source) is not None]
    if len(given) != 1:
        return invalid(
            "resourceFiles",
            value,
            "Exactly one of autoStorageContainerName, storageContainerUrl and httpUrl must be "
            f"specified; {len(given)} were.",
        )
    return None


def _positive(prop: str) -> Callable[[Mapping[str, Any]], Problem | None]:
    def rule(value: Mapping[str, Any]) -> Problem | None:
        number = value.get(prop)
        if number is not None and number < 1:
            return invalid(prop, number, f"{prop} must be at least 1.")
        return None

    return rule


def _retry_count(value: Mapping[str, Any]) -> Problem | None:
    count = value.get("maxTaskRetryCount")
    if count is not None and count < -1:
        return invalid("maxTaskRetryCount", count, "maxTaskRetryCount must be -1 or more.")
    return None


def _task_dependencies(value: Mapping[str, Any]) -> Problem | None:
    ids = value.get("taskIds") or []
    for task_id in ids:
        if not valid_id(task_id):
            return invalid("taskIds", task_id, _ID_REASON)
    if sum(len(task_id) for task_id in ids) > MAX_DEPENDENCY_CHARS:
        return "TaskDependencyListTooLong", ()
    for task_range in value.get("taskIdRanges") or []:
        if task_range["start"] > task_range["end"]:
            return invalid(
                "taskIdRanges", task_range, "The start of a range must not be after its end."
            )
    return None


_EXTRA_RULES: dict[str, Callable[[Mapping[str, Any]], Problem | None]] = {
    "ResourceFile": _resource_file,
    "MultiInstanceSettings": _positive("numberOfInstances"),
    "TaskConstraints": _retry_count,
    "TaskDependencies": _task_dependencies,
}

_compiler = _Compiler(load_schema()["definitions"])
_task_body = _compiler.definition("TaskAddParameter")
_update_body = _compiler.definition("TaskUpdateParameter")
_job_body = _compiler.definition("JobAddParameter")


def _check_root(checker: Checker, body: MutableMapping[str, Any]) -> Problem | None:
    holder: MutableSequence[Any] = [body]
    return checker(holder, 0, body, "")


# -- entry points --------------------------------------------------------------------------------


def task_problem(task: MutableMapping[str, Any], *, uses_dependencies: bool) -> Problem | None:
    """Why ``task`` cannot be added to a job (whose ``usesTaskDependencies`` is given), as
    (error code, values); ``None`` if it can. Enum values in ``task`` are recased in place."""
    task_id = task.get("id")
    if task_id is None:
        return missing("id")
    if not valid_id(task_id):
        return invalid("id", task_id, _ID_REASON)
    command = task.get("commandLine")
    if command is None:
        return missing("commandLine")
    if not isinstance(command, str) or not command:
        return invalid("commandLine", command, "The command line must be a non-empty string.")
    if len(task) == 2:
        return None
    problem = _check_root(_task_body, task)
    if problem is not None:
        return problem
    slots = task.get("requiredSlots")
    if slots is not None and slots < 1:
        return invalid("requiredSlots", slots, "requiredSlots must be at least 1.")
    if task.get("dependsOn") is not None and not uses_dependencies:
        return "TaskDependenciesNotSpecifiedOnJob", ()
    return None


def job_problem(job: MutableMapping[str, Any]) -> Problem | None:
    """Why a job body cannot be added; ``None`` if it can (enum values recased in place)."""
    job_id = job.get("id")
    if job_id is None:
        return missing("id")
    if not valid_id(job_id):
        return invalid("id", job_id, _ID_REASON)
    return _check_root(_job_body, job)


def constraints_problem(body: MutableMapping[str, Any]) -> Problem | None:
    """Why a task update body cannot be applied; ``None`` if it can."""
    return _check_root(_update_body, body)
