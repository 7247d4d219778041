"""The emulator's Batch endpoints, in-process through ``httpx.ASGITransport``."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import formatdate
from typing import Any

import attrs
import httpx
import pytest

from batch_tasks_async.emulator import (
    ConnectionDroppedError,
    EmulatorConfig,
    FaultConfig,
    create_app,
)
from batch_tasks_async.emulator._auth import sign

pytestmark = pytest.mark.anyio

V = {"api-version": "2024-07-01.20.0"}
ETAG = re.compile(r"^0x8D[0-9A-F]{13}$")
ERROR_METADATA = (
    "http://emu/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element"
)


@asynccontextmanager
async def client_for(config: EmulatorConfig | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config or EmulatorConfig(jobs=("job-1",), lifecycle="manual"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as c:
        yield c


def tasks(n: int, prefix: str = "t", command: str = "echo hi") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "commandLine": command} for i in range(n)]


async def add_collection(
    client: httpx.AsyncClient, values: list[dict[str, Any]], job: str = "job-1"
) -> httpx.Response:
    return await client.post(f"/jobs/{job}/addtaskcollection", params=V, json={"value": values})


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json;odata=minimalmetadata"
    body: dict[str, Any] = response.json()
    assert body["odata.metadata"] == ERROR_METADATA
    assert body["code"] == code
    assert body["message"]["lang"] == "en-US"
    request_id = response.headers["request-id"]
    assert re.search(rf"\nRequestId:{request_id}\nTime:\d{{4}}-\d\d-\d\dT[\d:.]+Z$",
                     body["message"]["value"])  # fmt: skip
    return body


def values_of(body: dict[str, Any]) -> dict[str, str]:
    return {v["key"]: v["value"] for v in body.get("values", [])}


# -- add / get ------------------------------------------------------------------------------------


async def test_add_task_headers_and_get_defaults(client: httpx.AsyncClient) -> None:
    r = await client.post("/jobs/job-1/tasks", params=V, json={"id": "Task-A", "commandLine": "x"})
    assert r.status_code == 201
    assert r.content == b""
    assert ETAG.match(r.headers["etag"])
    assert r.headers["location"] == "http://emu/jobs/job-1/tasks/Task-A"
    assert r.headers["dataserviceid"] == "http://emu/jobs/job-1/tasks/Task-A"
    assert r.headers["dataserviceversion"] == "3.0"
    assert r.headers["last-modified"].endswith(" GMT")
    assert len(r.headers["request-id"]) == 36
    assert "client-request-id" not in r.headers

    g = await client.get("/jobs/job-1/tasks/task-a", params=V)
    assert g.status_code == 200
    assert g.headers["etag"] == r.headers["etag"]
    body = g.json()
    assert body["odata.metadata"] == "http://emu/$metadata#tasks/@Element"
    assert body["id"] == "Task-A"  # the case given is preserved
    assert body["url"] == "http://emu/jobs/job-1/tasks/Task-A"
    assert body["state"] == "active"
    assert body["userIdentity"] == {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}
    assert body["constraints"] == {
        "maxWallClockTime": "P10675199DT2H48M5.4775807S",
        "retentionTime": "P7D",
        "maxTaskRetryCount": 0,
    }
    assert body["requiredSlots"] == 1
    assert body["executionInfo"] == {"retryCount": 0, "requeueCount": 0}


async def test_add_task_errors(client: httpx.AsyncClient) -> None:
    await client.post("/jobs/job-1/tasks", params=V, json={"id": "dup", "commandLine": "x"})
    r = await client.post("/jobs/job-1/tasks", params=V, json={"id": "DUP", "commandLine": "x"})
    assert_error(r, 409, "TaskExists")
    r = await client.post("/jobs/nope/tasks", params=V, json={"id": "a", "commandLine": "x"})
    assert_error(r, 404, "JobNotFound")
    r = await client.post("/jobs/job-1/tasks", params=V, json={"id": "a" * 65, "commandLine": "x"})
    assert values_of(assert_error(r, 400, "InvalidPropertyValue"))["PropertyName"] == "id"
    r = await client.post("/jobs/job-1/tasks", params=V, json={"id": "a.b", "commandLine": "x"})
    assert_error(r, 400, "InvalidPropertyValue")
    r = await client.post("/jobs/job-1/tasks", params=V, json={"id": "ok"})
    body = assert_error(r, 400, "MissingRequiredProperty")
    assert values_of(body) == {"PropertyName": "commandLine"}
    r = await client.post(
        "/jobs/job-1/tasks",
        params=V,
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, "InvalidRequestBody")
    r = await client.get("/jobs/job-1/tasks/missing", params=V)
    assert_error(r, 404, "TaskNotFound")
    r = await client.get("/jobs/nope/tasks/missing", params=V)
    assert_error(r, 404, "JobNotFound")
    r = await client.patch("/jobs/job-1/tasks/dup", params=V)
    assert_error(r, 405, "UnsupportedHttpVerb")
    r = await client.get("/pools", params=V)
    assert_error(r, 404, "ResourceNotFound")


async def test_api_versions(client: httpx.AsyncClient) -> None:
    for version in ("2025-06-01", "2024-07-01.20.0", "2016-07-01.3.1", "2022-10-01.16.0"):
        r = await client.get("/jobs/job-1/tasks", params={"api-version": version})
        assert r.status_code == 200, version
    r = await client.get("/jobs/job-1/tasks")
    assert values_of(assert_error(r, 400, "MissingRequiredQueryParameter")) == {
        "QueryParameterName": "api-version"
    }
    r = await client.get("/jobs/job-1/tasks", params={"api-version": "2099-01-01.99.0"})
    vals = values_of(assert_error(r, 400, "UnsupportedRequestVersion"))
    assert vals["QueryParameterName"] == "api-version"
    r = await client.get("/jobs/job-1/tasks", params={**V, "timeout": "abc"})
    assert_error(r, 400, "InvalidQueryParameterValue")
    r = await client.get("/jobs/job-1/tasks", params={**V, "timeout": "90"})
    assert r.status_code == 200  # larger than 30 means 30


async def test_client_request_id_echoed_only_on_request(client: httpx.AsyncClient) -> None:
    crid = "9C4D50EE-2D56-4CD3-8152-34347DC9F2B0"
    r = await client.get(
        "/jobs/job-1/tasks",
        params=V,
        headers={"client-request-id": crid, "return-client-request-id": "true"},
    )
    assert r.headers["client-request-id"] == crid
    r = await client.get("/jobs/job-1/tasks", params=V, headers={"client-request-id": crid})
    assert "client-request-id" not in r.headers


# -- add collection -------------------------------------------------------------------------------


async def test_add_collection_results_unordered_and_complete(client: httpx.AsyncClient) -> None:
    values = tasks(100)
    r = await add_collection(client, values)
    assert r.status_code == 200
    body = r.json()
    assert body["odata.metadata"] == "http://emu/$metadata#taskaddresult"
    results = body["value"]
    returned = [x["taskId"] for x in results]
    assert sorted(returned) == sorted(t["id"] for t in values)
    assert returned != [t["id"] for t in values]  # not request order
    for result in results:
        assert result["status"] == "Success"
        assert ETAG.match(result["eTag"])
        assert result["location"] == f"http://emu/jobs/job-1/tasks/{result['taskId']}"
        assert result["lastModified"].endswith("Z")
    assert len({x["eTag"] for x in results}) == 100


async def test_add_collection_per_task_failures(client: httpx.AsyncClient) -> None:
    await client.post("/jobs/job-1/tasks", params=V, json={"id": "exists", "commandLine": "x"})
    values = [
        {"id": "Exists", "commandLine": "x"},
        {"id": "new", "commandLine": "x"},
        {"id": "NEW", "commandLine": "x"},
        {"id": "bad id!", "commandLine": "x"},
        {"id": "nocmd"},
    ]
    r = await add_collection(client, values)
    assert r.status_code == 200
    by_id = {x["taskId"]: x for x in r.json()["value"]}
    assert by_id["new"]["status"] == "Success"
    for task_id, code in [
        ("Exists", "TaskExists"),
        ("NEW", "TaskExists"),
        ("bad id!", "InvalidPropertyValue"),
        ("nocmd", "MissingRequiredProperty"),
    ]:
        entry = by_id[task_id]
        assert entry["status"] == "ClientError"
        assert entry["error"]["code"] == code
        assert entry["error"]["message"]["lang"] == "en-US"
        assert (
            entry["error@odata.navigationLinkUrl"] == f"http://emu/jobs/job-1/tasks/{task_id}/error"
        )
        assert "eTag" not in entry
    stats = client.app.state.store.stats.snapshot()  # type: ignore[attr-defined]
    assert stats["duplicate_add_attempts"] == 2
    assert stats["tasks_committed"] == 2


async def test_add_collection_lower_casing_and_request_order() -> None:
    config = EmulatorConfig(jobs=("job-1",), status_casing="lower", shuffle_results=False)
    async with client_for(config) as client:
        await add_collection(client, tasks(1))
        r = await add_collection(client, tasks(3))
        results = r.json()["value"]
        assert [x["taskId"] for x in results] == ["t0", "t1", "t2"]
        assert [x["status"] for x in results] == ["clienterror", "success", "success"]


async def test_add_collection_limits(client: httpx.AsyncClient) -> None:
    r = await add_collection(client, tasks(101))
    vals = values_of(assert_error(r, 400, "InvalidPropertyValue"))
    assert "100" in vals["Reason"]
    big = [{"id": "big", "commandLine": "x" * 1_048_600}]
    r = await add_collection(client, big)
    assert values_of(assert_error(r, 413, "RequestBodyTooLarge")) == {"MaxLimit": "1048576"}
    r = await client.post("/jobs/job-1/addtaskcollection", params=V, json={"values": []})
    assert_error(r, 400, "MissingRequiredProperty")
    r = await add_collection(client, tasks(1), job="nope")
    assert_error(r, 404, "JobNotFound")
    assert client.app.state.store.stats.tasks_committed == 0  # type: ignore[attr-defined]


async def test_body_limit_configurable() -> None:
    async with client_for(EmulatorConfig(jobs=("job-1",), max_body_bytes=2000)) as client:
        r = await add_collection(client, tasks(10))
        assert r.status_code == 200
        r = await add_collection(client, tasks(90, prefix="u"))
        assert values_of(assert_error(r, 413, "RequestBodyTooLarge")) == {"MaxLimit": "2000"}


# -- list -----------------------------------------------------------------------------------------


async def test_list_pages_follow_next_link(client: httpx.AsyncClient) -> None:
    ids = [f"Task{i:02d}" if i % 2 else f"task{i:02d}" for i in range(25)]
    await add_collection(client, [{"id": i, "commandLine": "x"} for i in ids])
    seen: list[str] = []
    url: str | None = "/jobs/job-1/tasks"
    params: dict[str, str] | None = {**V, "maxresults": "10"}
    pages = 0
    while url is not None:
        r = await client.get(url, params=params)
        assert r.status_code == 200
        body = r.json()
        assert body["odata.metadata"] == "http://emu/$metadata#tasks"
        assert list(body)[:2] == ["odata.metadata", "value"]
        seen += [t["id"] for t in body["value"]]
        url = body.get("odata.nextLink")
        if url is not None:
            assert url.startswith("http://emu/jobs/job-1/tasks?api-version=2024-07-01.20.0&")
            assert "$skiptoken=" in url
        params = None
        pages += 1
    assert pages == 3
    assert seen == sorted(ids, key=str.lower)


async def test_list_query_errors(client: httpx.AsyncClient) -> None:
    for name, value in [
        ("maxresults", "1001"),
        ("maxresults", "0"),
        ("$skiptoken", "garbage"),
        ("$filter", "nodeInfo/poolId eq 'x'"),
        ("$expand", "nodes"),
    ]:
        r = await client.get("/jobs/job-1/tasks", params={**V, name: value})
        vals = values_of(assert_error(r, 400, "InvalidQueryParameterValue"))
        assert vals["QueryParameterName"] == name
    r = await client.get("/jobs/nope/tasks", params=V)
    assert_error(r, 404, "JobNotFound")


async def test_list_filter_select_expand() -> None:
    async with client_for(EmulatorConfig(jobs=("job-1",), lifecycle="instant")) as client:
        values = tasks(3, "ok") + tasks(2, "fail", "/bin/sh -c 'exit 3'")
        await add_collection(client, values)
        r = await client.get(
            "/jobs/job-1/tasks",
            params={**V, "$filter": "executionInfo/exitCode eq 3", "$select": "id,state"},
        )
        assert r.json()["value"] == [
            {"id": "fail0", "state": "completed"},
            {"id": "fail1", "state": "completed"},
        ]
        r = await client.get(
            "/jobs/job-1/tasks",
            params={**V, "$filter": "state eq 'completed' and startswith(id, 'ok')",
                    "$expand": "stats", "maxresults": "2"},
        )  # fmt: skip
        body = r.json()
        assert [t["id"] for t in body["value"]] == ["ok0", "ok1"]
        assert all("stats" in t for t in body["value"])
        nxt = await client.get(body["odata.nextLink"])
        assert [t["id"] for t in nxt.json()["value"]] == ["ok2"]
        assert "odata.nextLink" not in nxt.json()
        r = await client.get("/jobs/job-1/tasks/ok0", params={**V, "$select": "id,executionInfo"})
        assert set(r.json()) == {"odata.metadata", "id", "executionInfo"}


# -- lifecycle, terminate, reactivate, update -----------------------------------------------------


async def test_manual_lifecycle_terminate_reactivate(client: httpx.AsyncClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    await add_collection(
        client,
        [
            {"id": "a", "commandLine": "x"},
            {"id": "ok", "commandLine": "echo"},
            {"id": "bad", "commandLine": "/bin/sh -c 'exit 3'"},
        ],
    )
    r = await client.post("/jobs/job-1/tasks/a/reactivate", params=V)
    assert_error(r, 409, "OperationInvalidForCurrentState")
    r = await client.post("/jobs/job-1/tasks/a/terminate", params=V)
    assert r.status_code == 204
    assert r.headers["dataserviceid"] == "http://emu/jobs/job-1/tasks/a/terminate"
    assert ETAG.match(r.headers["etag"])
    task = (await client.get("/jobs/job-1/tasks/a", params=V)).json()
    assert task["state"] == "completed"
    assert task["previousState"] == "active"
    assert task["executionInfo"]["failureInfo"]["code"] == "TaskEnded"
    assert task["executionInfo"]["result"] == "failure"
    r = await client.post("/jobs/job-1/tasks/a/terminate", params=V)
    assert_error(r, 409, "TaskCompleted")
    r = await client.post("/jobs/job-1/tasks/a/reactivate", params=V)
    assert r.status_code == 204
    task = (await client.get("/jobs/job-1/tasks/a", params=V)).json()
    assert task["state"] == "active"
    assert task["executionInfo"] == {"retryCount": 0, "requeueCount": 0}

    job = store.get_job("job-1")
    store.advance(job, job.tasks["ok"], "running")
    task = (await client.get("/jobs/job-1/tasks/ok", params=V)).json()
    assert task["state"] == "running"
    assert "startTime" in task["executionInfo"]
    store.advance(job, job.tasks["ok"], "completed")
    store.advance(job, job.tasks["bad"], "completed")
    ok = (await client.get("/jobs/job-1/tasks/ok", params=V)).json()
    assert ok["executionInfo"]["exitCode"] == 0
    assert ok["executionInfo"]["result"] == "success"
    r = await client.post("/jobs/job-1/tasks/ok/reactivate", params=V)
    assert_error(r, 409, "OperationInvalidForCurrentState")
    bad = (await client.get("/jobs/job-1/tasks/bad", params=V)).json()
    assert bad["executionInfo"]["exitCode"] == 3
    assert bad["executionInfo"]["failureInfo"]["code"] == "FailureExitCode"
    r = await client.get("/jobs/job-1/tasks", params={**V, "$filter": "state eq 'completed'"})
    assert [t["id"] for t in r.json()["value"]] == ["bad", "ok"]
    assert (await client.post("/jobs/job-1/tasks/bad/reactivate", params=V)).status_code == 204
    counts = (await client.get("/jobs/job-1/taskcounts", params=V)).json()
    assert counts["odata.metadata"] == "http://emu/$metadata#taskcountsresult/@Element"
    assert counts["taskCounts"] == {
        "active": 2, "running": 0, "completed": 1, "succeeded": 1, "failed": 0
    }  # fmt: skip


async def test_timed_lifecycle() -> None:
    async with client_for(EmulatorConfig(jobs=("job-1",), lifecycle=0.05)) as client:
        await add_collection(client, [{"id": "t", "commandLine": "exit 2"}])
        assert (await client.get("/jobs/job-1/tasks/t", params=V)).json()["state"] == "active"
        r = await client.post("/_emulator/clock", params={"advance": "0.12"})
        assert r.status_code == 200
        assert r.json()["now"].endswith("Z")
        task = (await client.get("/jobs/job-1/tasks/t", params=V)).json()
        assert task["state"] == "completed"
        assert task["previousState"] == "running"
        assert task["executionInfo"]["exitCode"] == 2


async def test_clock_refuses_bad_advances(client: httpx.AsyncClient) -> None:
    for bad in ("-1", "soon", "nan", "inf"):
        r = await client.post("/_emulator/clock", params={"advance": bad})
        assert r.status_code == 400, bad
        assert bad in r.json()["error"]


def counts_of(body: dict[str, Any]) -> tuple[int, ...]:
    c = body["taskCounts"]
    return (c["active"], c["running"], c["completed"], c["succeeded"], c["failed"])


async def test_default_lifecycle_runs_every_task_to_completion() -> None:
    """Added tasks read active, then run and complete by themselves within four seconds."""
    async with client_for(EmulatorConfig(jobs=("job-1",))) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        for start in range(0, 300, 100):
            await add_collection(client, tasks(100, prefix=f"t{start}-"))
        await add_collection(client, [{"id": "boom", "commandLine": "/bin/sh -c 'exit 7'"}])
        r = await client.get("/jobs/job-1/taskcounts", params=V)
        assert counts_of(r.json()) == (301, 0, 0, 0, 0)
        task = (await client.get("/jobs/job-1/tasks/boom", params=V)).json()
        assert task["state"] == "active"
        assert "startTime" not in task["executionInfo"]
        # An active task can be updated and terminated (the official clients' usual calls).
        r = await client.put("/jobs/job-1/tasks/t0-1", params=V, json={"constraints": {}})
        assert r.status_code == 200
        assert (await client.post("/jobs/job-1/tasks/t0-2/terminate", params=V)).status_code == 204

        store.advance_clock(1.0)  # every task has left active (0.5 to 1.0 s) but none ended
        r = await client.get("/jobs/job-1/taskcounts", params=V)
        assert counts_of(r.json()) == (0, 300, 1, 0, 1)
        listed = (await client.get("/jobs/job-1/tasks", params=V)).json()["value"]
        assert {t["state"] for t in listed if t["id"] != "t0-2"} == {"running"}
        assert all(t["nodeInfo"]["nodeId"] for t in listed if t["state"] == "running")

        store.advance_clock(3.0)  # 1.0 + 3.0: everything has completed
        r = await client.get("/jobs/job-1/taskcounts", params=V)
        assert counts_of(r.json()) == (0, 0, 301, 299, 2)
        task = (await client.get("/jobs/job-1/tasks/boom", params=V)).json()
        info = task["executionInfo"]
        assert (task["state"], info["exitCode"], info["result"]) == ("completed", 7, "failure")
        assert task["previousState"] == "running"
        start, end = info["startTime"], info["endTime"]
        assert task["creationTime"] < start < end == task["stateTransitionTime"]


async def test_default_lifecycle_spreads_completions() -> None:
    """Per-task times are drawn, so completions arrive over time, not all at once."""
    config = EmulatorConfig(jobs=("job-1",), active_seconds=0.0, running_seconds=(1.0, 9.0))
    async with client_for(config) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        await add_collection(client, tasks(100))
        seen = []
        for _ in range(4):
            store.advance_clock(2.0)
            r = await client.get("/jobs/job-1/taskcounts", params=V)
            seen.append(r.json()["taskCounts"]["completed"])
        assert seen == sorted(seen)
        assert 0 < seen[0] < seen[1] < seen[2] < 100
        assert seen[3] >= seen[2]


async def test_a_reactivated_task_runs_again() -> None:
    async with client_for(EmulatorConfig(jobs=("job-1",), active_seconds=0.1)) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        await add_collection(client, [{"id": "r", "commandLine": "exit 1"}])
        store.advance_clock(5.0)
        task = (await client.get("/jobs/job-1/tasks/r", params=V)).json()
        assert task["executionInfo"]["exitCode"] == 1
        assert (await client.post("/jobs/job-1/tasks/r/reactivate", params=V)).status_code == 204
        assert (await client.get("/jobs/job-1/tasks/r", params=V)).json()["state"] == "active"
        store.advance_clock(5.0)
        task = (await client.get("/jobs/job-1/tasks/r", params=V)).json()
        assert task["state"] == "completed"
        assert task["executionInfo"]["exitCode"] == 1


async def completed_exit_codes(
    config: EmulatorConfig, values: list[dict[str, Any]]
) -> dict[str, int]:
    async with client_for(config) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        for start in range(0, len(values), 100):
            await add_collection(client, values[start : start + 100])
        store.advance_clock(10.0)
        listed = (await client.get("/jobs/job-1/tasks", params=V)).json()["value"]
        assert {t["state"] for t in listed} == {"completed"}
        return {t["id"]: t["executionInfo"]["exitCode"] for t in listed}


async def test_exit_codes_from_rules_literal_exits_and_a_seeded_failure_rate() -> None:
    config = EmulatorConfig(
        jobs=("job-1",),
        exit_code_rules=((r"flaky", 3), (r"^python .*\.py$", 0)),
        failure_rate=0.25,
        failure_exit_code=42,
    )
    values = tasks(400, prefix="n")
    values += [
        {"id": "rule", "commandLine": "run flaky step; exit 9"},
        {"id": "literal", "commandLine": "cmd /c exit 5"},
        {"id": "py", "commandLine": "python job.py"},
    ]
    codes = await completed_exit_codes(config, values)
    assert (codes["rule"], codes["literal"], codes["py"]) == (3, 5, 0)
    failed = {task_id for task_id, code in codes.items() if task_id.startswith("n") and code}
    assert {codes[task_id] for task_id in failed} == {42}
    assert 60 <= len(failed) <= 140  # 25 % of 400, give or take
    # Same seed, same tasks: the same tasks fail, whatever order they are read in.
    again = await completed_exit_codes(config, list(reversed(values)))
    assert again == codes
    other = await completed_exit_codes(attrs.evolve(config, faults=FaultConfig(seed=1)), values)
    assert {t for t, code in other.items() if t.startswith("n") and code} != failed


async def test_update_with_if_match(client: httpx.AsyncClient) -> None:
    r = await client.post("/jobs/job-1/tasks", params=V, json={"id": "u", "commandLine": "x"})
    etag = r.headers["etag"]
    new = {
        "constraints": {"maxTaskRetryCount": 1, "maxWallClockTime": "PT1H", "retentionTime": "PT2H"}
    }
    r = await client.put(
        "/jobs/job-1/tasks/u", params=V, json=new, headers={"if-match": "0x8D0000000000000"}
    )
    assert_error(r, 412, "ConditionNotMet")
    r = await client.put("/jobs/job-1/tasks/u", params=V, json=new, headers={"if-match": etag})
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["etag"] != etag
    assert r.headers["dataserviceid"] == "http://emu/jobs/job-1/tasks/u"
    task = (await client.get("/jobs/job-1/tasks/u", params=V)).json()
    assert task["constraints"] == new["constraints"]
    assert task["eTag"] == r.headers["etag"]
    await client.post("/jobs/job-1/tasks/u/terminate", params=V)
    r = await client.put("/jobs/job-1/tasks/u", params=V, json=new)
    assert_error(r, 409, "TaskCompleted")


async def test_conditional_headers(client: httpx.AsyncClient) -> None:
    r = await client.post("/jobs/job-1/tasks", params=V, json={"id": "c", "commandLine": "x"})
    etag = r.headers["etag"]
    future = formatdate(time.time() + 3600, usegmt=True)
    past = formatdate(time.time() - 3600, usegmt=True)
    r = await client.get("/jobs/job-1/tasks/c", params=V, headers={"if-none-match": etag})
    assert r.status_code == 304
    r = await client.get("/jobs/job-1/tasks/c", params=V, headers={"if-none-match": "0x8D1"})
    assert r.status_code == 200
    r = await client.get("/jobs/job-1/tasks/c", params=V, headers={"if-modified-since": future})
    assert r.status_code == 304
    r = await client.get("/jobs/job-1/tasks/c", params=V, headers={"if-modified-since": past})
    assert r.status_code == 200
    r = await client.get("/jobs/job-1/tasks/c", params=V, headers={"if-match": "0x8D1"})
    assert_error(r, 412, "ConditionNotMet")
    r = await client.get("/jobs/job-1/tasks/c", params=V, headers={"if-modified-since": "junk"})
    assert_error(r, 400, "InvalidHeaderValue")
    for path in ("terminate", "reactivate"):
        r = await client.post(
            f"/jobs/job-1/tasks/c/{path}", params=V, headers={"if-match": "0x8D1"}
        )
        assert_error(r, 412, "ConditionNotMet")
    r = await client.delete("/jobs/job-1/tasks/c", params=V, headers={"if-unmodified-since": past})
    assert_error(r, 412, "ConditionNotMet")
    r = await client.delete("/jobs/job-1/tasks/c", params=V, headers={"if-none-match": etag})
    assert_error(r, 412, "ConditionNotMet")
    r = await client.delete("/jobs/job-1/tasks/c", params=V, headers={"if-match": f'"{etag}"'})
    assert r.status_code == 200
    assert "etag" not in r.headers
    assert_error(await client.get("/jobs/job-1/tasks/c", params=V), 404, "TaskNotFound")
    assert_error(await client.delete("/jobs/job-1/tasks/c", params=V), 404, "TaskNotFound")


async def test_subtasks(client: httpx.AsyncClient) -> None:
    await add_collection(
        client,
        [
            {
                "id": "mi",
                "commandLine": "x",
                "multiInstanceSettings": {"numberOfInstances": 3, "coordinationCommandLine": "c"},
            },
            {"id": "single", "commandLine": "x"},
        ],
    )
    r = await client.get("/jobs/job-1/tasks/mi/subtasksinfo", params=V)
    assert r.json() == {"odata.metadata": "http://emu/$metadata#subtaskinfo", "value": []}
    store = client.app.state.store  # type: ignore[attr-defined]
    job = store.get_job("job-1")
    store.advance(job, job.tasks["mi"], "completed")
    body = (await client.get("/jobs/job-1/tasks/mi/subtasksinfo", params=V)).json()
    assert [s["id"] for s in body["value"]] == [1, 2]
    assert all(s["state"] == "completed" and s["exitCode"] == 0 for s in body["value"])
    store.advance(job, job.tasks["single"], "completed")
    body = (await client.get("/jobs/job-1/tasks/single/subtasksinfo", params=V)).json()
    assert body["value"] == []
    assert_error(
        await client.get("/jobs/job-1/tasks/x/subtasksinfo", params=V), 404, "TaskNotFound"
    )


# -- jobs -----------------------------------------------------------------------------------------


async def test_job_api(client: httpx.AsyncClient) -> None:
    r = await client.post("/jobs", params=V, json={"id": "Job-2", "poolInfo": {"poolId": "p"}})
    assert r.status_code == 201
    assert r.headers["location"] == "http://emu/jobs/Job-2"
    again = {"id": "job-2", "poolInfo": {"poolId": "p"}}
    assert_error(await client.post("/jobs", params=V, json=again), 409, "JobExists")
    assert_error(
        await client.post("/jobs", params=V, json={"x": 1}), 400, "MissingRequiredProperty"
    )
    job = (await client.get("/jobs/job-2", params=V)).json()
    assert job["odata.metadata"] == "http://emu/$metadata#jobs/@Element"
    assert job["id"] == "Job-2"
    assert job["poolInfo"] == {"poolId": "p"}
    assert job["state"] == "active"
    listed = (await client.get("/jobs", params={**V, "maxresults": "1"})).json()
    assert [j["id"] for j in listed["value"]] == ["job-1"]
    second = (await client.get(listed["odata.nextLink"])).json()
    assert [j["id"] for j in second["value"]] == ["Job-2"]
    r = await client.delete("/jobs/job-2", params=V)
    assert r.status_code == 202
    assert_error(await client.get("/jobs/job-2", params=V), 404, "JobNotFound")
    assert_error(await client.delete("/jobs/job-2", params=V), 404, "JobNotFound")


# -- authentication -------------------------------------------------------------------------------

KEY = base64.b64encode(b"api-test-key-0123456789").decode()


def shared_key_headers(method: str, path: str, query: str, account: str = "acct") -> dict[str, str]:
    date = formatdate(usegmt=True)
    length = "0" if method not in ("GET", "HEAD") else ""
    string_to_sign = (
        f"{method}\n\n\n{length}\n\n\n\n\n\n\n\n\nocp-date:{date}\n/{account}{path}{query}"
    )
    signature = sign(base64.b64decode(KEY), string_to_sign)
    return {"ocp-date": date, "authorization": f"SharedKey {account}:{signature}"}


async def test_shared_key_and_bearer() -> None:
    config = EmulatorConfig(jobs=("job-1",), account_name="acct", account_key=KEY,
                            accept_bearer_token="secret-token")  # fmt: skip
    async with client_for(config) as client:
        path, query = "/jobs/job-1/tasks", "\napi-version:2024-07-01.20.0"
        r = await client.get(path, params=V, headers=shared_key_headers("GET", path, query))
        assert r.status_code == 200
        r = await client.get(path, params=V)
        vals = values_of(assert_error(r, 403, "AuthenticationFailed"))
        assert "Authorization" in vals["AuthenticationErrorDetail"]
        headers = shared_key_headers("GET", path, query)
        headers["ocp-date"] = formatdate(time.time() - 60, usegmt=True)  # tampered
        assert_error(await client.get(path, params=V, headers=headers), 403, "AuthenticationFailed")
        r = await client.get(
            path, params={**V, "maxresults": "5"}, headers=shared_key_headers("GET", path, query)
        )
        assert_error(r, 403, "AuthenticationFailed")
        r = await client.get(
            path, params=V, headers=shared_key_headers("GET", path, query, "other")
        )
        assert_error(r, 403, "AuthenticationFailed")
        r = await client.get(path, params=V, headers={"authorization": "Bearer secret-token"})
        assert r.status_code == 200
        r = await client.get(path, params=V, headers={"authorization": "Bearer wrong"})
        assert_error(r, 403, "AuthenticationFailed")
        # The control endpoints are not authenticated.
        assert (await client.get("/_emulator/stats")).status_code == 200
    async with client_for(attrs.evolve(config, accept_bearer_token="*")) as client:
        r = await client.get(path, params=V, headers={"authorization": "Bearer anything"})
        assert r.status_code == 200
    async with client_for(attrs.evolve(config, accept_bearer_token=None)) as client:
        r = await client.get(path, params=V, headers={"authorization": "Bearer anything"})
        assert_error(r, 403, "AuthenticationFailed")


# -- faults ---------------------------------------------------------------------------------------


def faulty(**kwargs: Any) -> EmulatorConfig:
    return EmulatorConfig(jobs=("job-1",), faults=FaultConfig(**kwargs))


@pytest.mark.parametrize(
    ("knob", "status", "code"),
    [
        ("throttle_429", 429, "TooManyRequests"),
        ("busy_503", 503, "ServerBusy"),
        ("internal_error_500", 500, "InternalError"),
    ],
)
async def test_whole_request_faults(knob: str, status: int, code: str) -> None:
    async with client_for(faulty(**{knob: 1.0}, retry_after=7)) as client:
        r = await add_collection(client, tasks(5))
        assert_error(r, status, code)
        if status != 500:
            assert r.headers["retry-after"] == "7"
        stats = client.app.state.store.stats.snapshot()  # type: ignore[attr-defined]
        assert stats["tasks_committed"] == 0
        assert stats["faults"] == {knob: 1}
        # Faults apply only to the configured operations.
        assert (await client.get("/jobs/job-1/tasks", params=V)).status_code == 200


async def test_drop_before_and_after_commit_in_process() -> None:
    async with client_for(faulty(drop_before_commit=1.0)) as client:
        with pytest.raises(ConnectionDroppedError):
            await add_collection(client, tasks(5))
        assert client.app.state.store.stats.tasks_committed == 0  # type: ignore[attr-defined]
    async with client_for(faulty(drop_after_commit=1.0)) as client:
        with pytest.raises(ConnectionDroppedError):
            await add_collection(client, tasks(5))
        assert client.app.state.store.stats.tasks_committed == 5  # type: ignore[attr-defined]


async def test_per_task_server_errors_are_not_committed() -> None:
    async with client_for(faulty(task_server_error=0.5, seed=3)) as client:
        r = await add_collection(client, tasks(100))
        results = r.json()["value"]
        failed = [x for x in results if x["status"] == "ServerError"]
        assert 20 < len(failed) < 80
        for entry in failed:
            assert entry["error"]["code"] == "ServerBusy"
            assert "error@odata.navigationLinkUrl" in entry
        stats = client.app.state.store.stats.snapshot()  # type: ignore[attr-defined]
        assert stats["tasks_committed"] == 100 - len(failed)
        assert stats["faults"]["task_server_error"] == len(failed)
        # A retry of exactly the failed ones commits them; nothing is committed twice.
        retry = [{"id": x["taskId"], "commandLine": "x"} for x in failed]
        r2 = await add_collection(client, retry)
        statuses = {x["status"] for x in r2.json()["value"]}
        assert statuses <= {"Success", "ServerError"}
        store = client.app.state.store  # type: ignore[attr-defined]
        assert store.stats.snapshot()["tasks_committed_more_than_once"] == 0


async def test_delay_after_commit_and_latency() -> None:
    async with client_for(faulty(delay_after_commit=1.0, delay_after_commit_seconds=0.2)) as client:
        start = time.monotonic()
        r = await add_collection(client, tasks(2))
        assert r.status_code == 200
        assert time.monotonic() - start >= 0.2
    async with client_for(faulty(latency_ms=100, operations=frozenset({"task_list"}))) as client:
        start = time.monotonic()
        await client.get("/jobs/job-1/tasks", params=V)
        assert time.monotonic() - start >= 0.1
        start = time.monotonic()
        await add_collection(client, tasks(2))
        assert time.monotonic() - start < 0.1


async def test_job_rate_limit() -> None:
    async with client_for(faulty(job_rate_limit=150)) as client:
        assert (await add_collection(client, tasks(100, "a"))).status_code == 200
        r = await add_collection(client, tasks(100, "b"))
        assert_error(r, 429, "TooManyRequests")
        assert int(r.headers["retry-after"]) >= 1
        assert client.app.state.store.stats.faults["job_rate_limit"] == 1  # type: ignore[attr-defined]
    async with client_for(faulty(job_rate_limit=50, rate_limit_status=503)) as client:
        assert (await add_collection(client, tasks(100, "a"))).status_code == 200
        assert_error(await add_collection(client, tasks(10, "b")), 503, "ServerBusy")


async def run_script(config: EmulatorConfig) -> list[Any]:
    """A fixed request sequence; returns what a client would observe."""
    seen: list[Any] = []
    async with client_for(config) as client:
        for n in range(8):
            r = await add_collection(client, tasks(20, prefix=f"r{n}-"))
            if r.status_code == 200:
                seen.append([(x["taskId"], x["status"]) for x in r.json()["value"]])
            else:
                seen.append(r.status_code)
    return seen


async def test_faults_are_seeded() -> None:
    knobs: dict[str, Any] = {"task_server_error": 0.2, "throttle_429": 0.2, "busy_503": 0.2}
    first = await run_script(faulty(seed=11, **knobs))
    again = await run_script(faulty(seed=11, **knobs))
    other = await run_script(faulty(seed=12, **knobs))
    assert first == again
    assert first != other
    assert 200 not in first


async def test_stats_and_reset(client: httpx.AsyncClient) -> None:
    await add_collection(client, tasks(3))
    await add_collection(client, tasks(3))
    await client.get("/jobs/job-1/tasks", params=V)
    stats = (await client.get("/_emulator/stats", params={"per_task": "true"})).json()
    assert stats["tasks_committed"] == 3
    assert stats["tasks_committed_per_job"] == {"job-1": 3}
    assert stats["duplicate_add_attempts"] == 3
    assert stats["requests"] == {"task_add_collection": 2, "task_list": 1}
    assert stats["task_commit_counts"] == {"job-1": {"t0": 1, "t1": 1, "t2": 1}}
    assert stats["tasks_committed_more_than_once"] == 0
    # Deleting and adding again counts a second commit of the same id.
    await client.delete("/jobs/job-1/tasks/t0", params=V)
    await add_collection(client, tasks(1))
    stats = (await client.get("/_emulator/stats")).json()
    assert stats["tasks_committed_more_than_once"] == 1
    assert stats["tasks_committed_more_than_once_sample"] == ["job-1/t0"]
    assert (await client.post("/_emulator/reset")).status_code == 204
    stats = (await client.get("/_emulator/stats")).json()
    assert stats["tasks_committed"] == 0
    assert (await client.get("/jobs/job-1/tasks", params=V)).json()["value"] == []
    r = await client.post("/_emulator/jobs/job-1/tasks/none/advance")
    assert r.status_code == 404


# -- task files -----------------------------------------------------------------------------------

FILE_TASK = {
    "id": "f",
    "commandLine": "/bin/sh -c 'echo hi; exit 3'",
    "resourceFiles": [
        {"httpUrl": "https://example.com/input.csv", "filePath": "data/input.csv"},
        {"storageContainerUrl": "https://acct.blob.core.windows.net/c", "filePath": "models"},
    ],
}


async def started_task(client: httpx.AsyncClient, body: dict[str, Any] = FILE_TASK) -> None:
    await add_collection(client, [body])
    store = client.app.state.store  # type: ignore[attr-defined]
    job = store.jobs["job-1"]
    store.advance(job, job.tasks[body["id"].lower()], "completed")


async def test_files_of_a_task_that_has_not_started_are_unavailable(
    client: httpx.AsyncClient,
) -> None:
    await add_collection(client, [FILE_TASK])
    r = await client.get("/jobs/job-1/tasks/f/files", params=V)
    assert_error(r, 409, "TaskFilesUnavailable")
    r = await client.get("/jobs/job-1/tasks/f/files/stdout.txt", params=V)
    assert_error(r, 409, "TaskFilesUnavailable")
    assert_error(await client.get("/jobs/job-1/tasks/nope/files", params=V), 404, "TaskNotFound")
    assert_error(await client.get("/jobs/nope/tasks/f/files", params=V), 404, "JobNotFound")


async def test_list_task_files_as_recorded(client: httpx.AsyncClient) -> None:
    await started_task(client)
    r = await client.get("/jobs/job-1/tasks/f/files", params=V)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json;odata=minimalmetadata"
    body = r.json()
    assert body["odata.metadata"] == "http://emu/$metadata#files"
    assert [f["name"] for f in body["value"]] == ["stderr.txt", "stdout.txt", "wd"]
    stdout = body["value"][1]
    assert stdout["url"] == "http://emu/jobs/job-1/tasks/f/files/stdout.txt"
    assert stdout["isDirectory"] is False
    props = stdout["properties"]
    assert set(props) == {"lastModified", "contentLength", "contentType", "fileMode"}
    assert props["contentType"] == "text/plain"
    assert props["fileMode"] == "0o100644"
    assert isinstance(props["contentLength"], str)
    assert int(props["contentLength"]) > 0
    assert body["value"][2] == {
        "name": "wd", "url": "http://emu/jobs/job-1/tasks/f/files/wd", "isDirectory": True
    }  # fmt: skip

    r = await client.get("/jobs/job-1/tasks/f/files", params={**V, "recursive": "True"})
    names = [f["name"] for f in r.json()["value"]]
    assert names == [
        "stderr.txt", "stdout.txt", "wd", "wd/data", "wd/data/input.csv", "wd/models"
    ]  # fmt: skip
    r = await client.get(
        "/jobs/job-1/tasks/f/files",
        params={**V, "recursive": "true", "$filter": "startswith(name, 'wd/d')"},
    )
    assert [f["name"] for f in r.json()["value"]] == ["wd/data", "wd/data/input.csv"]
    r = await client.get("/jobs/job-1/tasks/f/files", params={**V, "recursive": "maybe"})
    assert values_of(assert_error(r, 400, "InvalidQueryParameterValue"))["QueryParameterName"] == (
        "recursive"
    )
    r = await client.get("/jobs/job-1/tasks/f/files", params={**V, "$filter": "size gt 3"})
    assert_error(r, 400, "InvalidQueryParameterValue")


async def test_list_task_files_in_pages(client: httpx.AsyncClient) -> None:
    await started_task(client)
    names: list[str] = []
    url: str | None = "/jobs/job-1/tasks/f/files"
    params: dict[str, str] | None = {**V, "recursive": "true", "maxresults": "2"}
    while url is not None:
        body = (await client.get(url, params=params)).json()
        assert len(body["value"]) <= 2
        names += [f["name"] for f in body["value"]]
        url, params = body.get("odata.nextLink"), None
    assert len(names) == 6 == len(set(names))


async def test_get_task_file_content_headers_and_range(client: httpx.AsyncClient) -> None:
    await started_task(client)
    r = await client.get("/jobs/job-1/tasks/f/files/stdout.txt", params=V)
    assert r.status_code == 200
    text = r.text
    assert "echo hi; exit 3" in text
    assert "exit code 3" in text
    assert r.headers["content-type"] == "text/plain"
    assert r.headers["ocp-batch-file-isdirectory"] == "False"
    assert r.headers["ocp-batch-file-mode"] == "0o100644"
    assert r.headers["ocp-batch-file-url"] == (
        "http%3A%2F%2Femu%2Fjobs%2Fjob-1%2Ftasks%2Ff%2Ffiles%2Fstdout.txt"
    )
    task = (await client.get("/jobs/job-1/tasks/f", params=V)).json()
    end = task["executionInfo"]["endTime"]
    last_modified = r.headers["last-modified"]
    assert formatdate(time.mktime(time.strptime(end[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone,
                      usegmt=True) == last_modified  # fmt: skip
    stderr = await client.get("/jobs/job-1/tasks/f/files/stderr.txt", params=V)
    assert "exit code 3" in stderr.text

    data = r.content
    for header, expected in (
        ("bytes=0-4", data[0:5]),
        ("bytes=5-", data[5:]),
        ("bytes=-6", data[-6:]),
        (f"bytes=3-{len(data) + 100}", data[3:]),
    ):
        part = await client.get(
            "/jobs/job-1/tasks/f/files/stdout.txt", params=V, headers={"ocp-range": header}
        )
        assert part.status_code == 200, header
        assert part.content == expected, header
    r = await client.get(
        "/jobs/job-1/tasks/f/files/stdout.txt",
        params=V,
        headers={"ocp-range": f"bytes={len(data)}-"},
    )
    assert_error(r, 416, "InvalidRange")
    r = await client.get(
        "/jobs/job-1/tasks/f/files/stdout.txt", params=V, headers={"ocp-range": "lines=1-2"}
    )
    assert values_of(assert_error(r, 400, "InvalidHeaderValue"))["HeaderName"] == "ocp-range"
    r = await client.get(
        "/jobs/job-1/tasks/f/files/stdout.txt",
        params=V,
        headers={"if-modified-since": last_modified},
    )
    assert r.status_code == 304


async def test_task_file_properties_and_backslash_paths(client: httpx.AsyncClient) -> None:
    await started_task(client)
    r = await client.head("/jobs/job-1/tasks/f/files/stdout.txt", params=V)
    assert r.status_code == 200
    assert r.content == b""
    size = len((await client.get("/jobs/job-1/tasks/f/files/stdout.txt", params=V)).content)
    assert r.headers["content-length"] == str(size)
    assert r.headers["content-type"] == "text/plain"
    assert r.headers["ocp-batch-file-isdirectory"] == "False"
    assert "last-modified" in r.headers
    assert "request-id" in r.headers
    r = await client.head("/jobs/job-1/tasks/f/files/wd%5Cdata%5Cinput.csv", params=V)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["ocp-batch-file-url"].endswith("files%2Fwd%2Fdata%2Finput.csv")
    r = await client.head("/jobs/job-1/tasks/f/files/wd", params=V)
    assert r.headers["ocp-batch-file-isdirectory"] == "True"
    r = await client.head("/jobs/job-1/tasks/f/files/nothing.txt", params=V)
    assert r.status_code == 404
    r = await client.get("/jobs/job-1/tasks/f/files/..%2F..%2Fetc%2Fpasswd", params=V)
    assert_error(r, 404, "FileNotFound")
    r = await client.head("/jobs/job-1/tasks/f/files/wd%09askOut.txt", params=V)
    assert r.status_code == 400
    assert r.headers["content-type"] == "text/html; charset=us-ascii"
    assert r.headers["content-length"] == "324"


async def test_delete_task_files(client: httpx.AsyncClient) -> None:
    await started_task(client)
    r = await client.delete("/jobs/job-1/tasks/f/files/stderr.txt", params=V)
    assert r.status_code == 200
    assert r.content == b""
    assert (await client.head("/jobs/job-1/tasks/f/files/stderr.txt", params=V)).status_code == 404
    r = await client.delete("/jobs/job-1/tasks/f/files/stderr.txt", params=V)
    assert_error(r, 404, "FileNotFound")
    r = await client.delete("/jobs/job-1/tasks/f/files/wd", params=V)
    assert_error(r, 409, "OperationInvalidForCurrentState")
    r = await client.delete("/jobs/job-1/tasks/f/files/wd", params={**V, "recursive": "true"})
    assert r.status_code == 200
    r = await client.get("/jobs/job-1/tasks/f/files", params={**V, "recursive": "true"})
    assert [f["name"] for f in r.json()["value"]] == ["stdout.txt"]
    stats = (await client.get("/_emulator/stats")).json()["requests"]
    assert stats["file_delete"] == 4
    assert stats["file_get_properties"] == 1


async def test_a_reactivated_task_gets_fresh_files(client: httpx.AsyncClient) -> None:
    await started_task(client)
    await client.delete("/jobs/job-1/tasks/f/files/stdout.txt", params=V)
    assert (await client.post("/jobs/job-1/tasks/f/reactivate", params=V)).status_code == 204
    r = await client.get("/jobs/job-1/tasks/f/files", params=V)
    assert_error(r, 409, "TaskFilesUnavailable")
    store = client.app.state.store  # type: ignore[attr-defined]
    job = store.jobs["job-1"]
    store.advance(job, job.tasks["f"], "running")
    r = await client.get("/jobs/job-1/tasks/f/files/stdout.txt", params=V)
    assert r.status_code == 200
    assert "started" in r.text
    assert "completed" not in r.text


# -- validation like the service ------------------------------------------------------------------


def collection_error(response: httpx.Response) -> dict[str, Any]:
    """The one ClientError result of a one-task add-collection request."""
    assert response.status_code == 200, response.text
    (result,) = response.json()["value"]
    assert result["status"] == "ClientError", result
    error: dict[str, Any] = result["error"]
    return error


async def test_a_bad_resource_file_url_is_refused_as_recorded(client: httpx.AsyncClient) -> None:
    task = {
        "id": "1",
        "commandLine": "x",
        "resourceFiles": [{"httpUrl": "fake.url", "filePath": "f"}],
    }
    error = collection_error(await add_collection(client, [task]))
    assert error["code"] == "InvalidPropertyValue"
    assert values_of(error) == {
        "PropertyName": "httpUrl",
        "PropertyValue": "fake.url",
        "Reason": "The specified HttpUrl is not a valid URI",
    }
    assert list(client.app.state.store.jobs["job-1"].tasks) == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "code", "expected"),
    [
        ({"constraints": {"maxTaskRetryCount": "4"}}, "InvalidPropertyValue",
         {"PropertyName": "maxTaskRetryCount", "PropertyValue": "4"}),
        ({"constraints": {"maxWallClockTime": "one hour"}}, "InvalidPropertyValue",
         {"PropertyName": "maxWallClockTime", "PropertyValue": "one hour"}),
        ({"constraints": {"maxTaskRetryCount": -2}}, "InvalidPropertyValue",
         {"PropertyName": "maxTaskRetryCount", "PropertyValue": "-2"}),
        ({"constraints": 5}, "InvalidPropertyValue", {"PropertyName": "constraints"}),
        ({"requiredSlots": "2"}, "InvalidPropertyValue", {"PropertyName": "requiredSlots"}),
        ({"requiredSlots": 2**31}, "InvalidPropertyValue", {"PropertyName": "requiredSlots"}),
        ({"requiredSlots": True}, "InvalidPropertyValue", {"PropertyName": "requiredSlots"}),
        ({"requiredSlots": 0}, "InvalidPropertyValue", {"PropertyName": "requiredSlots"}),
        ({"displayName": 7}, "InvalidPropertyValue", {"PropertyName": "displayName"}),
        ({"resourceFiles": {"httpUrl": "https://x/y"}}, "InvalidPropertyValue",
         {"PropertyName": "resourceFiles"}),
        ({"resourceFiles": [{"filePath": "f"}]}, "InvalidPropertyValue",
         {"PropertyName": "resourceFiles"}),
        ({"resourceFiles": [{"httpUrl": "https://x/y", "autoStorageContainerName": "c"}]},
         "InvalidPropertyValue", {"PropertyName": "resourceFiles"}),
        ({"resourceFiles": [{"storageContainerUrl": "ftp://x/c"}]}, "InvalidPropertyValue",
         {"PropertyName": "storageContainerUrl",
          "Reason": "The specified StorageContainerUrl is not a valid URI"}),
        ({"outputFiles": [{"filePattern": "*.txt", "destination": {"container": {
            "containerUrl": "https://a/c"}}, "uploadOptions": {"uploadCondition": "sometimes"}}]},
         "InvalidPropertyValue", {"PropertyName": "uploadCondition", "PropertyValue": "sometimes"}),
        ({"outputFiles": [{"filePattern": "*.txt", "uploadOptions": {
            "uploadCondition": "taskSuccess"}}]},
         "MissingRequiredProperty", {"PropertyName": "destination"}),
        ({"userIdentity": {"autoUser": {"elevationLevel": "root"}}}, "InvalidPropertyValue",
         {"PropertyName": "elevationLevel", "PropertyValue": "root"}),
        ({"multiInstanceSettings": {"numberOfInstances": 3}}, "MissingRequiredProperty",
         {"PropertyName": "coordinationCommandLine"}),
        ({"multiInstanceSettings": {"numberOfInstances": 0, "coordinationCommandLine": "c"}},
         "InvalidPropertyValue", {"PropertyName": "numberOfInstances"}),
        ({"dependsOn": {"taskIds": ["a"]}}, "TaskDependenciesNotSpecifiedOnJob", {}),
        ({"environmentSettings": [{"value": "v"}]}, "MissingRequiredProperty",
         {"PropertyName": "name"}),
    ],
)  # fmt: skip
async def test_task_bodies_the_service_refuses(
    client: httpx.AsyncClient, extra: dict[str, Any], code: str, expected: dict[str, str]
) -> None:
    task = {"id": "v", "commandLine": "x", **extra}
    r = await client.post("/jobs/job-1/tasks", params=V, json=task)
    values = values_of(assert_error(r, 400, code))
    assert {k: values[k] for k in expected} == expected
    error = collection_error(await add_collection(client, [task]))
    assert error["code"] == code
    assert values_of(error) == values
    assert client.app.state.store.stats.tasks_committed == 0  # type: ignore[attr-defined]


async def test_enum_values_are_stored_in_the_services_casing(client: httpx.AsyncClient) -> None:
    task = {
        "id": "e",
        "commandLine": "x",
        "userIdentity": {"autoUser": {"scope": "TASK", "elevationLevel": "Admin"}},
        "outputFiles": [
            {
                "filePattern": "../std*.txt",
                "destination": {"container": {"containerUrl": "https://a.blob/c?sas"}},
                "uploadOptions": {"uploadCondition": "tasksuccess"},
            }
        ],
        "exitConditions": {"default": {"jobAction": "Terminate", "dependencyAction": "BLOCK"}},
        "containerSettings": {
            "imageName": "ubuntu",
            "workingDirectory": "CONTAINERIMAGEDEFAULT",
            "containerHostBatchBindMounts": [{"source": "task", "isReadOnly": True}],
        },
    }
    assert (await client.post("/jobs/job-1/tasks", params=V, json=task)).status_code == 201
    got = (await client.get("/jobs/job-1/tasks/e", params=V)).json()
    assert got["userIdentity"] == {"autoUser": {"scope": "task", "elevationLevel": "admin"}}
    assert got["outputFiles"][0]["uploadOptions"] == {"uploadCondition": "TaskSuccess"}
    assert got["exitConditions"]["default"] == {
        "jobAction": "terminate",
        "dependencyAction": "block",
    }
    settings = got["containerSettings"]
    assert settings["workingDirectory"] == "containerImageDefault"
    assert settings["containerHostBatchBindMounts"] == [{"source": "Task", "isReadOnly": True}]
    r = await client.put(
        "/jobs/job-1/tasks/e", params=V, json={"constraints": {"maxTaskRetryCount": "4"}}
    )
    assert values_of(assert_error(r, 400, "InvalidPropertyValue"))["PropertyName"] == (
        "maxTaskRetryCount"
    )
    r = await client.put(
        "/jobs/job-1/tasks/e", params=V, json={"constraints": {"retentionTime": "P1DT"}}
    )
    assert values_of(assert_error(r, 400, "InvalidPropertyValue"))["PropertyName"] == (
        "retentionTime"
    )


async def test_dependencies_need_a_job_that_uses_them(client: httpx.AsyncClient) -> None:
    job = {"id": "deps", "poolInfo": {"poolId": "p"}, "usesTaskDependencies": True}
    assert (await client.post("/jobs", params=V, json=job)).status_code == 201
    task = {"id": "b", "commandLine": "x", "dependsOn": {"taskIds": ["a"], "taskIdRanges": []}}
    r = await add_collection(client, [task], job="deps")
    assert r.json()["value"][0]["status"] == "Success"
    bad_range = {
        "id": "c",
        "commandLine": "x",
        "dependsOn": {"taskIdRanges": [{"start": 9, "end": 1}]},
    }
    error = collection_error(await add_collection(client, [bad_range], job="deps"))
    assert values_of(error)["PropertyName"] == "taskIdRanges"
    bad_id = {"id": "d", "commandLine": "x", "dependsOn": {"taskIds": ["no spaces"]}}
    error = collection_error(await add_collection(client, [bad_id], job="deps"))
    assert values_of(error)["PropertyName"] == "taskIds"
    too_long = {"id": "e", "commandLine": "x", "dependsOn": {"taskIds": ["t" * 64] * 1001}}
    r = await client.post("/jobs/deps/tasks", params=V, json=too_long)
    assert_error(r, 400, "TaskDependencyListTooLong")


async def test_job_bodies_are_checked_too(client: httpx.AsyncClient) -> None:
    r = await client.post("/jobs", params=V, json={"id": "j"})
    assert values_of(assert_error(r, 400, "MissingRequiredProperty")) == {
        "PropertyName": "poolInfo"
    }
    r = await client.post(
        "/jobs", params=V, json={"id": "j", "poolInfo": {}, "usesTaskDependencies": "yes"}
    )
    assert values_of(assert_error(r, 400, "InvalidPropertyValue"))["PropertyName"] == (
        "usesTaskDependencies"
    )
    r = await client.post(
        "/jobs", params=V, json={"id": "j", "poolInfo": {}, "onAllTasksComplete": "terminateJob"}
    )
    assert r.status_code == 201
    got = (await client.get("/jobs/j", params=V)).json()
    assert got["onAllTasksComplete"] == "terminatejob"
