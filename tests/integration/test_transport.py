"""The SDK's transport over real sockets, on asyncio and trio: reuse, limits, failures, TLS.

Each test runs a small scripted HTTP/1.1 server in its own event loop (an anyio listener in the
test's task group), so what the server does to a connection, and when, is exact.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.abc
import httpx
import pytest
import trustme
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.tls import TLSListener

from batch_tasks_async._http_connection import Connection, request_sent
from batch_tasks_async._transport import AnyioTransport

pytestmark = pytest.mark.anyio

Handler = Callable[["Exchange"], Awaitable[None]]


class Exchange:
    """One accepted connection as a handler sees it."""

    def __init__(self, server: Server, stream: anyio.abc.ByteStream, index: int) -> None:
        self.server = server
        self.stream = stream
        self.reader = BufferedByteReceiveStream(stream)
        self.index = index

    async def request(self) -> tuple[bytes, bytes] | None:
        """The next request's head and body (``None`` when the client closed)."""
        try:
            head = await self.reader.receive_until(b"\r\n\r\n", 1 << 20)
        except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError):
            return None
        lines = head.split(b"\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(b":") for x in lines[1:])
        }
        body = b""
        if b"content-length" in headers:
            body = await self.reader.receive_exactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            parts = []
            while True:
                size = int((await self.reader.receive_until(b"\r\n", 100)).split(b";")[0], 16)
                data = await self.reader.receive_exactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            body = b"".join(parts)
        self.server.requests.append((self.index, lines[0].decode(), body))
        return head, body

    async def respond(
        self, body: bytes = b"ok", *, status: bytes = b"200 OK", headers: bytes = b""
    ) -> None:
        await self.stream.send(
            b"HTTP/1.1 %s\r\ncontent-length: %d\r\n%s\r\n%s" % (status, len(body), headers, body)
        )

    async def reset(self) -> None:
        """Close with a TCP reset (SO_LINGER 0), not a FIN."""
        raw = self.stream.extra(anyio.abc.SocketAttribute.raw_socket)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await self.stream.aclose()


async def keep_alive(exchange: Exchange) -> None:
    """Answer every request on the connection with ``ok``."""
    while await exchange.request() is not None:
        await exchange.respond()


class Server:
    """A loopback server whose connections are handled by ``handler`` (one call each)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[int, str, bytes]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.port = 0
        self.scheme = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://localhost:{self.port}/"

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        self.connections += 1
        exchange = Exchange(self, stream, self.connections)
        try:
            await self.handler(exchange)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        finally:
            await anyio.aclose_forcefully(stream)

    async def serve(
        self, *, tls: ssl.SSLContext | None = None, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = tcp.extra(anyio.abc.SocketAttribute.local_port)
        listener: anyio.abc.Listener[anyio.abc.ByteStream] = tcp
        if tls is not None:
            self.scheme = "https"
            listener = TLSListener(tcp, tls, standard_compatible=False)
        task_status.started()
        await listener.serve(self._handle)


ServerFactory = Callable[..., Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[ServerFactory]:
    async with anyio.create_task_group() as group:

        async def start(handler: Handler, *, tls: ssl.SSLContext | None = None) -> Server:
            server = Server(handler)
            await group.start(lambda task_status: server.serve(tls=tls, task_status=task_status))
            return server

        yield start
        group.cancel_scope.cancel()


def http(
    limit: int = 16, *, timeout: httpx.Timeout | None = None, **options: object
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    transport = AnyioTransport(limits=limits, **options)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, timeout=timeout or httpx.Timeout(5.0))


# -- keep-alive and the pool ---------------------------------------------------------------


async def test_sequential_requests_reuse_one_connection(serve: ServerFactory) -> None:
    server = await serve(keep_alive)
    async with http() as client:
        for _ in range(5):
            response = await client.post(server.url, content=b'{"a": 1}')
            assert response.status_code == 200
            assert response.text == "ok"
            assert response.http_version == "HTTP/1.1"
            assert response.reason_phrase == "OK"
    assert server.connections == 1
    assert [body for _, _, body in server.requests] == [b'{"a": 1}'] * 5


async def test_concurrent_requests_each_get_their_own_connection(serve: ServerFactory) -> None:
    gate = anyio.Event()

    async def held(exchange: Exchange) -> None:
        server = exchange.server
        while await exchange.request() is not None:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            if server.in_flight == 8:
                gate.set()
            await gate.wait()
            server.in_flight -= 1
            await exchange.respond()

    server = await serve(held)
    async with http() as client:
        for _wave in range(2):  # the second wave reuses the first wave's connections
            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(client.get, server.url)
    assert server.max_in_flight == 8
    assert server.connections == 8
    assert len(server.requests) == 16


async def test_requests_beyond_the_limit_wait_for_a_connection(serve: ServerFactory) -> None:
    async def slow(exchange: Exchange) -> None:
        server = exchange.server
        while await exchange.request() is not None:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            await anyio.sleep(0.01)
            server.in_flight -= 1
            await exchange.respond()

    server = await serve(slow)
    statuses: list[int] = []

    async def get(client: httpx.AsyncClient) -> None:
        statuses.append((await client.get(server.url)).status_code)

    async with http(limit=3) as client, anyio.create_task_group() as group:
        for _ in range(12):
            group.start_soon(get, client)
    assert statuses == [200] * 12
    assert server.connections == 3
    assert server.max_in_flight == 3


async def test_pool_timeout_when_no_connection_frees_up(serve: ServerFactory) -> None:
    release = anyio.Event()

    async def stuck(exchange: Exchange) -> None:
        await exchange.request()
        await release.wait()
        await exchange.respond()

    server = await serve(stuck)
    timeout = httpx.Timeout(5.0, pool=0.05)
    async with http(limit=1, timeout=timeout) as client, anyio.create_task_group() as group:
        group.start_soon(client.get, server.url)
        await anyio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout) as caught:
            await client.get(server.url)
        assert not request_sent(caught.value)
        release.set()
    assert server.connections == 1


async def test_a_cancelled_request_gives_its_slot_back(serve: ServerFactory) -> None:
    async def first_hangs(exchange: Exchange) -> None:
        if exchange.index == 1:
            await exchange.request()
            await anyio.sleep_forever()
        await keep_alive(exchange)

    server = await serve(first_hangs)
    async with http(limit=1) as client:
        with anyio.move_on_after(0.1):
            await client.get(server.url)
        response = await client.get(server.url)  # the only slot came back
    assert response.text == "ok"
    assert server.connections == 2


# -- connections the server closed ---------------------------------------------------------


async def test_a_connection_the_server_closed_is_never_reused(serve: ServerFactory) -> None:
    async def one_then_fin(exchange: Exchange) -> None:
        await exchange.request()
        await exchange.respond()  # no "Connection: close": the client must notice the FIN

    server = await serve(one_then_fin)
    async with http() as client:
        for _ in range(4):
            response = await client.post(server.url, content=b"{}")
            assert response.text == "ok"
            await anyio.sleep(0.02)  # let the hang-up arrive before the next request
    assert server.connections == 4
    assert len(server.requests) == 4


async def test_an_idle_connection_the_server_reset_is_never_reused(
    serve: ServerFactory,
) -> None:
    async def one_then_reset(exchange: Exchange) -> None:
        await exchange.request()
        await exchange.respond()
        await anyio.sleep(0.01)
        await exchange.reset()

    server = await serve(one_then_reset)
    async with http() as client:
        for _ in range(3):
            assert (await client.post(server.url, content=b"{}")).text == "ok"
            await anyio.sleep(0.05)
    assert server.connections == 3


async def test_connection_close_and_http_1_0_are_not_kept(serve: ServerFactory) -> None:
    async def says_close(exchange: Exchange) -> None:
        while await exchange.request() is not None:
            if exchange.index == 1:
                await exchange.respond(headers=b"connection: close\r\n")
            else:
                await exchange.stream.send(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")

    server = await serve(says_close)
    async with http() as client:
        assert (await client.get(server.url)).http_version == "HTTP/1.1"
        response = await client.get(server.url)
        assert response.http_version == "HTTP/1.0"
        await client.get(server.url)
    assert server.connections == 3


async def test_bytes_after_the_reply_make_the_connection_unfit(serve: ServerFactory) -> None:
    async def chatty(exchange: Exchange) -> None:
        while await exchange.request() is not None:
            await exchange.respond()
            await exchange.stream.send(b"HTTP/1.1 200 OK\r\n")  # nobody asked

    server = await serve(chatty)
    async with http() as client:
        await client.get(server.url)
        await anyio.sleep(0.02)
        assert (await client.get(server.url)).text == "ok"
    assert server.connections == 2


async def test_a_reset_after_the_request_was_written_is_ambiguous(serve: ServerFactory) -> None:
    async def reads_then_resets(exchange: Exchange) -> None:
        await exchange.request()
        await exchange.reset()

    server = await serve(reads_then_resets)
    async with http() as client:
        with pytest.raises(httpx.ReadError) as caught:
            await client.post(server.url, content=b'{"id": "t1"}')
    assert request_sent(caught.value)
    assert server.requests == [(1, "POST / HTTP/1.1", b'{"id": "t1"}')]


async def test_a_hang_up_without_a_reply_is_ambiguous(serve: ServerFactory) -> None:
    async def reads_then_closes(exchange: Exchange) -> None:
        await exchange.request()

    server = await serve(reads_then_closes)
    async with http() as client:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await client.delete(server.url)
    assert request_sent(caught.value)
    assert server.connections == 1  # not retried by the transport: the pipeline decides


async def test_a_reply_cut_short_is_an_error(serve: ServerFactory) -> None:
    async def truncated(exchange: Exchange) -> None:
        await exchange.request()
        await exchange.stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")

    server = await serve(truncated)
    async with http() as client:
        with pytest.raises(httpx.RemoteProtocolError, match="before the response was complete"):
            await client.get(server.url)


async def test_a_malformed_reply_is_a_protocol_error(serve: ServerFactory) -> None:
    async def garbage(exchange: Exchange) -> None:
        await exchange.request()
        await exchange.stream.send(b"HTTP/1.1 OK\r\n\r\n")

    server = await serve(garbage)
    async with http() as client:
        with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
            await client.get(server.url)


async def test_refused_connections_were_not_sent() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with http() as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"http://127.0.0.1:{port}/")
    assert not request_sent(caught.value)


class _FailingStream(anyio.abc.ByteStream):
    """A connection the peer reset before the request went out: every write fails."""

    def __init__(self) -> None:
        self.sends = 0

    async def send(self, item: bytes) -> None:
        self.sends += 1
        raise anyio.BrokenResourceError from ConnectionResetError(104, "Connection reset")

    async def receive(self, max_bytes: int = 65536) -> bytes:
        raise anyio.EndOfStream

    async def send_eof(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


async def test_a_reset_before_the_request_was_written_was_not_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    streams: list[_FailingStream] = []

    async def open_stream(*args: object) -> anyio.abc.ByteStream:
        streams.append(_FailingStream())
        return streams[-1]

    transport = AnyioTransport()
    monkeypatch.setattr(transport, "_open_stream", open_stream)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.WriteError) as caught:
            await client.post("http://batch.example/", content=b"{}")
    assert not request_sent(caught.value)
    assert [s.sends for s in streams] == [1]  # a fresh connection: not resent by the transport


async def test_a_reused_connection_reset_before_the_write_is_resent_on_a_new_one(
    serve: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await serve(keep_alive)
    transport = AnyioTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.post(server.url, content=b"1")).text == "ok"
        # The peer resets the idle connection just after the idle check passed: the write
        # fails, so the request cannot have been carried out and goes out on a new one.
        (idle,) = [c for stack in transport._idle.values() for c in stack]
        real, failing = idle.stream, _FailingStream()
        idle.stream = failing
        monkeypatch.setattr(Connection, "is_alive", lambda self: True)
        response = await client.post(server.url, content=b"2")
        await real.aclose()
    assert response.text == "ok"
    assert failing.sends == 1
    assert [body for _, _, body in server.requests] == [b"1", b"2"]
    assert server.connections == 2


# -- timeouts ------------------------------------------------------------------------------


async def test_read_timeout(serve: ServerFactory) -> None:
    async def silent(exchange: Exchange) -> None:
        await exchange.request()
        await anyio.sleep_forever()

    server = await serve(silent)
    async with http(timeout=httpx.Timeout(5.0, read=0.05)) as client:
        with pytest.raises(httpx.ReadTimeout) as caught:
            await client.get(server.url)
    assert request_sent(caught.value)


async def test_read_timeout_while_a_body_streams(serve: ServerFactory) -> None:
    async def stalls(exchange: Exchange) -> None:
        await exchange.request()
        await exchange.stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await anyio.sleep_forever()

    server = await serve(stalls)
    async with (
        http(timeout=httpx.Timeout(5.0, read=0.05)) as client,
        client.stream("GET", server.url) as response,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await response.aread()


async def test_write_timeout(serve: ServerFactory) -> None:
    async def never_reads(exchange: Exchange) -> None:
        await anyio.sleep_forever()

    server = await serve(never_reads)
    async with http(timeout=httpx.Timeout(5.0, write=0.1)) as client:
        with pytest.raises(httpx.WriteTimeout) as caught:
            await client.post(server.url, content=b"x" * (64 << 20))
    assert request_sent(caught.value)


async def test_connect_timeout_covers_the_tls_handshake(serve: ServerFactory) -> None:
    async def no_handshake(exchange: Exchange) -> None:
        await anyio.sleep_forever()

    server = await serve(no_handshake)
    async with http(timeout=httpx.Timeout(5.0, connect=0.05)) as client:
        with pytest.raises(httpx.ConnectTimeout) as caught:
            await client.get(f"https://localhost:{server.port}/")
    assert not request_sent(caught.value)


# -- bodies --------------------------------------------------------------------------------


async def test_chunked_reply(serve: ServerFactory) -> None:
    async def chunked(exchange: Exchange) -> None:
        while await exchange.request() is not None:
            await exchange.stream.send(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: 1\r\n\r\n"
            )

    server = await serve(chunked)
    async with http() as client:
        for _ in range(2):
            response = await client.get(server.url)
            assert response.text == "hello world"
            assert "x-trailer" not in response.headers
    assert server.connections == 1


async def test_a_reply_read_to_the_end_of_the_connection(serve: ServerFactory) -> None:
    async def until_close(exchange: Exchange) -> None:
        await exchange.request()
        await exchange.stream.send(b"HTTP/1.1 200 OK\r\n\r\npart one, ")
        await anyio.sleep(0.01)
        await exchange.stream.send(b"part two")

    server = await serve(until_close)
    async with http() as client:
        assert (await client.get(server.url)).text == "part one, part two"
        assert (await client.get(server.url)).text == "part one, part two"
    assert server.connections == 2


async def test_a_large_body_streams_in_pieces_and_the_connection_is_reused(
    serve: ServerFactory,
) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB

    async def large(exchange: Exchange) -> None:
        while await exchange.request() is not None:
            await exchange.respond(payload)

    server = await serve(large)
    async with http() as client:
        async with client.stream("GET", server.url) as response:
            pieces = [piece async for piece in response.aiter_raw()]
        assert len(pieces) > 1
        assert b"".join(pieces) == payload
        assert (await client.get(server.url)).content == payload
    assert server.connections == 1


async def test_a_stream_closed_early_does_not_return_its_connection(
    serve: ServerFactory,
) -> None:
    async def large(exchange: Exchange) -> None:
        while await exchange.request() is not None:
            await exchange.respond(b"x" * (4 << 20))

    server = await serve(large)
    async with http() as client:
        async with client.stream("GET", server.url) as response:
            async for _piece in response.aiter_raw():
                break
        assert len((await client.get(server.url)).content) == 4 << 20
    assert server.connections == 2


async def test_head_and_informational_replies(serve: ServerFactory) -> None:
    async def replies(exchange: Exchange) -> None:
        while (request := await exchange.request()) is not None:
            if request[0].startswith(b"HEAD"):
                await exchange.stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
            else:
                await exchange.stream.send(b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n")
                await exchange.respond(b"after hints", status=b"201 Created")

    server = await serve(replies)
    async with http() as client:
        head = await client.head(server.url)
        assert head.headers["content-length"] == "1234"
        assert head.content == b""
        response = await client.post(server.url, content=b"{}")
        assert response.status_code == 201
        assert response.text == "after hints"
        assert "link" not in response.headers
    assert server.connections == 1


async def test_a_streamed_request_body_is_sent_chunked(serve: ServerFactory) -> None:
    server = await serve(keep_alive)

    async def parts() -> AsyncIterator[bytes]:
        for part in (b'{"value": [', b"", b"1, 2", b"]}"):
            yield part

    async with http() as client:
        assert (await client.post(server.url, content=parts())).text == "ok"
        assert (await client.post(server.url, content=b"after")).text == "ok"
    assert [body for _, _, body in server.requests] == [b'{"value": [1, 2]}', b"after"]
    assert server.connections == 1


async def test_header_injection_is_refused_before_sending(serve: ServerFactory) -> None:
    server = await serve(keep_alive)
    async with http() as client:
        with pytest.raises(httpx.LocalProtocolError) as caught:
            await client.get(server.url, headers={"x-id": "a\r\nx-evil: 1"})
    assert not request_sent(caught.value)
    assert server.requests == []


async def test_unsupported_scheme() -> None:
    transport = AnyioTransport()
    with pytest.raises(httpx.UnsupportedProtocol):
        await transport.handle_async_request(httpx.Request("GET", "ftp://example.com/"))


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def _server_context(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    return context


async def test_tls_with_the_authority_trusted(serve: ServerFactory, authority: trustme.CA) -> None:
    server = await serve(keep_alive, tls=_server_context(authority))
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    async with http(ssl_context=trusting) as client:
        for _ in range(3):
            assert (await client.post(server.url, content=b"{}")).text == "ok"
    assert server.connections == 1


async def test_tls_verification_is_httpx_s(
    serve: ServerFactory, authority: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await serve(keep_alive, tls=_server_context(authority))
    # httpx's default roots do not include the test authority: the handshake fails.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with http() as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            await client.get(server.url)
    assert not request_sent(caught.value)


async def test_ssl_cert_file_is_honoured(
    serve: ServerFactory,
    authority: trustme.CA,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: anyio.Path,
) -> None:
    server = await serve(keep_alive, tls=_server_context(authority))
    bundle = f"{tmp_path}/ca.pem"
    authority.cert_pem.write_to_path(bundle)
    monkeypatch.setenv("SSL_CERT_FILE", bundle)
    async with http() as client:
        assert (await client.get(server.url)).text == "ok"
    async with http(trust_env=False) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(server.url)


async def test_a_wrong_host_name_is_refused(serve: ServerFactory, authority: trustme.CA) -> None:
    server = await serve(keep_alive, tls=_server_context(authority))
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    async with http(ssl_context=trusting) as client:
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
            await client.get(f"https://127.0.0.1:{server.port}/")


async def test_called_directly_without_a_client(serve: ServerFactory) -> None:
    """The pipeline's direct send path: a request built once, sent on the transport itself."""
    server = await serve(keep_alive)
    timeout = httpx.Timeout(5.0).as_dict()
    async with AnyioTransport() as transport:
        for _ in range(3):
            request = httpx.Request(
                "PUT", server.url, content=b'{"a": 1}', extensions={"timeout": timeout}
            )
            response = await transport.handle_async_request(request)
            await response.aread()
            assert response.content == b"ok"
            assert response.headers["content-length"] == "2"
    assert server.connections == 1
    assert [line for _, line, _ in server.requests] == ["PUT / HTTP/1.1"] * 3
