"""Credentials: Batch Shared Key, Microsoft Entra ID token credentials, a static bearer token."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit

import anyio

from .errors import ClientValidationError

__all__ = [
    "BATCH_SCOPE",
    "AccessTokenLike",
    "AsyncTokenCredential",
    "BearerTokenCredential",
    "SharedKeyCredential",
]

#: The OAuth scope of the Batch data plane (the double slash is the service's own spelling).
BATCH_SCOPE = "https://batch.core.windows.net//.default"

# Standard headers in the order the Batch Shared Key string-to-sign lists them.
_SIGNED_HEADERS = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


class SharedKeyCredential:
    """A Batch account name and one of its access keys (the Shared Key scheme).

    The key is kept private: it never appears in ``repr()``, ``str()`` or exception text.

    Args:
        account_name: The Batch account's name (the first label of its URL).
        account_key: The account's primary or secondary key, base64 as the portal shows it.

    Raises:
        ClientValidationError: The name is empty or the key is not valid base64.
    """

    __slots__ = ("_account_name", "_key", "_resources")

    def __init__(self, account_name: str, account_key: str) -> None:
        if not account_name:
            raise ClientValidationError("SharedKeyCredential: account_name must not be empty")
        try:
            key = base64.b64decode(account_key, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ClientValidationError(
                "SharedKeyCredential: account_key is not valid base64 "
                "(copy the key exactly as the portal shows it)"
            ) from None
        if not key:
            raise ClientValidationError("SharedKeyCredential: account_key must not be empty")
        self._account_name = account_name
        self._key = key
        self._resources: dict[str, str] = {}

    @property
    def account_name(self) -> str:
        """The Batch account's name."""
        return self._account_name

    def __repr__(self) -> str:
        return f"SharedKeyCredential(account_name={self._account_name!r}, account_key=<hidden>)"

    def __reduce__(self) -> Any:
        raise TypeError("SharedKeyCredential cannot be pickled (it holds a secret)")

    def string_to_sign(self, method: str, url: str, headers: Mapping[str, str]) -> str:
        """Build the Shared Key string-to-sign for a request.

        Args:
            method: The HTTP method, upper case.
            url: The full request URL, exactly as it is sent (path percent-encoded).
            headers: The request headers that will be sent (any case).
        """
        lowered = {k.lower(): v for k, v in headers.items() if v}
        if method not in ("GET", "HEAD") and "content-length" not in lowered:
            lowered["content-length"] = "0"
        parts = [method]
        parts.extend(lowered.get(name, "") for name in _SIGNED_HEADERS)
        lines = "\n".join(parts) + "\n"
        for name in sorted(k for k in lowered if k.startswith("ocp-")):
            lines += f"{name}:{lowered[name]}\n"
        return lines + self._canonical_resource(url)

    def _canonical_resource(self, url: str) -> str:
        """``/{account}{path}`` and the sorted, decoded query: cached, URLs repeat a lot."""
        cached = self._resources.get(url)
        if cached is not None:
            return cached
        split = urlsplit(url)
        text = f"/{self._account_name}{split.path}"
        first_values: dict[str, str] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            first_values.setdefault(name, value)
        for name in sorted(first_values):
            if first_values[name]:
                text += f"\n{name}:{first_values[name]}"
        if len(self._resources) >= 256:
            self._resources.clear()
        self._resources[url] = text
        return text

    def sign(self, method: str, url: str, headers: Mapping[str, str]) -> str:
        """Return the ``Authorization`` header value for a request.

        ``headers`` must already hold every header that will be sent, including ``ocp-date``.
        """
        digest = hmac.new(
            self._key, self.string_to_sign(method, url, headers).encode("utf-8"), hashlib.sha256
        ).digest()
        return f"SharedKey {self._account_name}:{base64.b64encode(digest).decode('ascii')}"


@runtime_checkable
class AccessTokenLike(Protocol):
    """What ``get_token`` returns (``azure.core.credentials.AccessToken`` satisfies it)."""

    @property
    def token(self) -> str:
        """The bearer token."""
        ...

    @property
    def expires_on(self) -> int:
        """Expiry, in seconds since the Unix epoch."""
        ...


@runtime_checkable
class AsyncTokenCredential(Protocol):
    """Any object with azure-identity's async ``get_token(*scopes)``.

    For example ``azure.identity.aio.DefaultAzureCredential()``.
    """

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike:
        """Return a token for the given scopes."""
        ...


class BearerTokenCredential:
    """A fixed bearer token, sent as ``Authorization: Bearer <token>``.

    Use it when the token comes from elsewhere; it is never refreshed. The token never appears
    in ``repr()`` or exception text.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        if not token:
            raise ClientValidationError("BearerTokenCredential: token must not be empty")
        self._token = token

    def __repr__(self) -> str:
        return "BearerTokenCredential(token=<hidden>)"

    def __reduce__(self) -> Any:
        raise TypeError("BearerTokenCredential cannot be pickled (it holds a secret)")

    @property
    def token(self) -> str:
        """The bearer token."""
        return self._token


class _TokenCache:
    """Caches a token from an :class:`AsyncTokenCredential` until shortly before it expires."""

    #: Refresh this many seconds before the token's expiry.
    REFRESH_MARGIN = 300.0

    def __init__(self, credential: AsyncTokenCredential, scope: str = BATCH_SCOPE) -> None:
        self._credential = credential
        self._scope = scope
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"_TokenCache(credential={type(self._credential).__name__})"

    def _fresh(self) -> bool:
        return self._token is not None and time.time() < self._expires_on - self.REFRESH_MARGIN

    async def authorization(self) -> str:
        """Return ``Bearer <token>``, fetching a new token when the cached one is near expiry."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    access = await self._credential.get_token(self._scope)
                    self._token = access.token
                    self._expires_on = float(access.expires_on)
        return f"Bearer {self._token}"
