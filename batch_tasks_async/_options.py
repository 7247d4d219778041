"""The per-call options every Task operation takes, written once.

``CallOptions`` and ``ConditionalCallOptions`` are ``TypedDict``s that the operations take as
``**options: Unpack[...]``, so type checkers see each keyword while the code names them in one
place. ``RequestOptions.from_call`` checks what a caller passed (unknown names, types, header-
safe text, aware datetimes) before anything is sent.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypedDict

import attrs

from ._dates import format_http_date
from ._retry import RetryPolicy
from .errors import ClientValidationError

__all__ = [
    "NO_OPTIONS",
    "CallOptions",
    "ConditionalCallOptions",
    "RequestOptions",
    "TimeConditionalCallOptions",
    "check_listing",
    "check_timeout",
    "http_date_now",
]


class CallOptions(TypedDict, total=False):
    """The options of every Task operation.

    Attributes:
        timeout: The longest the *server* may spend on the request, in whole seconds (the
            service caps it at 30). The client-side network timeout is set on the client.
        client_request_id: Your id for the call (a UUID is made when omitted). It is sent on
            every retry of the call, so the service can tell retries from new calls.
        return_client_request_id: Ask the service to echo ``client_request_id``.
        ocp_date: The time the request was issued (an aware datetime; default: now).
        retry_policy: Overrides the client's [`RetryPolicy`][batch_tasks_async.RetryPolicy]
            for this call.
    """

    timeout: int | None
    client_request_id: str | None
    return_client_request_id: bool | None
    ocp_date: datetime | None
    retry_policy: RetryPolicy | None


class ConditionalCallOptions(CallOptions, total=False):
    """``CallOptions`` and the conditions on the task's state.

    Attributes:
        if_match: An ETag the task must have (optimistic concurrency).
        if_none_match: An ETag the task must not have.
        if_modified_since: An aware datetime the task must have been modified since.
        if_unmodified_since: An aware datetime the task must not have been modified since.
    """

    if_match: str | None
    if_none_match: str | None
    if_modified_since: datetime | None
    if_unmodified_since: datetime | None


class TimeConditionalCallOptions(CallOptions, total=False):
    """``CallOptions`` and the time conditions, for operations without ETag conditions
    (a task file's properties and contents).

    Attributes:
        if_modified_since: An aware datetime the resource must have been modified since.
        if_unmodified_since: An aware datetime the resource must not have been modified since.
    """

    if_modified_since: datetime | None
    if_unmodified_since: datetime | None


_PLAIN: Final = frozenset(CallOptions.__annotations__)
_CONDITIONAL: Final = frozenset(ConditionalCallOptions.__annotations__) | _PLAIN
_TIME_CONDITIONAL: Final = frozenset(TimeConditionalCallOptions.__annotations__) | _PLAIN


def _header_text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ClientValidationError(f"{name} must be a non-empty string, got {value!r}")
    if not (value.isascii() and value.isprintable()):
        raise ClientValidationError(
            f"{name} must be printable ASCII text (it is sent as a header), got {value!r}"
        )
    return value


def _aware(name: str, value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ClientValidationError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClientValidationError(
            f"{name} {value.isoformat()} has no time zone; pass an aware datetime"
        )
    return value


def check_timeout(value: object) -> int | None:
    """``value`` if it is a valid server-side ``timeout`` (whole seconds >= 1) or ``None``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ClientValidationError(
            f"timeout is the server-side limit in whole seconds (>= 1), got {value!r}"
        )
    return value


def check_listing(max_results: object, filter: object) -> None:
    """Check a list operation's ``max_results`` (1 to 1000 or ``None``) and ``filter``
    (a string or ``None``)."""
    if max_results is not None and (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= 1000
    ):
        raise ClientValidationError(f"max_results must be from 1 to 1000, got {max_results!r}")
    if filter is not None and not isinstance(filter, str):
        raise ClientValidationError(f"filter must be a string, got {type(filter).__name__}")


@attrs.frozen(kw_only=True)
class RequestOptions:
    """Checked per-call options, as the pipeline sends them."""

    timeout: int | None = None
    client_request_id: str | None = None
    return_client_request_id: bool | None = None
    ocp_date: datetime | None = None
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None
    retry_policy: RetryPolicy | None = None
    #: Further request headers of one operation (``ocp-range``, an ``accept`` other than
    #: JSON), sent as given after the others; set by the operation, never by a caller.
    extra_headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_call(
        cls,
        options: CallOptions | ConditionalCallOptions | TimeConditionalCallOptions,
        *,
        conditional: bool | Literal["time"],
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> RequestOptions:
        """Check the keyword options one call was given.

        Args:
            options: The ``**options`` of the call.
            conditional: Whether the operation takes the ``if_*`` conditions (``"time"``:
                only ``if_modified_since`` and ``if_unmodified_since``).
            extra_headers: The operation's own further headers.

        Raises:
            ClientValidationError: An unknown option, or a value of the wrong type.
        """
        if not options:
            return cls(extra_headers=extra_headers) if extra_headers else NO_OPTIONS
        if conditional == "time":
            allowed = _TIME_CONDITIONAL
        else:
            allowed = _CONDITIONAL if conditional else _PLAIN
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ClientValidationError(
                f"unexpected option(s) {', '.join(unknown)}; this operation takes "
                f"{', '.join(sorted(allowed))}"
            )
        given: dict[str, Any] = dict(options)
        return_id = given.get("return_client_request_id")
        if return_id is not None and not isinstance(return_id, bool):
            raise ClientValidationError(
                f"return_client_request_id must be a bool, got {return_id!r}"
            )
        policy = given.get("retry_policy")
        if policy is not None and not isinstance(policy, RetryPolicy):
            raise ClientValidationError(
                f"retry_policy must be a RetryPolicy, got {type(policy).__name__}"
            )
        return cls(
            timeout=check_timeout(given.get("timeout")),
            client_request_id=_header_text("client_request_id", given.get("client_request_id")),
            return_client_request_id=return_id,
            ocp_date=_aware("ocp_date", given.get("ocp_date")),
            if_match=_header_text("if_match", given.get("if_match")),
            if_none_match=_header_text("if_none_match", given.get("if_none_match")),
            if_modified_since=_aware("if_modified_since", given.get("if_modified_since")),
            if_unmodified_since=_aware("if_unmodified_since", given.get("if_unmodified_since")),
            retry_policy=policy,
            extra_headers=extra_headers,
        )

    def headers(self) -> dict[str, str]:
        """The headers these options add (``ocp-date`` included, now when not given)."""
        headers = {
            "ocp-date": format_http_date(self.ocp_date) if self.ocp_date else http_date_now()
        }
        if self.return_client_request_id is not None:
            headers["return-client-request-id"] = (
                "true" if self.return_client_request_id else "false"
            )
        if self.if_match is not None:
            headers["if-match"] = self.if_match
        if self.if_none_match is not None:
            headers["if-none-match"] = self.if_none_match
        if self.if_modified_since is not None:
            headers["if-modified-since"] = format_http_date(self.if_modified_since)
        if self.if_unmodified_since is not None:
            headers["if-unmodified-since"] = format_http_date(self.if_unmodified_since)
        headers.update(self.extra_headers)
        return headers


#: A call given no options.
NO_OPTIONS: Final = RequestOptions()

_now_second = -1
_now_text = ""


def http_date_now() -> str:
    """The current time as an HTTP date, formatted at most once a second."""
    global _now_second, _now_text
    second = int(time.time())
    if second != _now_second:
        _now_text = format_http_date(datetime.fromtimestamp(second, UTC))
        _now_second = second
    return _now_text
