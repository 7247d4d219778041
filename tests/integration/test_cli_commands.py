"""The ``batch-tasks`` command line against a running emulator (click's ``CliRunner``)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from batch_tasks_async import BatchClient, SharedKeyCredential
from batch_tasks_async.cli import cli
from batch_tasks_async.cli._connection import ENVIRONMENT_VARIABLES
from batch_tasks_async.emulator import EmulatorConfig, FaultConfig, RunningEmulator

#: The ``emulator_factory`` fixture of ``conftest.py``: starts an emulator from a config.
EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

ACCOUNT_NAME = "cliaccount"
ACCOUNT_KEY = base64.b64encode(b"cli-test-key-0123456789abcdef").decode()


def run(emulator: RunningEmulator, args: list[str], stdin: bytes | None = None) -> Result:
    """Invoke ``batch-tasks`` with the emulator's settings in the environment."""
    env = {
        "BATCH_ACCOUNT_URL": emulator.url,
        "BATCH_ACCOUNT_NAME": emulator.account_name,
        "BATCH_ACCOUNT_KEY": emulator.account_key,
    }
    return CliRunner().invoke(cli, args, input=stdin, env=env, catch_exceptions=False)


def add_tasks(emulator: RunningEmulator, job_id: str, *tasks: dict[str, Any]) -> None:
    """Add tasks through the SDK (setup for the commands under test)."""

    async def main() -> None:
        credential = (
            SharedKeyCredential(emulator.account_name, emulator.account_key)
            if emulator.account_key
            else None
        )
        async with BatchClient(emulator.url, credential) as client:
            for task in tasks:
                await client.task.add(job_id, task)

    asyncio.run(main())


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def problems(path: Path) -> list[dict[str, Any]]:
    """The report's entries for tasks or lines that did not end in the job."""
    return [e for e in jsonl(path) if e["status"] not in ("added", "existed", "summary")]


def task_lines(ids: range, prefix: str = "t") -> list[str]:
    return [json.dumps({"id": f"{prefix}{i}", "commandLine": f"echo {i}"}) for i in ids]


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# -- list / get / update / delete / terminate / reactivate / subtasks ------------------------


def test_list_table_and_jsonl(emulator: RunningEmulator) -> None:
    add_tasks(
        emulator,
        "job-1",
        {"id": "a", "commandLine": "/bin/sh -c 'exit 0'"},
        {"id": "b", "commandLine": "/bin/sh -c 'exit 3'"},
    )
    table = run(emulator, ["list", "job-1"])
    assert table.exit_code == 0, table.output
    assert "completed" in table.stdout
    assert "/bin/sh -c 'exit 3'" in table.stdout
    assert "2 task(s)" in table.stderr

    lines = run(emulator, ["list", "job-1", "-o", "jsonl", "--select", "id,state"])
    assert lines.exit_code == 0
    assert [json.loads(line) for line in lines.stdout.splitlines()] == [
        {"id": "a", "state": "completed"},
        {"id": "b", "state": "completed"},
    ]


def test_list_follows_pages_filters_and_limits(emulator: RunningEmulator) -> None:
    add_tasks(
        emulator,
        "job-1",
        *({"id": f"t{i}", "commandLine": f"/bin/sh -c 'exit {i % 2}'"} for i in range(7)),
    )
    every = run(emulator, ["list", "job-1", "--max-results", "2", "-o", "jsonl", "--select", "id"])
    assert [json.loads(x)["id"] for x in every.stdout.splitlines()] == [f"t{i}" for i in range(7)]
    limited = run(emulator, ["list", "job-1", "--max-results", "2", "--limit", "3", "-o", "jsonl"])
    assert len(limited.stdout.splitlines()) == 3
    failed = run(
        emulator,
        ["list", "job-1", "--filter", "executionInfo/exitCode eq 1", "-o", "jsonl"],
    )
    assert failed.exit_code == 0, failed.output
    assert {json.loads(x)["id"] for x in failed.stdout.splitlines()} == {"t1", "t3", "t5"}


def test_get_prints_the_task_as_json(emulator: RunningEmulator) -> None:
    add_tasks(emulator, "job-1", {"id": "g1", "commandLine": "echo hi"})
    result = run(emulator, ["get", "job-1", "g1"])
    assert result.exit_code == 0
    task = json.loads(result.stdout)
    assert task["id"] == "g1"
    assert task["commandLine"] == "echo hi"
    assert task["state"] == "completed"


def test_get_missing_task_prints_code_message_and_request_id(emulator: RunningEmulator) -> None:
    result = run(emulator, ["get", "job-1", "nope"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: TaskNotFound (HTTP 404): The specified task")
    assert "request-id " in result.stderr
    assert "Traceback" not in result.output


def test_update_delete_terminate_reactivate(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=("j",), lifecycle="manual"
        )
    )
    add_tasks(
        emulator,
        "j",
        {"id": "u", "commandLine": "echo"},
        {"id": "f", "commandLine": "/bin/sh -c 'exit 2'"},
    )
    updated = run(
        emulator, ["update", "j", "u", "--max-task-retry-count", "4", "--retention-time", "PT1H"]
    )
    assert updated.exit_code == 0, updated.output
    assert "updated task 'u' of job 'j'" in updated.stderr
    assert updated.stdout == ""
    task = json.loads(run(emulator, ["get", "j", "u"]).stdout)
    assert task["constraints"]["maxTaskRetryCount"] == 4
    assert task["constraints"]["retentionTime"] == "PT1H"

    # One option given: the other constraints are kept (read, merge, conditional PUT).
    merged = run(emulator, ["update", "--job-id", "j", "u", "--max-wall-clock-time", "2h"])
    assert merged.exit_code == 0, merged.output
    constraints = json.loads(run(emulator, ["get", "j", "u"]).stdout)["constraints"]
    assert constraints["maxWallClockTime"] == "PT2H"
    assert constraints["maxTaskRetryCount"] == 4
    assert constraints["retentionTime"] == "PT1H"
    # --replace: the REST semantics, the others reset to their defaults.
    replaced = run(emulator, ["update", "j", "u", "--max-task-retry-count", "1", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    constraints = json.loads(run(emulator, ["get", "j", "u"]).stdout)["constraints"]
    assert constraints["maxTaskRetryCount"] == 1
    assert constraints["retentionTime"] != "PT1H"
    bad = run(emulator, ["update", "j", "u", "--max-wall-clock-time", "2 hours"])
    assert bad.exit_code == 2
    assert "'--max-wall-clock-time'" in bad.stderr
    assert "ISO 8601 (PT2H)" in bad.stderr

    terminated = run(emulator, ["terminate", "j", "u"])
    assert terminated.exit_code == 0, terminated.output
    assert json.loads(run(emulator, ["get", "j", "u"]).stdout)["state"] == "completed"
    again = run(emulator, ["terminate", "j", "u"])
    assert again.exit_code == 1
    assert "TaskCompleted (HTTP 409)" in again.stderr

    emulator.advance_task("j", "f", "completed")
    reactivated = run(emulator, ["reactivate", "j", "f"])
    assert reactivated.exit_code == 0, reactivated.output
    assert json.loads(run(emulator, ["get", "j", "f"]).stdout)["state"] == "active"

    declined = run(emulator, ["delete", "j", "u"], stdin=b"n\n")
    assert declined.exit_code == 1
    assert "delete task 'u' of job 'j'?" in declined.stderr
    assert emulator.task_ids("j") == ["f", "u"]
    deleted = run(emulator, ["delete", "j", "u"], stdin=b"y\n")
    assert deleted.exit_code == 0, deleted.output
    assert emulator.task_ids("j") == ["f"]
    run(emulator, ["create", "j", "--task-id", "u2", "--command-line", "echo"])
    quiet = run(emulator, ["delete", "--job-id", "j", "--task-id", "u2", "--yes", "-o", "json"])
    assert quiet.exit_code == 0, quiet.output
    assert json.loads(quiet.stdout)["action"] == "deleted"
    assert emulator.task_ids("j") == ["f"]


def test_if_match_is_sent(emulator: RunningEmulator) -> None:
    add_tasks(emulator, "job-1", {"id": "m", "commandLine": "echo"})
    result = run(emulator, ["delete", "job-1", "m", "--if-match", '"0xDEADBEEF"', "--yes"])
    assert result.exit_code == 1
    assert "(HTTP 412)" in result.stderr
    assert emulator.task_ids("job-1") == ["m"]


def test_subtasks_of_a_multi_instance_task(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=("j",), lifecycle="instant"
        )
    )
    add_tasks(
        emulator,
        "j",
        {
            "id": "mi",
            "commandLine": "echo",
            "multiInstanceSettings": {"numberOfInstances": 3, "coordinationCommandLine": "x"},
        },
    )
    lines = run(emulator, ["subtasks", "j", "mi", "-o", "jsonl"])
    assert lines.exit_code == 0, lines.output
    assert [json.loads(x)["id"] for x in lines.stdout.splitlines()] == [1, 2]
    table = run(emulator, ["subtasks", "j", "mi"])
    assert "2 subtask(s)" in table.stderr


# -- submit ------------------------------------------------------------------------------------


def test_submit_reports_malformed_lines_and_still_adds_the_rest(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    lines = task_lines(range(250))
    lines.insert(3, "{not json")
    lines.insert(10, '{"commandLine": "no id"}')
    lines.insert(20, "")
    source = tmp_path / "tasks.jsonl"
    source.write_text("\n".join(lines) + "\n")
    report = tmp_path / "report.jsonl"

    result = run(emulator, ["submit", "job-1", str(source), "--report", str(report)])
    assert result.exit_code == 3, result.output
    assert "added 250, existed 0, failed 0, unconfirmed 0, malformed lines 2" in result.stderr
    assert "line 4: InvalidJson" in result.stderr
    assert "line 11: MissingTaskId" in result.stderr
    assert sorted(emulator.task_ids("job-1")) == sorted(f"t{i}" for i in range(250))
    entries = jsonl(report)
    assert [(e["line"], e["status"], e["error"]["code"]) for e in problems(report)] == [
        (4, "malformed", "InvalidJson"),
        (11, "malformed", "MissingTaskId"),
    ]
    added = [e for e in entries if e["status"] == "added"]
    assert len(added) == 250
    assert {"line": 1, "taskId": "t0", "status": "added"} in added
    assert {"line": 253, "taskId": "t249", "status": "added"} in added
    assert entries[-1]["status"] == "summary"
    assert entries[-1]["added"] == 250
    assert entries[-1]["resume"] is None


def test_submit_rerun_fails_on_existing_tasks_unless_skipped(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "tasks.jsonl"
    source.write_text("\n".join(task_lines(range(120))) + "\n")
    first = run(emulator, ["submit", "job-1", str(source)])
    assert first.exit_code == 0, first.output
    assert "added 120, existed 0, failed 0" in first.stderr

    report = tmp_path / "again.jsonl"
    again = run(emulator, ["submit", "job-1", str(source), "--report", str(report)])
    assert again.exit_code == 3
    assert "added 0, existed 0, failed 120" in again.stderr
    entries = problems(report)
    assert len(entries) == 120
    assert {e["error"]["code"] for e in entries} == {"TaskExists"}
    assert {e["line"] for e in entries} == set(range(1, 121))
    assert {e["status"] for e in entries} == {"clienterror"}
    assert {e["taskId"] for e in entries} == {f"t{i}" for i in range(120)}

    skipped = run(emulator, ["submit", "job-1", str(source), "--if-exists", "skip", "-o", "json"])
    assert skipped.exit_code == 0, skipped.output
    summary = json.loads(skipped.stdout)
    assert (summary["added"], summary["existed"], summary["failed"]) == (0, 120, 0)
    assert summary["resume"] is None
    assert "added 0, existed 120, failed 0" in skipped.stderr
    assert len(emulator.task_ids("job-1")) == 120


def test_submit_reads_standard_input(emulator: RunningEmulator) -> None:
    data = ("\n".join(task_lines(range(30), prefix="s")) + "\n").encode()
    result = run(emulator, ["submit", "job-1", "-", "--concurrency", "2"], stdin=data)
    assert result.exit_code == 0, result.output
    assert "added 30" in result.stderr
    assert len(emulator.task_ids("job-1")) == 30


def test_submit_invalid_task_is_a_failure_with_the_service_error(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    report = tmp_path / "r.jsonl"
    data = b'{"id": "ok", "commandLine": "echo"}\n{"id": "bad id!", "commandLine": "echo"}\n'
    result = run(emulator, ["submit", "job-1", "-", "--report", str(report)], stdin=data)
    assert result.exit_code == 3
    assert "added 1, existed 0, failed 1" in result.stderr
    assert "line 2: task bad id!: clienterror: InvalidPropertyValue: " in result.stderr
    assert "PropertyName=id" in result.stderr
    assert "Reason=" in result.stderr
    (entry,) = problems(report)
    assert entry["line"] == 2
    assert {"key": "PropertyName", "value": "id"} in entry["error"]["values"]
    assert entry["taskId"] == "bad id!"
    assert entry["status"] == "clienterror"
    assert entry["error"]["code"]


def test_submit_to_a_missing_job_exits_1_with_the_error(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    report = tmp_path / "r.jsonl"
    data = ("\n".join(task_lines(range(10))) + "\n").encode()
    result = run(emulator, ["submit", "nojob", "-", "--report", str(report)], stdin=data)
    assert result.exit_code == 1
    assert "JobNotFound (HTTP 404)" in result.stderr
    assert "Traceback" not in result.output
    entries = problems(report)
    assert entries
    assert {e["status"] for e in entries} == {"unconfirmed"}
    assert "to resume safely, send the same input again to: " in result.stderr
    assert "batch-tasks submit nojob - --report" in result.stderr
    assert "r.resume.jsonl --if-exists skip" in result.stderr
    assert jsonl(report)[-1]["resume"].endswith("--if-exists skip")


def test_submit_rides_through_faults(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            jobs=("j",),
            faults=FaultConfig(
                seed=3, throttle_429=0.2, drop_after_commit=0.1, task_server_error=0.05,
                retry_after=0,
            ),
        )
    )  # fmt: skip
    data = ("\n".join(task_lines(range(600))) + "\n").encode()
    result = run(emulator, ["submit", "j", "-", "--max-tasks-per-request", "50"], stdin=data)
    assert result.exit_code == 0, result.output
    assert "added 600, existed 0, failed 0, unconfirmed 0" in result.stderr
    assert len(emulator.task_ids("j")) == 600
    assert emulator.stats()["tasks_committed_more_than_once"] == 0
    assert emulator.stats()["faults_total"] > 0


# -- demo ----------------------------------------------------------------------------------------


def test_demo_small() -> None:
    result = CliRunner().invoke(cli, ["demo", "--tasks", "500"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Added 500 of 500 tasks" in result.stdout
    assert "500 tasks listed back" in result.stdout
    assert "emulator: 500 tasks in the job, 0 committed more than once" in result.stdout
    assert "OK: every count agrees." in result.stdout
    assert "emulator listening on http://127.0.0.1:" in result.stderr


def test_demo_with_faults() -> None:
    result = CliRunner().invoke(
        cli,
        ["demo", "--tasks", "800", "--chaos", "--retry-after", "0", "--seed", "7", "-q"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Added 800 of 800 tasks" in result.stdout
    assert "OK: every count agrees." in result.stdout
    assert "faults injected: none" not in result.stdout
    assert "drop_after_commit" in result.stdout or "drop_before_commit" in result.stdout
    assert result.stderr == ""


# -- connection settings and secrets ---------------------------------------------------------


def test_emulator_flag_targets_an_open_emulator(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(EmulatorConfig(jobs=("open-job",)))
    add_tasks(emulator, "open-job", {"id": "x", "commandLine": "echo"})
    result = CliRunner().invoke(
        cli, ["list", "open-job", "--emulator", "--account-url", emulator.url, "-o", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "x"


def test_connection_refused_is_reported_without_a_traceback() -> None:
    result = CliRunner().invoke(
        cli, ["get", "j", "t", "--account-url", "http://127.0.0.1:9", "--account-name", "a"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: BatchConnectionError")
    assert "Traceback" not in result.output


def test_the_key_never_appears_in_any_output(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    key = base64.b64encode(b"a-very-secret-key-that-must-never-be-printed").decode()
    emulator = emulator_factory(EmulatorConfig(account_name="acct", account_key=key, jobs=("j",)))
    add_tasks(emulator, "j", {"id": "t", "commandLine": "echo"})
    wrong = base64.b64encode(b"another-secret-that-is-wrong").decode()
    source = tmp_path / "tasks.jsonl"
    source.write_text('{"id": "n1", "commandLine": "echo"}\n{oops\n')
    base = ["--account-url", emulator.url, "--account-name", "acct"]
    commands = [
        ["list", "j"],
        ["list", "j", "-o", "jsonl"],
        ["get", "j", "t"],
        ["get", "j", "missing"],
        ["update", "j", "t", "--max-task-retry-count", "1"],
        ["terminate", "j", "t"],
        ["reactivate", "j", "t"],
        ["subtasks", "j", "t"],
        ["submit", "j", str(source), "--report", str(tmp_path / "r.jsonl")],
        ["submit", "missing-job", str(source)],
        ["delete", "j", "t"],
        ["delete", "j", "t"],
        ["get", "j", "t", "--account-url", "http://127.0.0.1:9"],
        ["list", "j", "--account-name", ""],
    ]
    outputs = []
    for args in commands:
        for secret in (key, wrong):
            result = CliRunner().invoke(cli, [*args, *base, "--account-key", secret])
            outputs.append((args, secret, result))
        env_result = CliRunner().invoke(cli, [*args, *base], env={"BATCH_ACCOUNT_KEY": key})
        outputs.append((args, key, env_result))
    assert any(r.exit_code == 0 for _, _, r in outputs)
    assert any(r.exit_code == 1 for _, _, r in outputs)
    for args, secret, result in outputs:
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        for text in (result.stdout, result.stderr):
            assert secret not in text, args
            assert key not in text, args
        report = tmp_path / "r.jsonl"
        if report.exists():
            assert key not in report.read_text()
            assert wrong not in report.read_text()


# -- output formats, --query, ids as options, the Azure CLI's environment, create ------------


def test_every_output_format_and_query(emulator: RunningEmulator) -> None:
    add_tasks(
        emulator,
        "job-1",
        {"id": "a", "commandLine": "/bin/sh -c 'exit 0'"},
        {"id": "b", "commandLine": "/bin/sh -c 'exit 3'"},
    )
    as_json = run(emulator, ["list", "job-1", "-o", "json", "--select", "id,state"])
    assert json.loads(as_json.stdout) == [
        {"id": "a", "state": "completed"},
        {"id": "b", "state": "completed"},
    ]
    tsv = run(emulator, ["list", "job-1", "-o", "tsv", "--select", "id,executionInfo/exitCode"])
    assert tsv.stdout.splitlines() == ["a\t0", "b\t3"]
    table = run(emulator, ["list", "job-1", "--select", "id,executionInfo/exitCode"])
    assert table.stdout.splitlines()[0].split() == ["id", "executionInfo/exitCode"]
    assert table.stdout.splitlines()[3].split() == ["b", "3"]
    as_yaml = run(
        emulator, ["get", "job-1", "b", "-o", "yaml", "--query", "{id: id, cmd: commandLine}"]
    )
    assert as_yaml.stdout == "id: b\ncmd: /bin/sh -c 'exit 3'\n"
    query = run(
        emulator, ["list", "job-1", "--query", "[?executionInfo.exitCode==`3`].id", "-o", "tsv"]
    )
    assert query.stdout == "b\n"
    nothing = run(emulator, ["get", "--job-id", "job-1", "--task-id", "a", "-o", "none"])
    assert nothing.exit_code == 0
    assert nothing.stdout == ""
    bad = run(emulator, ["list", "job-1", "--query", "[?"])
    assert bad.exit_code == 2
    assert "'--query'" in bad.stderr


def test_ids_as_options_and_their_errors(emulator: RunningEmulator) -> None:
    add_tasks(emulator, "job-1", {"id": "a", "commandLine": "echo"})
    mixed = run(emulator, ["get", "--job-id", "job-1", "a", "--query", "id", "-o", "tsv"])
    assert mixed.stdout == "a\n"
    missing = run(emulator, ["get", "job-1"])
    assert missing.exit_code == 2
    assert "missing argument TASK (or --task-id)" in missing.stderr
    extra = run(emulator, ["get", "--job-id", "job-1", "job-1", "a"])
    assert extra.exit_code == 2
    assert "unexpected extra argument(s): a" in extra.stderr


def test_azure_cli_environment_variables_are_read_after_ours(emulator: RunningEmulator) -> None:
    add_tasks(emulator, "job-1", {"id": "a", "commandLine": "echo"})
    env = {
        "AZURE_BATCH_ENDPOINT": emulator.url,
        "AZURE_BATCH_ACCOUNT": emulator.account_name,
        "AZURE_BATCH_ACCESS_KEY": emulator.account_key,
    }
    result = CliRunner().invoke(cli, ["get", "job-1", "a", "--query", "id"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "a"
    # Ours win: a wrong BATCH_ACCOUNT_KEY is used even though the Azure CLI's is right.
    wrong = base64.b64encode(b"wrong").decode()
    result = CliRunner().invoke(cli, ["get", "job-1", "a"], env={**env, "BATCH_ACCOUNT_KEY": wrong})
    assert result.exit_code == 1
    assert "(HTTP 403)" in result.stderr or "(HTTP 401)" in result.stderr


def test_create_from_flags_and_from_a_json_file(emulator: RunningEmulator, tmp_path: Path) -> None:
    one = run(
        emulator,
        [
            "create", "job-1", "--task-id", "c1", "--command-line", "echo hi",
            "-e", "A=1", "--env", "B=x=y", "--resource-file", "in/data.txt=https://example.com/d",
            "--max-wall-clock-time", "1h30m", "--max-task-retry-count", "2",
        ],
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["taskId"] == "c1"
    task = json.loads(run(emulator, ["get", "job-1", "c1"]).stdout)
    assert task["environmentSettings"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "x=y"},
    ]
    assert task["resourceFiles"] == [
        {"filePath": "in/data.txt", "httpUrl": "https://example.com/d"}
    ]
    assert task["constraints"]["maxWallClockTime"] == "PT1H30M"
    assert task["constraints"]["maxTaskRetryCount"] == 2

    single = tmp_path / "one.json"
    single.write_text(json.dumps({"id": "c2", "commandLine": "echo"}, indent=2))
    assert run(emulator, ["create", "job-1", "--json-file", str(single)]).exit_code == 0
    many = tmp_path / "many.json"
    many.write_text(
        json.dumps(
            [{"id": "c3", "commandLine": "echo"}, {"id": "c1", "commandLine": "x"}], indent=2
        )
    )
    both = run(emulator, ["create", "job-1", "--json-file", str(many), "-o", "jsonl"])
    assert both.exit_code == 3
    results = [json.loads(line) for line in both.stdout.splitlines()]
    assert [(r["taskId"], r["status"]) for r in results] == [
        ("c3", "success"),
        ("c1", "clienterror"),
    ]
    assert emulator.task_ids("job-1") == ["c1", "c2", "c3"]

    clash = run(emulator, ["create", "job-1", "--json-file", str(single), "--task-id", "x"])
    assert clash.exit_code == 2
    assert "drop --task-id" in clash.stderr
    no_command = run(emulator, ["create", "job-1", "--task-id", "x"])
    assert no_command.exit_code == 2
    assert "--command-line" in no_command.stderr
    bad_env = run(emulator, ["create", "job-1", "--task-id", "x", "--command-line", "e", "-e", "A"])
    assert bad_env.exit_code == 2
    assert "'--env'" in bad_env.stderr


def test_submit_ctrl_c_writes_a_complete_report_and_resumes_safely(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    emulator = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            jobs=("j",),
            faults=FaultConfig(latency_ms=20),
        )
    )
    count = 20_000
    source = tmp_path / "tasks.json"
    # A pretty-printed JSON array: streamed like JSON Lines.
    source.write_text(
        json.dumps(json.loads("[" + ",".join(task_lines(range(count))) + "]"), indent=1)
    )
    report = tmp_path / "report.jsonl"
    env = {
        **os.environ,
        "BATCH_ACCOUNT_URL": emulator.url,
        "BATCH_ACCOUNT_NAME": emulator.account_name,
        "BATCH_ACCOUNT_KEY": emulator.account_key or "",
    }
    command = [sys.executable, "-c", "from batch_tasks_async.cli import main; main()"]
    args = ["submit", "j", str(source), "--report", str(report), "--concurrency", "2"]
    process = subprocess.Popen(
        [*command, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        while len(emulator.task_ids("j")) < 300 and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr_bytes = process.communicate(timeout=60)
    finally:
        process.kill()
    stderr = stderr_bytes.decode()
    assert process.returncode == 130, stderr
    assert "interrupted (Ctrl-C): added " in stderr
    assert "Traceback" not in stderr
    entries = jsonl(report)
    summary = entries[-1]
    assert summary["status"] == "summary"
    assert summary["interrupted"] is True
    added = {e["taskId"] for e in entries if e["status"] == "added"}
    unconfirmed = {e["taskId"] for e in entries if e["status"] == "unconfirmed"}
    assert len(added) == summary["added"] > 0
    # Every task the service holds is in the report as added or (maybe added) unconfirmed.
    assert set(emulator.task_ids("j")) <= added | unconfirmed
    assert added <= set(emulator.task_ids("j"))
    resume = summary["resume"]
    assert resume in stderr
    assert resume.endswith("--if-exists skip")
    assert "report.resume.jsonl" in resume

    words = resume.split()
    assert words[:2] == ["batch-tasks", "submit"]
    again = run(emulator, words[1:])
    assert again.exit_code == 0, again.output
    assert len(emulator.task_ids("j")) == count
    assert report.exists()
