"""Azure Batch Shared Key verification, matched to what azure-batch 15.x signs.

The string to sign (``azure.batch._patch.BatchSharedKeyAuthPolicy``):

    VERB \\n
    Content-Encoding \\n Content-Language \\n Content-Length \\n Content-MD5 \\n
    Content-Type \\n Date \\n If-Modified-Since \\n If-Match \\n If-None-Match \\n
    If-Unmodified-Since \\n Range \\n
    ocp-header:value \\n ...              (lowercased names containing "ocp-", sorted)
    /{account}{path}                      (the path as sent, still percent-encoded)
    \\n{name}:{value} ...                  (query parameters, decoded, sorted by name)

azure-batch 15.x signs ``Content-Length: 0`` for body-less non-GET requests, signs only the
first value of a repeated query parameter and keeps query names as sent; the older documented
scheme leaves a zero length empty, lowercases names and comma-joins sorted values. The
verifier accepts either form, so every generation of client is checked, and nothing else.

`Authenticator` is the one gate every request passes, the ``/_emulator/...`` control
endpoints included: a valid signature *and* a request date (``ocp-date``, else ``Date``) within
`EmulatorConfig.date_window_seconds` of the emulator's clock (the service documents that
it must receive a request within 15 minutes of its creation, against replays), or an accepted
bearer token. Every refusal is ``403 AuthenticationFailed`` with an ``AuthenticationErrorDetail``
saying why, the shape the service gives every Shared Key failure.

`EmulatorAuth` is the client side for tools that call the control endpoints: an
``httpx.Auth`` that signs with the SDK's own
[`SharedKeyCredential`][batch_tasks_async.SharedKeyCredential] (or sends the bearer token).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Generator, Iterable
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote

import httpx

from .._credentials import SharedKeyCredential
from ._errors import EmulatorHTTPError

if TYPE_CHECKING:
    from starlette.requests import Request

    from ._config import EmulatorConfig

__all__ = ["Authenticator", "EmulatorAuth", "SharedKeyVerifier", "emulator_auth", "sign"]

_HEADERS_TO_SIGN = (
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


def sign(key: bytes, string_to_sign: str) -> str:
    """Base64 HMAC-SHA256 of ``string_to_sign`` under the decoded account key."""
    digest = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _query_variants(query_string: str) -> list[str]:
    pairs = parse_qsl(query_string, keep_blank_values=False)
    first: dict[str, str] = {}
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        first.setdefault(name, value)
        grouped.setdefault(name.lower(), []).append(value)
    sdk = "".join(f"\n{name}:{first[name]}" for name in sorted(first))
    spec = "".join(f"\n{name}:{','.join(sorted(grouped[name]))}" for name in sorted(grouped))
    return [sdk] if sdk == spec else [sdk, spec]


class SharedKeyVerifier:
    """Checks ``Authorization: SharedKey {account}:{signature}`` for one account."""

    def __init__(self, account_name: str, account_key: str) -> None:
        self.account_name = account_name
        try:
            self._key = base64.b64decode(account_key, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("the account key must be base64") from exc

    def verify(
        self,
        authorization: str,
        method: str,
        raw_path: str,
        query_string: str,
        headers: Iterable[tuple[str, str]],
    ) -> bool:
        """Whether ``authorization`` is a valid signature of this request."""
        scheme, _, credential = authorization.partition(" ")
        if scheme != "SharedKey":
            return False
        account, sep, signature = credential.strip().rpartition(":")
        if not sep or account.lower() != self.account_name.lower():
            return False
        values: dict[str, str] = {}
        ocp: list[tuple[str, str]] = []
        for name, value in headers:
            lname = name.lower()
            if not value:
                continue
            values[lname] = value
            if "ocp-" in lname:
                ocp.append((lname, value))
        lengths = [values.get("content-length", "")]
        if lengths[0] in ("", "0"):
            lengths = ["0", ""] if method not in ("GET", "HEAD") else ["", "0"]
        rest = "\n".join(values.get(h, "") for h in _HEADERS_TO_SIGN[3:]) + "\n"
        encoding = values.get("content-encoding", "")
        head = f"{method}\n{encoding}\n{values.get('content-language', '')}\n"
        ocp_part = "".join(f"{n}:{v}\n" for n, v in sorted(ocp))
        paths = [raw_path]
        decoded = unquote(raw_path)
        if decoded != raw_path:
            paths.append(decoded)
        for length in lengths:
            for path in paths:
                for query in _query_variants(query_string):
                    string_to_sign = f"{head}{length}\n{rest}{ocp_part}/{account}{path}{query}"
                    if hmac.compare_digest(sign(self._key, string_to_sign), signature):
                        return True
        return False


def _refused(detail: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(
        403, "AuthenticationFailed", values=(("AuthenticationErrorDetail", detail),)
    )


def request_date_problem(headers: dict[str, str], *, now: float, window: float) -> str | None:
    """Why the request's date is not acceptable (``None``: it is).

    ``headers`` has lower-case names. ``ocp-date`` wins over ``Date`` when both are sent, as
    the service documents.
    """
    name = "ocp-date" if headers.get("ocp-date") else "date"
    text = headers.get(name)
    if not text:
        return "The request has neither an ocp-date nor a Date header; one is required."
    try:
        sent = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return f"The {name} header is not a valid RFC 1123 date: {text!r}."
    if sent.tzinfo is None:
        return f"The {name} header has no time zone (RFC 1123 dates end in GMT): {text!r}."
    skew = sent.timestamp() - now
    if skew < -window:
        return f"Request date header too old: {text!r}."
    if skew > window:
        return f"Request date header too far in the future: {text!r}."
    return None


class Authenticator:
    """Decides whether a request may be served: the one check for every endpoint.

    Open (``required`` is false) when the config has neither a key nor bearer tokens.
    ``clock`` gives the time in seconds since the epoch (tests move it).
    """

    def __init__(self, config: EmulatorConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._verifier = (
            SharedKeyVerifier(config.account_name, config.account_key)
            if config.account_key
            else None
        )
        self._bearer = config.accept_bearer_token
        self._window = config.date_window_seconds
        self._clock = clock
        self.required = self._verifier is not None or self._bearer is not None

    def __repr__(self) -> str:
        return f"Authenticator(required={self.required})"

    def check(self, request: Request) -> None:
        """Return if ``request`` is authenticated; else raise 403 ``AuthenticationFailed``."""
        if not self.required:
            return
        scope = request.scope
        raw_path = scope.get("raw_path") or scope["path"].encode()
        self.check_parts(
            request.method,
            raw_path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            request.headers.items(),
        )

    def check_parts(
        self,
        method: str,
        raw_path: str,
        query_string: str,
        headers: Iterable[tuple[str, str]],
    ) -> None:
        """`check` on a request's parts (the path as sent, still percent-encoded)."""
        if not self.required:
            return
        pairs = list(headers)
        lowered = {name.lower(): value for name, value in pairs}
        header = lowered.get("authorization")
        if not header:
            raise _refused("The request is missing the Authorization header.")
        if header.startswith("Bearer "):
            token = header[7:].strip()
            allowed = self._bearer
            if (
                allowed is not None
                and token
                and (allowed == "*" or hmac.compare_digest(token.encode(), allowed.encode()))
            ):
                return
            raise _refused("The bearer token is not valid for this account.")
        if self._verifier is None:
            raise _refused("Shared Key authentication is not configured for this account.")
        if not self._verifier.verify(header, method, raw_path, query_string, pairs):
            raise _refused(
                "The MAC signature found in the HTTP request is not the same as any "
                "computed signature."
            )
        problem = request_date_problem(lowered, now=self._clock(), window=self._window)
        if problem is not None:
            raise _refused(problem)


class EmulatorAuth(httpx.Auth):
    """Signs requests to an emulator (its control endpoints included) the way SDK clients do.

    With an account key: a fresh ``ocp-date`` and a Shared Key ``Authorization`` made by the
    SDK's [`SharedKeyCredential`][batch_tasks_async.SharedKeyCredential]; with only a bearer
    token: ``Authorization: Bearer``. The secret never appears in ``repr()``.
    """

    def __init__(
        self, account_name: str, account_key: str | None, *, token: str | None = None
    ) -> None:
        self._credential = SharedKeyCredential(account_name, account_key) if account_key else None
        self._token = token

    def __repr__(self) -> str:
        scheme = "SharedKey" if self._credential is not None else "Bearer"
        return f"EmulatorAuth(scheme={scheme!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the date and ``Authorization`` headers, then send."""
        if self._credential is not None:
            request.headers["ocp-date"] = formatdate(usegmt=True)
            request.headers["authorization"] = self._credential.sign(
                request.method, str(request.url), request.headers
            )
        elif self._token is not None:
            request.headers["authorization"] = f"Bearer {self._token}"
        yield request


def emulator_auth(config: EmulatorConfig) -> EmulatorAuth | None:
    """The ``httpx.Auth`` that gets a request past ``config``'s checks (``None``: it is open).

    A bearer token ``"*"`` means any token, so ``"emulator"`` is sent.
    """
    if config.account_key:
        return EmulatorAuth(config.account_name, config.account_key)
    token = config.accept_bearer_token
    if token is not None:
        return EmulatorAuth(config.account_name, None, token="emulator" if token == "*" else token)
    return None
