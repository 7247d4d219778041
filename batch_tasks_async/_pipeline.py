"""The HTTP pipeline: the one place that touches httpx.

It builds each request (api-version, ``client-request-id``, ``ocp-date``, auth), sends it,
maps failures onto the [`errors`][batch_tasks_async.errors] tree (one table for foreign
exceptions), and retries as the call's [`RetryPolicy`][batch_tasks_async.RetryPolicy] says.

Two ways to send, one behaviour on the wire:

- **Direct**: the SDK's own client (no event hooks, no auth, no cookies, no redirects, no
  proxy) has its transport called with the request built and signed once per attempt,
  skipping ``httpx.AsyncClient.send`` (its cookie extraction alone costs more than the rest
  of a request's client-side CPU).
- **Through the client**: a caller's own ``httpx.AsyncClient``, or the SDK's when a proxy
  applies, gets ``client.send`` with its full semantics.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import platform
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Final, NoReturn
from urllib.parse import quote, urlencode, urlsplit

import anyio
import attrs
import httpx
import tenacity

from ._credentials import (
    AsyncTokenCredential,
    AsyncTokenInfoCredential,
    Authorizer,
    BearerTokenCredential,
    NamedKeyCredential,
    SharedKeyCredential,
)
from ._options import NO_OPTIONS as _NO_OPTIONS
from ._options import RequestOptions
from ._response import decode_json, unusable
from ._retry import RetryPolicy, parse_retry_after
from ._serialization import loads as loads_json
from ._version import __version__
from .errors import (
    BatchConnectionError,
    BatchError,
    BatchTimeoutError,
    ClientClosedError,
    ClientValidationError,
    ServiceError,
    TransportError,
    body_excerpt,
    service_error_class,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "REFUSED_CODES",
    "CallState",
    "Credential",
    "Pipeline",
    "RequestOptions",
    "RetryPolicy",
    "loads",
    "outcome_unknown",
]

_LOGGER = logging.getLogger("batch_tasks_async")

#: The api-version of the REST specification this SDK is written against.
DEFAULT_API_VERSION: Final = "2024-07-01.20.0"

Credential = (
    SharedKeyCredential
    | BearerTokenCredential
    | NamedKeyCredential
    | AsyncTokenCredential
    | AsyncTokenInfoCredential
)

_USER_AGENT: Final = (
    f"batch-tasks-async/{__version__} httpx/{httpx.__version__} "
    f"Python/{platform.python_version()} ({platform.system()})"
)
_JSON_CONTENT_TYPE: Final = "application/json; odata=minimalmetadata"

#: JSON loading for the rest of the SDK (the bulk engine's add-collection replies).
loads = decode_json

#: The longest ``Retry-After`` kept on an error; each retry layer caps its waits further.
_RETRY_AFTER_KEPT: Final = 86400.0


def _retry_after(headers: httpx.Headers) -> timedelta | None:
    seconds = parse_retry_after(headers, cap=_RETRY_AFTER_KEPT)
    return None if seconds is None else timedelta(seconds=seconds)


def _error_from_response(response: httpx.Response, client_request_id: str | None) -> ServiceError:
    """Map an error response onto the ``ServiceError`` tree."""
    body = response.content
    code: str | None = None
    message = ""
    values: dict[str, str] = {}
    data: Any = None
    if body:
        try:
            data = loads_json(body)
        except ValueError:  # not JSON, or not UTF-8: described below from its excerpt
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


# The one table of foreign exceptions (httpx's and those a transport may let through), in
# the order they are tried: (exception, SDK error, whether the request may have been sent).
_TRANSPORT_ERRORS: Final[tuple[tuple[type[BaseException], type[TransportError], bool], ...]] = (
    (httpx.ConnectTimeout, BatchTimeoutError, False),
    (httpx.PoolTimeout, BatchTimeoutError, False),
    (httpx.TimeoutException, BatchTimeoutError, True),
    (httpx.ConnectError, BatchConnectionError, False),
    (httpx.ProxyError, BatchConnectionError, False),
    (httpx.UnsupportedProtocol, BatchConnectionError, False),
    (httpx.LocalProtocolError, BatchConnectionError, False),
    (httpx.TransportError, BatchConnectionError, True),
    (httpx.StreamError, BatchConnectionError, True),
    (anyio.BrokenResourceError, BatchConnectionError, True),
    (anyio.ClosedResourceError, BatchConnectionError, True),
    (anyio.EndOfStream, BatchConnectionError, True),
    (TimeoutError, BatchTimeoutError, True),
    (OSError, BatchConnectionError, True),
)


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


def _can_send_directly(client: httpx.AsyncClient) -> bool:
    """Whether ``client.send`` would add nothing to calling its transport: no hooks, auth,
    cookies or redirects."""
    hooks = client.event_hooks
    return (
        not hooks.get("request")
        and not hooks.get("response")
        and client.auth is None
        and not client.cookies
        and not client.follow_redirects
    )


class Pipeline:
    """Sends Batch requests: URL building, headers, auth, error mapping and retries.

    Args:
        endpoint: The account URL.
        credential: The credential (see [`BatchClient`][batch_tasks_async.BatchClient]).
        api_version: The api-version of every request.
        http_client: The client that sends (the SDK's own or the caller's).
        retry_policy: The default retry policy.
        direct_transport: The transport of ``http_client`` that may be called directly (from
            ``build_http_client``); ``None`` sends through ``http_client.send``.
    """

    def __init__(
        self,
        endpoint: str,
        credential: Credential | None,
        *,
        api_version: str,
        http_client: httpx.AsyncClient,
        retry_policy: RetryPolicy,
        direct_transport: httpx.AsyncBaseTransport | None = None,
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
        self.closed = False
        self._url_cache: dict[str, httpx.URL] = {}
        #: How retries wait; replaceable so tests can observe waits without sleeping.
        self.sleep: Callable[[float], Awaitable[None]] = anyio.sleep
        self._auth = Authorizer(credential)
        self._direct = (
            direct_transport
            if direct_transport is not None and _can_send_directly(http_client)
            else None
        )
        # Exactly the headers ``build_request`` would send: the client's defaults, then ours.
        base = dict(http_client.headers.items())
        base.update({"accept": "application/json", "user-agent": _USER_AGENT})
        self._base_headers = base
        self._extensions = {"timeout": http_client.timeout.as_dict()}

    @property
    def sends_directly(self) -> bool:
        """Whether requests skip ``httpx.AsyncClient.send`` (the direct send path)."""
        return self._direct is not None

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
            try:
                parsed = httpx.URL(url)
            except httpx.InvalidURL as exc:
                raise ClientValidationError(f"cannot send to an invalid URL: {exc}") from exc
            if len(self._url_cache) >= 256:
                self._url_cache.clear()
            self._url_cache[url] = parsed
        return parsed

    def check_same_origin(self, url: str) -> None:
        """Refuse to send credentials to a URL on another host than the endpoint."""
        try:
            split = urlsplit(url)
            origin = (split.scheme, split.hostname, split.port)
        except ValueError as exc:
            raise ClientValidationError(f"the service returned an invalid link: {exc}") from exc
        if origin != self._origin:
            raise ClientValidationError(
                f"the service returned a link to another origin ({split.scheme}://{split.netloc}); "
                "it is not followed, so the credential is not sent there"
            )

    def _check_open(self) -> None:
        if self.closed or self.http.is_closed:
            raise ClientClosedError(
                "the BatchClient (or the httpx client it uses) is closed; make a new client"
            )

    def _headers(self, options: RequestOptions, cid: str, content: bytes | None) -> dict[str, str]:
        headers = self._base_headers.copy()
        headers["client-request-id"] = cid
        headers.update(options.headers())
        if content is not None:
            headers["content-type"] = _JSON_CONTENT_TYPE
        return headers

    async def _request(
        self, method: str, url: str, content: bytes | None, options: RequestOptions, cid: str
    ) -> httpx.Request:
        """The request of one attempt, signed for exactly what is sent."""
        headers = self._headers(options, cid, content)
        target = self._parsed_url(url)
        auth = self._auth
        if self._direct is None:
            request = self.http.build_request(method, target, headers=headers, content=content)
            if auth.kind == "key":
                # Signed for the path and query as they go on the wire, and every header the
                # client added.
                request.headers["authorization"] = auth.sign(
                    method, request.url.raw_path.decode("ascii"), request.headers
                )
            elif auth.kind != "none":
                value = await auth.header(method, "", request.headers)
                if value is not None:
                    request.headers["authorization"] = value
            return request
        # Direct: ``headers`` is every header sent but the two httpx.Request adds (Host, not
        # signed, and Content-Length), so the signature is made from the plain dict.
        if auth.kind == "key":
            signed = headers
            if content:
                signed = {**headers, "content-length": str(len(content))}
            headers["authorization"] = auth.sign(method, target.raw_path.decode("ascii"), signed)
        elif auth.kind != "none":
            value = await auth.header(method, "", headers)
            if value is not None:
                headers["authorization"] = value
        return httpx.Request(
            method, target, headers=headers, content=content, extensions=self._extensions
        )

    def _fail(
        self, exc: Exception, method: str, url: str, state: CallState, *, reading: bool
    ) -> NoReturn:
        """Raise the SDK error for a foreign exception (the one table), or ``exc`` itself."""
        if isinstance(exc, BatchError):
            raise exc
        for kind, error_type, sent in _TRANSPORT_ERRORS:
            if isinstance(exc, kind):
                # The SDK's transport records on each error whether the request was written.
                recorded = getattr(exc, "request_sent", None)
                sent = (recorded if isinstance(recorded, bool) else sent) or reading
                state.ambiguous |= sent
                what = "timed out on the client" if error_type is BatchTimeoutError else "failed"
                raise error_type(
                    f"{method} {_safe_url(url)} {what}: {type(exc).__name__}: {exc}",
                    request_sent=sent,
                    method=method,
                    url=url,
                    client_request_id=state.client_request_id,
                ) from exc
        raise exc

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
        self._check_open()
        request = await self._request(method, url, content, options, state.client_request_id)
        state.attempts += 1
        direct = self._direct
        try:
            if direct is not None:
                response = await direct.handle_async_request(request)
                response.request = request
            else:
                response = await self.http.send(request, stream=True)
        except Exception as exc:
            if isinstance(exc, RuntimeError) and self.http.is_closed:
                raise ClientClosedError("the client was closed during the call") from exc
            self._fail(exc, method, url, state, reading=False)
        if stream and response.status_code < 300:
            return response  # the caller reads the body with iter_bytes()
        try:
            await response.aread()
        except Exception as exc:
            # The body failed; closing what is left of it must not hide why.
            with contextlib.suppress(Exception):
                await response.aclose()
            if isinstance(exc, httpx.DecodingError):
                raise unusable(response, f"its body could not be decoded ({exc})") from exc
            self._fail(exc, method, url, state, reading=True)
        if response.status_code >= 300:
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
            url: Absolute URL (from ``url()``, or a next link the service returned).
            content: The JSON body, already serialized.
            options: Per-call options (headers, conditions, a retry policy).
            retry_policy: Overrides the client's retry policy (and ``options.retry_policy``).
            state: Receives what the call learnt (attempts, ambiguity); one is made if omitted.
            stream: Return a successful response as soon as its headers arrive, its body
                unread: the caller reads it with ``iter_bytes()`` and closes it. An error
                response's body is read (it is small) before it is mapped, as without
                ``stream``.

        Returns:
            The successful response, its body read (unless ``stream``).

        Raises:
            ServiceError: The service answered with an error status (after retries).
            TransportError: No response arrived (after retries).
            ClientClosedError: The client is closed.
        """
        options = options or _NO_OPTIONS
        if state is None:
            state = CallState(client_request_id=options.client_request_id or str(uuid.uuid4()))
        policy = retry_policy or options.retry_policy or self.retry_policy
        if policy.max_attempts == 1:
            return await self._send_once(
                method, url, content=content, options=options, state=state, stream=stream
            )

        def log_retry(retry_state: tenacity.RetryCallState) -> None:
            error = retry_state.outcome.exception() if retry_state.outcome else None
            _LOGGER.info(
                "retrying %s %s after attempt %d failed (%s); waiting %.2fs",
                method,
                _safe_url(url),
                retry_state.attempt_number,
                error,
                retry_state.upcoming_sleep,
            )

        retrying = policy.retrying(sleep=self.sleep, before_sleep=log_retry)
        return await retrying(
            self._send_once,
            method,
            url,
            content=content,
            options=options,
            state=state,
            stream=stream,
        )

    async def iter_bytes(
        self, response: httpx.Response, chunk_size: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The body of a response ``send(..., stream=True)`` returned, as it arrives.

        Failures map as ``send``'s do (the one table): a transport failure becomes a
        [`BatchConnectionError`][batch_tasks_async.errors.BatchConnectionError] or
        [`BatchTimeoutError`][batch_tasks_async.errors.BatchTimeoutError] (sent: the request
        reached the service), a body that cannot be decoded a ``ResponseDecodeError``, and a
        client closed before or while the body arrives a ``ClientClosedError``. The response
        is closed when the body fails.

        Raises:
            ClientClosedError: The client was closed.
            TransportError: The body stopped arriving.
            ResponseDecodeError: The body's content encoding is broken.
        """
        request = response.request
        method, url = request.method, str(request.url)
        state = CallState(client_request_id=str(request.headers.get("client-request-id", "")))
        try:
            self._check_open()
            async for chunk in response.aiter_bytes(chunk_size):
                yield chunk
                self._check_open()
        except Exception as exc:
            with contextlib.suppress(Exception):
                await response.aclose()
            if isinstance(exc, ClientClosedError):
                raise
            if self.closed or self.http.is_closed:
                raise ClientClosedError("the client was closed while a body was read") from exc
            if isinstance(exc, httpx.DecodingError):
                raise unusable(response, f"its body could not be decoded ({exc})") from exc
            self._fail(exc, method, url, state, reading=True)


def _safe_url(url: str) -> str:
    """The URL without its query (which holds nothing secret, but can be long)."""
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc}{split.path}"
