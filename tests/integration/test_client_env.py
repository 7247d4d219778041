"""``BatchClient`` and the network environment: a proxy from the environment carries its calls.

The loopback proxy comes from the transport's tests; here the whole client goes through it.
"""

from __future__ import annotations

import pytest

from batch_tasks_async import BatchClient
from tests.integration.test_transport_env import _PROXY_VARIABLES, LoopbackProxy, proxy

pytestmark = pytest.mark.anyio

__all__ = ["proxy"]  # the fixture, used by name below

ENDPOINT = "http://account.batch.example"


@pytest.fixture(autouse=True)
def _clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


async def test_a_client_call_goes_through_the_environment_proxy(
    proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    async with BatchClient(ENDPOINT) as client:
        assert not client._pipeline.sends_directly, "a proxy needs client.send"
        meta = await client.task.terminate("job-1", "t1")
    assert meta.status_code == 200
    [line] = proxy.request_lines
    assert line.startswith("POST http://account.batch.example/jobs/job-1/tasks/t1/terminate?")


async def test_trust_env_false_ignores_the_proxy(
    proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    async with BatchClient(ENDPOINT, trust_env=False) as client:
        assert client._pipeline.sends_directly
    async with BatchClient(ENDPOINT) as client:
        assert not client._pipeline.sends_directly
    assert proxy.request_lines == []


async def test_without_a_proxy_the_sdk_client_sends_directly() -> None:
    async with BatchClient(ENDPOINT) as client:
        assert client._pipeline.sends_directly
