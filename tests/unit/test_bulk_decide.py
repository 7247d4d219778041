"""The bulk engine's rules (``_decide``) and input validation (``_ingest``), one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from batch_tasks_async import models
from batch_tasks_async._bulk._decide import (
    Entry,
    Next,
    created_by_this_run,
    judge_entries,
    judge_request,
    same_task,
)
from batch_tasks_async._bulk._ingest import Rejected, check_mapping, prepare
from batch_tasks_async.errors import (
    AuthenticationError,
    BadRequestError,
    BatchConnectionError,
    BatchTimeoutError,
    ClientValidationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RequestBodyTooLargeError,
    ResponseDecodeError,
    ServerError,
    ThrottledError,
)

S = models.TaskAddStatus.SUCCESS
CE = models.TaskAddStatus.CLIENT_ERROR
SE = models.TaskAddStatus.SERVER_ERROR


def e(status: Any, code: str | None = None, task_id: str = "t") -> models.TaskAddResult:
    return models.TaskAddResult(
        status=status, task_id=task_id, error=models.BatchError(code=code) if code else None
    )


@pytest.mark.parametrize(
    ("entries", "ambiguous", "skip", "verdict", "now_ambiguous", "refused"),
    [
        ([e(S)], False, False, Entry.ADDED, False, False),
        ([e(CE, "TaskExists"), e(S)], False, False, Entry.ADDED, False, False),
        ([e(SE, "InternalError"), e(S)], False, False, Entry.ADDED, False, False),
        ([e(CE, "TaskExists")], False, False, Entry.FAILED, False, False),
        ([e(CE, "TaskExists")], False, True, Entry.EXISTS, False, False),
        ([e(CE, "TaskExists")], True, False, Entry.VERIFY, True, False),
        ([e(CE, "TaskExists")], True, True, Entry.VERIFY, True, False),
        ([e(CE, "InvalidPropertyValue")], False, False, Entry.FAILED, False, False),
        ([e(SE, "InternalError")], False, False, Entry.RETRY, True, False),
        ([e(SE)], False, False, Entry.RETRY, True, False),
        ([e(SE, "ServerBusy")], False, False, Entry.RETRY, False, True),
        ([e(SE, "ServerBusy")], True, False, Entry.RETRY, True, True),
        ([e(models.TaskAddStatus("queued"))], False, False, Entry.RETRY, True, False),
        ([], False, False, Entry.RETRY, True, False),
        (
            [e(models.TaskAddStatus("queued")), e(CE, "TaskExists")],
            False,
            False,
            Entry.VERIFY,
            True,
            False,
        ),
    ],
)
def test_judge_entries(
    entries: list[models.TaskAddResult],
    ambiguous: bool,
    skip: bool,
    verdict: Entry,
    now_ambiguous: bool,
    refused: bool,
) -> None:
    got, _, got_ambiguous, got_refused = judge_entries(
        entries, ambiguous=ambiguous, skip_existing=skip
    )
    assert (got, got_ambiguous, got_refused) == (verdict, now_ambiguous, refused)


def judge(error: BaseException, size: int = 10, failures: int = 1, throttles: int = 0) -> Any:
    return judge_request(
        error,
        size=size,
        failures=failures,
        throttles=throttles,
        max_attempts=3,
        max_throttled_attempts=5,
    )


@pytest.mark.parametrize(
    ("error", "size", "failures", "throttles", "step", "ambiguous"),
    [
        (BatchConnectionError("refused", request_sent=False), 10, 1, 0, Next.RESEND, False),
        (BatchConnectionError("reset", request_sent=True), 10, 1, 0, Next.RESEND, True),
        (BatchTimeoutError("slow", request_sent=True), 10, 3, 0, Next.BISECT, True),
        (BatchTimeoutError("slow", request_sent=True), 1, 3, 0, Next.GIVE_UP, True),
        (ResponseDecodeError(200, reason="not JSON"), 10, 1, 0, Next.RESEND, True),
        (ResponseDecodeError(204, reason="no body"), 10, 3, 0, Next.BISECT, True),
        (ServerError(500, code="InternalError"), 10, 2, 0, Next.RESEND, True),
        (ServerError(500, code="InternalError"), 10, 3, 0, Next.BISECT, True),
        (ServerError(500, code="InternalError"), 1, 3, 0, Next.GIVE_UP, True),
        (ServerError(503, code="ServerBusy"), 10, 0, 1, Next.RESEND, False),
        (ServerError(503, code="ServerBusy"), 10, 0, 5, Next.STOP, False),
        (ServerError(503, code="Unavailable"), 10, 1, 0, Next.RESEND, True),
        (ThrottledError(429), 10, 0, 4, Next.RESEND, False),
        (ThrottledError(429), 10, 0, 5, Next.STOP, False),
        (RequestBodyTooLargeError(413), 10, 0, 0, Next.SPLIT, False),
        (RequestBodyTooLargeError(413), 1, 0, 0, Next.FAIL_TASK, False),
        (BadRequestError(400, code="InvalidPropertyValue"), 10, 1, 0, Next.BISECT, False),
        (BadRequestError(400, code="InvalidPropertyValue"), 1, 1, 0, Next.FAIL_TASK, False),
        (BadRequestError(400, code="UnsupportedApiVersion"), 10, 1, 0, Next.STOP, False),
        (NotFoundError(404, code="JobNotFound"), 10, 1, 0, Next.STOP, False),
        (AuthenticationError(401), 10, 1, 0, Next.STOP, False),
        (PermissionDeniedError(403), 10, 1, 0, Next.STOP, False),
        (ConflictError(409, code="JobCompleted"), 10, 1, 0, Next.STOP, False),
        (KeyError("a sender bug"), 10, 1, 0, Next.STOP, True),
    ],
)
def test_judge_request(
    error: BaseException, size: int, failures: int, throttles: int, step: Next, ambiguous: bool
) -> None:
    verdict = judge(error, size, failures, throttles)
    assert (verdict.next, verdict.ambiguous) == (step, ambiguous)


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [(None, None), (timedelta(seconds=-3), 0.0), (timedelta(0), 0.0), (timedelta(seconds=7), 7.0)],
)
def test_retry_after_is_carried_bounded_below(retry_after: timedelta | None, seconds: Any) -> None:
    verdict = judge(ThrottledError(429, retry_after=retry_after), throttles=1)
    assert verdict.throttled
    assert verdict.retry_after == seconds


def test_created_by_this_run_allows_for_the_service_clock() -> None:
    sent = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    received = sent + timedelta(seconds=2)
    # The service's clock is 30 s behind the client's: a task it stamped 11:59:31 is ours.
    behind = received - timedelta(seconds=30)
    ours = sent - timedelta(seconds=29)
    assert created_by_this_run(ours, first_sent=sent, service_date=behind, received_at=received)
    assert not created_by_this_run(
        ours, first_sent=sent, service_date=received, received_at=received
    )
    # A task created an hour before the run is not ours, whatever the clocks.
    old = sent - timedelta(hours=1)
    assert not created_by_this_run(old, first_sent=sent, service_date=behind, received_at=received)
    # No Date header: the clocks are taken to agree (within the slack).
    assert created_by_this_run(
        sent - timedelta(milliseconds=500), first_sent=sent, service_date=None, received_at=received
    )


def test_same_task_is_a_subset_match() -> None:
    sent = {"id": "a", "commandLine": "x", "constraints": {"maxTaskRetryCount": 2}}
    found = {
        "id": "a",
        "commandLine": "x",
        "constraints": {"maxTaskRetryCount": 2, "retentionTime": "P7D"},
        "state": "active",
    }
    assert same_task(sent, found)
    assert not same_task({**sent, "commandLine": "y"}, found)
    assert not same_task({**sent, "displayName": "n"}, found)
    assert same_task(
        {"resourceFiles": [{"httpUrl": "u"}]},
        {"resourceFiles": [{"httpUrl": "u", "filePath": "f"}]},
    )
    assert not same_task({"resourceFiles": [{"httpUrl": "u"}]}, {"resourceFiles": []})


@pytest.mark.parametrize(
    ("raw", "code", "detail"),
    [
        ({"id": "a", "command_line": "x"}, "InvalidPropertyName", "'commandLine'"),
        (
            {"id": "a", "commandLine": "x", "requiredSlots": float("nan")},
            "InvalidRequestBody",
            "requiredSlots",
        ),
        (
            {"id": "a", "commandLine": "x", "x": [1, {"y": float("inf")}]},
            "InvalidRequestBody",
            "x[1].y",
        ),
        ({"id": "a", "commandLine": "x", "x": float("-inf")}, "InvalidRequestBody", "'x'"),
        ({"commandLine": "x"}, "MissingRequiredProperty", "no 'id'"),
        ({"id": 3, "commandLine": "x"}, "InvalidPropertyValue", "3"),
        (object(), "InvalidRequestBody", "object"),
    ],
)
def test_prepare_refuses_with_a_named_reason(raw: object, code: str, detail: str) -> None:
    got = prepare(raw, 0)
    assert isinstance(got, Rejected)
    assert got.result.error is not None
    assert got.result.error.code == code
    assert got.result.error.message is not None
    assert detail in (got.result.error.message.value or "")


def test_prepare_keeps_null_and_finite_numbers() -> None:
    got = prepare({"id": "a", "commandLine": "x", "displayName": None, "n": 1.5}, 0)
    assert got == ("a", b'{"id":"a","commandLine":"x","displayName":null,"n":1.5}')


def test_check_mapping_is_the_single_add_rule() -> None:
    with pytest.raises(ClientValidationError, match=r"'command_line'.*'commandLine'"):
        check_mapping({"id": "a", "command_line": "x"})
    with pytest.raises(ClientValidationError, match="NaN"):
        check_mapping({"id": "a", "commandLine": "x", "v": float("nan")})
    check_mapping({"id": "a", "commandLine": "x"})
