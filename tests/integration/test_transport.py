"""The tuned connection pool over real sockets: reuse, concurrency, and dead connections."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import anyio
import httpx
import pytest

from batch_tasks_async._transport import AnyioTransport, make_transport

pytestmark = pytest.mark.anyio


class Server:
    """A tiny HTTP/1.1 server on its own thread that counts connections and can hang up."""

    def __init__(self, *, close_after_response: bool, delay: float = 0.0) -> None:
        self.close_after_response = close_after_response
        self.delay = delay
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                await asyncio.sleep(self.delay)
                self.in_flight -= 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
                if self.close_after_response:
                    # Hang up without saying "Connection: close": the client must notice.
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> Server:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture
def server() -> Iterator[Server]:
    with Server(close_after_response=False, delay=0.02) as running:
        yield running


def client(limit: int = 64) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    return httpx.AsyncClient(transport=make_transport(limits))


async def test_the_tuned_pool_is_installed() -> None:
    transport = make_transport(httpx.Limits(max_connections=4))
    assert isinstance(transport, AnyioTransport)
    await transport.aclose()


async def test_concurrent_requests_each_get_their_own_connection(server: Server) -> None:
    statuses: list[int] = []

    async def post(http: httpx.AsyncClient) -> None:
        response = await http.post(f"http://127.0.0.1:{server.port}/x", content=b"{}")
        statuses.append(response.status_code)

    async with client() as http:
        for _wave in range(2):  # the second wave reuses the same keep-alive connections
            async with anyio.create_task_group() as group:
                for _ in range(32):
                    group.start_soon(post, http)
    assert statuses == [200] * 64
    assert server.max_in_flight == 32
    assert server.connections == 32


async def test_requests_beyond_the_limit_wait_for_a_connection(server: Server) -> None:
    async with client(limit=4) as http, anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(http.get, f"http://127.0.0.1:{server.port}/x")
    assert server.connections == 4
    assert server.max_in_flight == 4


async def test_a_connection_the_server_closed_is_never_reused() -> None:
    with Server(close_after_response=True) as server:
        async with client() as http:
            for _ in range(5):
                response = await http.post(f"http://127.0.0.1:{server.port}/x", content=b"{}")
                assert response.text == "ok"
                await anyio.sleep(0.05)  # let the hang-up arrive before the next request
        assert server.connections == 5
