"""The bulk engine's rules: what an outcome means and what happens next. Pure functions.

* `judge_entries`: the service's entries for one task -> added / exists / failed / retry /
  verify. Any entry saying ``success`` wins over the others for the same id; an unknown status
  is *unknown* (retried, then unconfirmed and ambiguous), never a failure; ``TaskExists`` after an
  ambiguous attempt is verified by reading the task back.
* `judge_request`: a request that failed as a whole -> resend / split / bisect / fail the task
  / give the task up / stop the run. Only errors that doom every request stop a run.
* `created_by_this_run` and `same_task`: the verification of ``TaskExists`` after an
  ambiguous attempt (also used by the single-task ``add``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from .. import models
from .._pipeline import REFUSED_CODES
from ..errors import ResponseDecodeError, ServiceError, TransportError

__all__ = [
    "CLOCK_SLACK",
    "FATAL_400_CODES",
    "Entry",
    "Next",
    "RequestVerdict",
    "created_by_this_run",
    "is_throttling",
    "judge_entries",
    "judge_request",
    "same_task",
]

_SUCCESS: Final = models.TaskAddStatus.SUCCESS
_CLIENT_ERROR: Final = models.TaskAddStatus.CLIENT_ERROR
_SERVER_ERROR: Final = models.TaskAddStatus.SERVER_ERROR
_KNOWN: Final = frozenset({_SUCCESS, _CLIENT_ERROR, _SERVER_ERROR})

#: 400 codes that describe the request rather than any task in it: every request would fail.
FATAL_400_CODES: Final = frozenset(
    {
        "InvalidApiVersion",
        "InvalidAuthenticationInfo",
        "InvalidHeaderValue",
        "InvalidQueryParameterValue",
        "InvalidUri",
        "MissingRequiredHeader",
        "MissingRequiredQueryParameter",
        "UnsupportedApiVersion",
        "UnsupportedHeader",
        "UnsupportedHttpVerb",
        "UnsupportedQueryParameter",
        "UnsupportedRequestVersion",
    }
)

#: Allowance for the service's clock resolution (``Date`` has whole seconds) and for the time
#: between the client noting "first sent" and the service receiving the request.
CLOCK_SLACK: Final = timedelta(seconds=1)


class Entry(enum.Enum):
    """What one task's entries in an answer mean."""

    ADDED = "added"  #: the service holds it because of this run
    EXISTS = "exists"  #: it existed before (``if_exists="skip"``): a success, not "added"
    FAILED = "failed"  #: a final refusal; the service does not hold it because of this run
    RETRY = "retry"  #: outcome unknown or refused for now: send it again
    VERIFY = "verify"  #: ``TaskExists`` after an ambiguous attempt: read it back to decide


def judge_entries(
    entries: Sequence[models.TaskAddResult], *, ambiguous: bool, skip_existing: bool
) -> tuple[Entry, models.TaskAddResult | None, bool, bool]:
    """Judge one task's entries in one answer (usually one; none when it was left out).

    Returns ``(verdict, entry, ambiguous, refused)``: the entry the verdict rests on, whether
    the task may now have been committed by this run, and whether the service refused it for
    now (``ServerBusy``: throttling).
    """
    exists: models.TaskAddResult | None = None
    failure: models.TaskAddResult | None = None
    server: models.TaskAddResult | None = None
    for entry in entries:
        status = entry.status
        if status not in _KNOWN:
            ambiguous = True  # a status this SDK does not know: unknown, not a failure
            continue
        if status is _SUCCESS:
            return Entry.ADDED, entry, ambiguous, False
        if status is _CLIENT_ERROR:
            code = entry.error.code if entry.error is not None else None
            if code == "TaskExists":
                exists = entry
            elif failure is None:
                failure = entry
        else:
            server = server or entry
    if exists is not None:
        if ambiguous:
            return Entry.VERIFY, exists, True, False
        if skip_existing:
            return Entry.EXISTS, exists, False, False
        return Entry.FAILED, exists, False, False
    if failure is not None:
        return Entry.FAILED, failure, ambiguous, False
    if server is not None:
        code = server.error.code if server.error is not None else None
        if code in REFUSED_CODES:
            return Entry.RETRY, server, ambiguous, True
        return Entry.RETRY, server, True, False
    # Left out of the answer, or only unknown statuses: it may have been committed.
    return Entry.RETRY, None, True, False


class Next(enum.Enum):
    """What to do with a request that failed as a whole."""

    RESEND = "resend"  #: the same body and client-request-id, after a wait
    SPLIT = "split"  #: 413: lower the byte limit and pack the tasks again
    BISECT = "bisect"  #: send each half as a request of its own
    FAIL_TASK = "fail_task"  #: the request held one task and the answer is about it
    GIVE_UP = "give_up"  #: one task whose request keeps failing: unconfirmed (or failed)
    STOP = "stop"  #: every request would fail: stop the run


@attrs.frozen
class RequestVerdict:
    """The decision about a failed request.

    Attributes:
        next: What to do.
        ambiguous: Whether the failed attempt may have committed the request's tasks.
        throttled: Whether the service asked the client to slow down.
        retry_after: The wait the service asked for, in seconds (``RESEND`` only).
    """

    next: Next
    ambiguous: bool
    throttled: bool = False
    retry_after: float | None = None


def _retry_after(error: ServiceError) -> float | None:
    value = error.retry_after
    if value is None:
        return None
    seconds = value.total_seconds()
    return seconds if seconds > 0 else 0.0


def is_throttling(error: BaseException) -> bool:
    """Whether a request-level error is the service asking the client to slow down (``429``,
    or ``503`` with a refusal code): such sends count against the throttling budget."""
    return isinstance(error, ServiceError) and (
        error.status_code == 429 or (error.status_code == 503 and error.code in REFUSED_CODES)
    )


def judge_request(
    error: BaseException,
    *,
    size: int,
    failures: int,
    throttles: int,
    max_attempts: int,
    max_throttled_attempts: int,
) -> RequestVerdict:
    """Decide what a request of ``size`` tasks that failed with ``error`` means.

    ``failures`` and ``throttles`` count this request's failed attempts so far, this one
    included. A request out of budget is bisected (so only the task that causes it fails); a
    single task out of budget is given up. Throttling out of budget stops the run.
    """
    if isinstance(error, TransportError):
        # A timeout of the whole attempt is a BatchTimeoutError with request_sent=True.
        return _budget(error.request_sent, size, failures, max_attempts)
    if isinstance(error, ResponseDecodeError):
        # An answer that cannot be read: the request may well have been carried out.
        return _budget(True, size, failures, max_attempts)
    if not isinstance(error, ServiceError):
        # A sender bug: the request may or may not have gone out. Nothing tells us more.
        return RequestVerdict(Next.STOP, ambiguous=True)
    status = error.status_code
    if status == 413:
        return RequestVerdict(Next.FAIL_TASK if size == 1 else Next.SPLIT, ambiguous=False)
    if is_throttling(error):
        if throttles >= max_throttled_attempts:
            return RequestVerdict(Next.STOP, ambiguous=False, throttled=True)
        return RequestVerdict(
            Next.RESEND, ambiguous=False, throttled=True, retry_after=_retry_after(error)
        )
    if status == 408 or status >= 500:
        verdict = _budget(True, size, failures, max_attempts)
        if status == 503 and verdict.next is Next.RESEND:
            return attrs.evolve(verdict, throttled=True, retry_after=_retry_after(error))
        if verdict.next is Next.RESEND:
            return attrs.evolve(verdict, retry_after=_retry_after(error))
        return verdict
    if status == 400 and error.code not in FATAL_400_CODES:
        return RequestVerdict(Next.FAIL_TASK if size == 1 else Next.BISECT, ambiguous=False)
    # 401, 403, 404 (JobNotFound), 409 (a completed job), a fatal 400, other 4xx.
    return RequestVerdict(Next.STOP, ambiguous=False)


def _budget(ambiguous: bool, size: int, failures: int, max_attempts: int) -> RequestVerdict:
    if failures < max_attempts:
        return RequestVerdict(Next.RESEND, ambiguous=ambiguous)
    return RequestVerdict(Next.BISECT if size > 1 else Next.GIVE_UP, ambiguous=ambiguous)


def created_by_this_run(
    creation_time: datetime,
    *,
    first_sent: datetime,
    service_date: datetime | None,
    received_at: datetime,
) -> bool:
    """Whether a task the service created at ``creation_time`` was created by this run.

    ``first_sent`` is the client's clock when the task's first attempt went out;
    ``service_date`` (the ``Date`` of the read-back answer) and ``received_at`` (the client's
    clock when that answer arrived) measure how far the service's clock is ahead.
    """
    skew = (service_date - received_at) if service_date is not None else timedelta(0)
    return creation_time >= first_sent + skew - CLOCK_SLACK


def same_task(sent: Mapping[str, Any], found: Mapping[str, Any]) -> bool:
    """Whether the task read back holds everything that was sent (the service adds defaults)."""
    for key, value in sent.items():
        if key not in found or not _covers(value, found[key]):
            return False
    return True


def _covers(sent: object, found: object) -> bool:
    if isinstance(sent, Mapping):
        return isinstance(found, Mapping) and same_task(sent, found)
    if isinstance(sent, list):
        return (
            isinstance(found, list)
            and len(sent) == len(found)
            and all(_covers(a, b) for a, b in zip(sent, found, strict=True))
        )
    return sent == found
