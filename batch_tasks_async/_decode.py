"""Turning a successful reply into a model, or into a
[`ResponseDecodeError`][batch_tasks_async.errors.ResponseDecodeError].
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
import orjson

from ._serialization import from_wire
from .errors import ResponseDecodeError

__all__ = ["decode_error", "decode_json", "decode_model"]

T = TypeVar("T")


def decode_error(response: httpx.Response, reason: str) -> ResponseDecodeError:
    """The error for a reply that cannot be used, with ``reason`` and the reply's ids."""
    try:
        body = response.content
    except httpx.ResponseNotRead:  # a streamed reply: its body is not kept
        body = b""
    return ResponseDecodeError(
        response.status_code,
        reason=reason,
        request_id=response.headers.get("request-id"),
        client_request_id=response.headers.get("client-request-id"),
        headers={k.lower(): v for k, v in response.headers.items()},
        body=body,
    )


def decode_json(response: httpx.Response) -> Any:
    """The reply's JSON body."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise decode_error(response, f"the body is not JSON ({exc})") from exc


def decode_model(cls: type[T], response: httpx.Response, data: Any = None) -> T:
    """The reply's JSON body (or ``data`` already parsed from it) as the model ``cls``."""
    if data is None:
        data = decode_json(response)
    try:
        return from_wire(cls, data)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise decode_error(
            response, f"the body is not a {cls.__name__} ({type(exc).__name__}: {exc})"
        ) from exc
