"""Credentials: Batch Shared Key, Microsoft Entra ID token credentials, a static bearer token.

[`Authorizer`][batch_tasks_async._credentials.Authorizer] turns whatever credential the client
was given into the ``Authorization`` header of each request; it is the one place that knows
the kinds: this SDK's [`SharedKeyCredential`][batch_tasks_async.SharedKeyCredential] and
[`BearerTokenCredential`][batch_tasks_async.BearerTokenCredential], azure-core's
``AzureNamedKeyCredential`` (read at every request, so ``update()`` takes effect), and async
token credentials with ``get_token_info`` (azure-core's newer protocol, preferred) or
``get_token``, such as those of ``azure.identity.aio``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit

import anyio

from .errors import BatchError, ClientValidationError, CredentialError

__all__ = [
    "BATCH_SCOPE",
    "AccessTokenLike",
    "AsyncTokenCredential",
    "AsyncTokenInfoCredential",
    "Authorizer",
    "BearerTokenCredential",
    "NamedKeyCredential",
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

        Args:
            method: The HTTP method, upper case.
            url: The URL exactly as sent: absolute, or its path and query alone (the
                request's ``url.raw_path``), percent-encoding included.
            headers: Every header that will be sent, including ``ocp-date``.
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

    For example ``azure.identity.aio.DefaultAzureCredential()``. A *synchronous* credential
    (``azure.identity.DefaultAzureCredential``) is refused when the client is made: use the
    same class from ``azure.identity.aio``.
    """

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike:
        """Return a token for the given scopes."""
        ...


@runtime_checkable
class AsyncTokenInfoCredential(Protocol):
    """Any object with azure-core's async ``get_token_info(*scopes, options=None)``.

    Preferred over ``get_token`` when a credential has both; the token's ``refresh_on``, when
    given, says when to fetch a new one.
    """

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenLike:
        """Return a token (an ``AccessTokenInfo``) for the given scopes."""
        ...


class _NamedKey(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key(self) -> str: ...


@runtime_checkable
class NamedKeyCredential(Protocol):
    """azure-core's ``AzureNamedKeyCredential``: an account name and key, rotatable.

    ``AzureNamedKeyCredential(account_name, account_key)`` signs requests exactly as a
    [`SharedKeyCredential`][batch_tasks_async.SharedKeyCredential] does; its ``update()``
    takes effect from the next request.
    """

    @property
    def named_key(self) -> _NamedKey:
        """The current name and key."""
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
    """Caches a token from an async credential until shortly before it expires.

    Every failure of the credential (azure-identity's ``ClientAuthenticationError``,
    ``CredentialUnavailableError``, a network error on the way to Entra ID, a token of the
    wrong shape) becomes a [`CredentialError`][batch_tasks_async.errors.CredentialError] with
    the original exception as its ``__cause__``.
    """

    #: Refresh this many seconds before the token's expiry.
    REFRESH_MARGIN = 300.0

    def __init__(self, credential: object, scope: str = BATCH_SCOPE) -> None:
        self._credential = credential
        self._scope = scope
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = anyio.Lock()
        info = getattr(credential, "get_token_info", None)
        plain = getattr(credential, "get_token", None)
        if callable(info) and _is_async(info):
            self._fetch, self._uses_info = info, True
        elif callable(plain) and _is_async(plain):
            self._fetch, self._uses_info = plain, False
        elif callable(info) or callable(plain):
            raise ClientValidationError(
                f"credential {type(credential).__name__} is synchronous (its get_token does not "
                "return an awaitable); this SDK is async: use the matching credential from "
                "azure.identity.aio, e.g. azure.identity.aio.DefaultAzureCredential()"
            )
        else:
            raise ClientValidationError(
                "credential must be a SharedKeyCredential, a BearerTokenCredential, an "
                "AzureNamedKeyCredential, or an object with an async get_token(*scopes) or "
                f"get_token_info(*scopes) method; got {type(credential).__name__}"
            )

    def __repr__(self) -> str:
        return f"_TokenCache(credential={type(self._credential).__name__})"

    def _fresh(self) -> bool:
        return self._token is not None and time.time() < self._refresh_at

    async def authorization(self) -> str:
        """Return ``Bearer <token>``, fetching a new token when the cached one is near expiry."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    await self._refresh()
        return f"Bearer {self._token}"

    def _failed(self, exc: Exception) -> CredentialError:
        return CredentialError(
            f"credential {type(self._credential).__name__} could not get a token for "
            f"{self._scope}: {type(exc).__name__}: {exc}"
        )

    async def _refresh(self) -> None:
        name = type(self._credential).__name__
        try:
            pending = self._fetch(self._scope)
        except BatchError:
            raise
        except Exception as exc:
            raise self._failed(exc) from exc
        if not inspect.isawaitable(pending):
            raise ClientValidationError(
                f"credential {name} returned a token synchronously; use the matching "
                "credential from azure.identity.aio"
            )
        try:
            access = await pending
        except BatchError:
            raise
        except Exception as exc:
            raise self._failed(exc) from exc
        token = getattr(access, "token", None)
        expires_on = getattr(access, "expires_on", None)
        if (
            not isinstance(token, str)
            or not token
            or isinstance(expires_on, bool)
            or not isinstance(expires_on, int | float)
        ):
            raise CredentialError(
                f"credential {name} returned {type(access).__name__}, not a token with a "
                "string 'token' and a numeric 'expires_on'"
            )
        refresh_at = float(expires_on) - self.REFRESH_MARGIN
        refresh_on = getattr(access, "refresh_on", None) if self._uses_info else None
        if isinstance(refresh_on, int | float) and not isinstance(refresh_on, bool):
            refresh_at = min(refresh_at, float(refresh_on))
        self._token = token
        self._refresh_at = refresh_at


def _is_async(function: Any) -> bool:
    """Whether ``function`` is a coroutine function (or an object with an async ``__call__``)."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - an async callable object
    )


class _NamedKeySigner:
    """Signs with an ``AzureNamedKeyCredential``, following its ``update()``."""

    __slots__ = ("_credential", "_current", "_signer")

    def __init__(self, credential: NamedKeyCredential) -> None:
        self._credential = credential
        self._current: object = None
        self._signer: SharedKeyCredential | None = None
        self.signer()

    def signer(self) -> SharedKeyCredential:
        named = self._credential.named_key
        if named is not self._current or self._signer is None:
            name, key = getattr(named, "name", None), getattr(named, "key", None)
            if not isinstance(name, str) or not isinstance(key, str):
                raise ClientValidationError(
                    "AzureNamedKeyCredential: the account name and key must be strings"
                )
            self._signer = SharedKeyCredential(name, key)
            self._current = named
        return self._signer


class Authorizer:
    """Puts the ``Authorization`` header on each request, whatever the credential's kind.

    Args:
        credential: What the client was given (``None``: send no ``Authorization``).

    Raises:
        ClientValidationError: The credential is of no known kind, or is synchronous.
    """

    __slots__ = ("_named", "_shared", "_static", "_tokens", "kind")

    def __init__(self, credential: object | None) -> None:
        self._shared: SharedKeyCredential | None = None
        self._named: _NamedKeySigner | None = None
        self._static: str | None = None
        self._tokens: _TokenCache | None = None
        #: ``"key"`` (the header signs the request), ``"static"``, ``"token"`` or ``"none"``.
        self.kind = "none"
        if credential is None:
            return
        if isinstance(credential, SharedKeyCredential):
            self._shared, self.kind = credential, "key"
        elif isinstance(credential, BearerTokenCredential):
            self._static, self.kind = f"Bearer {credential.token}", "static"
        elif isinstance(credential, NamedKeyCredential):
            self._named, self.kind = _NamedKeySigner(credential), "key"
        else:
            self._tokens, self.kind = _TokenCache(credential), "token"

    def __repr__(self) -> str:
        return f"<Authorizer kind={self.kind}>"

    def sign(self, method: str, target: str, headers: Mapping[str, str]) -> str:
        """The Shared Key ``Authorization`` for a request (``kind == "key"`` only).

        Args:
            method: The HTTP method.
            target: The path and query exactly as sent (``request.url.raw_path``).
            headers: Every header that will be sent.
        """
        if self._shared is not None:
            return self._shared.sign(method, target, headers)
        if self._named is None:
            raise ClientValidationError("this client's credential does not sign requests")
        return self._named.signer().sign(method, target, headers)

    async def header(self, method: str, target: str, headers: Mapping[str, str]) -> str | None:
        """The ``Authorization`` value for a request, or ``None`` when none is sent."""
        if self.kind == "key":
            return self.sign(method, target, headers)
        if self._static is not None:
            return self._static
        if self._tokens is not None:
            return await self._tokens.authorization()
        return None
