"""One HTTP/1.1 keep-alive connection over an anyio byte stream, responses parsed by httptools.

A connection carries one exchange at a time: the request goes out in one write (head and body
together, unless the body is a stream), then the response is parsed as it arrives. When the
whole response is already read by the time its head is (the common case for JSON replies), the
connection goes back to the pool before the response is returned and the body is handed over as
bytes; otherwise the body streams and the connection goes back once it is read to the end.

Failures are raised as httpx's own exception types, so code written against httpx keeps
working; each carries ``request_sent`` (see
[`request_sent`][batch_tasks_async._http_connection.request_sent]).
"""

from __future__ import annotations

import asyncio
import math
import select
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.abc
import httptools
import httpx

if TYPE_CHECKING:
    from collections.abc import Awaitable

__all__ = ["Connection", "StaleConnection", "mark", "request_sent"]

_READ_SIZE: Final = 65536
_HTTP_VERSIONS: Final = {"1.1": b"HTTP/1.1", "1.0": b"HTTP/1.0"}

#: Exceptions a network stream raises when the peer went away or the socket failed.
_STREAM_ERRORS: Final = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    OSError,  # ssl.SSLError included
)


def mark(error: httpx.TransportError, *, sent: bool) -> httpx.TransportError:
    """Record on ``error`` whether the request may have reached the server."""
    error.request_sent = sent  # type: ignore[attr-defined]
    return error


def request_sent(error: httpx.TransportError) -> bool:
    """Whether the request that failed with ``error`` may have reached the server.

    The SDK's transport records the answer on each error it raises. For errors from other
    transports the type decides: nothing was sent when connecting failed or timed out, the
    pool had no connection in time, the URL's scheme is unsupported, or the request was
    refused before it was written ([`httpx.LocalProtocolError`][httpx.LocalProtocolError]).
    """
    recorded = getattr(error, "request_sent", None)
    if isinstance(recorded, bool):
        return recorded
    return not isinstance(
        error,
        httpx.ConnectError
        | httpx.ConnectTimeout
        | httpx.PoolTimeout
        | httpx.UnsupportedProtocol
        | httpx.LocalProtocolError
        | httpx.ProxyError,
    )


class StaleConnection(Exception):  # noqa: N818 - a signal, not an error users see
    """A reused keep-alive connection was closed by the server before any byte of the reply
    arrived, and the request can be sent again safely on a new connection."""


def _backend_timing() -> tuple[type[anyio.CancelScope], Callable[[], float]]:
    """The running backend's cancel scope class and clock, looked up once per connection.

    ``anyio.CancelScope(...)`` and ``anyio.current_time()`` find the backend on every call,
    which costs more than the scope itself; a connection makes one or two per request.
    """
    scope_type = type(anyio.CancelScope())
    if scope_type.__module__.endswith("_asyncio"):
        return scope_type, asyncio.get_running_loop().time
    if scope_type.__module__.endswith("_trio"):
        import trio

        return scope_type, trio.current_time
    return scope_type, anyio.current_time


class Connection:
    """One HTTP/1.1 connection; its pool calls [`exchange`][.exchange] one request at a time.

    Args:
        origin: ``(scheme, host, port)`` the connection is to.
        stream: The connected (and, for https, TLS-wrapped) anyio stream.
        release: Called once an exchange is over and the response fully read: the pool takes
            the connection back (or closes it when [`reusable`][.reusable] is false).
    """

    __slots__ = (
        "_body",
        "_clock",
        "_complete",
        "_has_length",
        "_head_done",
        "_head_request",
        "_headers",
        "_informational",
        "_keep_alive",
        "_parser",
        "_poller",
        "_reason",
        "_received",
        "_release",
        "_scope_type",
        "_status",
        "_unexpected",
        "closed",
        "expires_at",
        "keep_alive_hint",
        "origin",
        "reused",
        "stream",
    )

    def __init__(
        self,
        origin: tuple[bytes, bytes, int],
        stream: anyio.abc.ByteStream,
        release: Callable[[Connection], Awaitable[None]],
    ) -> None:
        self.origin = origin
        self.stream = stream
        self._release = release
        self._scope_type, self._clock = _backend_timing()
        # One poll object per connection, registered once: checking an idle connection is then
        # a single poll(2) call.
        self._poller: select.poll | None = None
        try:
            fd = stream.extra(anyio.abc.SocketAttribute.raw_socket).fileno()
        except (anyio.TypedAttributeLookupError, OSError):
            fd = -1
        if fd >= 0:
            self._poller = select.poll()
            self._poller.register(fd, select.POLLIN)
        self.closed = False
        self.reused = False
        #: Monotonic time after which the idle connection is not reused.
        self.expires_at = math.inf
        #: The server's ``Keep-Alive: timeout=N``, in seconds, if it sent one.
        self.keep_alive_hint: float | None = None
        self._reset(head=False)

    # -- the parser's callbacks ------------------------------------------------------------

    def _reset(self, *, head: bool) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._status = 0
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._head_done = False
        self._complete = False
        self._keep_alive = False
        self._informational = False
        self._has_length = head
        self._received = 0
        self._unexpected = False
        # A reply to HEAD has a head only: its Content-Length describes a body not sent.
        self._head_request = head

    def on_message_begin(self) -> None:
        if self._complete:
            self._unexpected = True  # bytes after the reply: never reuse this connection

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._head_done:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # 100 Continue, 103 Early Hints: skip to the real reply.
            self._informational = True
            self._headers = []
            self._reason = b""
            return
        self._status = status
        self._head_done = True
        hint: float | None = None
        for name, value in self._headers:
            lowered = name.lower()
            if lowered in (b"content-length", b"transfer-encoding"):
                self._has_length = True
            elif lowered == b"keep-alive":
                hint = _keep_alive_timeout(value)
        self.keep_alive_hint = hint
        if self._head_request:
            self._finish()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if not self._complete:
            self._finish()

    def _finish(self) -> None:
        self._complete = True
        self._keep_alive = self._parser.should_keep_alive() and not self._unexpected

    # -- liveness --------------------------------------------------------------------------

    def is_alive(self) -> bool:
        """Whether an idle connection can carry a request: nothing to read, not even EOF.

        One zero-timeout poll of the socket: an idle connection has nothing to say, so any
        byte, an end of stream or an error means the server closed or broke it.
        """
        if self.closed:
            return False
        if self._poller is None:
            return True
        # Readable (bytes, an end of stream), hung up or in error: the server is done with it.
        return not self._poller.poll(0)

    @property
    def reusable(self) -> bool:
        """Whether the last exchange left the connection fit for another."""
        return self._complete and self._keep_alive and not self._unexpected and not self.closed

    def unfit(self) -> None:
        """Mark the connection unfit for reuse (its reply was not read to the end)."""
        self._keep_alive = False

    async def aclose(self) -> None:
        """Close the stream at once, without waiting on the peer."""
        if not self.closed:
            self.closed = True
            await anyio.aclose_forcefully(self.stream)

    # -- one exchange ----------------------------------------------------------------------

    def _deadline(self, timeout: float | None) -> float:
        return math.inf if timeout is None else self._clock() + timeout

    def _feed(self, data: bytes, request: httpx.Request) -> None:
        self._received += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._unexpected = True
            raise mark(
                httpx.RemoteProtocolError(
                    "the server switched protocols without being asked", request=request
                ),
                sent=True,
            ) from None
        except httptools.HttpParserError as exc:
            self._unexpected = True
            raise mark(
                httpx.RemoteProtocolError(f"malformed HTTP response: {exc}", request=request),
                sent=True,
            ) from exc

    def _end_of_stream(self, request: httpx.Request, *, retry_allowed: bool) -> None:
        """The server closed the connection; a reply read to its end is still a reply."""
        self._keep_alive = False
        if self._head_done and not self._complete and not self._has_length:
            # No Content-Length, not chunked: the body runs to the end of the connection.
            self._complete = True
            return
        if self._complete:
            return
        if self._received == 0:
            if retry_allowed and self.reused:
                raise StaleConnection
            raise mark(
                httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ),
                sent=True,
            )
        raise mark(
            httpx.RemoteProtocolError(
                "the server closed the connection before the response was complete",
                request=request,
            ),
            sent=True,
        )

    async def _receive(self, request: httpx.Request, *, retry_allowed: bool) -> None:
        """Read once from the stream and feed the parser (EOF handled as the reply's end)."""
        try:
            data = await self.stream.receive(_READ_SIZE)
        except anyio.EndOfStream:
            self._end_of_stream(request, retry_allowed=retry_allowed)
            return
        except _STREAM_ERRORS as exc:
            self._keep_alive = False
            if self._received == 0 and retry_allowed and self.reused:
                raise StaleConnection from exc
            raise mark(
                httpx.ReadError(_describe(exc, "reading the response"), request=request),
                sent=True,
            ) from exc
        self._feed(data, request)

    async def exchange(
        self,
        request: httpx.Request,
        head: bytes,
        body: httpx.AsyncByteStream | None,
        *,
        chunked: bool,
        timeouts: dict[str, Any],
        retry_allowed: bool,
    ) -> tuple[httpx.Response, bool]:
        """Send ``head`` (the serialized request, with its body when that is bytes) and
        ``body`` when it is a stream, then read the response head.

        Returns:
            The response, and whether it is complete: its body read whole (the pool takes
            the connection back at once). An incomplete response's body streams from the
            connection, which goes back to the pool when the body ends or is closed.

        Raises:
            StaleConnection: ``retry_allowed``, the connection was reused, and the server had
                closed it before the request was written whole (so sending it again cannot
                repeat its effect).
            httpx.TransportError: Any other failure (the connection is then unusable).
        """
        self._reset(head=request.method == "HEAD")
        read_timeout = timeouts.get("read")
        write_timeout = timeouts.get("write")
        writing = True
        write_failed: BaseException | None = None
        with self._scope_type(deadline=self._deadline(write_timeout)) as scope:
            try:
                await self.stream.send(head)
                if body is not None:
                    await self._send_stream(
                        body, chunked=chunked, scope=scope, timeout=write_timeout
                    )
            except _STREAM_ERRORS as exc:
                # The server may have answered before it stopped reading (413, for example):
                # read what it said before deciding.
                write_failed = exc
            writing = False
            scope.deadline = self._deadline(read_timeout)
            # Sent again only when it was never written whole. A request written whole may have
            # been carried out even when the reply never came (the server committed, then
            # dropped the connection): that is the pipeline's to decide, with request_sent.
            retry = retry_allowed and body is None and write_failed is not None
            try:
                while not self._head_done:
                    await self._receive(request, retry_allowed=retry)
                    if not self._head_done:
                        scope.deadline = self._deadline(read_timeout)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                if write_failed is not None and self._received == 0:
                    # The request was never written whole: the server cannot have acted on it.
                    raise mark(
                        httpx.WriteError(
                            _describe(write_failed, "writing the request"), request=request
                        ),
                        sent=False,
                    ) from write_failed
                raise
        if scope.cancelled_caught:
            if writing:
                raise mark(
                    httpx.WriteTimeout("timed out writing the request", request=request),
                    sent=True,
                )
            raise mark(
                httpx.ReadTimeout("timed out waiting for the response", request=request),
                sent=True,
            )
        if write_failed is not None:
            self._keep_alive = False
        extensions = {
            "http_version": _HTTP_VERSIONS.get(self._parser.get_http_version(), b"HTTP/1.1"),
            "reason_phrase": self._reason,
        }
        if self._complete:
            parts = self._body
            content = parts[0] if len(parts) == 1 else b"".join(parts)
            self._body = []
            stream: httpx.AsyncByteStream = httpx.ByteStream(content)
        else:
            stream = _Body(self, request, read_timeout)
        response = httpx.Response(
            self._status, headers=self._headers, stream=stream, extensions=extensions
        )
        return response, self._complete

    async def _send_stream(
        self,
        body: httpx.AsyncByteStream,
        *,
        chunked: bool,
        scope: anyio.CancelScope,
        timeout: float | None,
    ) -> None:
        async for part in body:
            if not part:
                continue
            scope.deadline = self._deadline(timeout)
            if chunked:
                await self.stream.send(b"%x\r\n%b\r\n" % (len(part), part))
            else:
                await self.stream.send(part)
        if chunked:
            scope.deadline = self._deadline(timeout)
            await self.stream.send(b"0\r\n\r\n")

    async def read_body(self, request: httpx.Request, read_timeout: float | None) -> bytes | None:
        """The next piece of a streamed body, or ``None`` at its end."""
        while not self._body:
            if self._complete:
                return None
            with self._scope_type(deadline=self._deadline(read_timeout)) as scope:
                await self._receive(request, retry_allowed=False)
            if scope.cancelled_caught:
                self._keep_alive = False
                raise mark(
                    httpx.ReadTimeout("timed out reading the response body", request=request),
                    sent=True,
                )
        parts = self._body
        self._body = []
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def give_back(self) -> None:
        """Hand the connection to its pool (which closes it unless [`reusable`][.reusable])."""
        await self._release(self)


class _Body(httpx.AsyncByteStream):
    """A response body read from the connection as the caller iterates it."""

    __slots__ = ("_connection", "_done", "_read_timeout", "_request")

    def __init__(
        self, connection: Connection, request: httpx.Request, read_timeout: float | None
    ) -> None:
        self._connection = connection
        self._request = request
        self._read_timeout = read_timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._done:
            raise httpx.StreamClosed()
        connection = self._connection
        try:
            while True:
                part = await connection.read_body(self._request, self._read_timeout)
                if part is None:
                    break
                yield part
        except BaseException:
            await self.aclose()
            raise
        self._done = True
        await connection.give_back()

    async def aclose(self) -> None:
        if not self._done:
            # Not read to the end: what is left on the wire would confuse the next reply.
            self._done = True
            self._connection.unfit()
            await self._connection.give_back()


def _keep_alive_timeout(value: bytes) -> float | None:
    for part in value.split(b","):
        key, _, number = part.strip().partition(b"=")
        if key.strip().lower() == b"timeout":
            try:
                seconds = float(number.strip())
            except ValueError:
                return None
            return seconds if seconds >= 0 and math.isfinite(seconds) else None
    return None


def _describe(error: BaseException, doing: str) -> str:
    cause = error.__cause__ if isinstance(error, anyio.BrokenResourceError) else error
    detail = f"{type(cause).__name__}: {cause}" if cause is not None else type(error).__name__
    return f"the connection failed while {doing} ({detail})"
