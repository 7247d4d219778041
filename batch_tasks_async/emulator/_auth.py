"""Azure Batch Shared Key verification, matched to what azure-batch 15.x signs.

The string to sign (``azure.batch._patch.BatchSharedKeyAuthPolicy``)::

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
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request

from ._config import EmulatorConfig
from ._errors import EmulatorHTTPError

__all__ = ["Authenticator", "SharedKeyVerifier", "sign"]

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


class Authenticator:
    """Checks every Batch request against the configured key and bearer token."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.verifier = (
            SharedKeyVerifier(config.account_name, config.account_key)
            if config.account_key
            else None
        )
        self.required = self.verifier is not None or config.accept_bearer_token is not None

    def check(self, request: Request) -> None:
        """Return if ``request`` is authenticated; else raise 403 ``AuthenticationFailed``."""
        if not self.required:
            return
        header = request.headers.get("authorization")
        detail: str
        if not header:
            detail = "The request is missing the Authorization header."
        elif header.startswith("Bearer "):
            allowed = self.config.accept_bearer_token
            token = header[7:].strip()
            if allowed is not None and token and (allowed == "*" or token == allowed):
                return
            detail = "The bearer token is not valid for this account."
        elif self.verifier is not None:
            scope = request.scope
            raw_path = scope.get("raw_path") or scope["path"].encode()
            ok = self.verifier.verify(
                header,
                request.method,
                raw_path.decode("latin-1"),
                scope.get("query_string", b"").decode("latin-1"),
                request.headers.items(),
            )
            if ok:
                return
            detail = (
                "The MAC signature found in the HTTP request is not the same as any "
                "computed signature."
            )
        else:
            detail = "Shared Key authentication is not configured for this account."
        raise EmulatorHTTPError(
            403, "AuthenticationFailed", values=(("AuthenticationErrorDetail", detail),)
        )
