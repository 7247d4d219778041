"""``batch-tasks wait``, ``submit --wait``, ``files`` and ``download`` against an emulator."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from batch_tasks_async.cli import cli
from batch_tasks_async.emulator import EmulatorConfig, RunningEmulator

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

ACCOUNT_NAME = "cliwait"
ACCOUNT_KEY = base64.b64encode(b"cli-wait-test-key-0123456789abcd").decode()
JOB = "job-1"


@pytest.fixture
def emulator(emulator_factory: EmulatorFactory) -> RunningEmulator:
    return emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            jobs=(JOB,),
            active_seconds=(0.02, 0.05),
            running_seconds=(0.05, 0.2),
        )
    )


def run(emulator: RunningEmulator, args: list[str], stdin: bytes | None = None) -> Result:
    env = {
        "BATCH_ACCOUNT_URL": emulator.url,
        "BATCH_ACCOUNT_NAME": ACCOUNT_NAME,
        "BATCH_ACCOUNT_KEY": ACCOUNT_KEY,
    }
    return CliRunner().invoke(cli, args, input=stdin, env=env, catch_exceptions=False)


def lines(n: int, failing: frozenset[int] = frozenset()) -> bytes:
    return "".join(
        json.dumps({"id": f"t{i}", "commandLine": f"/bin/sh -c 'exit {4 if i in failing else 0}'"})
        + "\n"
        for i in range(n)
    ).encode()


def test_submit_wait_then_wait_exit_codes(emulator: RunningEmulator) -> None:
    submitted = run(
        emulator,
        ["submit", JOB, "-", "--wait", "--poll-interval", "0.05", "-q"],
        stdin=lines(30, frozenset({5})),
    )
    assert submitted.exit_code == 3, submitted.output
    assert "30 of 30 tasks completed: 29 succeeded, 1 failed" in submitted.output
    assert "failed: t5 (exit code 4): FailureExitCode" in submitted.output
    again = run(emulator, ["wait", JOB, "--poll-interval", "0.05", "-q"])
    assert again.exit_code == 3
    only_good = run(emulator, ["wait", JOB, "--task-id", "t1", "--task-id", "T2", "-q"])
    assert only_good.exit_code == 0, only_good.output
    assert "2 of 2 tasks completed: 2 succeeded, 0 failed" in only_good.output
    missing = run(emulator, ["wait", JOB, "--task-id", "nope", "--poll-interval", "0.05", "-q"])
    assert missing.exit_code == 3
    assert "missing: nope" in missing.output


def test_wait_errors_exit_1(emulator_factory: EmulatorFactory) -> None:
    manual = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=(JOB,), lifecycle="manual"
        )
    )
    run(manual, ["submit", JOB, "-", "-q"], stdin=lines(2))
    timed_out = run(manual, ["wait", JOB, "--timeout", "0.3", "--poll-interval", "0.05"])
    assert timed_out.exit_code == 1
    assert "0 of 2 tasks completed" in timed_out.output
    assert "error: tasks still pending after 0.3s" in timed_out.output
    no_job = run(manual, ["wait", "no-such-job"])
    assert no_job.exit_code == 1
    assert "JobNotFound" in no_job.output
    assert ACCOUNT_KEY not in timed_out.output + no_job.output


def test_files_and_download(emulator: RunningEmulator, tmp_path: Path) -> None:
    run(emulator, ["submit", JOB, "-", "--wait", "--poll-interval", "0.05", "-q"], stdin=lines(1))
    table = run(emulator, ["files", JOB, "t0"])
    assert table.exit_code == 0, table.output
    assert "stdout.txt" in table.output
    assert "wd/" in table.output
    listed = run(emulator, ["files", JOB, "t0", "-r", "-o", "jsonl"])
    names = [json.loads(line)["name"] for line in listed.output.splitlines()]
    assert "stderr.txt" in names
    shown = run(emulator, ["download", JOB, "t0", "stdout.txt"])
    assert shown.exit_code == 0
    assert shown.stdout_bytes
    first = run(emulator, ["download", JOB, "t0", "stdout.txt", "--range", "bytes=0-1"])
    assert first.stdout_bytes == shown.stdout_bytes[:2]
    dest = tmp_path / "out.txt"
    saved = run(emulator, ["download", JOB, "t0", "stdout.txt", "--dest", str(dest)])
    assert saved.exit_code == 0
    assert dest.read_bytes() == shown.stdout_bytes
    gone = run(emulator, ["download", JOB, "t0", "nope.txt"])
    assert gone.exit_code == 1
    assert "FileNotFound" in gone.output
