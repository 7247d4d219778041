"""Acceptance test: every Task wire body we have ever seen survives ``from_dict`` -> ``to_dict``.

The corpus is read from the team's ``shared/`` folder at test time (never copied here):

* ``batch-rest-spec/examples/*/Task*.json`` -- the spec's x-ms-examples (request parameters and
  response bodies);
* ``batch-recordings/`` -- real traffic with the live service, in four recording formats (vcrpy,
  nock, test-proxy ``Entries``, Java ``networkCallRecords``). ``INDEX.tsv`` names the Task
  interactions; bodies that nock filtered to ``*`` and empty bodies carry nothing to check.

Each body must deserialize into the model of its operation and serialize back to the very same
JSON, except for the letter case of enum values (the service echoes ``"Success"`` for
``"success"``; we always send the spec's spelling). Nothing else is normalized: properties of old
api-versions and ``odata.*`` annotations must come back through ``additional_properties``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from batch_tasks_async import models
from batch_tasks_async._serialization import from_wire, to_wire

# Where tests/conftest.py's `shared_dir` fixture looks; needed at collection time for the ids.
_SHARED = Path(__file__).resolve().parents[2].parent / "shared"
_EXAMPLES = "batch-rest-spec/examples"
_RECORDINGS = "batch-recordings"

Model = type[Any]


@dataclass(frozen=True)
class Interaction:
    """One recorded HTTP exchange, bodies still as recorded (text, parsed JSON or ``None``)."""

    method: str
    path: str
    status: int
    request_body: Any
    response_body: Any


@dataclass(frozen=True)
class Case:
    """One JSON body of the corpus and the model it must round-trip through."""

    source: str  # file path relative to shared/
    locator: str  # which body inside the file
    model_name: str

    @property
    def id(self) -> str:
        return f"{self.source}::{self.locator}"


# ---------------------------------------------------------------------------------------------
# Which model a body belongs to
# ---------------------------------------------------------------------------------------------

_ROUTES: list[tuple[str, re.Pattern[str], str | None, str | None]] = [
    # method, path pattern, request model, success response model
    ("POST", re.compile(r"^/jobs/[^/]+/tasks$"), "TaskAddParameter", None),
    ("POST", re.compile(r"^/jobs/[^/]+/addtaskcollection$"), "TaskAddCollectionParameter",
     "TaskAddCollectionResult"),
    ("GET", re.compile(r"^/jobs/[^/]+/tasks$"), None, "CloudTaskListResult"),
    ("GET", re.compile(r"^/jobs/[^/]+/tasks/[^/]+$"), None, "CloudTask"),
    ("PUT", re.compile(r"^/jobs/[^/]+/tasks/[^/]+$"), "TaskUpdateParameter", None),
    ("GET", re.compile(r"^/jobs/[^/]+/tasks/[^/]+/subtasksinfo$"), None,
     "CloudTaskListSubtasksResult"),
    ("GET", re.compile(r"^/jobs/[^/]+/taskcounts$"), None, "TaskCountsResult"),
]  # fmt: skip
_HTTP_BAD_REQUEST = 400


# Before api-version 2020-09-01.12.0 (which added slot counts) the taskcounts body was TaskCounts.
_SLOT_COUNTS_SINCE = "2020-09-01.12.0"


def _route(method: str, path: str) -> tuple[str | None, str | None]:
    parts = urlsplit(path)
    for route_method, pattern, request_model, response_model in _ROUTES:
        if method == route_method and pattern.match(parts.path):
            api_version = parse_qs(parts.query).get("api-version", [""])[0]
            if response_model == "TaskCountsResult" and api_version < _SLOT_COUNTS_SINCE:
                return request_model, "TaskCounts"
            return request_model, response_model
    # Task files (NodeFile listings, raw file content), delete, terminate, reactivate: no Task
    # model in the body. Error bodies are still checked below.
    return None, None


def _json_body(body: Any) -> Any:
    """The JSON value of a recorded body, or ``None`` when there is nothing to check."""
    if body is None or isinstance(body, dict | list):
        return body or None
    if isinstance(body, str):
        text = body.strip()
        if not text or text == "*":
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None  # task file content
    raise AssertionError(f"unexpected recorded body type {type(body).__name__}")


# ---------------------------------------------------------------------------------------------
# Recording formats
# ---------------------------------------------------------------------------------------------

_NOCK_CALL = re.compile(
    r"""\.(get|post|put|delete|head|patch|merge)\('(?P<path>[^']*)'(?:,\s*'(?P<req>[^']*)')?\)"""
    r"""\s*\.reply\((?P<status>\d+),\s*(?P<body>"(?:[^"\\]|\\.)*")""",
)


def _path_of(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _parse_nock(text: str) -> Iterator[Interaction]:
    for match in _NOCK_CALL.finditer(text):
        yield Interaction(
            method=match.group(1).upper(),
            path=match.group("path"),
            status=int(match.group("status")),
            request_body=match.group("req"),
            # nock writes bodies as JavaScript string literals; they only use JSON escapes.
            response_body=json.loads(match.group("body")),
        )


def _parse_json_recording(data: dict[str, Any]) -> Iterator[Interaction]:
    if "interactions" in data:  # vcrpy
        for item in data["interactions"]:
            request, response = item["request"], item["response"]
            yield Interaction(
                method=request["method"],
                path=_path_of(request["uri"]),
                status=int(response["status"]["code"]),
                request_body=request.get("body"),
                response_body=(response.get("body") or {}).get("string"),
            )
    elif "Entries" in data:  # azure-sdk test proxy / .NET HttpMockServer
        for entry in data["Entries"]:
            yield Interaction(
                method=entry["RequestMethod"],
                path=_path_of(entry["RequestUri"]),
                status=int(entry["StatusCode"]),
                request_body=entry.get("RequestBody"),
                response_body=entry.get("ResponseBody"),
            )
    elif "networkCallRecords" in data:  # Java track 1
        for record in data["networkCallRecords"]:
            response = record["Response"]
            yield Interaction(
                method=record["Method"],
                path=_path_of(record["Uri"]),
                status=int(response["StatusCode"]),
                request_body=record.get("Body"),
                response_body=response.get("Body"),
            )
    else:
        raise AssertionError(f"unknown recording format with keys {sorted(data)}")


@functools.cache
def _interactions(shared: Path, relative: str) -> tuple[Interaction, ...]:
    text = (shared / _RECORDINGS / relative).read_text(encoding="utf-8")
    if relative.endswith(".js"):
        return tuple(_parse_nock(text))
    return tuple(_parse_json_recording(json.loads(text)))


@functools.cache
def _index(shared: Path) -> tuple[tuple[str, str, str, int], ...]:
    lines = (shared / _RECORDINGS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()
    rows = []
    for line in lines[1:]:
        if line.strip():
            file, method, path, status, _note = line.split("\t")
            rows.append((file, method, path, int(status)))
    return tuple(rows)


@functools.cache
def _task_interactions(shared: Path) -> dict[str, list[Interaction]]:
    """Per recording file, the interactions INDEX.tsv lists as Task interactions, in file order."""
    wanted: dict[str, list[tuple[str, str, int]]] = {}
    for file, method, path, status in _index(shared):
        wanted.setdefault(file, []).append((method, path, status))
    found: dict[str, list[Interaction]] = {}
    for file, keys in wanted.items():
        found[file] = [
            item
            for item in _interactions(shared, file)
            if (item.method, item.path, item.status) in keys
        ]
    return found


# ---------------------------------------------------------------------------------------------
# Case discovery (collection time) and lookup (test time)
# ---------------------------------------------------------------------------------------------

_EXAMPLE_REQUESTS = {
    "task": "TaskAddParameter",
    "taskCollection": "TaskAddCollectionParameter",
    "taskUpdateParameter": "TaskUpdateParameter",
}
_EXAMPLE_RESPONSES = {
    "TaskGet": "CloudTask",
    "TaskList": "CloudTaskListResult",
    "TaskListSubtasks": "CloudTaskListSubtasksResult",
    "TaskAddCollection": "TaskAddCollectionResult",
}


def _example_bodies(shared: Path, relative: str) -> dict[str, tuple[Any, str]]:
    example = json.loads((shared / relative).read_text(encoding="utf-8"))
    bodies: dict[str, tuple[Any, str]] = {}
    for name, value in example["parameters"].items():
        if name in _EXAMPLE_REQUESTS:
            bodies[f"request {name}"] = (value, _EXAMPLE_REQUESTS[name])
    operation = Path(relative).stem.split("_")[0]
    for status, response in example["responses"].items():
        body = response.get("body")
        if body is None:
            continue
        model = _EXAMPLE_RESPONSES.get(operation)
        if int(status) >= _HTTP_BAD_REQUEST:
            model = "BatchError"
        assert model is not None, f"no model known for the {status} body of {relative}"
        bodies[f"response {status}"] = (body, model)
    return bodies


def _recording_bodies(shared: Path, relative: str) -> dict[str, tuple[Any, str]]:
    bodies: dict[str, tuple[Any, str]] = {}
    for number, item in enumerate(_task_interactions(shared)[relative]):
        request_model, response_model = _route(item.method, item.path)
        where = f"#{number} {item.method} {item.path}"
        request = _json_body(item.request_body)
        if request is not None:
            assert request_model is not None, f"unexpected request body in {relative} {where}"
            bodies[f"{where} request"] = (request, request_model)
        response = _json_body(item.response_body)
        if item.status >= _HTTP_BAD_REQUEST:
            response_model = "BatchError"
        if response is not None and response_model is not None:
            bodies[f"{where} {item.status} response"] = (response, response_model)
    return bodies


def _bodies(shared: Path, source: str) -> dict[str, tuple[Any, str]]:
    if source.startswith(_EXAMPLES):
        return _example_bodies(shared, source)
    return _recording_bodies(shared, source.removeprefix(_RECORDINGS + "/"))


def _discover(shared: Path) -> list[Case]:
    if not shared.is_dir():
        return []
    sources = [
        p.relative_to(shared).as_posix() for p in sorted(shared.glob(f"{_EXAMPLES}/*/Task*.json"))
    ]
    sources += sorted({f"{_RECORDINGS}/{row[0]}" for row in _index(shared)})
    return [
        Case(source, locator, model_name)
        for source in sources
        for locator, (_body, model_name) in _bodies(shared, source).items()
    ]


_CASES = _discover(_SHARED)
_NO_CORPUS = pytest.param(None, marks=pytest.mark.skip(reason=f"no shared corpus at {_SHARED}"))


def _params(cases: list[Case]) -> list[Any]:
    return [pytest.param(case, id=case.id) for case in cases] or [_NO_CORPUS]


# ---------------------------------------------------------------------------------------------
# The comparer
# ---------------------------------------------------------------------------------------------

_ENUM_VALUES = frozenset(
    member.value
    for name in models.__all__
    if isinstance(cls := getattr(models, name), type) and issubclass(cls, models.WireEnum)
    for member in cls
)


def _differences(sent: Any, back: Any, where: str = "$") -> Iterator[str]:
    """Where ``back`` (our ``to_dict()``) differs from ``sent`` (the original JSON).

    Only one difference is allowed: an enum value may come back in the spec's letter case.
    """
    if isinstance(sent, dict) and isinstance(back, dict):
        for key in sent.keys() | back.keys():
            if key not in back:
                yield f"{where}.{key}: lost"
            elif key not in sent:
                yield f"{where}.{key}: added ({back[key]!r})"
            else:
                yield from _differences(sent[key], back[key], f"{where}.{key}")
    elif isinstance(sent, list) and isinstance(back, list):
        if len(sent) != len(back):
            yield f"{where}: {len(sent)} items became {len(back)}"
        for number, (left, right) in enumerate(zip(sent, back, strict=False)):
            yield from _differences(left, right, f"{where}[{number}]")
    elif isinstance(sent, str) and isinstance(back, str):
        same_enum = back in _ENUM_VALUES and sent.casefold() == back.casefold()
        if sent != back and not same_enum:
            yield f"{where}: {sent!r} became {back!r}"
    elif type(sent) is not type(back) or sent != back:
        yield f"{where}: {sent!r} became {back!r}"


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(_CASES))
def test_body_round_trips(shared_dir: Path, case: Case) -> None:
    body, model_name = _bodies(shared_dir, case.source)[case.locator]
    model = getattr(models, model_name)

    parsed = from_wire(model, body)

    assert isinstance(parsed, model)
    assert list(_differences(body, parsed.to_dict())) == []
    # The public entry points agree with the converter.
    assert model.from_dict(body) == parsed
    assert to_wire(parsed) == parsed.to_dict()


def test_corpus_is_complete(shared_dir: Path) -> None:
    """Every INDEX.tsv row was found in its recording, and every kind of body was exercised."""
    rows = _index(shared_dir)
    found = _task_interactions(shared_dir)
    for file in {row[0] for row in rows}:
        expected = sum(1 for row in rows if row[0] == file)
        assert len(found[file]) == expected, f"{file}: parsed {len(found[file])} of {expected}"
    kinds = {case.model_name for case in _discover(shared_dir)}
    assert kinds >= {
        "TaskAddParameter",
        "TaskAddCollectionParameter",
        "TaskUpdateParameter",
        "CloudTask",
        "CloudTaskListResult",
        "CloudTaskListSubtasksResult",
        "TaskAddCollectionResult",
        "TaskCountsResult",
        "BatchError",
    }


def test_error_bodies_are_batch_errors(shared_dir: Path) -> None:
    """The recorded service errors parse into BatchError with their code, message and values."""
    errors = {
        case.id: from_wire(models.BatchError, _bodies(shared_dir, case.source)[case.locator][0])
        for case in _discover(shared_dir)
        if case.model_name == "BatchError"
    }
    codes = {error.code for error in errors.values()}
    assert {"TaskNotFound", "RequestBodyTooLarge"} <= codes
    too_large = next(e for e in errors.values() if e.code == "RequestBodyTooLarge")
    assert too_large.message is not None
    assert too_large.message.lang == "en-US"
    assert too_large.values is not None
    assert {(d.key, d.value) for d in too_large.values} >= {("MaxLimit", "1048576")}


def test_client_error_entry_in_add_collection(shared_dir: Path) -> None:
    """A per-task ClientError keeps its error and the odata navigation-link annotation."""
    results = [
        entry
        for case in _discover(shared_dir)
        if case.model_name == "TaskAddCollectionResult"
        for entry in from_wire(
            models.TaskAddCollectionResult, _bodies(shared_dir, case.source)[case.locator][0]
        ).value
        or []
    ]
    failed = [r for r in results if r.status is models.TaskAddStatus.CLIENT_ERROR]
    assert failed, "the corpus has a ClientError entry"
    assert failed[0].error is not None
    assert failed[0].error.code == "InvalidPropertyValue"
    assert "error@odata.navigationLinkUrl" in failed[0].additional_properties
    assert {r.status for r in results} == {
        models.TaskAddStatus.SUCCESS,
        models.TaskAddStatus.CLIENT_ERROR,
    }
