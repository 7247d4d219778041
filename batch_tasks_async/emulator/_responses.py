"""Response builders shared by every handler: JSON bodies, empty bodies, entity headers."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._state import http_date

__all__ = [
    "JSON_CONTENT_TYPE",
    "NoResponse",
    "date_header",
    "empty_response",
    "entity_headers",
    "json_response",
]

JSON_CONTENT_TYPE = "application/json;odata=minimalmetadata"

_date_cache: list[Any] = [0, ""]


def date_header() -> str:
    """The ``Date`` header for now, formatted once per second."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = http_date(now)
    return str(_date_cache[1])


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A Batch JSON response (``application/json;odata=minimalmetadata``)."""
    all_headers = {"content-type": JSON_CONTENT_TYPE}
    if headers:
        all_headers.update(headers)
    return Response(orjson.dumps(body), status_code=status, headers=all_headers)


def empty_response(status: int, headers: dict[str, str]) -> Response:
    """A response with no body (``content-length: 0``)."""
    return Response(b"", status_code=status, headers={"content-length": "0", **headers})


def entity_headers(
    etag: str, last_modified: float, *, url: str | None = None, created: bool = False
) -> dict[str, str]:
    """ETag and Last-Modified, plus DataServiceId (and Location on a create) when ``url``."""
    headers = {"etag": etag, "last-modified": http_date(last_modified)}
    if url is not None:
        headers["dataserviceid"] = url
        if created:
            headers["location"] = url
    return headers


class NoResponse(Response):
    """A response that sends nothing (the transport is already gone)."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return
