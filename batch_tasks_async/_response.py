"""Response metadata returned by operations that have no response body."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import attrs
import httpx

__all__ = ["ResponseMetadata"]


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class ResponseMetadata:
    """What the service said about a request that returns no body.

    Use ``e_tag`` with ``if_match=`` on a later call for optimistic concurrency.

    Attributes:
        status_code: The HTTP status (201 for add, 200 for update/delete, 204 for
            terminate/reactivate).
        e_tag: The resource's new ``ETag``, if the service sent one.
        last_modified: The resource's new ``Last-Modified`` time, if sent.
        request_id: The service's ``request-id`` for this request.
        client_request_id: The ``client-request-id`` sent (echoed when asked for).
        data_service_id: The ``DataServiceId`` header (the resource's URL), if sent.
        location: The ``Location`` header (the new resource's URL, on add), if sent.
        recovered: ``True`` when an earlier attempt of the call may have reached the service
            without an answer, and a retry found its work already done (``add`` answered
            ``TaskExists``, ``terminate`` answered ``TaskCompleted``, ``delete`` answered
            ``TaskNotFound``). The call then succeeds; ``status_code`` is the operation's
            success status and the ETag, if any, comes from a follow-up get.
    """

    status_code: int
    e_tag: str | None = None
    last_modified: datetime | None = None
    request_id: str | None = None
    client_request_id: str | None = None
    data_service_id: str | None = None
    location: str | None = None
    recovered: bool = False

    @classmethod
    def from_response(
        cls, response: httpx.Response, client_request_id: str | None = None
    ) -> ResponseMetadata:
        """Read the metadata headers of ``response``."""
        headers = response.headers
        return cls(
            status_code=response.status_code,
            e_tag=headers.get("etag"),
            last_modified=_parse_http_date(headers.get("last-modified")),
            request_id=headers.get("request-id"),
            client_request_id=headers.get("client-request-id") or client_request_id,
            data_service_id=headers.get("dataserviceid"),
            location=headers.get("location"),
        )
