"""The fault kinds the bulk engine must survive, on the wire: each does what its knob says,
is seeded and reproducible, and is reported honestly in ``/_emulator/stats``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
import httpx
import orjson
import pytest
from click.testing import CliRunner

from batch_tasks_async.emulator import (
    FAULT_PRESETS,
    GARBLE_KINDS,
    EmulatorConfig,
    FaultConfig,
    RunningEmulator,
    emulator_command,
)
from batch_tasks_async.emulator._fault_flags import (
    FAULT_FLAGS,
    fault_args,
    fault_options,
    faults_from_flags,
)

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

V = {"api-version": "2025-06-01"}
KNOWN_STATUSES = {"Success", "ClientError", "ServerError"}


def tasks(n: int, prefix: str = "t") -> dict[str, Any]:
    return {"value": [{"id": f"{prefix}{i}", "commandLine": "echo"} for i in range(n)]}


def start(factory: EmulatorFactory, **faults: Any) -> RunningEmulator:
    return factory(
        EmulatorConfig(jobs=("job-1",), shuffle_results=False, faults=FaultConfig(**faults))
    )


def add(client: httpx.Client, n: int, prefix: str = "t") -> httpx.Response:
    return client.post("/jobs/job-1/addtaskcollection", params=V, json=tasks(n, prefix))


def per_task(emulator: RunningEmulator) -> dict[str, Any]:
    with emulator.http_client() as client:
        snap: dict[str, Any] = client.get("/_emulator/stats", params={"per_task": "true"}).json()
    return snap


# -- garbled 2xx bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(GARBLE_KINDS))
def test_garbled_body_kinds(emulator_factory: EmulatorFactory, kind: str) -> None:
    emulator = start(emulator_factory, garbled_body=1.0, garbled_kinds={kind})
    with emulator.http_client() as client:
        # Only 2xx answers with a body are garbled: errors stay readable.
        missing = client.post("/jobs/nope/addtaskcollection", params=V, json=tasks(1))
        assert missing.status_code == 404
        assert orjson.loads(missing.content)["code"] == "JobNotFound"
        if kind == "cut_off":
            with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message"):
                add(client, 4)
        elif kind == "bad_encoding":
            with pytest.raises(httpx.DecodingError):
                add(client, 4)
        else:
            check_garbled(kind, add(client, 4))
        assert client.get("/jobs/job-1/tasks/t0", params=V).status_code == 200
    snap = per_task(emulator)
    # The tasks were committed although the answer could not be read.
    assert snap["task_commit_counts"] == {"job-1": {f"t{i}": 1 for i in range(4)}}
    assert snap["faults"] == {"garbled_body": 1, f"garbled_body.{kind}": 1}


def check_garbled(kind: str, r: httpx.Response) -> None:
    body = r.content
    if kind in ("no_content", "accepted"):
        assert r.status_code == (204 if kind == "no_content" else 202)
        assert body == b""
        return
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(body)
    assert r.headers["request-id"]
    if kind == "not_json":
        assert r.headers["content-type"].startswith("application/json")
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(body)
    elif kind == "truncated":
        assert body.startswith(b'{"odata.metadata":')
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(body)
    elif kind == "html":
        assert r.headers["content-type"].startswith("text/html")
        assert body.startswith(b"<!DOCTYPE html>")
    elif kind == "empty":
        assert body == b""
    elif kind == "value_not_list":
        value = orjson.loads(body)["value"]
        assert isinstance(value, dict)
        assert value["taskId"] == "t0"
    else:
        assert kind == "missing_status"
        entries = orjson.loads(body)["value"]
        assert [e["taskId"] for e in entries] == ["t0", "t1", "t2", "t3"]
        assert all("status" not in e and "eTag" in e for e in entries)


def test_shape_kinds_leave_other_bodies_alone(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            jobs=("job-1",),
            faults=FaultConfig(
                garbled_body=1.0,
                garbled_kinds={"value_not_list", "missing_status"},
                operations={"task_get"},
            ),
        )
    )
    with emulator.http_client() as client:
        client.post("/jobs/job-1/tasks", params=V, json={"id": "t", "commandLine": "echo"})
        got = client.get("/jobs/job-1/tasks/t", params=V)
    assert got.json()["id"] == "t"  # a single task has no "value" list to garble
    assert emulator.stats()["faults"] == {}


# -- add-collection entries ------------------------------------------------------------------------


def test_entries_left_out_by_pattern_every_time(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, omit_result_pattern=r"T[13]")  # ignoring case
    with emulator.http_client() as client:
        for attempt in range(3):
            entries = add(client, 5).json()["value"]
            ids = [e["taskId"] for e in entries]
            assert ids == ["t0", "t2", "t4"], attempt
            expected = "Success" if attempt == 0 else "ClientError"
            assert {e["status"] for e in entries} == {expected}
        # Left out of the answer, but there: committed once, on the first attempt.
        assert client.get("/jobs/job-1/tasks/t1", params=V).status_code == 200
    snap = per_task(emulator)
    assert snap["task_commit_counts"]["job-1"] == {f"t{i}": 1 for i in range(5)}
    assert snap["faults"] == {"omit_result": 6}
    assert snap["fault_tasks"] == {"omit_result": ["job-1/t1", "job-1/t3"]}


def test_entries_left_out_at_random_are_seeded(emulator_factory: EmulatorFactory) -> None:
    def omitted(seed: int) -> list[str]:
        emulator = start(emulator_factory, seed=seed, omit_result=0.3)
        with emulator.http_client() as client:
            returned = {e["taskId"] for e in add(client, 100).json()["value"]}
        snap = per_task(emulator)
        assert len(snap["task_commit_counts"]["job-1"]) == 100
        left_out = sorted({f"t{i}" for i in range(100)} - returned)
        assert snap["fault_tasks"]["omit_result"] == [f"job-1/{i}" for i in left_out]
        assert snap["faults"]["omit_result"] == len(left_out)
        return left_out

    first = omitted(3)
    assert 10 < len(first) < 50
    assert omitted(3) == first
    assert omitted(4) != first


def test_duplicate_entry_task_exists_then_success(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, duplicate_result=1.0)
    with emulator.http_client() as client:
        entries = add(client, 3).json()["value"]
        assert [e["taskId"] for e in entries] == ["t0", "t0", "t1", "t1", "t2", "t2"]
        for exists, success in zip(entries[::2], entries[1::2], strict=True):
            assert exists["status"] == "ClientError"
            assert exists["error"]["code"] == "TaskExists"
            assert exists["error@odata.navigationLinkUrl"].endswith(
                f"/jobs/job-1/tasks/{exists['taskId']}/error"
            )
            assert "eTag" not in exists
            assert success["status"] == "Success"
            assert success["eTag"].startswith("0x8D")
        # A genuine duplicate add is a single TaskExists entry (no success to double).
        again = add(client, 1).json()["value"]
        assert [(e["taskId"], e["status"]) for e in again] == [("t0", "ClientError")]
    snap = per_task(emulator)
    assert snap["task_commit_counts"]["job-1"] == {"t0": 1, "t1": 1, "t2": 1}
    assert snap["tasks_committed_more_than_once"] == 0
    assert snap["faults"] == {"duplicate_result": 3}


def test_unknown_status_keeps_the_real_outcome(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, seed=2, unknown_status=1.0)
    with emulator.http_client() as client:
        client.post("/jobs/job-1/tasks", params=V, json={"id": "t0", "commandLine": "echo"})
        entries = add(client, 6).json()["value"]
    statuses = [e["status"] for e in entries]
    assert not set(statuses) & KNOWN_STATUSES
    assert len(set(statuses)) > 1  # a seeded choice among the unknown values
    by_id = {e["taskId"]: e for e in entries}
    assert by_id["t0"]["error"]["code"] == "TaskExists"  # the entry still says what happened
    assert all("eTag" in by_id[f"t{i}"] for i in range(1, 6))
    snap = per_task(emulator)
    assert snap["task_commit_counts"]["job-1"] == {f"t{i}": 1 for i in range(6)}
    assert snap["faults"] == {"unknown_status": 6}


# -- drip-fed answers -----------------------------------------------------------------------------


def test_drip_fed_answer_arrives_one_byte_at_a_time(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, drip_feed=1.0, drip_interval=0.05)
    # A read timeout longer than the interval never fires: each byte beats it.
    timeout = httpx.Timeout(5.0, read=1.0)
    with emulator.http_client(timeout=timeout) as client:
        with client.stream("POST", "/jobs/job-1/addtaskcollection", params=V, json=tasks(2)) as r:
            assert r.status_code == 200
            length = int(r.headers["content-length"])
            chunks: list[bytes] = []
            for chunk in r.iter_raw():
                chunks.append(chunk)
                if sum(map(len, chunks)) >= 8:
                    break
        assert length > 100
        assert b"".join(chunks).startswith(b'{"odata.')
        assert len(chunks) >= 4, chunks  # sent a byte per write, not all at once
        # The emulator keeps serving once the client hung up on the drip.
        assert client.get("/jobs/job-1/tasks", params=V).status_code == 200
    snap = per_task(emulator)
    assert snap["task_commit_counts"]["job-1"] == {"t0": 1, "t1": 1}
    assert snap["faults"] == {"drip_feed": 1}


# -- poison tasks ------------------------------------------------------------------------------


def test_poison_task_fails_every_request_holding_it(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            jobs=("job-1",),
            faults=FaultConfig(
                poison_task_pattern="bad-.*",
                operations={"task_add", "task_add_collection", "task_get"},
            ),
        )
    )
    body = {"value": [{"id": "ok-1", "commandLine": "echo"}, {"id": "BAD-7", "commandLine": "x"}]}
    with emulator.http_client() as client:
        for _ in range(3):
            r = client.post("/jobs/job-1/addtaskcollection", params=V, json=body)
            assert r.status_code == 500
            assert r.json()["code"] == "InternalError"
        single = client.post(
            "/jobs/job-1/tasks", params=V, json={"id": "bad-1", "commandLine": "x"}
        )
        assert single.status_code == 500
        assert client.get("/jobs/job-1/tasks/bad-1", params=V).status_code == 500
        # Without the poison task the same request goes through; "bad" alone is no match.
        fine = {"value": [body["value"][0], {"id": "bad", "commandLine": "echo"}]}
        r = client.post("/jobs/job-1/addtaskcollection", params=V, json=fine)
        assert r.status_code == 200
        assert {e["status"] for e in r.json()["value"]} == {"Success"}
    snap = per_task(emulator)
    assert snap["task_commit_counts"] == {"job-1": {"ok-1": 1, "bad": 1}}
    assert snap["faults"] == {"poison_task": 5}
    assert snap["fault_tasks"] == {"poison_task": ["job-1/BAD-7", "job-1/bad-1"]}


# -- late commits -------------------------------------------------------------------------------


def test_commit_late_after_the_client_gave_up(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, commit_late=1.0, commit_late_seconds=1.5)
    with emulator.http_client(timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        add(client, 3)
    assert emulator.stats()["tasks_committed"] == 0, "not committed when the client gave up"
    deadline = time.monotonic() + 10
    while emulator.stats()["tasks_committed"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    snap = per_task(emulator)
    assert snap["task_commit_counts"] == {"job-1": {"t0": 1, "t1": 1, "t2": 1}}
    assert snap["faults"] == {"commit_late": 1}
    assert snap["fault_tasks"] == {"commit_late": ["job-1/t0", "job-1/t1", "job-1/t2"]}


def test_late_commit_after_a_retry_never_duplicates(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, seed=1, commit_late=0.5, commit_late_seconds=0.4)
    with emulator.http_client(timeout=0.1) as client:
        answers = []
        for _ in range(6):
            try:
                answers.append(add(client, 2).json()["value"])
            except httpx.ReadTimeout:
                answers.append(None)
    timeouts = answers.count(None)
    assert 0 < timeouts < 6
    # Every add of the two tasks ends as a commit or a TaskExists, late ones included.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        snap = per_task(emulator)
        if snap["tasks_committed"] + snap["duplicate_add_attempts"] == 2 * 6:
            break
        time.sleep(0.05)
    assert snap["faults"] == {"commit_late": timeouts}
    assert snap["task_commit_counts"] == {"job-1": {"t0": 1, "t1": 1}}
    assert snap["tasks_committed_more_than_once"] == 0
    assert snap["duplicate_add_attempts"] == 2 * 6 - 2


# -- Retry-After as any server might send it -------------------------------------------------------


@pytest.mark.parametrize("text", ["inf", "1e20", "-5", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_retry_after_text_is_sent_as_is(emulator_factory: EmulatorFactory, text: str) -> None:
    emulator = start(emulator_factory, throttle_429=1.0, retry_after_text=text)
    limited = start(emulator_factory, job_rate_limit=1.0, retry_after_text=text)
    with emulator.http_client() as client:
        r = add(client, 1)
    assert r.status_code == 429
    assert r.headers["retry-after"] == text
    with limited.http_client() as client:
        assert add(client, 1).status_code == 200  # one second of burst
        r = add(client, 5)
    assert r.status_code == 429
    assert r.headers["retry-after"] == text
    with pytest.raises(ValueError, match="one line"):
        FaultConfig(retry_after_text="1\r\nx-injected: yes")


# -- seeded, reproducible -----------------------------------------------------------------------


def test_every_new_kind_mixed_is_reproducible(emulator_factory: EmulatorFactory) -> None:
    knobs: dict[str, Any] = {
        "garbled_body": 0.2,
        "omit_result": 0.05,
        "duplicate_result": 0.05,
        "unknown_status": 0.05,
    }

    def run(seed: int) -> tuple[list[tuple[int, bytes]], dict[str, Any]]:
        emulator = emulator_factory(
            EmulatorConfig(jobs=("job-1",), faults=FaultConfig(seed=seed, **knobs))
        )
        seen = []
        with emulator.http_client() as client:
            for n in range(12):
                r = add(client, 10, prefix=f"r{n}-")
                try:
                    shape = orjson.dumps(
                        sorted((e["taskId"], e["status"]) for e in r.json()["value"])
                    )
                except (ValueError, KeyError, TypeError):
                    shape = r.headers.get("content-type", "").encode() + b":" + r.content[:20]
                seen.append((r.status_code, shape))
        snap = per_task(emulator)
        assert len(snap["task_commit_counts"]["job-1"]) == 120
        assert set(snap["task_commit_counts"]["job-1"].values()) == {1}
        return seen, {"faults": snap["faults"], "fault_tasks": snap["fault_tasks"]}

    first = run(21)
    assert first[1]["faults"]["garbled_body"] > 0
    assert run(21) == first
    assert run(22) != first


# -- presets and flags ---------------------------------------------------------------------------


def test_presets() -> None:
    chaos = FaultConfig.preset("chaos", seed=7)
    assert chaos.seed == 7
    assert (chaos.throttle_429, chaos.drop_after_commit, chaos.garbled_body) == (0.05, 0.03, 0.0)
    bench = FaultConfig.preset("benchmark")
    assert bench.retry_after == 1
    assert bench.task_server_error == 0.02
    hostile = FaultConfig.preset("hostile", drip_feed=0.0)
    assert hostile.garbled_body > 0
    assert hostile.commit_late > 0
    assert hostile.drip_feed == 0.0
    assert set(FAULT_PRESETS) == {"chaos", "benchmark", "hostile"}
    with pytest.raises(ValueError, match="unknown fault preset 'nope'"):
        FaultConfig.preset("nope")
    with pytest.raises(ValueError, match="regular expression"):
        FaultConfig(poison_task_pattern="(")
    with pytest.raises(ValueError, match="unknown kind"):
        FaultConfig(garbled_kinds={"gzip-bomb"})


def test_fault_flags_round_trip() -> None:
    seen: list[FaultConfig] = []

    @click.command()
    @fault_options(preset_aliases=[("--chaos", "chaos")])
    def probe() -> None:
        seen.append(faults_from_flags(click.get_current_context()))

    configs = [
        FaultConfig(),
        FaultConfig.preset("hostile", seed=9, poison_task_pattern="p-.*", job_rate_limit=50.0),
        FaultConfig(
            garbled_kinds={"html", "empty"},
            omit_result_pattern="x",
            rate_limit_status=503,
            retry_after_text="Wed, 21 Oct 2015 07:28:00 GMT",
        ),
    ]
    for config in configs:
        result = CliRunner().invoke(probe, fault_args(config))
        assert result.exit_code == 0, result.output
        assert seen.pop() == config
    result = CliRunner().invoke(probe, ["--chaos", "--throttle", "0.5"])
    assert result.exit_code == 0, result.output
    assert seen.pop() == FaultConfig.preset("chaos", throttle_429=0.5)
    both = CliRunner().invoke(probe, ["--chaos", "--faults-preset", "hostile"])
    assert both.exit_code == 2
    assert "one fault preset" in both.output
    bad = CliRunner().invoke(probe, ["--poison-task", "("])
    assert bad.exit_code == 2
    assert "regular expression" in bad.output


def test_demo_and_emulator_take_the_same_fault_flags() -> None:
    from batch_tasks_async.cli._demo import demo_command

    def names(command: click.Command) -> set[str]:
        return {name for param in command.params for name in param.opts}

    fault_names = {name for spec in FAULT_FLAGS for name in spec.names} | {"--faults-preset"}
    assert fault_names <= names(emulator_command)
    assert fault_names <= names(demo_command)
