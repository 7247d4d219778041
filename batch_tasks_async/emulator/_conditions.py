"""Conditional requests: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from ._context import RequestContext
from ._errors import EmulatorHTTPError

__all__ = ["check_conditions"]


def check_conditions(ctx: RequestContext, etag: str, last_modified: float, *, read: bool) -> None:
    """Raise 304 (reads) or 412 ``ConditionNotMet`` when the request's conditions fail."""
    headers = ctx.request.headers
    if_match = headers.get("if-match")
    if_none_match = headers.get("if-none-match")
    if_modified = headers.get("if-modified-since")
    if_unmodified = headers.get("if-unmodified-since")
    if not (if_match or if_none_match or if_modified or if_unmodified):
        return
    modified = int(last_modified)
    if if_match and not _etag_matches(if_match, etag):
        raise ctx.error(412, "ConditionNotMet")
    if if_unmodified and modified > _http_time("If-Unmodified-Since", if_unmodified):
        raise ctx.error(412, "ConditionNotMet")
    if (if_none_match and _etag_matches(if_none_match, etag)) or (
        if_modified and modified <= _http_time("If-Modified-Since", if_modified)
    ):
        if read:
            raise EmulatorHTTPError(304, "ConditionNotMet", headers={"etag": etag})
        raise ctx.error(412, "ConditionNotMet")


def _etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        value = candidate.strip()
        if value.startswith("W/"):
            value = value[2:]
        value = value.strip('"')
        if value == "*" or value == etag:
            return True
    return False


def _http_time(name: str, value: str) -> int:
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError):
        raise EmulatorHTTPError(
            400,
            "InvalidHeaderValue",
            values=(("HeaderName", name), ("HeaderValue", value)),
        ) from None
