"""The error tree: redaction of anything stored, the unusable-reply and closed-client errors."""

from __future__ import annotations

import pickle

import httpx
import pytest

from batch_tasks_async import errors
from batch_tasks_async._pipeline import _error_from_response

SIGNATURE = "c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1sZWFr+/="
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0LXRva2Vu"

ECHOES = [
    f"Authorization: SharedKey acct:{SIGNATURE}",
    f"authorization=SharedKey acct:{SIGNATURE}",
    f'{{"headers": {{"Authorization": "SharedKey acct:{SIGNATURE}"}}}}',
    f"<tr><td>Authorization</td><td>SharedKey acct:{SIGNATURE}</td></tr>",
    f"<p>sharedkeylite acct:{SIGNATURE}</p>",
    f"AUTHORIZATION: Bearer {TOKEN}",
    f"token was Bearer {TOKEN} here",
    f"https://x.blob.core.windows.net/c/f?sv=2024&sig={SIGNATURE}&se=1",
]


@pytest.mark.parametrize("text", ECHOES)
def test_redact_removes_every_echoed_secret(text: str) -> None:
    cleaned = errors.redact(text)
    assert SIGNATURE not in cleaned
    assert TOKEN not in cleaned
    assert "c2lnbmF0dXJl" not in cleaned
    assert errors.REDACTED in cleaned


def test_redact_leaves_plain_text_alone() -> None:
    text = "The specified task does not exist.\nRequestId:abc"
    assert errors.redact(text) is text


@pytest.mark.parametrize("text", ECHOES)
def test_gateway_echo_never_reaches_a_service_error(text: str) -> None:
    response = httpx.Response(
        502,
        content=text.encode(),
        headers={"content-type": "text/html", "request-id": "r1", "x-echo": text},
    )
    error = _error_from_response(response, "c1")
    stored = [str(error), error.message, error.body.decode(), repr(error.headers)]
    for place in stored:
        assert SIGNATURE not in place
        assert TOKEN not in place
    assert isinstance(error, errors.ServerError)


def test_batch_error_message_is_redacted() -> None:
    body = {
        "code": "InvalidHeaderValue",
        "message": {"value": f"Authorization: SharedKey acct:{SIGNATURE}"},
        "values": [{"key": "HeaderValue", "value": f"SharedKey acct:{SIGNATURE}"}],
    }
    error = _error_from_response(httpx.Response(400, json=body), None)
    assert SIGNATURE not in str(error)
    assert SIGNATURE not in repr(error.values)
    assert SIGNATURE not in error.body.decode()
    assert error.code == "InvalidHeaderValue"


def test_response_decode_error_carries_status_request_id_and_excerpt() -> None:
    body = b'{"id": "t1", "state": ' + b"x" * 500
    error = errors.ResponseDecodeError(
        200, reason="the body is not valid JSON", request_id="rid-9", body=body
    )
    assert isinstance(error, errors.ServiceError)
    assert isinstance(error, errors.BatchError)
    assert error.status_code == 200
    assert error.request_id == "rid-9"
    assert error.excerpt.startswith('{"id": "t1"')
    assert error.excerpt.endswith("...")
    assert len(error.excerpt) <= errors.EXCERPT_CHARS + 3
    assert "not valid JSON" in str(error)
    assert "rid-9" in str(error)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is errors.ResponseDecodeError
    assert (clone.reason, clone.excerpt, clone.request_id) == (
        error.reason,
        error.excerpt,
        error.request_id,
    )


def test_response_decode_error_excerpt_is_redacted_and_lenient() -> None:
    body = b"\xff\xfe Authorization: SharedKey a:" + SIGNATURE.encode()
    error = errors.ResponseDecodeError(200, reason="not UTF-8", body=body)
    assert SIGNATURE not in error.excerpt
    assert SIGNATURE not in str(error)
    assert "\ufffd" in error.excerpt


def test_response_decode_error_without_body() -> None:
    error = errors.ResponseDecodeError(200, reason="the body is empty")
    assert error.excerpt == ""
    assert "no body" in str(error)


def test_client_closed_error_is_a_runtime_error() -> None:
    error = errors.ClientClosedError("the client is closed")
    assert isinstance(error, errors.BatchError)
    assert isinstance(error, RuntimeError)


def test_transport_error_message_is_redacted() -> None:
    error = errors.BatchConnectionError(
        f"failed: proxy said Authorization: Bearer {TOKEN}", request_sent=True
    )
    assert TOKEN not in str(error)
