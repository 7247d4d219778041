"""``BatchClient``: the entry point of the SDK."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

from ._credentials import BearerTokenCredential, SharedKeyCredential
from ._files import FileOperations
from ._jobs import JobOperations
from ._operations import TaskOperations
from ._pipeline import DEFAULT_API_VERSION, Credential, Pipeline, RetryPolicy
from ._transport import make_transport
from .errors import ClientValidationError

__all__ = ["BatchClient"]

#: Default client-side network timeouts, in seconds.
DEFAULT_NETWORK_TIMEOUT = httpx.Timeout(60.0, connect=10.0, pool=None)


class BatchClient:
    """An async client for the Azure Batch Task API.

    Use it as an async context manager, so its connections are closed::

        async with BatchClient(
            "https://myaccount.westeurope.batch.azure.com",
            credential=SharedKeyCredential("myaccount", key),
        ) as client:
            await client.task.add("job-1", models.TaskAddParameter(id="t1", command_line="echo hi"))

    Args:
        endpoint: The account URL, ``https://<account>.<region>.batch.azure.com`` (``https://``
            is assumed when no scheme is given). Plain ``http`` is accepted only for loopback
            hosts such as a local emulator.
        credential: A :class:`SharedKeyCredential`, a :class:`BearerTokenCredential`, any
            object with azure-identity's async ``get_token(*scopes)`` (tokens are cached until
            near expiry), or ``None`` for an emulator that runs open.
        api_version: The REST api-version sent with every request.
        http_client: An ``httpx.AsyncClient`` to use; the caller keeps ownership and closes it.
        transport: An httpx transport for the client this object makes (for example
            ``httpx.MockTransport`` or ``httpx.ASGITransport`` in tests). Not with
            ``http_client``.
        retry_policy: How the HTTP layer retries (default :class:`RetryPolicy()`).
        network_timeout: Client-side network timeout in seconds, or an ``httpx.Timeout``.
            Separate from the per-call ``timeout=`` the service enforces.
        max_connections: Size of the connection pool (HTTP/1.1 keep-alive connections).
    """

    def __init__(
        self,
        endpoint: str,
        credential: Credential | None = None,
        *,
        api_version: str = DEFAULT_API_VERSION,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        network_timeout: float | httpx.Timeout = DEFAULT_NETWORK_TIMEOUT,
        max_connections: int = 128,
    ) -> None:
        if not isinstance(endpoint, str) or not endpoint:
            raise ClientValidationError("endpoint must be a non-empty URL string")
        if "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        if http_client is not None and transport is not None:
            raise ClientValidationError("pass either http_client or transport, not both")
        if max_connections < 1:
            raise ClientValidationError("max_connections must be at least 1")
        if http_client is None:
            timeout = (
                network_timeout
                if isinstance(network_timeout, httpx.Timeout)
                else httpx.Timeout(network_timeout, connect=min(network_timeout, 10.0), pool=None)
            )
            limits = httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            )
            http_client = httpx.AsyncClient(
                transport=transport if transport is not None else make_transport(limits),
                timeout=timeout,
                limits=limits,
                follow_redirects=False,
            )
            self._owns_http_client = True
        else:
            self._owns_http_client = False
        self._pipeline = Pipeline(
            endpoint,
            credential,
            api_version=api_version,
            http_client=http_client,
            retry_policy=retry_policy or RetryPolicy(),
        )
        self._credential = credential
        self.task = TaskOperations(self._pipeline)
        """The Task operations."""
        self.job = JobOperations(self._pipeline)
        """The Job operations tasks need (task counts)."""
        self.file = FileOperations(self._pipeline)
        """The Task file operations (list, read, properties, delete)."""

    @property
    def endpoint(self) -> str:
        """The account URL requests go to."""
        return self._pipeline.endpoint

    @property
    def api_version(self) -> str:
        """The api-version sent with every request."""
        return self._pipeline.api_version

    def __repr__(self) -> str:
        credential = (
            repr(self._credential)
            if isinstance(self._credential, SharedKeyCredential | BearerTokenCredential | None)
            else f"<{type(self._credential).__name__}>"
        )
        return (
            f"BatchClient(endpoint={self.endpoint!r}, credential={credential}, "
            f"api_version={self.api_version!r})"
        )

    async def close(self) -> None:
        """Close the connections (only those of an http client this object made)."""
        if self._owns_http_client:
            await self._pipeline.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
