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
from ._serialization import prepare as prepare_models
from ._transport import build_http_client
from .errors import ClientValidationError

__all__ = ["BatchClient"]

#: Default client-side network timeouts, in seconds.
DEFAULT_NETWORK_TIMEOUT = httpx.Timeout(60.0, connect=10.0, pool=None)


class BatchClient:
    """An async client for the Azure Batch Task API.

    Use it as an async context manager, so its connections are closed:

        async with BatchClient(
            "https://myaccount.westeurope.batch.azure.com",
            credential=SharedKeyCredential("myaccount", key),
        ) as client:
            await client.task.add("job-1", models.TaskAddParameter(id="t1", command_line="echo hi"))

    Args:
        endpoint: The account URL, ``https://<account>.<region>.batch.azure.com`` (``https://``
            is assumed when no scheme is given). Plain ``http`` is accepted only for loopback
            hosts such as a local emulator.
        credential: A [`SharedKeyCredential`][batch_tasks_async.SharedKeyCredential],
            azure-core's ``AzureNamedKeyCredential``, a
            [`BearerTokenCredential`][batch_tasks_async.BearerTokenCredential], an async
            token credential with ``get_token_info`` or ``get_token`` (such as
            ``azure.identity.aio.DefaultAzureCredential()``; tokens are cached until near
            expiry), or ``None`` for an emulator that runs open. A synchronous credential
            (``azure.identity.DefaultAzureCredential``) is refused: use ``azure.identity.aio``.
        api_version: The REST api-version sent with every request.
        http_client: An ``httpx.AsyncClient`` to use; the caller keeps ownership and closes it,
            and it keeps its full semantics (event hooks, auth, proxies).
        transport: An httpx transport for the client this object makes (for example
            ``httpx.MockTransport`` or ``httpx.ASGITransport`` in tests). Not with
            ``http_client``.
        retry_policy: How the HTTP layer retries (default
            [`RetryPolicy()`][batch_tasks_async.RetryPolicy]).
        network_timeout: Client-side network timeout in seconds, or an ``httpx.Timeout``.
            Separate from the per-call ``timeout=`` the service enforces.
        max_connections: Size of the connection pool (HTTP/1.1 keep-alive connections).
        trust_env: Honour the environment as httpx does: ``HTTP_PROXY``, ``HTTPS_PROXY``,
            ``ALL_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``. ``False``
            ignores them. Not with ``http_client`` (configure that client instead).

    Raises:
        ClientValidationError: An argument is invalid (a bad endpoint, an unknown or
            synchronous credential, ``http_client`` with ``transport``).
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
        trust_env: bool = True,
    ) -> None:
        if not isinstance(endpoint, str) or not endpoint:
            raise ClientValidationError("endpoint must be a non-empty URL string")
        if "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        if http_client is not None and transport is not None:
            raise ClientValidationError("pass either http_client or transport, not both")
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise ClientValidationError(
                f"max_connections must be an integer >= 1, got {max_connections!r}"
            )
        if not isinstance(trust_env, bool):
            raise ClientValidationError(f"trust_env must be a bool, got {trust_env!r}")
        if not isinstance(api_version, str) or not api_version:
            raise ClientValidationError(
                f"api_version must be a non-empty string, got {api_version!r}"
            )
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise ClientValidationError(
                f"retry_policy must be a RetryPolicy, got {type(retry_policy).__name__}"
            )
        if not isinstance(network_timeout, httpx.Timeout) and (
            isinstance(network_timeout, bool)
            or not isinstance(network_timeout, int | float)
            or not network_timeout > 0
        ):
            raise ClientValidationError(
                "network_timeout must be a number of seconds > 0 or an httpx.Timeout, "
                f"got {network_timeout!r}"
            )
        prepare_models()  # generate the wire hooks now, not during the first request
        direct: httpx.AsyncBaseTransport | None = None
        if http_client is None:
            timeout = (
                network_timeout
                if isinstance(network_timeout, httpx.Timeout)
                else httpx.Timeout(network_timeout, connect=min(network_timeout, 10.0), pool=None)
            )
            http_client, direct = build_http_client(
                endpoint,
                timeout=timeout,
                max_connections=max_connections,
                trust_env=trust_env,
                transport=transport,
            )
            self._owns_http_client = True
        elif not isinstance(http_client, httpx.AsyncClient):
            raise ClientValidationError(
                f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}"
            )
        else:
            self._owns_http_client = False
        self._pipeline = Pipeline(
            endpoint,
            credential,
            api_version=api_version,
            http_client=http_client,
            retry_policy=retry_policy or RetryPolicy(),
            direct_transport=direct,
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
        """Close the connections (only those of an http client this object made).

        Any later call, and any call still retrying, raises
        [`ClientClosedError`][batch_tasks_async.errors.ClientClosedError]. Closing twice is
        harmless.
        """
        self._pipeline.closed = True
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
