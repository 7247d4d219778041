"""Exceptions raised by `batch_tasks_async`.

Every exception the SDK raises on purpose derives from
[`BatchError`][batch_tasks_async.errors.BatchError]:

    BatchError
    ├── ClientValidationError (also ValueError)   bad input, found before anything was sent
    │   └── TaskTooLargeError                       a task cannot fit in any request body
    ├── ClientClosedError (also RuntimeError)       the client was used after close()
    ├── TransportError                              no HTTP response was received
    │   ├── BatchConnectionError                    connect / read / write failure
    │   └── BatchTimeoutError                       the client-side network timeout expired
    ├── ServiceError                                the service answered, with an error status
    │   │                                           or with a reply the SDK cannot use
    │   ├── ResponseDecodeError              a reply that cannot be used (not JSON, truncated,
    │   │                                    wrong types, missing fields, bad encoding)
    │   ├── NotModifiedError                 304 (a conditional GET found no change)
    │   ├── BadRequestError                  400
    │   ├── AuthenticationError              401, 403 AuthenticationFailed
    │   │   └── CredentialError              the credential could not produce a token
    │   ├── PermissionDeniedError            403 (other codes)
    │   ├── NotFoundError                    404
    │   ├── ConflictError                    409
    │   ├── PreconditionFailedError          412
    │   ├── RequestBodyTooLargeError         413
    │   ├── ThrottledError                   429
    │   └── ServerError                      5xx
    ├── WaitTimeoutError                            a wait on tasks ran out of time
    ├── MissingTasksError                           a wait was given ids the job does not have
    └── CreateTasksError                            the bulk engine could not add every task

[`TransportError`][batch_tasks_async.errors.TransportError] carries ``request_sent``: when it is
true the request may have reached
the service, so its outcome is *ambiguous* (it may or may not have been carried out).

Exception text never contains credentials: messages are built only from the service's error
body, status codes and identifiers, and whatever an error stores (message, body, excerpt,
headers) has ``Authorization`` values, Shared Key and bearer signatures and SAS ``sig=``
parameters replaced by ``<redacted>`` (a gateway page may echo the request's headers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ._wait_ledger import WaitSummary
    from .models import TaskAddCollectionResult, TaskAddResult

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BatchConnectionError",
    "BatchError",
    "BatchTimeoutError",
    "ClientClosedError",
    "ClientValidationError",
    "ConflictError",
    "CreateTasksError",
    "CredentialError",
    "MissingTasksError",
    "NotFoundError",
    "NotModifiedError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RequestBodyTooLargeError",
    "ResponseDecodeError",
    "ServerError",
    "ServiceError",
    "TaskInputError",
    "TaskTooLargeError",
    "ThrottledError",
    "TransportError",
    "UnconfirmedTask",
    "redact",
]

#: Shown in place of a secret.
REDACTED: Final = "<redacted>"

# What a secret looks like in text a server echoed: an Authorization header or JSON member
# (its whole value), a Shared Key or bearer signature anywhere, a SAS signature parameter.
_SECRETS: Final = re.compile(
    r"""(?P<head>authorization["']?\s*[:=]\s*["']?)[^\r\n"'<>,]+"""
    r"""|(?P<scheme>\b(?:SharedKey(?:Lite)?\s+[^\s:"'<>]+:|Bearer\s+))[A-Za-z0-9+/=%._~-]+"""
    r"""|(?P<sig>[?&]sig=)[^&\s"'<>]+""",
    re.IGNORECASE,
)
_SECRETS_BYTES: Final = re.compile(_SECRETS.pattern.encode("ascii"), re.IGNORECASE)
_MARKERS: Final = ("authorization", "sharedkey", "bearer", "sig=")


def _replacement(match: re.Match[str]) -> str:
    prefix = match.group("head") or match.group("scheme") or match.group("sig") or ""
    return prefix + REDACTED


def _replacement_bytes(match: re.Match[bytes]) -> bytes:
    prefix = match.group("head") or match.group("scheme") or match.group("sig") or b""
    return prefix + REDACTED.encode("ascii")


def redact(text: str) -> str:
    """``text`` with every credential it may echo replaced by ``<redacted>``.

    Covers ``Authorization`` header lines and JSON members, ``SharedKey account:signature``,
    ``Bearer token`` and SAS ``sig=`` parameters, in any letter case.
    """
    lowered = text.lower()
    if not any(marker in lowered for marker in _MARKERS):
        return text
    return _SECRETS.sub(_replacement, text)


def _redact_bytes(body: bytes) -> bytes:
    lowered = body.lower()
    if not any(marker.encode("ascii") in lowered for marker in _MARKERS):
        return body
    return _SECRETS_BYTES.sub(_replacement_bytes, body)


def _redact_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if not headers:
        return {}
    return {
        name: REDACTED if name.lower() in ("authorization", "proxy-authorization") else redact(v)
        for name, v in headers.items()
    }


class BatchError(Exception):
    """Root of every exception raised by this SDK."""


class ClientValidationError(BatchError, ValueError):
    """An argument was rejected before any request was sent."""


class ClientClosedError(BatchError, RuntimeError):
    """The client was used after [`close()`][batch_tasks_async.BatchClient.close].

    Also a ``RuntimeError``, which httpx raised before this type existed.
    """


class TaskInputError(BatchError):
    """The caller's own task iterator (or async iterator) raised while a bulk add read it.

    The exception it raised is the ``__cause__``; nothing more was read from the input.
    """


class TaskTooLargeError(ClientValidationError):
    """A task's serialized form is larger than the request body limit allows.

    Attributes:
        task_id: The id of the task that does not fit.
        size: Its serialized size in bytes.
        limit: The largest body, in bytes, that the request may have.
    """

    def __init__(self, task_id: str, size: int, limit: int) -> None:
        self.task_id = task_id
        self.size = size
        self.limit = limit
        super().__init__(
            f"task {task_id!r} serializes to {size} bytes, which does not fit in a request "
            f"body of at most {limit} bytes"
        )


class TransportError(BatchError):
    """No HTTP response was received.

    Attributes:
        request_sent: ``True`` when the request may have reached the service (the failure came
            after the request started to be written), so its outcome is unknown. ``False`` when
            the service certainly never saw it (for example, the connection was refused).
        method: HTTP method of the failed request.
        url: URL of the failed request (without credentials; Batch URLs never carry any).
        client_request_id: The ``client-request-id`` that was sent, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        request_sent: bool,
        method: str = "",
        url: str = "",
        client_request_id: str | None = None,
    ) -> None:
        self.request_sent = request_sent
        self.method = method
        self.url = url
        self.client_request_id = client_request_id
        super().__init__(redact(message))


class BatchConnectionError(TransportError):
    """The connection failed (refused, reset, closed before a full response)."""


class BatchTimeoutError(TransportError):
    """The client-side network timeout expired before a full response arrived."""


class ServiceError(BatchError):
    """The Batch service answered with an error status.

    Attributes:
        status_code: The HTTP status code.
        code: The Batch error code (for example ``TaskNotFound``), or ``None`` when the body
            carried none.
        message: The service's message text (or a description of the unreadable body).
        values: The error's ``values`` as an ordered mapping of key to value.
        request_id: The ``request-id`` response header.
        client_request_id: The ``client-request-id`` that was sent (or echoed).
        retry_after: The delay the service asked for in ``Retry-After``, if any.
        headers: The response headers, lower-cased names.
        body: The raw response body.

    Anything stored (message, values, headers, body) has credentials redacted.
    """

    def __init__(
        self,
        status_code: int,
        *,
        code: str | None = None,
        message: str = "",
        values: Mapping[str, str] | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        retry_after: timedelta | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = redact(message)
        self.values: dict[str, str] = {k: redact(v) for k, v in (values or {}).items()}
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after
        self.headers: dict[str, str] = _redact_headers(headers)
        self.body = _redact_bytes(body)
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"({self.status_code}"]
        parts.append(f" {self.code})" if self.code else ")")
        text = "".join(parts)
        if self.message:
            # The service appends "\nRequestId:...\nTime:..." to its text; the id is shown below.
            text += f" {self.message.split(chr(10), 1)[0]}"
        if self.values:
            details = ", ".join(f"{k}={v}" for k, v in self.values.items())
            text += f" [{details}]"
        if self.request_id:
            text += f" (request-id: {self.request_id})"
        return text

    def _state(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this error (for pickling)."""
        return {
            "code": self.code,
            "message": self.message,
            "values": self.values,
            "request_id": self.request_id,
            "client_request_id": self.client_request_id,
            "retry_after": self.retry_after,
            "headers": self.headers,
            "body": self.body,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_service_error, (type(self), self.status_code, self._state()))


def _rebuild_service_error(
    cls: type[ServiceError], status_code: int, kwargs: dict[str, Any]
) -> ServiceError:
    return cls(status_code, **kwargs)


#: How many characters of a reply's body an unusable-reply error keeps as its excerpt.
EXCERPT_CHARS: Final = 200


def body_excerpt(body: bytes, limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of ``body``, decoded leniently, credentials redacted."""
    text = body[: limit * 4].decode("utf-8", errors="replace")[:limit]
    return redact(text) + ("..." if len(body) > len(text.encode("utf-8", errors="replace")) else "")


class ResponseDecodeError(ServiceError):
    """The service sent a reply that the SDK cannot use.

    For example a body that is not JSON, truncated JSON, bytes that are not UTF-8, members of
    the wrong type or a required member missing. The status is usually a success status: the
    operation may have been carried out even though its answer is unreadable.

    Attributes:
        excerpt: The first characters of the body (credentials redacted), to show what came.
        reason: What was wrong with the reply.
    """

    def __init__(
        self,
        status_code: int,
        *,
        reason: str,
        request_id: str | None = None,
        client_request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        code: str | None = None,
        message: str = "",
        values: Mapping[str, str] | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        self.reason = redact(reason)
        self.excerpt = body_excerpt(body)
        if not message:
            size = f"{len(body)} bytes" if body else "no body"
            message = f"unusable reply to the request: {self.reason} ({size}"
            message += f": {self.excerpt!r})" if body else ")"
        super().__init__(
            status_code,
            code=code,
            message=message,
            values=values,
            request_id=request_id,
            client_request_id=client_request_id,
            retry_after=retry_after,
            headers=headers,
            body=body,
        )

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "reason": self.reason}


class NotModifiedError(ServiceError):
    """304: the resource has not changed since the ``If-None-Match`` / ``If-Modified-Since``."""


class BadRequestError(ServiceError):
    """400: the request was malformed or a property was invalid."""


class AuthenticationError(ServiceError):
    """401, or 403 ``AuthenticationFailed``: the credential was rejected."""


class CredentialError(AuthenticationError):
    """The credential could not produce a token, so no request was sent.

    For example azure-identity's ``ClientAuthenticationError`` or
    ``CredentialUnavailableError``, which is kept as ``__cause__``. ``status_code`` is ``0``
    (the service was not reached).
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "CredentialUnavailable")
        super().__init__(0, message=message, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,), None)


class PermissionDeniedError(ServiceError):
    """403: the caller is authenticated but not allowed to do this."""


class NotFoundError(ServiceError):
    """404: the job or task does not exist (``JobNotFound``, ``TaskNotFound``)."""


class ConflictError(ServiceError):
    """409: the request conflicts with the resource's state (``TaskExists``, ...)."""


class PreconditionFailedError(ServiceError):
    """412: an ``If-Match`` / ``If-Unmodified-Since`` condition was not met."""


class RequestBodyTooLargeError(ServiceError):
    """413 ``RequestBodyTooLarge``: the request body exceeded the service's limit."""


class ThrottledError(ServiceError):
    """429: the service is throttling this client."""


class ServerError(ServiceError):
    """5xx: the service failed or is unavailable."""


_STATUS_CLASSES: dict[int, type[ServiceError]] = {
    304: NotModifiedError,
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: RequestBodyTooLargeError,
    429: ThrottledError,
}


def service_error_class(status_code: int, code: str | None) -> type[ServiceError]:
    """Pick the [`ServiceError`][batch_tasks_async.errors.ServiceError] subclass for a status code
    and Batch error code."""
    if status_code == 403 and code == "AuthenticationFailed":
        return AuthenticationError
    if status_code >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status_code, ServiceError)


class UnconfirmedTask:
    """A task whose outcome the bulk engine could not confirm, with the reason.

    Attributes:
        task_id: The task's id.
        reason: Why it was not confirmed (the error that stopped it, or ``"cancelled"``,
            ``"deadline exceeded"``).
        ambiguous: ``True`` when a request carrying the task may have reached the service, so
            the task may exist there; ``False`` when it certainly was never added.
        task: The task as the caller gave it (model or mapping), so it can be resubmitted:
            ``retry = [u.task for u in err.unconfirmed]``. Not part of equality.
    """

    __slots__ = ("ambiguous", "reason", "task", "task_id")

    def __init__(self, task_id: str, reason: str, *, ambiguous: bool, task: object = None) -> None:
        self.task_id = task_id
        self.reason = reason
        self.ambiguous = ambiguous
        self.task = task

    def __repr__(self) -> str:
        return (
            f"UnconfirmedTask(task_id={self.task_id!r}, reason={self.reason!r}, "
            f"ambiguous={self.ambiguous!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UnconfirmedTask):
            return NotImplemented
        return (self.task_id, self.reason, self.ambiguous) == (
            other.task_id,
            other.reason,
            other.ambiguous,
        )

    def __hash__(self) -> int:
        return hash((self.task_id, self.reason, self.ambiguous))


class WaitTimeoutError(BatchError):
    """``client.task.wait`` / ``watch`` reached its ``timeout`` before every task completed.

    Attributes:
        summary: What was known when time ran out (a
            [`WaitSummary`][batch_tasks_async.WaitSummary] with ``done`` false).
        timeout: The timeout, in seconds.
    """

    def __init__(self, summary: WaitSummary, timeout: float) -> None:
        self.summary = summary
        self.timeout = timeout
        super().__init__(
            f"tasks still pending after {timeout:g}s: {summary.completed} of {summary.total} "
            f"completed ({summary.succeeded} succeeded, {summary.failed} failed)"
        )


class MissingTasksError(BatchError):
    """A wait was given task ids that the job does not have.

    Raised once every task of the job has completed and these ids were never seen.

    Attributes:
        task_ids: The ids not found, as given.
        summary: The summary of the tasks that were found (``summary.missing`` lists the ids).
    """

    def __init__(self, summary: WaitSummary) -> None:
        self.summary = summary
        self.task_ids = list(summary.missing)
        shown = ", ".join(repr(t) for t in self.task_ids[:5])
        more = f" and {len(self.task_ids) - 5} more" if len(self.task_ids) > 5 else ""
        super().__init__(
            f"{len(self.task_ids)} task(s) waited on are not in the job: {shown}{more} "
            f"(every other task completed: {summary.succeeded} succeeded, "
            f"{summary.failed} failed)"
        )


class CreateTasksError(BatchError):
    """The bulk engine could not add every task.

    Attributes:
        failed: The final [`TaskAddResult`][batch_tasks_async.models.TaskAddResult] of every task
            the
            service (or the client, for tasks too large or duplicated) refused.
        unconfirmed: Tasks never confirmed either way, each with the reason.
        request_errors: Request-level errors that stopped the run or exhausted retries.
        added: How many tasks were confirmed added.
        result: The full result, one entry per task (``add_collection`` only; ``None`` from a
            stream, whose results were yielded).
        failed_tasks: The tasks of ``failed``, as the caller gave them, in the same order.
    """

    def __init__(
        self,
        *,
        failed: Sequence[TaskAddResult],
        unconfirmed: Sequence[UnconfirmedTask],
        request_errors: Sequence[BaseException],
        added: int,
        result: TaskAddCollectionResult | None = None,
        failed_tasks: Sequence[object] = (),
    ) -> None:
        self.result = result
        self.failed = list(failed)
        self.failed_tasks = list(failed_tasks)
        self.unconfirmed = list(unconfirmed)
        self.request_errors = list(request_errors)
        self.added = added
        message = (
            f"{len(self.failed)} task(s) failed and {len(self.unconfirmed)} were not confirmed "
            f"({added} added)"
        )
        if self.failed:
            first = self.failed[0]
            code = first.error.code if first.error is not None else None
            message += f"; first failure: task {first.task_id!r}: {code or first.status.value}"
        elif self.unconfirmed:
            first_unconfirmed = self.unconfirmed[0]
            message += (
                f"; first unconfirmed: task {first_unconfirmed.task_id!r}: "
                f"{first_unconfirmed.reason}"
            )
        if self.request_errors:
            message += f"; first request error: {self.request_errors[0]}"
        super().__init__(message)
