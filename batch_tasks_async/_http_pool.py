"""The SDK's default httpx transport: HTTP/1.1 over anyio streams with a keep-alive pool.

The pool keeps, per origin, a stack of idle connections. Taking one is a ``pop``: the most
recently used connection is tried first, checked with one zero-timeout ``poll`` of its socket
and its keep-alive deadline, and closed if the server hung up or it idled too long. Nothing ever
walks the whole pool: the oldest idle connection is checked for expiry each time one is put
back, so unused connections are closed as the pool turns over.

When every connection is busy a request waits in a FIFO queue (at most the pool timeout) and is
handed the next connection that comes back, or the slot of one that closes. A connection is
never used by two requests at once.

A request whose write fails on a reused connection the server had closed (the keep-alive race:
the server hung up between the check and the write) is sent once more on a new connection, when
its body is bytes: it was never written whole, so it cannot have been carried out. Every other
failure is raised, with ``request_sent`` saying whether the request may have reached the server;
retrying it is the pipeline's decision, which knows what each operation means.
"""

from __future__ import annotations

import math
import ssl
import time
from collections import deque
from types import TracebackType
from typing import Any, Final, Self

import anyio
import anyio.abc
import attrs
import httpx

from ._http_connection import Connection, StaleConnection, mark

__all__ = ["AnyioTransport"]

_DEFAULT_PORTS: Final = {b"http": 80, b"https": 443}
_NO_TIMEOUTS: Final[dict[str, Any]] = {}

Origin = tuple[bytes, bytes, int]


@attrs.define(eq=False)
class _Waiter:
    """A request queued for a connection: handed an idle connection or a slot to open one."""

    origin: Origin
    event: anyio.Event = attrs.field(factory=anyio.Event)
    connection: Connection | None = None
    slot: bool = False
    gone: bool = False


class AnyioTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` for HTTP/1.1 over anyio (asyncio and trio).

    Args:
        limits: ``max_connections`` bounds open connections (``None``: no bound),
            ``max_keepalive_connections`` the idle ones kept, ``keepalive_expiry`` how long
            one may idle (the server's ``Keep-Alive: timeout`` shortens it).
        ssl_context: Verification for https; by default the context httpx would make
            (made once, when the first https connection opens).
        trust_env: With the default context, honour ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``.

    The timeouts are the request's (``request.extensions["timeout"]``, which
    ``httpx.AsyncClient.build_request`` sets): ``connect`` covers the TCP connect and the TLS
    handshake, ``write`` each write, ``read`` each read, ``pool`` the wait for a connection.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        trust_env: bool = True,
    ) -> None:
        limits = limits or httpx.Limits()
        self._max_connections = (
            math.inf if limits.max_connections is None else limits.max_connections
        )
        self._max_idle = (
            math.inf
            if limits.max_keepalive_connections is None
            else limits.max_keepalive_connections
        )
        self._keepalive_expiry = (
            math.inf if limits.keepalive_expiry is None else limits.keepalive_expiry
        )
        self._ssl_context = ssl_context
        self._trust_env = trust_env
        self._idle: dict[Origin, deque[Connection]] = {}
        self._idle_count = 0
        self._open = 0
        self._waiters: deque[_Waiter] = deque()
        self._closed = False

    # -- httpx's transport API -------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the response (its body may still be streaming)."""
        url = request.url
        scheme = url.raw_scheme
        default_port = _DEFAULT_PORTS.get(scheme)
        if default_port is None:
            raise mark(
                httpx.UnsupportedProtocol(
                    f"the URL scheme must be http or https, not {url.scheme!r}", request=request
                ),
                sent=False,
            )
        if self._closed:
            raise mark(
                httpx.LocalProtocolError("the transport is closed", request=request), sent=False
            )
        origin = (scheme, url.raw_host, url.port or default_port)
        timeouts: dict[str, Any] = request.extensions.get("timeout") or _NO_TIMEOUTS
        head, body, chunked = _serialize(request)
        connection = await self._acquire(origin, timeouts, request)
        try:
            response, complete = await connection.exchange(
                request, head, body, chunked=chunked, timeouts=timeouts, retry_allowed=True
            )
        except StaleConnection:
            # The server had closed the reused connection before the request went out whole:
            # once more, on a connection opened for it.
            await self._discard(connection)
            connection = await self._acquire(origin, timeouts, request, fresh=True)
            try:
                response, complete = await connection.exchange(
                    request, head, body, chunked=chunked, timeouts=timeouts, retry_allowed=False
                )
            except BaseException:
                await self._discard(connection)
                raise
        except BaseException:
            await self._discard(connection)
            raise
        if complete:
            await self._release(connection)
        return response

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when their reply is done."""
        self._closed = True
        idle = [c for stack in self._idle.values() for c in stack]
        self._idle.clear()
        self._idle_count = 0
        for connection in idle:
            self._open -= 1
            await connection.aclose()
        for waiter in self._waiters:
            waiter.event.set()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    # -- the pool --------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            from ._http_env import ssl_context

            self._ssl_context = ssl_context(trust_env=self._trust_env)
        return self._ssl_context

    async def _acquire(
        self,
        origin: Origin,
        timeouts: dict[str, Any],
        request: httpx.Request,
        *,
        fresh: bool = False,
    ) -> Connection:
        stack = self._idle.get(origin)
        if stack and not fresh:
            now = time.monotonic()
            while stack:
                connection = stack.pop()
                self._idle_count -= 1
                if connection.expires_at > now and connection.is_alive():
                    connection.reused = True
                    return connection
                await self._discard(connection)
        if self._open < self._max_connections:
            self._open += 1
            return await self._connect(origin, timeouts, request)
        if self._idle_count:
            # Full, but idle connections to other origins hold slots: close the oldest one.
            for other, other_stack in self._idle.items():
                if other_stack and (other != origin or fresh):
                    victim = other_stack.popleft()
                    self._idle_count -= 1
                    await victim.aclose()  # its slot passes straight to the new connection
                    return await self._connect(origin, timeouts, request)
        return await self._wait(origin, timeouts, request)

    async def _wait(
        self, origin: Origin, timeouts: dict[str, Any], request: httpx.Request
    ) -> Connection:
        waiter = _Waiter(origin)
        self._waiters.append(waiter)
        pool_timeout = timeouts.get("pool")
        try:
            with anyio.fail_after(pool_timeout):
                await waiter.event.wait()
        except BaseException as exc:
            waiter.gone = True
            if waiter.connection is not None:
                await self._release(waiter.connection)
            elif waiter.slot:
                self._open -= 1
                self._hand_slot()
            if isinstance(exc, TimeoutError):
                raise mark(
                    httpx.PoolTimeout(
                        f"no connection became free within the pool timeout ({pool_timeout}s)",
                        request=request,
                    ),
                    sent=False,
                ) from None
            raise
        if waiter.connection is not None:
            waiter.connection.reused = True
            return waiter.connection
        if waiter.slot:
            return await self._connect(origin, timeouts, request)
        raise mark(
            httpx.LocalProtocolError("the transport was closed", request=request), sent=False
        )

    async def _connect(
        self, origin: Origin, timeouts: dict[str, Any], request: httpx.Request
    ) -> Connection:
        """Open a connection for a slot already counted in ``_open``."""
        scheme, raw_host, port = origin
        host = raw_host.decode("ascii")
        try:
            with anyio.fail_after(timeouts.get("connect")):
                sni = request.extensions.get("sni_hostname") or host
                stream = await self._open_stream(
                    scheme, host, port, sni.decode("ascii") if isinstance(sni, bytes) else sni
                )
        except TimeoutError:
            self._open -= 1
            self._hand_slot()
            raise mark(
                httpx.ConnectTimeout(f"timed out connecting to {host}:{port}", request=request),
                sent=False,
            ) from None
        except (OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            self._open -= 1
            self._hand_slot()
            raise mark(
                httpx.ConnectError(
                    f"could not connect to {host}:{port} ({_reason(exc)})", request=request
                ),
                sent=False,
            ) from exc
        except BaseException:
            self._open -= 1
            self._hand_slot()
            raise
        return Connection(origin, stream, self._release)

    async def _open_stream(
        self, scheme: bytes, host: str, port: int, server_hostname: str
    ) -> anyio.abc.ByteStream:
        """The TCP connection, TLS-wrapped for https (the handshake included)."""
        if scheme == b"https":
            return await anyio.connect_tcp(
                host,
                port,
                ssl_context=self._context(),
                tls_hostname=server_hostname,
                tls_standard_compatible=False,
            )
        return await anyio.connect_tcp(host, port)

    async def _release(self, connection: Connection) -> None:
        """Take a connection back after an exchange: reuse it, hand it on, or close it."""
        if not connection.reusable or self._closed:
            await self._discard(connection)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.gone:
                continue
            if waiter.origin == connection.origin:
                waiter.connection = connection
                waiter.event.set()
            else:
                # Another origin waits: this connection's slot passes to it.
                waiter.slot = True
                waiter.event.set()
                await connection.aclose()
            return
        if self._idle_count >= self._max_idle:
            await self._discard(connection)
            return
        expiry = self._keepalive_expiry
        hint = connection.keep_alive_hint
        if hint is not None:
            # Give up a second before the server does, so the two do not race.
            expiry = min(expiry, max(hint - 1.0, 0.0))
        now = time.monotonic()
        connection.expires_at = now + expiry
        stack = self._idle.get(connection.origin)
        if stack is None:
            stack = self._idle[connection.origin] = deque()
        stack.append(connection)
        self._idle_count += 1
        if stack[0].expires_at <= now:
            # The oldest idle connection is the one most likely expired (no scan of the rest).
            oldest = stack.popleft()
            self._idle_count -= 1
            await self._discard(oldest)

    async def _discard(self, connection: Connection) -> None:
        """Close a connection that is not idle (or was just taken off an idle stack)."""
        if connection.closed:
            return
        self._open -= 1
        self._hand_slot()
        await connection.aclose()

    def _hand_slot(self) -> None:
        """A connection closed: its slot goes to the first request still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.gone:
                continue
            waiter.slot = True
            self._open += 1
            waiter.event.set()
            return


def _serialize(request: httpx.Request) -> tuple[bytes, httpx.AsyncByteStream | None, bool]:
    """The request's bytes (head and, when it is bytes, body) and its body stream if any."""
    raw = request.headers.raw
    lines = [b"%b %b HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    lines += [b": ".join(pair) for pair in raw]
    lines += [b"", b""]
    head = b"\r\n".join(lines)
    # One check for the whole head: every CR and LF is a line end we wrote, and no NUL.
    if (
        head.count(b"\n") != len(lines) - 1
        or head.count(b"\r") != len(lines) - 1
        or (b"\0" in head)
    ):
        raise mark(
            httpx.LocalProtocolError(
                "a request header name or value contains a line break or NUL", request=request
            ),
            sent=False,
        )
    try:
        content = request.content
    except httpx.RequestNotRead:
        stream = request.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            raise mark(
                httpx.LocalProtocolError(
                    "the request body is a sync stream; the async transport needs an async one",
                    request=request,
                ),
                sent=False,
            ) from None
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        return head, stream, chunked
    return (head + content if content else head), None, False


def _reason(error: BaseException) -> str:
    cause = error.__cause__ if isinstance(error, anyio.BrokenResourceError) else error
    return f"{type(cause).__name__}: {cause}" if cause is not None else type(error).__name__
