"""The default httpx transport: httpx's own, over a connection pool tuned for many connections.

Bulk submission keeps dozens of HTTP/1.1 keep-alive connections busy, and httpcore 1.0's pool
spends more CPU managing them than on the requests themselves (measured: 2 ms of CPU per
add-collection request at 32 connections, against 0.7 ms at one). Two causes, two fixes:

- Every time the pool assigns a request it asks each idle connection whether its socket is
  readable. Through anyio that rebuilds the stream's attribute table and calls ``getpeername``
  each time. :class:`_Stream` answers with one ``poll`` on the socket it looked up once.
- Its clean-up loop counts the pool's connections once per connection (O(n²) per assignment).
  :class:`_Pool` does the same clean-up and assignment with the count taken once.

Everything else is httpcore's own: the HTTP/1.1 implementation, TLS, timeouts, and the pool's
locking and request queue. :func:`make_transport` uses the tuned pool only on the httpcore
1.0.x it was written against, and httpx's stock transport otherwise.
"""

from __future__ import annotations

import select
import socket
import ssl
import typing
from typing import Any

import httpcore
import httpx

from . import _http_env
from .errors import ClientValidationError

__all__ = ["build_http_client", "make_transport"]


def _is_readable(sock: socket.socket | None) -> bool:
    """Whether an idle socket has data (or EOF) waiting: the server closed it or misbehaved."""
    if sock is None:
        return True
    fd = sock.fileno()
    if fd == -1:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    """Delegates to httpcore's stream; answers ``is_readable`` from a cached socket."""

    __slots__ = ("_inner", "_sock")

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._sock: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            return _is_readable(self._sock)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend (asyncio and trio alike), streams wrapped in `_Stream`."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _Stream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool with its bookkeeping made linear in the number of connections."""

    def _assign_requests_to_connections(self) -> list[Any]:
        # The decisions of httpcore 1.0.x, with three differences in how they are reached:
        # a connection already held by a request is not offered to another (httpcore offers the
        # same one to every queued request, and all but one then retry); the expiry check,
        # which polls the socket, runs on the idle connection about to be reused rather than on
        # every connection at every call; and the pool is counted once, not once per connection.
        closing: list[Any] = []
        connections = self._connections
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif len(connections) > self._max_keepalive_connections and connection.is_idle():
                connections.remove(connection)
                closing.append(connection)
        queued = [request for request in self._requests if request.is_queued()]
        if not queued:
            return closing
        taken = {id(r.connection) for r in self._requests if r.connection is not None}
        for pool_request in queued:
            origin = pool_request.request.url.origin
            chosen = None
            for connection in list(connections):
                if id(connection) in taken or not connection.can_handle_request(origin):
                    continue
                if connection.is_idle() and connection.has_expired():
                    # Keep-alive ran out, or the server closed it: never reuse a dead socket.
                    connections.remove(connection)
                    closing.append(connection)
                    continue
                if connection.is_available():
                    chosen = connection
                    break
            if chosen is None:
                if len(connections) >= self._max_connections:
                    idle = next(
                        (c for c in connections if id(c) not in taken and c.is_idle()), None
                    )
                    if idle is None:
                        continue  # stays queued until a connection frees up
                    connections.remove(idle)
                    closing.append(idle)
                chosen = self.create_connection(origin)
                connections.append(chosen)
            pool_request.assign_to_connection(chosen)
            taken.add(id(chosen))
        return closing


#: The httpcore versions whose pool internals :class:`_Pool` was written against.
_TUNED_HTTPCORE = ("1.0.",)


def make_transport(
    limits: httpx.Limits, *, ssl_context: ssl.SSLContext | None = None
) -> httpx.AsyncHTTPTransport:
    """httpx's transport over the tuned pool (on httpcore 1.0.x; stock otherwise)."""
    context = ssl_context if ssl_context is not None else _http_env.ssl_context()
    transport = httpx.AsyncHTTPTransport(limits=limits, verify=context)
    pool = getattr(transport, "_pool", None)
    if type(pool) is httpcore.AsyncConnectionPool and httpcore.__version__.startswith(
        _TUNED_HTTPCORE
    ):
        transport._pool = _Pool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(),
        )
    return transport


def build_http_client(
    endpoint: str,
    *,
    timeout: httpx.Timeout,
    max_connections: int,
    trust_env: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport | None]:
    """The ``httpx.AsyncClient`` the SDK owns for ``endpoint``, and the transport to call directly.

    Args:
        endpoint: The account URL every request goes to.
        timeout: The client's network timeouts (connect, read, write, pool).
        max_connections: Size of the keep-alive connection pool.
        trust_env: Honour the environment as httpx does: ``HTTP_PROXY``, ``HTTPS_PROXY``,
            ``ALL_PROXY``, ``NO_PROXY`` (upper or lower case) and ``SSL_CERT_FILE`` /
            ``SSL_CERT_DIR``. ``False`` ignores them all.
        transport: A transport to use instead of the SDK's (for example ``httpx.MockTransport``);
            the environment's proxies are then not applied, as in httpx.

    Returns:
        ``(client, direct)``: the client (the caller closes it), and the transport the pipeline
        may call with a request the client built, skipping ``client.send``; ``None`` when
        requests must go through ``client.send`` because a proxy applies to ``endpoint``.
    """
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
    )
    if transport is not None:
        client = httpx.AsyncClient(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=trust_env
        )
        return client, transport
    proxy = _http_env.environment_proxy(endpoint) if trust_env else None
    context = _http_env.ssl_context(trust_env=trust_env)
    if proxy is not None:
        # httpx's own proxy transports (HTTP forwarding, CONNECT tunnels, SOCKS), with the
        # one certificate context the SDK made.
        try:
            client = httpx.AsyncClient(
                proxy=proxy,
                verify=context,
                timeout=timeout,
                limits=limits,
                follow_redirects=False,
                trust_env=trust_env,
            )
        except (ImportError, ValueError) as exc:
            # The proxy URL is not repeated: it may carry a user name and password.
            scheme = proxy.partition("://")[0]
            raise ClientValidationError(
                f"the environment asks for a {scheme}:// proxy for {endpoint} that httpx cannot "
                f"use ({type(exc).__name__}); fix the proxy variables or pass trust_env=False"
            ) from exc
        return client, None
    direct = make_transport(limits, ssl_context=context)
    client = httpx.AsyncClient(
        transport=direct, timeout=timeout, follow_redirects=False, trust_env=trust_env
    )
    return client, direct
