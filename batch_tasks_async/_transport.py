"""The httpx client and transport a [`BatchClient`][batch_tasks_async.BatchClient] sends with.

httpx stays the public HTTP layer: callers can pass their own ``httpx.AsyncClient`` or
transport. Without one, the SDK's client sends over
[`AnyioTransport`][batch_tasks_async._http_pool.AnyioTransport] (HTTP/1.1 on anyio streams,
responses parsed by httptools, a keep-alive pool made for many busy connections), which the
pipeline may call directly. When the environment asks for a proxy for the endpoint, httpx's own
proxy transports are used instead, and requests go through ``client.send``.
"""

from __future__ import annotations

import httpx

from . import _http_env
from ._http_connection import request_sent
from ._http_pool import AnyioTransport
from .errors import ClientValidationError

__all__ = ["AnyioTransport", "build_http_client", "make_transport", "request_sent"]


def make_transport(limits: httpx.Limits, *, trust_env: bool = True) -> AnyioTransport:
    """The SDK's default transport with ``limits`` (TLS context made on first use)."""
    return AnyioTransport(limits=limits, trust_env=trust_env)


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
    if proxy is not None:
        context = _http_env.ssl_context(trust_env=trust_env)
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
    direct = make_transport(limits, trust_env=trust_env)
    client = httpx.AsyncClient(
        transport=direct, timeout=timeout, follow_redirects=False, trust_env=trust_env
    )
    return client, direct
