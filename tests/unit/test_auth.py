"""Credentials: the Shared Key signature, token credentials, and secrets kept out of sight."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import pickle
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from batch_tasks_async import (
    BATCH_SCOPE,
    BatchClient,
    BearerTokenCredential,
    RetryPolicy,
    SharedKeyCredential,
    errors,
    models,
)

KEY = base64.b64encode(b"a-very-secret-batch-account-key!").decode()
ACCOUNT = "acct"


def official_signature(method: str, url: str, headers: dict[str, str], body: bytes) -> str:
    """The Authorization header the official azure-batch SDK computes for the same request."""
    policy_module = pytest.importorskip("azure.batch._patch")
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.core.pipeline import PipelineContext, PipelineRequest
    from azure.core.rest import HttpRequest

    request = HttpRequest(method, url, headers=dict(headers), content=body or None)
    if body:
        request.headers["Content-Length"] = str(len(body))
    policy = policy_module.BatchSharedKeyAuthPolicy(AzureNamedKeyCredential(ACCOUNT, KEY))
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    return str(request.headers["Authorization"])


def test_string_to_sign_layout() -> None:
    credential = SharedKeyCredential(ACCOUNT, KEY)
    url = (
        "https://acct.westus.batch.azure.com/jobs/job-1/tasks"
        "?api-version=2024-07-01.20.0&timeout=30&%24filter=state%20eq%20%27active%27"
    )
    headers = {
        "Content-Type": "application/json; odata=minimalmetadata",
        "Content-Length": "42",
        "ocp-date": "Sat, 21 Nov 2026 05:00:00 GMT",
        "client-request-id": "abc",
        "If-Match": "0x1",
    }
    expected = (
        "POST\n\n\n42\n\napplication/json; odata=minimalmetadata\n\n\n0x1\n\n\n\n"
        "ocp-date:Sat, 21 Nov 2026 05:00:00 GMT\n"
        "/acct/jobs/job-1/tasks\n"
        "$filter:state eq 'active'\napi-version:2024-07-01.20.0\ntimeout:30"
    )
    assert credential.string_to_sign("POST", url, headers) == expected
    digest = hmac.new(base64.b64decode(KEY), expected.encode(), hashlib.sha256).digest()
    assert credential.sign("POST", url, headers) == (
        f"SharedKey acct:{base64.b64encode(digest).decode()}"
    )


def test_bodiless_post_signs_content_length_zero_and_get_signs_empty() -> None:
    credential = SharedKeyCredential(ACCOUNT, KEY)
    url = "https://acct.westus.batch.azure.com/jobs/j/tasks/t/terminate?api-version=x"
    assert credential.string_to_sign("POST", url, {"ocp-date": "d"}).startswith("POST\n\n\n0\n")
    assert credential.string_to_sign("GET", url, {"ocp-date": "d"}).startswith("GET\n\n\n\n")


@pytest.mark.parametrize(
    ("method", "url", "headers", "body"),
    [
        (
            "POST",
            "https://acct.westus.batch.azure.com/jobs/job-1/addtaskcollection?api-version=2024-07-01.20.0",
            {
                "Content-Type": "application/json; odata=minimalmetadata",
                "ocp-date": "Sat, 21 Nov 2026 05:00:00 GMT",
            },
            b'{"value":[{"id":"t1","commandLine":"echo"}]}',
        ),
        (
            "GET",
            "https://acct.westus.batch.azure.com/jobs/job-1/tasks?api-version=2025-06-01&maxresults=10"
            "&%24select=id%2Cstate&%24filter=startswith%28id%2C%27a%27%29",
            {"ocp-date": "Sat, 21 Nov 2026 05:00:00 GMT", "If-None-Match": "0x8D"},
            b"",
        ),
        (
            "POST",
            "https://acct.westus.batch.azure.com/jobs/job-1/tasks/t%201/reactivate?api-version=2025-06-01&timeout=30",
            {
                "ocp-date": "Sat, 21 Nov 2026 05:00:00 GMT",
                "If-Unmodified-Since": "Sat, 21 Nov 2026 04:00:00 GMT",
            },
            b"",
        ),
        (
            "DELETE",
            "https://acct.westus.batch.azure.com/jobs/job-1/tasks/t1?api-version=2024-07-01.20.0",
            {"ocp-date": "Sat, 21 Nov 2026 05:00:00 GMT", "client-request-id": "1"},
            b"",
        ),
    ],
)
def test_signature_matches_the_official_sdk(
    method: str, url: str, headers: dict[str, str], body: bytes
) -> None:
    ours = dict(headers)
    if body:
        ours["Content-Length"] = str(len(body))
    expected = official_signature(method, url, headers, body)
    assert SharedKeyCredential(ACCOUNT, KEY).sign(method, url, ours) == expected


@pytest.mark.anyio
async def test_requests_sent_by_the_client_verify() -> None:
    """Re-derive the signature of what actually went over the wire."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    async with BatchClient(
        "https://acct.westus.batch.azure.com",
        SharedKeyCredential(ACCOUNT, KEY),
        transport=httpx.MockTransport(handler),
    ) as client:
        await client.task.add("j", models.TaskAddParameter(id="t", command_line="echo"))
    (request,) = seen
    headers = {
        k: v for k, v in request.headers.items() if k not in ("authorization", "content-length")
    }
    assert request.headers["authorization"] == official_signature(
        "POST", str(request.url), headers, request.content
    )


def test_bad_keys_are_refused_without_echoing_them() -> None:
    with pytest.raises(errors.ClientValidationError) as info:
        SharedKeyCredential(ACCOUNT, "not base64 at all!!")
    assert "not base64 at all" not in str(info.value)
    with pytest.raises(errors.ClientValidationError):
        SharedKeyCredential("", KEY)


def test_secrets_stay_out_of_reprs() -> None:
    credential = SharedKeyCredential(ACCOUNT, KEY)
    client = BatchClient("https://acct.westus.batch.azure.com", credential)
    for text in (repr(credential), str(credential), repr(client)):
        assert KEY not in text
        assert "hidden" in text or "SharedKeyCredential" in text
    bearer = BearerTokenCredential("super-secret-token")
    assert "super-secret-token" not in repr(bearer)
    assert "super-secret-token" not in repr(
        BatchClient("https://acct.westus.batch.azure.com", bearer)
    )
    with pytest.raises(TypeError):
        pickle.dumps(credential)


def test_credentials_never_go_over_plain_http_to_remote_hosts() -> None:
    with pytest.raises(errors.ClientValidationError, match="plain http"):
        BatchClient("http://acct.westus.batch.azure.com", SharedKeyCredential(ACCOUNT, KEY))
    for host in ("127.0.0.1:8765", "localhost:1", "[::1]:80"):
        BatchClient(f"http://{host}", SharedKeyCredential(ACCOUNT, KEY))
    BatchClient("http://remote.example.com")  # no credential: nothing to leak


class FakeToken:
    def __init__(self, token: str, expires_on: int) -> None:
        self.token = token
        self.expires_on = expires_on


class FakeTokenCredential:
    def __init__(self, lifetime: int) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lifetime = lifetime

    async def get_token(self, *scopes: str, **kwargs: Any) -> FakeToken:
        import time

        self.calls.append(scopes)
        return FakeToken(f"token-{len(self.calls)}", int(time.time()) + self.lifetime)


@pytest.mark.anyio
@pytest.mark.parametrize(("lifetime", "expected_calls"), [(3600, 1), (60, 3)])
async def test_token_credential_is_cached_until_near_expiry(
    lifetime: int, expected_calls: int
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(204)

    credential = FakeTokenCredential(lifetime)
    async with BatchClient(
        "https://acct.westus.batch.azure.com", credential, transport=httpx.MockTransport(handler)
    ) as client:
        for _ in range(3):
            await client.task.terminate("j", "t")
    assert len(credential.calls) == expected_calls
    assert all(scopes == (BATCH_SCOPE,) for scopes in credential.calls)
    assert seen[0] == "Bearer token-1"
    assert "token-1" not in repr(client)


@pytest.mark.anyio
async def test_static_bearer_token() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(204)

    async with BatchClient(
        "https://acct.westus.batch.azure.com",
        BearerTokenCredential("abc"),
        transport=httpx.MockTransport(handler),
    ) as client:
        await client.task.reactivate("j", "t")
    assert seen == ["Bearer abc"]


def test_unknown_credential_type_is_refused() -> None:
    with pytest.raises(errors.ClientValidationError, match="get_token"):
        BatchClient("https://acct.westus.batch.azure.com", "a-plain-string")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_no_secret_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(503, headers={"Retry-After": "0"})
        return httpx.Response(
            403,
            json={"code": "AuthenticationFailed", "message": {"lang": "en-US", "value": "no"}},
        )

    caplog.set_level(logging.DEBUG)
    async with BatchClient(
        "https://acct.westus.batch.azure.com",
        SharedKeyCredential(ACCOUNT, KEY),
        transport=httpx.MockTransport(handler),
        retry_policy=RetryPolicy().without_backoff(),
    ) as client:
        with pytest.raises(errors.AuthenticationError) as info:
            await client.task.get("j", "t")
    signature_part = info.value.headers.get("authorization", "")
    assert signature_part == ""
    for text in (str(info.value), repr(info.value), caplog.text):
        assert KEY not in text
        assert "SharedKey" not in text


class Signatures:
    """A handler that records each request's Authorization header."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.headers["authorization"])
        return httpx.Response(204)


@pytest.mark.anyio
async def test_azure_named_key_credential_signs_like_shared_key_and_follows_update() -> None:
    from azure.core.credentials import AzureNamedKeyCredential

    other_key = "b3RoZXIta2V5LWZvci10ZXN0cy1vbmx5"
    fixed = datetime(2026, 12, 1, tzinfo=UTC)
    named, shared, rotated = Signatures(), Signatures(), Signatures()
    credential = AzureNamedKeyCredential(ACCOUNT, KEY)
    endpoint = "https://acct.westus.batch.azure.com"
    for cred, recorder in (
        (credential, named),
        (SharedKeyCredential(ACCOUNT, KEY), shared),
    ):
        async with BatchClient(endpoint, cred, transport=httpx.MockTransport(recorder)) as client:
            await client.task.terminate("j", "t", client_request_id="c", ocp_date=fixed)
    assert named.seen == shared.seen
    async with BatchClient(endpoint, credential, transport=httpx.MockTransport(rotated)) as client:
        credential.update(ACCOUNT, other_key)
        await client.task.terminate("j", "t", client_request_id="c", ocp_date=fixed)
    assert rotated.seen[0].startswith(f"SharedKey {ACCOUNT}:")
    assert rotated.seen != shared.seen
    assert KEY not in repr(client)
    assert other_key not in repr(client)


def test_a_named_key_credential_with_a_bad_key_is_refused() -> None:
    from azure.core.credentials import AzureNamedKeyCredential

    with pytest.raises(errors.ClientValidationError, match="base64"):
        BatchClient("https://a.b.batch.azure.com", AzureNamedKeyCredential(ACCOUNT, "%%%"))


class TokenInfoCredential:
    """azure-core's newer protocol only: ``get_token_info``."""

    def __init__(self, refresh_in: float | None) -> None:
        self.calls = 0
        self.refresh_in = refresh_in

    async def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        import time

        from azure.core.credentials import AccessTokenInfo

        self.calls += 1
        now = int(time.time())
        refresh_on = None if self.refresh_in is None else int(now + self.refresh_in)
        return AccessTokenInfo(f"info-{self.calls}", now + 3600, refresh_on=refresh_on)


@pytest.mark.anyio
@pytest.mark.parametrize(("refresh_in", "expected_calls"), [(None, 1), (-1, 2)])
async def test_get_token_info_credentials_are_used_and_refresh_on_honoured(
    refresh_in: float | None, expected_calls: int
) -> None:
    recorder = Signatures()
    credential = TokenInfoCredential(refresh_in)
    async with BatchClient(
        "https://acct.westus.batch.azure.com", credential, transport=httpx.MockTransport(recorder)
    ) as client:
        await client.task.terminate("j", "t")
        await client.task.terminate("j", "t")
    assert credential.calls == expected_calls
    assert recorder.seen[0] == "Bearer info-1"


class SyncCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> FakeToken:
        return FakeToken("sync", 2**31)


def test_a_sync_credential_is_refused_at_construction() -> None:
    with pytest.raises(errors.ClientValidationError, match=r"azure\.identity\.aio"):
        BatchClient("https://acct.westus.batch.azure.com", SyncCredential())  # type: ignore[arg-type]


def test_azure_identity_sync_credential_is_refused_at_construction() -> None:
    from azure.identity import ClientSecretCredential

    sync = ClientSecretCredential("tenant", "client", "secret")
    with pytest.raises(errors.ClientValidationError, match=r"azure\.identity\.aio"):
        BatchClient("https://acct.westus.batch.azure.com", sync)  # type: ignore[arg-type]


class FailingCredential:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def get_token(self, *scopes: str, **kwargs: Any) -> FakeToken:
        raise self.error


def _identity_errors() -> list[Exception]:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import CredentialUnavailableError

    return [
        ClientAuthenticationError("AADSTS7000215: Invalid client secret provided."),
        CredentialUnavailableError("EnvironmentCredential authentication unavailable."),
        OSError("network unreachable"),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("failure", _identity_errors(), ids=lambda e: type(e).__name__)
async def test_credential_failures_are_authentication_errors_with_the_cause(
    failure: Exception,
) -> None:
    sent: list[httpx.Request] = []
    async with BatchClient(
        "https://acct.westus.batch.azure.com",
        FailingCredential(failure),
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(204)),  # type: ignore[func-returns-value]
    ) as client:
        with pytest.raises(errors.AuthenticationError) as info:
            await client.task.terminate("j", "t")
    assert isinstance(info.value, errors.CredentialError)
    assert info.value.__cause__ is failure
    assert info.value.status_code == 0
    assert type(failure).__name__ in str(info.value)
    assert sent == []


class OddTokenCredential:
    def __init__(self, token: Any) -> None:
        self.token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self.token


@pytest.mark.anyio
@pytest.mark.parametrize("token", [None, FakeToken("", 2**31), FakeToken("t", "soon")])  # type: ignore[arg-type]
async def test_a_token_of_the_wrong_shape_is_a_credential_error(token: Any) -> None:
    async with BatchClient(
        "https://acct.westus.batch.azure.com",
        OddTokenCredential(token),
        transport=httpx.MockTransport(lambda r: httpx.Response(204)),
    ) as client:
        with pytest.raises(errors.CredentialError, match="not a token"):
            await client.task.terminate("j", "t")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # azure.identity.aio runs on aiohttp
async def test_azure_identity_aio_credential_is_accepted_and_its_failure_wrapped(
    anyio_backend: str,
) -> None:
    from azure.identity.aio import ClientSecretCredential

    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no Batch request may be sent without a token")

    credential = ClientSecretCredential(
        "00000000-0000-0000-0000-000000000000", "client", "secret",
        authority="https://127.0.0.1:9",  # refused at once: nothing leaves the machine
        retry_total=0,
    )  # fmt: skip
    async with (
        credential,
        BatchClient(
            "https://acct.westus.batch.azure.com",
            credential,
            transport=httpx.MockTransport(no_network),
        ) as client,
    ):
        with pytest.raises(errors.CredentialError) as info:
            await client.task.terminate("j", "t")
    assert info.value.__cause__ is not None
    assert "secret" not in str(info.value)
