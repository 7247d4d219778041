"""Unit tests of the emulator's pieces: filter, Shared Key verifier, config, exit codes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
from azure.batch._patch import BatchSharedKeyAuthPolicy
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.rest import HttpRequest
from click.testing import CliRunner

from batch_tasks_async.emulator import (
    EmulatorConfig,
    FaultConfig,
    config_to_args,
    emulator_command,
    exit_code_of,
)
from batch_tasks_async.emulator._auth import SharedKeyVerifier
from batch_tasks_async.emulator._filter import FilterError, compile_filter, parse_datetime
from batch_tasks_async.emulator._lifecycle import Schedule
from batch_tasks_async.emulator._lifecycle_flags import lifecycle_fields
from batch_tasks_async.emulator._schema import compact_schema, load_schema

KEY = base64.b64encode(b"unit-test-key-0123456789").decode()

TASKS: list[dict[str, Any]] = [
    {
        "id": "Alpha-1",
        "state": "completed",
        "creationTime": "2025-01-01T00:00:00.1234567Z",
        "executionInfo": {"exitCode": 3, "result": "failure"},
    },
    {
        "id": "beta-2",
        "state": "active",
        "creationTime": "2025-01-02T00:00:00Z",
        "executionInfo": {"retryCount": 0},
    },
    {
        "id": "alpha-3",
        "state": "running",
        "creationTime": "2025-01-03T00:00:00Z",
        "executionInfo": {},
    },
]


def ids(expr: str) -> list[str]:
    pred = compile_filter(expr)
    return [t["id"] for t in TASKS if pred(t)]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("state eq 'active'", ["beta-2"]),
        ("state eq 'ACTIVE'", ["beta-2"]),
        ("state ne 'active'", ["Alpha-1", "alpha-3"]),
        ("id eq 'alpha-1'", ["Alpha-1"]),
        ("startswith(id, 'alpha')", ["Alpha-1", "alpha-3"]),
        ("executionInfo/exitCode eq 3", ["Alpha-1"]),
        ("executionInfo/exitCode gt 0", ["Alpha-1"]),
        ("executionInfo/exitCode eq null", ["beta-2", "alpha-3"]),
        ("creationTime gt datetime'2025-01-01T12:00:00Z'", ["beta-2", "alpha-3"]),
        ("creationTime le datetime'2025-01-02T00:00:00Z'", ["Alpha-1", "beta-2"]),
        ("creationTime lt datetime'2025-01-01T00:00:00.2Z'", ["Alpha-1"]),
        ("creationTime ge datetime'2025-01-03T00:00:00Z'", ["alpha-3"]),
        ("state eq 'active' or state eq 'running'", ["beta-2", "alpha-3"]),
        ("(state eq 'active' or state eq 'running') and startswith(id,'a')", ["alpha-3"]),
        ("not (state eq 'completed')", ["beta-2", "alpha-3"]),
        ("not state eq 'completed' and id ne 'beta-2'", ["alpha-3"]),
        ("ID EQ 'beta-2'", ["beta-2"]),
        ("id eq 'it''s'", []),
    ],
)
def test_filter_expressions(expr: str, expected: list[str]) -> None:
    assert ids(expr) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "nodeInfo/poolId eq 'p'",
        "state eq",
        "state eq 'a' and",
        "(state eq 'a'",
        "state contains 'a'",
        "startswith(id, 3)",
        "creationTime gt datetime'yesterday'",
        "state eq 'a' 'b'",
        "id eq 'a' #",
        "",
    ],
)
def test_filter_rejects_unsupported(expr: str) -> None:
    with pytest.raises(FilterError):
        compile_filter(expr)


def test_parse_datetime_seven_fraction_digits() -> None:
    assert parse_datetime("2025-02-13T23:25:33.1445396Z") == datetime(
        2025, 2, 13, 23, 25, 33, 144539, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("/bin/sh -c 'exit 3'", 3),
        ("cmd /c exit 42", 42),
        ("/bin/sh -c 'echo hi; exit 7'", 7),
        ("echo exit", 0),
        ("/bin/sh -c 'sleep 1'", 0),
        ("exit -1", -1),
        (None, 0),
    ],
)
def test_exit_code_from_command_line(command: str | None, code: int) -> None:
    assert exit_code_of(command) == code


def _signed(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> Any:
    """Sign a request with azure-batch 15.x's own policy (the ground-truth client)."""
    request = HttpRequest(method, url, headers=headers, content=body)
    policy = BatchSharedKeyAuthPolicy(AzureNamedKeyCredential("acct", KEY))
    policy.on_request(SimpleNamespace(http_request=request))  # type: ignore[arg-type]
    return request


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        (
            "GET",
            "http://h/jobs/j/tasks?api-version=2025-06-01&$filter=state%20eq%20%27active%27",
            None,
        ),
        ("POST", "http://h/jobs/j/addtaskcollection?api-version=2025-06-01", b'{"value":[]}'),
        ("POST", "http://h/jobs/j/tasks/t/terminate?api-version=2025-06-01&timeOut=30", None),
        ("DELETE", "http://h/jobs/j/tasks/t%20x?api-version=2025-06-01", None),
    ],
)
def test_verifier_accepts_azure_batch_signatures(method: str, url: str, body: bytes | None) -> None:
    headers = {"Content-Type": "application/json; odata=minimalmetadata"} if body else {}
    if body:
        headers["Content-Length"] = str(len(body))
    request = _signed(method, url, headers, body)
    path, _, query = url.split("//", 1)[1].partition("/")[2].partition("?")
    verifier = SharedKeyVerifier("acct", KEY)
    sent_headers = list(request.headers.items())
    auth = request.headers["Authorization"]
    assert verifier.verify(auth, method, "/" + path, query, sent_headers)
    # Any change to what was signed is detected.
    assert not verifier.verify(auth, method, "/" + path + "x", query, sent_headers)
    assert not verifier.verify(auth, method, "/" + path, query + "&maxresults=5", sent_headers)
    other = "PUT" if method != "PUT" else "GET"
    assert not verifier.verify(auth, other, "/" + path, query, sent_headers)
    tampered = [(k, v + "0" if k.lower() == "ocp-date" else v) for k, v in sent_headers]
    assert not verifier.verify(auth, method, "/" + path, query, tampered)
    wrong_key = SharedKeyVerifier("acct", base64.b64encode(b"another key").decode())
    assert not wrong_key.verify(auth, method, "/" + path, query, sent_headers)
    wrong_account = SharedKeyVerifier("other", KEY)
    assert not wrong_account.verify(auth, method, "/" + path, query, sent_headers)


def test_verifier_rejects_malformed_authorization() -> None:
    verifier = SharedKeyVerifier("acct", KEY)
    for header in ("", "SharedKey", "SharedKey acct", "Basic abc", "SharedKey acct:"):
        assert not verifier.verify(header, "GET", "/jobs", "api-version=1", [])


def test_verifier_needs_base64_key() -> None:
    with pytest.raises(ValueError, match="base64"):
        SharedKeyVerifier("acct", "not base64!!")


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultConfig(throttle_429=1.5)
    with pytest.raises(ValueError, match="unknown operation"):
        FaultConfig(operations=frozenset({"nope"}))
    with pytest.raises(ValueError, match="lifecycle"):
        EmulatorConfig(lifecycle="sometimes")  # type: ignore[arg-type]
    assert EmulatorConfig(lifecycle=2.5).lifecycle == 2.5
    assert not FaultConfig().any_active
    assert FaultConfig(latency_ms=1).any_active


def test_cli_help_lists_every_fault_flag() -> None:
    result = CliRunner().invoke(emulator_command, ["--help"])
    assert result.exit_code == 0
    for flag in config_to_args(EmulatorConfig(faults=FaultConfig(job_rate_limit=5))):
        if flag.startswith("--"):
            assert flag in result.output


def test_cli_rejects_bad_values() -> None:
    result = CliRunner().invoke(emulator_command, ["--lifecycle", "soon"])
    assert result.exit_code != 0
    assert "instant" in result.output
    result = CliRunner().invoke(emulator_command, ["--fault-operations", "bogus"])
    assert result.exit_code != 0
    assert "unknown operation" in result.output


def test_lifecycle_config_validation() -> None:
    assert EmulatorConfig().lifecycle == "auto"
    assert EmulatorConfig(active_seconds=2).active_seconds == (2.0, 2.0)
    with pytest.raises(ValueError, match="running_seconds"):
        EmulatorConfig(running_seconds=(3.0, 1.0))
    with pytest.raises(ValueError, match="active_seconds"):
        EmulatorConfig(active_seconds=-1.0)
    with pytest.raises(ValueError, match="not a regular expression"):
        EmulatorConfig(exit_code_rules=(("(", 1),))
    with pytest.raises(ValueError, match="32-bit"):
        EmulatorConfig(exit_code_rules=(("x", 2**40),))
    with pytest.raises(ValueError, match="between 0 and 1"):
        EmulatorConfig(failure_rate=2.0)
    with pytest.raises(ValueError, match="failure_exit_code"):
        EmulatorConfig(failure_exit_code=0)


@pytest.mark.parametrize(
    "config",
    [
        EmulatorConfig(),
        EmulatorConfig(lifecycle="manual"),
        EmulatorConfig(lifecycle=0.25),
        EmulatorConfig(
            active_seconds=(0.0, 2.5),
            running_seconds=4.0,
            exit_code_rules=(("a=b", 3), (r"^x\s+\d", -1)),
            failure_rate=0.125,
            failure_exit_code=9,
        ),
    ],
)
def test_lifecycle_flags_reproduce_the_config(config: EmulatorConfig) -> None:
    args = config_to_args(config)
    context = emulator_command.make_context("emulator", args)
    fields = lifecycle_fields(context.params)
    assert attrs.evolve(EmulatorConfig(), **fields) == config


def test_lifecycle_flags_refuse_bad_values() -> None:
    for args, text in (
        (["--active-seconds", "1:x"], "MIN:MAX"),
        (["--exit-code-rule", "nocode"], "REGEX=EXIT_CODE"),
        (["--exit-code-rule", "x=y"], "REGEX=EXIT_CODE"),
        (["--running-seconds", "3:1"], "running_seconds"),
    ):
        result = CliRunner().invoke(emulator_command, args)
        assert result.exit_code != 0, args
        assert text in result.output, (args, result.output)


def test_schedule_draws_are_fixed_by_seed_and_ids() -> None:
    schedule = Schedule(EmulatorConfig(running_seconds=(1.0, 3.0), failure_rate=0.5))
    first = [schedule.phase_seconds("j", f"t{i}", "running") for i in range(200)]
    assert all(1.0 <= x <= 3.0 for x in first)
    assert len(set(first)) == 200
    assert first == [schedule.phase_seconds("J", f"T{i}", "running") for i in range(200)]
    codes = [schedule.exit_code("j", f"t{i}", "echo") for i in range(200)]
    assert set(codes) == {0, 1}
    reseeded = Schedule(EmulatorConfig(failure_rate=0.5, faults=FaultConfig(seed=3)))
    assert codes != [reseeded.exit_code("j", f"t{i}", "echo") for i in range(200)]


def test_compact_schema_follows_refs_arrays_maps_enums_and_cycles() -> None:
    spec = {
        "definitions": {
            "Root": {
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "count": {"type": "integer", "format": "int32"},
                    "big": {"type": "integer", "format": "int64"},
                    "wait": {"type": "string", "format": "duration"},
                    "when": {"type": "string", "format": "date-time"},
                    "ratio": {"type": "number", "format": "double"},
                    "flag": {"type": "boolean"},
                    "mode": {"type": "string", "enum": ["fast", "slow"]},
                    "kids": {"type": "array", "items": {"$ref": "#/definitions/Root"}},
                    "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                    "level": {"$ref": "#/definitions/Level"},
                },
            },
            "Level": {"type": "string", "enum": ["low", "high"]},
            "Unused": {"properties": {}},
        }
    }
    schema = compact_schema(spec, roots=("Root",))
    assert schema == {
        "Level": {"enum": ["low", "high"]},
        "Root": {
            "properties": {
                "name": "string", "count": "int32", "big": "int64", "wait": "duration",
                "when": "date-time", "ratio": "double", "flag": "boolean",
                "mode": "#Root.mode", "kids": ["#Root"], "tags": {"map": "string"},
                "level": "#Level",
            },
            "required": ["name"],
        },
        "Root.mode": {"enum": ["fast", "slow"]},
    }  # fmt: skip
    with pytest.raises(ValueError, match="unsupported type"):
        compact_schema({"definitions": {"R": {"properties": {"x": {"type": "file"}}}}}, ("R",))


def test_the_shipped_schema_covers_the_bodies_the_emulator_checks() -> None:
    definitions = load_schema()["definitions"]
    for root in ("TaskAddParameter", "TaskUpdateParameter", "JobAddParameter"):
        assert root in definitions
    assert definitions["TaskConstraints"]["properties"]["maxTaskRetryCount"] == "int32"
    assert definitions["OutputFileUploadCondition"]["enum"] == [
        "tasksuccess", "taskfailure", "taskcompletion"
    ]  # fmt: skip
