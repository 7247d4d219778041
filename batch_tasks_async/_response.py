"""What a call returns besides its value: response metadata, and reading a reply's body.

``ResponseMetadata`` is what operations without a body return, and what ``Response`` and each
``Page`` carry next to their value. ``decode_json`` and ``structure`` are the one place the SDK
turns a reply's body into data: whatever is wrong with it (not JSON, bad UTF-8, wrong types, a
required member missing) becomes a ``ResponseDecodeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import attrs
import httpx

from ._dates import parse_http_date
from ._serialization import from_wire, loads
from .errors import ResponseDecodeError

__all__ = ["Response", "ResponseMetadata", "decode_json", "structure"]

T = TypeVar("T")

_EMPTY: Mapping[str, str] = MappingProxyType({})


@attrs.frozen(kw_only=True)
class ResponseMetadata:
    """What the service said about a request, from its response headers.

    Use ``e_tag`` with ``if_match=`` on a later call for optimistic concurrency.

    Attributes:
        status_code: The HTTP status (201 for add, 200 for get/update/delete/list, 204 for
            terminate/reactivate).
        e_tag: The resource's ``ETag``, if the service sent one.
        last_modified: The resource's ``Last-Modified`` time, if sent.
        request_id: The service's ``request-id`` for this request.
        client_request_id: The ``client-request-id`` sent (echoed when asked for).
        data_service_id: The ``DataServiceId`` header (the resource's URL), if sent.
        location: The ``Location`` header (the new resource's URL, on add), if sent.
        recovered: ``True`` when an earlier attempt of the call may have reached the service
            without an answer, and a retry found its work already done (``add`` answered
            ``TaskExists``, ``terminate`` answered ``TaskCompleted``, ``delete`` answered
            ``TaskNotFound``). The call then succeeds; ``status_code`` is the operation's
            success status and the ETag, if any, comes from a follow-up get.
        headers: Every response header (names looked up in any case; do not modify).
    """

    status_code: int
    e_tag: str | None = None
    last_modified: datetime | None = None
    request_id: str | None = None
    client_request_id: str | None = None
    data_service_id: str | None = None
    location: str | None = None
    recovered: bool = False
    headers: Mapping[str, str] = attrs.field(default=_EMPTY, eq=False, repr=False)

    @classmethod
    def from_response(
        cls, response: httpx.Response, client_request_id: str | None = None
    ) -> ResponseMetadata:
        """Read the metadata headers of ``response``."""
        headers = response.headers
        found = dict(headers.items())  # one pass; httpx's get() scans the list each time
        return cls(
            status_code=response.status_code,
            e_tag=found.get("etag"),
            last_modified=_last_modified(found.get("last-modified")),
            request_id=found.get("request-id"),
            client_request_id=found.get("client-request-id")
            or client_request_id
            or client_request_id_of(response),
            data_service_id=found.get("dataserviceid"),
            location=found.get("location"),
            headers=headers,
        )


_last_text: str | None = None
_last_value: datetime | None = None


def _last_modified(text: str | None) -> datetime | None:
    """``parse_http_date``, remembering the last text (responses in a burst share it)."""
    global _last_text, _last_value
    if text is None:
        return None
    if text != _last_text:
        _last_value = parse_http_date(text)
        _last_text = text
    return _last_value


@attrs.frozen(kw_only=True)
class Response(Generic[T]):
    """A value the service returned, with the metadata of the response that carried it.

    Returned by ``client.task.get_with_response(...)``: ``value`` is what ``get`` returns,
    and ``e_tag`` is there even when ``select=`` left the task's ``eTag`` property out.

    Attributes:
        value: The value (for example a [`CloudTask`][batch_tasks_async.models.CloudTask]).
        metadata: The response's status, ETag, Last-Modified, request ids and headers.
    """

    value: T
    metadata: ResponseMetadata

    @property
    def e_tag(self) -> str | None:
        """The ``ETag`` response header."""
        return self.metadata.e_tag

    @property
    def last_modified(self) -> datetime | None:
        """The ``Last-Modified`` response header."""
        return self.metadata.last_modified

    @property
    def request_id(self) -> str | None:
        """The service's ``request-id``."""
        return self.metadata.request_id

    @property
    def headers(self) -> Mapping[str, str]:
        """Every response header (names looked up in any case)."""
        return self.metadata.headers


def client_request_id_of(response: httpx.Response, sent: str | None = None) -> str | None:
    """The ``client-request-id`` echoed in ``response``, else ``sent``, else the request's."""
    echoed = response.headers.get("client-request-id")
    if echoed:
        return str(echoed)
    if sent:
        return sent
    try:
        sent = response.request.headers.get("client-request-id")
    except RuntimeError:  # a response built without a request (tests)
        return None
    return str(sent) if sent else None


def unusable(response: httpx.Response, reason: str) -> ResponseDecodeError:
    """A ``ResponseDecodeError`` for ``response``, saying what was wrong with it."""
    try:
        body = response.content
    except httpx.ResponseNotRead:  # its body could not be read (or decoded)
        body = b""
    return ResponseDecodeError(
        response.status_code,
        reason=reason,
        request_id=response.headers.get("request-id"),
        client_request_id=client_request_id_of(response),
        headers={k.lower(): v for k, v in response.headers.items()},
        body=body,
    )


def decode_json(response: httpx.Response) -> Any:
    """The JSON body of ``response`` as plain data.

    Raises:
        ResponseDecodeError: The body is empty, not UTF-8 or not JSON.
    """
    body = response.content
    if not body:
        raise unusable(response, "the body is empty where JSON was expected")
    try:
        return loads(body)
    except ValueError as exc:  # orjson.JSONDecodeError, bad UTF-8 included
        raise unusable(response, f"the body is not valid JSON ({exc})") from exc


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of ``response``, which must be an object."""
    data = decode_json(response)
    if not isinstance(data, dict):
        raise unusable(response, f"a JSON object was expected, got {type(data).__name__}")
    return data


def structure(cls: type[T], data: Any, response: httpx.Response) -> T:
    """``data`` (from ``response``) structured into ``cls``.

    Raises:
        ResponseDecodeError: ``data`` does not fit ``cls`` (a member of the wrong type, a
            required member missing, a value out of range).
    """
    try:
        return from_wire(cls, data)
    except Exception as exc:  # cattrs, attrs validators, date parsers: all mean "does not fit"
        raise unusable(
            response, f"it does not fit {cls.__name__} ({type(exc).__name__}: {exc})"
        ) from exc


def structure_list(cls: type[T], items: Any, response: httpx.Response) -> list[T]:
    """Each of ``items`` (a JSON array from ``response``) structured into ``cls``."""
    if not isinstance(items, list):
        raise unusable(response, f"'value' is {type(items).__name__}, not a list")
    try:
        return [from_wire(cls, item) for item in items]
    except Exception as exc:  # as in structure(): the reply does not fit the model
        raise unusable(
            response, f"an item does not fit {cls.__name__} ({type(exc).__name__}: {exc})"
        ) from exc
