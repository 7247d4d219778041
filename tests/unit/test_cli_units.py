"""Unit tests of the command line's building blocks (no emulator, no network)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import anyio
import click
import httpx
import pytest
from click.testing import CliRunner
from rich.console import Console

from batch_tasks_async import SharedKeyCredential
from batch_tasks_async._bulk import BulkProgress
from batch_tasks_async.cli import cli
from batch_tasks_async.cli._common import DURATION
from batch_tasks_async.cli._connection import (
    DEFAULT_EMULATOR_ACCOUNT,
    DEFAULT_EMULATOR_URL,
    ENVIRONMENT_VARIABLES,
    ConnectionSettings,
    is_loopback,
    open_client,
)
from batch_tasks_async.cli._demo import DemoReport, generate_tasks
from batch_tasks_async.cli._errors import describe_error, scrub
from batch_tasks_async.cli._jsonl import (
    READ_BATCH_BYTES,
    MalformedLine,
    TaskReader,
    parse_line,
    read_tasks,
)
from batch_tasks_async.cli._output import TABLE_SAMPLE_ROWS, Column, Renderer, compile_query
from batch_tasks_async.cli._progress import ProgressView, format_progress
from batch_tasks_async.errors import (
    AuthenticationError,
    BatchConnectionError,
    ClientValidationError,
    NotFoundError,
)

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# -- connection settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://localhost:1234/", True),
        ("http://[::1]:8765", True),
        ("127.0.0.2:80", True),
        ("https://acct.westeurope.batch.azure.com", False),
        ("http://10.0.0.1:8765", False),
        ("acct.westeurope.batch.azure.com", False),
    ],
)
def test_is_loopback(url: str, expected: bool) -> None:
    assert is_loopback(url) is expected


def test_emulator_flag_defaults_to_the_local_emulator() -> None:
    settings = ConnectionSettings.resolve(
        url=None, account_name=None, account_key=None, emulator=True
    )
    assert settings.url == DEFAULT_EMULATOR_URL == "http://127.0.0.1:8765"
    assert settings.account_name == DEFAULT_EMULATOR_ACCOUNT == "emulator"
    assert settings.account_key is None
    assert settings.describe_auth() == "none (local emulator)"


def test_emulator_flag_keeps_what_it_is_told() -> None:
    settings = ConnectionSettings.resolve(
        url="http://127.0.0.1:9000", account_name="mine", account_key=KEY, emulator=True
    )
    assert (settings.url, settings.account_name, settings.account_key) == (
        "http://127.0.0.1:9000",
        "mine",
        KEY,
    )
    assert settings.describe_auth() == "Shared Key (account mine)"


def test_account_name_comes_from_the_url() -> None:
    settings = ConnectionSettings.resolve(
        url="https://acct1.westeurope.batch.azure.com",
        account_name=None,
        account_key=KEY,
        emulator=False,
    )
    assert settings.account_name == "acct1"


def test_no_url_is_a_usage_error() -> None:
    with pytest.raises(click.UsageError, match="BATCH_ACCOUNT_URL"):
        ConnectionSettings.resolve(url=None, account_name=None, account_key=None, emulator=False)


def test_key_without_a_name_is_a_usage_error() -> None:
    with pytest.raises(click.UsageError, match="account name"):
        ConnectionSettings.resolve(
            url="http://127.0.0.1:9", account_name=None, account_key=KEY, emulator=False
        )


def test_the_key_is_not_in_the_settings_repr() -> None:
    settings = ConnectionSettings.resolve(
        url="http://127.0.0.1:9", account_name="a", account_key=KEY, emulator=False
    )
    assert KEY not in repr(settings)
    assert settings.secrets == (KEY,)


def test_entra_id_is_used_without_a_key_for_a_remote_account() -> None:
    settings = ConnectionSettings.resolve(
        url="https://acct.westeurope.batch.azure.com",
        account_name=None,
        account_key=None,
        emulator=False,
    )
    assert settings.describe_auth() == "Microsoft Entra ID (DefaultAzureCredential)"

    async def credential_type() -> str:
        async with open_client(settings) as client:
            return type(client._credential).__name__

    assert anyio.run(credential_type) == "DefaultAzureCredential"


@pytest.mark.parametrize(
    ("url", "key", "expected"),
    [
        ("http://127.0.0.1:9", None, type(None)),
        ("http://127.0.0.1:9", KEY, SharedKeyCredential),
    ],
)
def test_open_client_picks_the_credential(url: str, key: str | None, expected: type) -> None:
    settings = ConnectionSettings.resolve(
        url=url, account_name="a", account_key=key, emulator=False
    )

    async def credential() -> Any:
        async with open_client(settings) as client:
            return client._credential

    assert isinstance(anyio.run(credential), expected)


def test_a_missing_url_exits_2_with_a_hint() -> None:
    result = CliRunner().invoke(cli, ["list", "job-1"])
    assert result.exit_code == 2
    assert "--account-url" in result.stderr
    assert "Traceback" not in result.output


# -- error reporting ---------------------------------------------------------------------------


def test_describe_service_error_has_code_message_and_ids() -> None:
    error = NotFoundError(
        404,
        code="TaskNotFound",
        message="The specified task does not exist.\nRequestId:abc\nTime:2024",
        request_id="req-1",
        client_request_id="client-1",
    )
    text = describe_error(error)
    assert text.startswith("TaskNotFound (HTTP 404): The specified task does not exist.")
    assert "request-id req-1" in text
    assert "client-request-id client-1" in text
    assert "RequestId:abc" not in text


def test_describe_authentication_error_gives_a_hint() -> None:
    error = AuthenticationError(403, code="AuthenticationFailed", message="Server failed")
    assert "check the account name and key" in describe_error(error)


def test_describe_transport_error_says_the_outcome_is_unknown() -> None:
    error = BatchConnectionError(
        "connection reset", request_sent=True, method="POST", url="http://h/x"
    )
    text = describe_error(error)
    assert "BatchConnectionError: connection reset (POST http://h/x)" in text
    assert "outcome is unknown" in text


def test_describe_validation_error() -> None:
    assert describe_error(ClientValidationError("bad")) == "invalid input: bad"


def test_scrub_hides_every_secret() -> None:
    assert scrub(f"a {KEY} b {KEY}", [KEY, ""]) == "a <hidden> b <hidden>"


# -- JSON Lines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "InvalidJson"),
        (b"[1, 2]", "NotAnObject"),
        (b'"text"', "NotAnObject"),
        (b'{"commandLine": "x"}', "MissingTaskId"),
        (b'{"id": "", "commandLine": "x"}', "MissingTaskId"),
        (b'{"id": 7, "commandLine": "x"}', "MissingTaskId"),
    ],
)
def test_parse_line_reports_malformed_lines(raw: bytes, code: str) -> None:
    parsed = parse_line(12, raw)
    assert isinstance(parsed, MalformedLine)
    assert (parsed.line, parsed.code) == (12, code)
    assert parsed.to_dict()["line"] == 12
    assert parsed.to_dict()["error"]["code"] == code


def test_parse_line_returns_the_task_or_none_for_blank() -> None:
    assert parse_line(1, b'{"id": "t1", "commandLine": "echo"}\n') == {
        "id": "t1",
        "commandLine": "echo",
    }
    assert parse_line(2, b"   \n") is None


class _CountingStream(io.BytesIO):
    """A stream that records how many bytes each ``read`` call was asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.hints: list[int] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.hints.append(size if size is not None else -1)
        return super().read(size)


def _read_all(data: bytes) -> tuple[list[dict[str, Any]], list[MalformedLine], TaskReader]:
    malformed: list[MalformedLine] = []
    reader = TaskReader(_CountingStream(data), malformed.append)

    async def collect() -> list[dict[str, Any]]:
        return [task async for task in reader.tasks()]

    return anyio.run(collect), malformed, reader


def test_read_tasks_streams_in_bounded_batches_and_numbers_lines() -> None:
    lines = [b'{"id": "t%d", "commandLine": "echo %d"}\n' % (i, i) for i in range(5000)]
    lines[3] = b"oops\n"
    lines[10] = b"\n"
    stream = _CountingStream(b"".join(lines))
    malformed: list[MalformedLine] = []

    async def collect() -> list[dict[str, Any]]:
        return [task async for task in read_tasks(stream, malformed.append)]

    tasks = anyio.run(collect)
    assert len(tasks) == 4998
    assert tasks[0]["id"] == "t0"
    assert tasks[3]["id"] == "t4"
    assert [(m.line, m.code) for m in malformed] == [(4, "InvalidJson")]
    # Many bounded reads, never one read of everything.
    assert len(stream.hints) > 3
    assert all(0 < hint <= 1 << 16 for hint in stream.hints)


def test_a_json_array_streams_pretty_printed_with_line_numbers() -> None:
    tasks = [
        {"id": f"a{i}", "commandLine": 'echo "[{,}]" \\ ' + "x" * (i % 7), "n": [i, {"k": i}]}
        for i in range(3000)
    ]
    data = json.dumps(tasks, indent=2).encode()
    assert len(data) > 4 * READ_BATCH_BYTES
    read, malformed, reader = _read_all(data)
    assert read == tasks
    assert malformed == []
    assert reader.format == "array"
    assert reader.bytes_read == len(data)
    # Each element's line is where its "{" is: the line before its "id".
    text = data.decode().splitlines()
    for task_id in ("a0", "a1", "a2999"):
        assert reader.line_of(task_id) == text.index(f'    "id": "{task_id}",')
    assert reader.line_of("a0") is None


def test_a_compact_json_array_and_its_broken_elements() -> None:
    data = b'[{"id":"a","commandLine":"x"},\n 3, {"commandLine":"no id"},\n {"id":"b","c":tru}]'
    read, malformed, _ = _read_all(data)
    assert [t["id"] for t in read] == ["a"]
    assert [(m.line, m.code) for m in malformed] == [
        (2, "NotAnObject"),
        (2, "MissingTaskId"),
        (3, "InvalidJson"),
    ]
    _, unclosed, _ = _read_all(b'[{"id":"a","commandLine":"x"},\n{"id":"b"')
    assert [m.code for m in unclosed] == ["InvalidJson"]
    assert "not closed" in unclosed[0].message
    _, trailing, _ = _read_all(b'[{"id":"a","commandLine":"x"}]\n{"id":"b"}')
    assert [(m.line, m.code) for m in trailing] == [(2, "InvalidJson")]


def test_pretty_printed_objects_in_json_lines_get_a_hint() -> None:
    data = json.dumps({"id": "a", "commandLine": "x"}, indent=2).encode()
    read, malformed, reader = _read_all(data)
    assert read == []
    assert reader.format == "jsonl"
    assert "JSON array" in malformed[0].message
    assert sum("JSON array" in m.message for m in malformed) == 1


def test_json_lines_without_a_final_newline_and_duplicate_ids() -> None:
    read, _, reader = _read_all(b'{"id":"a","commandLine":"x"}\n\n{"id":"a","commandLine":"y"}')
    assert [t["commandLine"] for t in read] == ["x", "y"]
    assert (reader.line_of("a"), reader.line_of("a"), reader.line_of("a")) == (1, 3, None)


# -- progress ----------------------------------------------------------------------------------


def test_format_progress_names_every_count() -> None:
    text = format_progress(
        BulkProgress(
            tasks_read=300,
            added=250,
            already_existed=10,
            failed=2,
            retried=7,
            in_flight=40,
            requests_sent=5,
            throttled=1,
            elapsed=2.0,
        )
    )
    assert text == (
        "read 300, added 250, existed 10, failed 2, retried 7, in flight 40, requests 5, "
        "throttled 1, 130 tasks/s"
    )


def test_progress_view_prints_plain_lines_when_not_a_terminal() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    view = ProgressView(console, total=10, interval=3600)
    with view:
        view(BulkProgress(tasks_read=1, added=1, elapsed=1.0))
        view(BulkProgress(tasks_read=5, added=5, elapsed=1.0))  # within the interval: quiet
        view(BulkProgress(tasks_read=10, added=10, elapsed=1.0, done=True))
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("read 1, added 1")
    assert lines[1].startswith("read 10, added 10")
    assert view.last is not None
    assert view.last.done


def test_progress_view_drives_a_bar_on_a_terminal() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    view = ProgressView(console, total=10, description="adding")
    with view:
        view(BulkProgress(tasks_read=10, added=8, failed=2, elapsed=1.0, done=True))
    assert "10/10" in buffer.getvalue()
    assert "adding" in buffer.getvalue()


def test_progress_by_bytes_shows_rate_and_eta_and_messages_go_above_the_bar() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)
    read = {"bytes": 0}
    view = ProgressView(console, total_bytes=1000, bytes_read=lambda: read["bytes"])
    with view:
        read["bytes"] = 500
        view(BulkProgress(tasks_read=50, added=40, failed=1, elapsed=2.0))
        view.print("line 7: task [x]: clienterror: InvalidPropertyValue")
        read["bytes"] = 1000
        view(BulkProgress(tasks_read=100, added=99, failed=1, elapsed=4.0, done=True))
    text = buffer.getvalue()
    # The message is printed once, as text (never as rich markup), not inside the bar.
    assert text.count("line 7: task [x]: clienterror: InvalidPropertyValue") == 1
    assert "100%" in text
    assert "eta" in text
    assert "25 tasks/s" in text  # 99 added in 4 s
    assert "100 tasks" in text


# -- update durations and the demo's bookkeeping -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90", timedelta(seconds=90)),
        ("1.5", timedelta(seconds=1.5)),
        ("PT2H", timedelta(hours=2)),
        ("pt2h", timedelta(hours=2)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("1d", timedelta(days=1)),
        ("P1DT12H", timedelta(hours=36)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert DURATION.convert(text, None, None) == expected


@pytest.mark.parametrize("text", ["two hours", "", "2x", "h", "P1Y"])
def test_parse_duration_rejects_nonsense_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(click.BadParameter) as caught:
        DURATION.convert(text, None, None)
    assert "seconds (7200)" in caught.value.message
    assert "ISO 8601 (PT2H)" in caught.value.message


def test_generate_tasks_is_lazy_and_unique() -> None:
    tasks = generate_tasks(3, prefix="p")
    first = next(tasks)
    assert first.id == "p-000000"
    assert [t.id for t in tasks] == ["p-000001", "p-000002"]


def test_demo_report_lists_every_disagreement() -> None:
    good = DemoReport(tasks=5, added=5, listed=5, listed_distinct=5, in_emulator=5)
    assert good.disagreements == []
    bad = DemoReport(
        tasks=5, added=5, listed=6, listed_distinct=5, in_emulator=4, committed_twice=1
    )
    assert bad.disagreements == [
        "listed: 6 (expected 5)",
        "in the emulator: 4 (expected 5)",
        "committed more than once: 1",
    ]


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in (
        "demo", "submit", "list", "get", "update", "delete", "terminate", "reactivate",
        "subtasks", "emulator",
    ):  # fmt: skip
        assert f"  {name}" in result.output


# -- rendering -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_table_prints_rows_while_the_list_is_still_arriving() -> None:
    out = io.BytesIO()
    columns = (Column("id", ("id",)), Column("code", ("x", "code")))
    render = Renderer("table", columns=columns, out=out)
    seen_before_the_end: list[bytes] = []

    async def rows() -> Any:
        for i in range(TABLE_SAMPLE_ROWS + 5):
            yield {"id": f"t{i}", "x": {"code": i}}
        seen_before_the_end.append(out.getvalue())

    assert await render.many(rows()) == TABLE_SAMPLE_ROWS + 5
    lines = seen_before_the_end[0].decode().splitlines()
    assert lines[0].split() == ["id", "code"]
    assert len(lines) == 2 + TABLE_SAMPLE_ROWS + 5
    assert lines[-1].split() == [f"t{TABLE_SAMPLE_ROWS + 4}", str(TABLE_SAMPLE_ROWS + 4)]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("json", b'[\n  {\n    "id": "a"\n  },\n  {\n    "id": "b"\n  }\n]\n'),
        ("jsonl", b'{"id":"a"}\n{"id":"b"}\n'),
        ("tsv", b"a\nb\n"),
        ("yaml", b"- id: a\n- id: b\n"),
        ("none", b""),
    ],
)
def test_lists_in_every_format(output: str, expected: bytes) -> None:
    out = io.BytesIO()
    Renderer(output, out=out).many_sync([{"id": "a"}, {"id": "b"}])
    assert out.getvalue() == expected


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_an_empty_list_is_an_empty_array(output: str) -> None:
    out = io.BytesIO()
    Renderer(output, out=out).many_sync([])
    assert out.getvalue() == b"[]\n"


def test_query_applies_to_the_whole_list() -> None:
    out = io.BytesIO()
    query = compile_query("length(@)")
    Renderer("json", query=query, out=out).many_sync([{"id": "a"}, {"id": "b"}])
    assert out.getvalue() == b"2\n"


def test_a_bad_query_names_the_option() -> None:
    with pytest.raises(click.BadParameter) as caught:
        compile_query("[?")
    assert caught.value.param_hint == "'--query'"


def test_create_tasks_error_names_the_first_failure() -> None:
    from batch_tasks_async.errors import CreateTasksError, UnconfirmedTask
    from batch_tasks_async.models import BatchError, TaskAddResult, TaskAddStatus

    failed = TaskAddResult(
        status=TaskAddStatus.CLIENT_ERROR,
        task_id="t7",
        error=BatchError(code="InvalidPropertyValue"),
    )
    error = CreateTasksError(failed=[failed], unconfirmed=[], request_errors=[], added=2)
    assert "first failure: task 't7': InvalidPropertyValue" in str(error)
    lost = UnconfirmedTask("t9", "deadline exceeded", ambiguous=False)
    error = CreateTasksError(failed=[], unconfirmed=[lost], request_errors=[], added=0)
    assert "first unconfirmed: task 't9': deadline exceeded" in str(error)
    assert "first failure" in describe_error(
        CreateTasksError(failed=[failed], unconfirmed=[], request_errors=[], added=0)
    )


def test_shell_completion_completes_commands_and_output_formats() -> None:
    runner = CliRunner()
    script = runner.invoke(
        cli, [], prog_name="batch-tasks", env={"_BATCH_TASKS_COMPLETE": "bash_source"}
    )
    assert "_batch_tasks_completion()" in script.output
    env = {
        "_BATCH_TASKS_COMPLETE": "bash_complete",
        "COMP_WORDS": "batch-tasks list -o ",
        "COMP_CWORD": "3",
    }
    formats = runner.invoke(cli, [], prog_name="batch-tasks", env=env)
    assert formats.output.split() == [
        f"plain,{name}" for name in ("json", "jsonl", "table", "tsv", "yaml", "none")
    ]


# -- update: read, merge, conditional PUT ------------------------------------------------------


def _update_service(put_status: int) -> tuple[Any, list[httpx.Request]]:
    """A mock Batch service for one task: GET answers with ETag 0x1, PUT with ``put_status``."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            assert request.url.params["$select"] == "id,eTag,constraints"
            body = {
                "id": "t1",
                "eTag": "0x1",
                "constraints": {"maxWallClockTime": "PT1H", "maxTaskRetryCount": 4},
            }
            return httpx.Response(200, json=body, headers={"ETag": "0x1"})
        if put_status == 412:
            error = {"code": "ConditionNotMet", "message": {"value": "The condition ..."}}
            return httpx.Response(412, json=error, headers={"request-id": "r2"})
        return httpx.Response(200, headers={"ETag": "0x2", "request-id": "r3"})

    return httpx.MockTransport(handler), seen


@pytest.mark.parametrize("put_status", [200, 412])
def test_update_merges_and_writes_only_if_the_task_did_not_change(
    monkeypatch: pytest.MonkeyPatch, put_status: int
) -> None:
    from contextlib import asynccontextmanager

    from batch_tasks_async import BatchClient
    from batch_tasks_async.cli import _tasks

    transport, seen = _update_service(put_status)

    @asynccontextmanager
    async def mock_client(settings: ConnectionSettings, **options: Any) -> Any:
        async with BatchClient("http://127.0.0.1:1", transport=transport) as client:
            yield client

    monkeypatch.setattr(_tasks, "open_client", mock_client)
    args = ["update", "j", "t1", "--retention-time", "2h", "--emulator"]
    result = CliRunner().invoke(cli, args)
    get, put = seen
    assert get.method == "GET"
    assert put.method == "PUT"
    assert put.headers["If-Match"] == "0x1"
    assert json.loads(put.content)["constraints"] == {
        "maxWallClockTime": "PT1H",
        "retentionTime": "PT2H",
        "maxTaskRetryCount": 4,
    }
    if put_status == 200:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1
        assert "changed while it was being updated" in result.stderr
        assert "nothing was written" in result.stderr


def test_the_resume_command_repeats_the_options_but_never_the_key(tmp_path: Any) -> None:
    from batch_tasks_async.cli._submit import resume_command, submit_command

    report = tmp_path / "run.jsonl"
    args = [
        "my-job", "tasks file.jsonl", "--account-url", "https://acct.westeurope.batch.azure.com",
        "--account-key", KEY, "--concurrency", "4", "--report", str(report), "--if-exists", "fail",
    ]  # fmt: skip
    with submit_command.make_context("submit", args) as ctx:
        command = resume_command(ctx, job_id="my-job", source="tasks file.jsonl")
    assert KEY not in command
    assert command.startswith("batch-tasks submit my-job 'tasks file.jsonl' ")
    assert "--account-key <your key>" in command
    assert "--concurrency 4" in command
    assert f"--report {tmp_path / 'run.resume.jsonl'}" in command
    assert command.endswith("--if-exists skip")
    assert "--if-exists fail" not in command
