"""The HTTP pipeline: the one place that touches httpx.

It builds each request (api-version, ``client-request-id``, ``ocp-date``, auth), sends it,
maps failures onto :mod:`batch_tasks_async.errors`, and retries with tenacity.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import platform
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import anyio
import attrs
import httpx
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ._credentials import (
    AsyncTokenCredential,
    BearerTokenCredential,
    SharedKeyCredential,
    _TokenCache,
)
from ._retry import backoff, is_testing, parse_retry_after
from .errors import (
    BatchConnectionError,
    BatchTimeoutError,
    ClientValidationError,
    ServiceError,
    TransportError,
    body_excerpt,
    service_error_class,
)

__all__ = ["DEFAULT_API_VERSION", "Credential", "RetryPolicy"]

_LOGGER = logging.getLogger("batch_tasks_async")

#: The api-version of the REST specification this SDK is written against.
DEFAULT_API_VERSION: Final = "2024-07-01.20.0"

Credential = SharedKeyCredential | BearerTokenCredential | AsyncTokenCredential

_VERSION = "0.1.0"
_USER_AGENT = (
    f"batch-tasks-async/{_VERSION} httpx/{httpx.__version__} "
    f"Python/{platform.python_version()} ({platform.system()})"
)
_JSON_CONTENT_TYPE = "application/json; odata=minimalmetadata"


def _http_date(value: datetime) -> str:
    """RFC 1123 date as the ``ocp-date`` and ``If-*-Since`` headers want it."""
    if value.tzinfo is None:
        raise ClientValidationError(
            f"datetime {value.isoformat()} has no time zone; pass an aware datetime"
        )
    return email.utils.format_datetime(value.astimezone(UTC), usegmt=True)


_now_second = -1
_now_text = ""


def _http_date_now() -> str:
    """The current time as an RFC 1123 date, formatted at most once a second."""
    global _now_second, _now_text
    second = int(time.time())
    if second != _now_second:
        _now_text = email.utils.formatdate(second, usegmt=True)
        _now_second = second
    return _now_text


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the HTTP layer retries a request.

    Retried: connection failures, client-side timeouts, and the statuses in
    ``retry_statuses``. Waits honour ``Retry-After`` (seconds or an HTTP date, at most
    ``max_retry_after``), otherwise grow exponentially with jitter, by the one formula both
    retry layers share ([`backoff`][batch_tasks_async._retry.backoff]).
    [`set_testing`][batch_tasks_async._retry.set_testing] removes every wait in tests.

    Attributes:
        max_attempts: Attempts in all, the first included (1 disables retries).
        backoff_initial: First backoff, in seconds; it doubles with each further attempt.
        backoff_max: Largest backoff, in seconds.
        jitter: Fraction of each backoff that is randomized, from 0 (exact delays) to 1
            (the default, "full jitter": uniform between 0 and the delay).
        max_retry_after: Largest ``Retry-After`` honoured, in seconds (longer asks are cut).
        total_timeout: No retry starts whose wait would end later than this many seconds after
            the first attempt began; ``None`` for no bound.
        retry_statuses: HTTP statuses that are retried.
        backoff: ``False`` retries at once, ignoring waits (for tests).
    """

    max_attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 1.0
    max_retry_after: float = 60.0
    total_timeout: float | None = 120.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    backoff: bool = True

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ClientValidationError("RetryPolicy.max_attempts must be at least 1")
        if self.backoff_initial < 0 or self.backoff_max < 0 or self.max_retry_after < 0:
            raise ClientValidationError("RetryPolicy backoff values must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ClientValidationError(
                f"RetryPolicy.jitter must be between 0 and 1, got {self.jitter!r}"
            )

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def without_backoff(self) -> RetryPolicy:
        """The same policy with every wait removed (for tests)."""
        return attrs.evolve(self, backoff=False)

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` is one this policy retries."""
        if isinstance(error, TransportError):
            return True
        return isinstance(error, ServiceError) and error.status_code in self.retry_statuses

    def wait_for(self, error: BaseException | None, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` after ``error``."""
        if not self.backoff or is_testing():
            return 0.0
        if isinstance(error, ServiceError) and error.retry_after is not None:
            return min(max(error.retry_after.total_seconds(), 0.0), self.max_retry_after)
        return backoff(
            attempt, initial=self.backoff_initial, maximum=self.backoff_max, jitter=self.jitter
        )


class _PolicyWait(wait_base):
    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        return self._policy.wait_for(error, retry_state.attempt_number)


#: The longest ``Retry-After`` kept on an error; each retry layer caps its waits further.
_RETRY_AFTER_KEPT: Final = 86400.0


def _retry_after(headers: httpx.Headers) -> timedelta | None:
    seconds = parse_retry_after(headers, cap=_RETRY_AFTER_KEPT)
    return None if seconds is None else timedelta(seconds=seconds)


def _error_from_response(response: httpx.Response, client_request_id: str | None) -> ServiceError:
    """Map an error response onto the :class:`ServiceError` tree."""
    body = response.content
    code: str | None = None
    message = ""
    values: dict[str, str] = {}
    data: Any = None
    if body:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
    if isinstance(data, dict):
        raw_code = data.get("code")
        code = raw_code if isinstance(raw_code, str) else None
        raw_message = data.get("message")
        if isinstance(raw_message, dict):
            message = str(raw_message.get("value") or "")
        elif isinstance(raw_message, str):
            message = raw_message
        raw_values = data.get("values")
        if isinstance(raw_values, list):
            for item in raw_values:
                if isinstance(item, dict) and "key" in item:
                    values[str(item["key"])] = str(item.get("value", ""))
    elif body:
        message = (
            f"the service answered {response.status_code} with a body that is not a Batch error "
            f"({len(body)} bytes, content-type {response.headers.get('content-type', 'none')!r}): "
            f"{body_excerpt(body)}"
        )
    else:
        message = (
            f"the service answered {response.status_code} {response.reason_phrase} with no body"
        )
    cls = service_error_class(response.status_code, code)
    return cls(
        response.status_code,
        code=code,
        message=message,
        values=values,
        request_id=response.headers.get("request-id"),
        client_request_id=response.headers.get("client-request-id") or client_request_id,
        retry_after=_retry_after(response.headers),
        headers={k.lower(): v for k, v in response.headers.items()},
        body=body,
    )


#: Batch error codes with which a 5xx (or a per-task ``servererror``) says the request was
#: refused, not carried out.
REFUSED_CODES: Final = frozenset({"ServerBusy", "TooManyRequests"})


def outcome_unknown(error: BaseException) -> bool:
    """Whether the request that failed with ``error`` may have been carried out.

    True for a transport failure after the request was sent (a client-side timeout, a
    connection dropped before the answer), a 408, and a 5xx, except a 503 whose Batch error
    code says the service refused the request (``ServerBusy``). False for anything else:
    the service either never saw the request or answered that it did not carry it out.
    """
    if isinstance(error, TransportError):
        return error.request_sent
    if isinstance(error, ServiceError):
        if error.status_code == 408:
            return True
        if error.status_code >= 500:
            return not (error.status_code == 503 and error.code in REFUSED_CODES)
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@attrs.define(kw_only=True)
class CallState:
    """What one logical call learnt across its attempts.

    Attributes:
        client_request_id: The id sent on every attempt of the call.
        attempts: How many attempts were made.
        ambiguous: Whether some attempt may have reached the service without an answer
            (timeout, connection lost after sending, 408 or 5xx).
    """

    client_request_id: str
    attempts: int = 0
    ambiguous: bool = False


@attrs.frozen(kw_only=True)
class RequestOptions:
    """Per-call options shared by every operation."""

    timeout: int | None = None
    client_request_id: str | None = None
    return_client_request_id: bool | None = None
    ocp_date: datetime | None = None
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None
    #: Further request headers of one operation (e.g. ``ocp-range``), sent as given.
    extra_headers: tuple[tuple[str, str], ...] = ()


class Pipeline:
    """Sends Batch requests: URL building, headers, auth, error mapping and retries."""

    def __init__(
        self,
        endpoint: str,
        credential: Credential | None,
        *,
        api_version: str,
        http_client: httpx.AsyncClient,
        retry_policy: RetryPolicy,
    ) -> None:
        split = urlsplit(endpoint)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ClientValidationError(
                f"endpoint must be an absolute http(s) URL such as "
                f"https://<account>.<region>.batch.azure.com, got {endpoint!r}"
            )
        if credential is not None and split.scheme == "http" and not _is_loopback(split.hostname):
            raise ClientValidationError(
                "refusing to send credentials over plain http to a non-loopback host "
                f"({split.hostname}); use https"
            )
        self.endpoint = endpoint.rstrip("/")
        self._origin = (split.scheme, split.hostname, split.port)
        self.api_version = api_version
        self.http = http_client
        self.retry_policy = retry_policy
        self._url_cache: dict[str, httpx.URL] = {}
        #: How retries wait; replaceable so tests can observe waits without sleeping.
        self.sleep: Callable[[float], Awaitable[None]] = anyio.sleep
        self._shared_key: SharedKeyCredential | None = None
        self._static_auth: str | None = None
        self._token_cache: _TokenCache | None = None
        if isinstance(credential, SharedKeyCredential):
            self._shared_key = credential
        elif isinstance(credential, BearerTokenCredential):
            self._static_auth = f"Bearer {credential.token}"
        elif credential is not None:
            if not callable(getattr(credential, "get_token", None)):
                raise ClientValidationError(
                    "credential must be a SharedKeyCredential, a BearerTokenCredential, or an "
                    "object with an async get_token(*scopes) method; "
                    f"got {type(credential).__name__}"
                )
            self._token_cache = _TokenCache(credential)

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """Absolute URL for ``path`` with the api-version and ``params`` in the query."""
        query: dict[str, Any] = {"api-version": self.api_version}
        if params:
            query.update({k: v for k, v in params.items() if v is not None})
        return f"{self.endpoint}{path}?{urlencode(query, quote_via=quote, safe='$,')}"

    def _parsed_url(self, url: str) -> httpx.URL:
        """``httpx.URL(url)``, parsed once for the URLs a call sends again and again."""
        parsed = self._url_cache.get(url)
        if parsed is None:
            if len(self._url_cache) >= 256:
                self._url_cache.clear()
            parsed = self._url_cache[url] = httpx.URL(url)
        return parsed

    def check_same_origin(self, url: str) -> None:
        """Refuse to send credentials to a URL on another host than the endpoint."""
        split = urlsplit(url)
        if (split.scheme, split.hostname, split.port) != self._origin:
            raise ClientValidationError(
                f"the service returned a link to another origin ({split.scheme}://{split.netloc}); "
                "it is not followed, so the credential is not sent there"
            )

    def _headers(self, options: RequestOptions, state: CallState) -> dict[str, str]:
        headers = {
            "accept": "application/json",
            "user-agent": _USER_AGENT,
            "client-request-id": state.client_request_id,
            "ocp-date": _http_date(options.ocp_date) if options.ocp_date else _http_date_now(),
        }
        if options.return_client_request_id is not None:
            headers["return-client-request-id"] = (
                "true" if options.return_client_request_id else "false"
            )
        if options.if_match is not None:
            headers["if-match"] = options.if_match
        if options.if_none_match is not None:
            headers["if-none-match"] = options.if_none_match
        if options.if_modified_since is not None:
            headers["if-modified-since"] = _http_date(options.if_modified_since)
        if options.if_unmodified_since is not None:
            headers["if-unmodified-since"] = _http_date(options.if_unmodified_since)
        headers.update(options.extra_headers)
        return headers

    async def _authorize(self, request: httpx.Request) -> None:
        if self._shared_key is not None:
            request.headers["authorization"] = self._shared_key.sign(
                request.method, str(request.url), request.headers
            )
        elif self._static_auth is not None:
            request.headers["authorization"] = self._static_auth
        elif self._token_cache is not None:
            request.headers["authorization"] = await self._token_cache.authorization()

    async def _send_once(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        options: RequestOptions,
        state: CallState,
        stream: bool = False,
    ) -> httpx.Response:
        headers = self._headers(options, state)
        if content is not None:
            headers["content-type"] = _JSON_CONTENT_TYPE
        request = self.http.build_request(
            method, self._parsed_url(url), headers=headers, content=content
        )
        await self._authorize(request)
        state.attempts += 1
        try:
            response = await self.http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            sent = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            state.ambiguous |= sent
            raise BatchTimeoutError(
                f"{method} {_safe_url(url)} timed out on the client ({type(exc).__name__})",
                request_sent=sent,
                method=method,
                url=url,
                client_request_id=state.client_request_id,
            ) from exc
        except httpx.TransportError as exc:
            sent = not isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol)
            state.ambiguous |= sent
            raise BatchConnectionError(
                f"{method} {_safe_url(url)} failed: {type(exc).__name__}: {exc}",
                request_sent=sent,
                method=method,
                url=url,
                client_request_id=state.client_request_id,
            ) from exc
        if response.status_code >= 300:
            if stream:
                try:
                    await response.aread()  # the error body is small; it closes the stream
                except httpx.HTTPError as exc:
                    await response.aclose()
                    raise BatchConnectionError(
                        f"{method} {_safe_url(url)} answered {response.status_code} and its "
                        f"error body could not be read: {type(exc).__name__}",
                        request_sent=True,
                        method=method,
                        url=url,
                        client_request_id=state.client_request_id,
                    ) from exc
            error = _error_from_response(response, state.client_request_id)
            state.ambiguous |= outcome_unknown(error)
            raise error
        return response

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        options: RequestOptions | None = None,
        retry_policy: RetryPolicy | None = None,
        state: CallState | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one logical call, retrying as ``retry_policy`` (or the client's) says.

        Args:
            method: HTTP method.
            url: Absolute URL (from :meth:`url`, or a next link the service returned).
            content: The JSON body, already serialized.
            options: Per-call options (headers, conditions).
            retry_policy: Overrides the client's retry policy for this call.
            state: Receives what the call learnt (attempts, ambiguity); one is made if omitted.
            stream: Return as soon as a successful response's headers arrive, its body unread
                (the caller reads it with ``aiter_bytes()`` and must ``aclose()`` it).

        Returns:
            The successful response, its body read (unless ``stream``).

        Raises:
            ServiceError: The service answered with an error status (after retries).
            TransportError: No response arrived (after retries).
        """
        options = options or RequestOptions()
        if state is None:
            state = CallState(client_request_id=options.client_request_id or str(uuid.uuid4()))
        policy = retry_policy or self.retry_policy
        if policy.max_attempts == 1:
            return await self._send_once(
                method, url, content=content, options=options, state=state, stream=stream
            )
        stop: stop_base = stop_after_attempt(policy.max_attempts)
        if policy.total_timeout is not None:
            stop = stop | stop_before_delay(policy.total_timeout)
        retrying = AsyncRetrying(
            stop=stop,
            wait=_PolicyWait(policy),
            retry=retry_if_exception(policy.is_retryable),
            sleep=self.sleep,
            reraise=True,
            before_sleep=_log_retry,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(
                    method, url, content=content, options=options, state=state, stream=stream
                )
        raise AssertionError(
            "unreachable: tenacity either returns or re-raises"
        )  # pragma: no cover


def _safe_url(url: str) -> str:
    """The URL without its query (which holds nothing secret, but can be long)."""
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc}{split.path}"


def _log_retry(retry_state: RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    _LOGGER.info(
        "retrying after attempt %d failed (%s); waiting %.2fs",
        retry_state.attempt_number,
        error,
        wait,
    )


def loads(response: httpx.Response) -> Any:
    """Parse a JSON response body."""
    return orjson.loads(response.content)


__all__ += [
    "REFUSED_CODES",
    "CallState",
    "Pipeline",
    "RequestOptions",
    "loads",
    "outcome_unknown",
]
