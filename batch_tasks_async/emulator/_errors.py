"""Batch error bodies in the live service's shape, and the exception the handlers raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["ERROR_METADATA_SUFFIX", "MESSAGES", "EmulatorHTTPError", "error_body"]

ERROR_METADATA_SUFFIX = (
    "/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element"
)

#: The service's message text per error code (from the recordings and the Batch error list).
MESSAGES: dict[str, str] = {
    "AuthenticationFailed": (
        "Server failed to authenticate the request. Make sure the value of Authorization header "
        "is formed correctly including the signature."
    ),
    "ConditionNotMet": "The condition specified using HTTP conditional header(s) is not met.",
    "InternalError": "Server encountered an internal error. Please try the request again.",
    "InvalidPropertyValue": (
        "The value provided for one of the properties in the request body is invalid."
    ),
    "InvalidQueryParameterValue": (
        "Value for one of the query parameters specified in the request URI is invalid."
    ),
    "InvalidRequestBody": "The specified Request Body is not syntactically valid.",
    "InvalidHeaderValue": "The value for one of the HTTP headers is not in the correct format.",
    "JobExists": "The specified job already exists.",
    "JobNotFound": "The specified job does not exist.",
    "MissingRequiredProperty": "A required property was not specified in the request body.",
    "MissingRequiredQueryParameter": (
        "A query parameter that's mandatory for this request is not specified."
    ),
    "OperationInvalidForCurrentState": (
        "The specified operation is not valid for the current state of the resource."
    ),
    "RequestBodyTooLarge": (
        "The request body is too large and exceeds the maximum permissible limit."
    ),
    "ResourceNotFound": "The specified resource does not exist.",
    "ServerBusy": "The server is currently unable to receive requests. Please retry your request.",
    "TaskCompleted": "The specified task is already completed.",
    "TaskExists": "The specified task already exists.",
    "TaskNotFound": "The specified task does not exist.",
    "TooManyRequests": "The server is currently throttling requests. Please retry your request.",
    "UnsupportedHttpVerb": "The resource doesn't support the specified HTTP verb.",
}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def error_object(
    code: str,
    request_id: str,
    *,
    message: str | None = None,
    values: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The ``{code, message{lang, value}, values}`` part shared by error bodies and task results."""
    text = message if message is not None else MESSAGES.get(code, code)
    body: dict[str, Any] = {
        "code": code,
        "message": {"lang": "en-US", "value": f"{text}\nRequestId:{request_id}\nTime:{_now_iso()}"},
    }
    if values:
        body["values"] = [{"key": k, "value": v} for k, v in values]
    return body


def error_body(
    base_url: str,
    code: str,
    request_id: str,
    *,
    message: str | None = None,
    values: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A complete Batch error body, ``odata.metadata`` first, as the live service sends it."""
    body: dict[str, Any] = {"odata.metadata": base_url + ERROR_METADATA_SUFFIX}
    body.update(error_object(code, request_id, message=message, values=values))
    return body


class EmulatorHTTPError(Exception):
    """Raised by a handler to answer with a Batch error body."""

    def __init__(
        self,
        status: int,
        code: str,
        *,
        message: str | None = None,
        values: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.values = tuple(values)
        self.headers = dict(headers or {})
