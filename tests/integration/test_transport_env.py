"""The network environment: proxies and certificate settings honoured as httpx honours them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.abc
import httpx
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from batch_tasks_async import _http_env
from batch_tasks_async._transport import build_http_client
from batch_tasks_async.errors import ClientValidationError

pytestmark = pytest.mark.anyio

_PROXY_VARIABLES = [
    f"{name}{suffix}" for name in ("http", "https", "all", "no") for suffix in ("_proxy", "_PROXY")
]


@pytest.fixture(autouse=True)
def _clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class LoopbackProxy:
    """A forward proxy on 127.0.0.1 that records request lines and answers them itself."""

    def __init__(self) -> None:
        self.request_lines: list[str] = []
        self.port = 0

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            buffered = BufferedByteReceiveStream(stream)
            while True:
                try:
                    head = await buffered.receive_until(b"\r\n\r\n", 65536)
                except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError):
                    return
                line = head.split(b"\r\n", 1)[0].decode()
                self.request_lines.append(line)
                if line.startswith("CONNECT "):
                    # Refuse tunnels: enough to show the client came through the proxy.
                    await stream.send(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                    return
                body = b'{"via": "proxy"}'
                await stream.send(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )

    async def serve(self, task_status: anyio.abc.TaskStatus[None]) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        task_status.started()
        await listener.serve(self._handle)


@pytest.fixture
async def proxy() -> AsyncIterator[LoopbackProxy]:
    running = LoopbackProxy()
    async with anyio.create_task_group() as group:
        await group.start(running.serve)
        yield running
        group.cancel_scope.cancel()


def _build(endpoint: str, *, trust_env: bool = True) -> tuple[httpx.AsyncClient, object]:
    return build_http_client(
        endpoint, timeout=httpx.Timeout(5.0), max_connections=4, trust_env=trust_env
    )


async def test_http_proxy_carries_the_request(
    proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    client, direct = _build("http://account.batch.example")
    assert direct is None  # the pipeline must go through client.send
    async with client:
        response = await client.get("http://account.batch.example/jobs?api-version=1")
    assert response.json() == {"via": "proxy"}
    assert proxy.request_lines == ["GET http://account.batch.example/jobs?api-version=1 HTTP/1.1"]


async def test_https_proxy_is_asked_for_a_tunnel(
    proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", f"127.0.0.1:{proxy.port}")  # no scheme: http:// assumed
    client, direct = _build("https://account.batch.example")
    assert direct is None
    async with client:
        with pytest.raises(httpx.ProxyError):
            await client.get("https://account.batch.example/jobs")
    assert proxy.request_lines == ["CONNECT account.batch.example:443 HTTP/1.1"]


async def test_all_proxy_applies_to_any_scheme(
    proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{proxy.port}")
    client, direct = _build("http://account.batch.example")
    assert direct is None
    async with client:
        await client.get("http://account.batch.example/x")
    assert proxy.request_lines == ["GET http://account.batch.example/x HTTP/1.1"]


@pytest.mark.parametrize(
    ("no_proxy", "endpoint"),
    [
        ("*", "http://account.batch.example"),
        ("batch.example", "http://account.batch.example"),
        (".batch.example", "http://account.batch.example"),
        ("other.example,account.batch.example", "http://account.batch.example"),
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("http://account.batch.example", "http://account.batch.example"),
    ],
)
async def test_no_proxy_gives_the_direct_transport(
    proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch, no_proxy: str, endpoint: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    client, direct = _build(endpoint)
    async with client:
        assert direct is not None


async def test_trust_env_false_ignores_the_proxy(
    proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    client, direct = _build("http://account.batch.example", trust_env=False)
    async with client:
        assert direct is not None
    assert proxy.request_lines == []


async def test_a_transport_given_by_the_caller_is_used_as_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    mock = httpx.MockTransport(lambda request: httpx.Response(204))
    client, direct = build_http_client(
        "http://account.batch.example",
        timeout=httpx.Timeout(1.0),
        max_connections=1,
        transport=mock,
    )
    assert direct is mock
    async with client:
        assert (await client.get("http://account.batch.example/")).status_code == 204


# The same answers as httpx's own client for the same environment (httpx's private router
# is the reference here; the SDK itself does not use it).
_ENVIRONMENTS: list[dict[str, str]] = [
    {"HTTP_PROXY": "http://p:1"},
    {"HTTPS_PROXY": "p:2"},
    {"ALL_PROXY": "http://p:3", "HTTP_PROXY": "http://p:1"},
    {"ALL_PROXY": "http://p:3", "NO_PROXY": "example.com"},
    {"ALL_PROXY": "http://p:3", "NO_PROXY": ".example.com"},
    {"ALL_PROXY": "http://p:3", "NO_PROXY": "localhost,::1,10.0.0.1"},
    {"ALL_PROXY": "http://p:3", "NO_PROXY": "https://a.example.com:8443"},
    {"HTTPS_PROXY": "http://p:2", "NO_PROXY": " , *"},
]
_URLS = [
    "http://a.example.com",
    "https://a.example.com",
    "https://a.example.com:8443",
    "https://example.com",
    "http://notexample.com",
    "http://localhost:8000",
    "http://[::1]:8000",
    "http://10.0.0.1",
    "https://acct.westeurope.batch.azure.com",
]


@pytest.mark.parametrize("environment", _ENVIRONMENTS)
def test_proxy_choice_matches_httpx(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    reference = httpx.Client(trust_env=True)
    try:
        for url in _URLS:
            chosen = reference._transport_for_url(httpx.URL(url))
            pool = getattr(chosen, "_pool", None)
            proxy = getattr(pool, "_proxy_url", None)
            expected = None if proxy is None else str(httpx.URL(_url_text(proxy)))
            got = _http_env.environment_proxy(url)
            assert (None if got is None else str(httpx.URL(got))) == expected, url
    finally:
        reference.close()


def _url_text(url: object) -> str:
    scheme = url.scheme.decode()  # type: ignore[attr-defined]
    host = url.host.decode()  # type: ignore[attr-defined]
    port = url.port  # type: ignore[attr-defined]
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def test_certificate_settings_follow_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    import trustme

    authority = trustme.CA()
    bundle = anyio.Path(str(tmp_path)) / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    trusting = _http_env.ssl_context()
    roots = [str(certificate["subject"]) for certificate in trusting.get_ca_certs()]
    assert len(roots) == 1
    assert "trustme" in roots[0]
    # The same settings give the same context: made once, not per client.
    assert _http_env.ssl_context() is trusting
    # trust_env=False ignores the variable: certifi's roots.
    assert len(_http_env.ssl_context(trust_env=False).get_ca_certs()) > 10


def test_a_proxy_httpx_cannot_use_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://user:secret@127.0.0.1:1080")
    with pytest.raises(ClientValidationError, match="socks5:// proxy") as caught:
        _build("http://account.batch.example")
    assert "secret" not in str(caught.value)
