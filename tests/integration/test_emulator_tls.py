"""``tls=True`` / ``--tls``: https with a certificate made at start, over real sockets.

The official azure-batch 15 SDK talks to it with Shared Key and with a bearer token through
azure-core (whose bearer policy refuses plain http), trusting the CA bundle the emulator wrote.
"""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.credentials import AccessToken, AzureNamedKeyCredential
from azure.core.exceptions import ServiceRequestError

from batch_tasks_async.emulator import (
    EmulatorConfig,
    EmulatorProcess,
    EmulatorServer,
    RunningEmulator,
)

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

ACCOUNT = "tlsaccount"
KEY = base64.b64encode(b"tls-test-key-0123456789abcdef0123").decode()
TOKEN = "a-bearer-token-for-the-emulator"


class StaticToken:
    """A ``TokenCredential`` that hands out one token (what azure-identity would fetch)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def test_https_url_and_ca_bundle(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(tls=True, account_name=ACCOUNT, account_key=KEY, jobs=("j",))
    )
    assert emulator.url.startswith("https://127.0.0.1:")
    assert emulator.ca_path is not None
    pem = Path(emulator.ca_path).read_text()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" not in pem
    # Not trusted by default: the certificate is signed by the emulator's own CA.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{emulator.url}/jobs", params={"api-version": "2025-06-01"}, trust_env=False)
    # Plain http to the https port gets no HTTP answer.
    plain = emulator.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{plain}/jobs", trust_env=False, timeout=5)
    context = ssl.create_default_context(cafile=emulator.ca_path)
    with httpx.Client(verify=context, trust_env=False) as client:
        r = client.get(f"{emulator.url}/jobs", params={"api-version": "2025-06-01"})
        assert r.status_code == 403  # reached the app; unsigned
        # localhost is in the certificate too.
        local = emulator.url.replace("127.0.0.1", "localhost")
        assert client.get(f"{local}/jobs").status_code == 403
    with emulator.http_client() as client:
        assert client.get("/jobs", params={"api-version": "2025-06-01"}).status_code == 200


def test_ca_bundle_of_a_temporary_dir_is_removed_on_stop(tmp_path: Path) -> None:
    server = EmulatorServer(EmulatorConfig(tls=True))
    handle = server.start()
    assert handle.ca_path is not None
    temporary = Path(handle.ca_path)
    assert temporary.is_file()
    server.stop()
    assert not temporary.exists()
    chosen = tmp_path / "certs" / "emulator-ca.pem"
    with EmulatorServer(EmulatorConfig(tls=True, tls_ca_path=str(chosen))) as emulator:
        assert emulator.ca_path == str(chosen.resolve())
    assert chosen.is_file(), "a path the caller chose is kept"


def test_official_sdk_over_https_with_shared_key(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(tls=True, account_name=ACCOUNT, account_key=KEY, jobs=("job-1",))
    )
    client = BatchClient(
        endpoint=emulator.url,
        credential=AzureNamedKeyCredential(ACCOUNT, KEY),
        connection_verify=emulator.ca_path,
    )
    tasks = [m.BatchTaskCreateOptions(id=f"t{i}", command_line="echo hi") for i in range(150)]
    result = client.create_tasks("job-1", tasks)
    assert result.result_values is not None
    assert {r.status.lower() for r in result.result_values} == {"success"}
    assert client.get_task("job-1", "t7").command_line == "echo hi"
    assert len(list(client.list_tasks("job-1"))) == 150
    assert emulator.stats()["tasks_committed"] == 150


def test_bearer_token_through_azure_core_needs_https(emulator_factory: EmulatorFactory) -> None:
    secure = emulator_factory(EmulatorConfig(tls=True, accept_bearer_token=TOKEN, jobs=("job-1",)))
    credential = StaticToken(TOKEN)
    client = BatchClient(
        endpoint=secure.url, credential=credential, connection_verify=secure.ca_path
    )
    client.create_task("job-1", m.BatchTaskCreateOptions(id="bearer", command_line="echo"))
    assert client.get_task("job-1", "bearer").id == "bearer"
    assert credential.scopes
    assert credential.scopes[0] == ("https://batch.core.windows.net//.default",)
    assert secure.task_ids("job-1") == ["bearer"]
    # A wrong token is refused by the emulator, not by the client.
    wrong = BatchClient(
        endpoint=secure.url, credential=StaticToken("wrong"), connection_verify=secure.ca_path
    )
    with pytest.raises(Exception, match="AuthenticationFailed"):
        wrong.get_task("job-1", "bearer")
    # Over plain http azure-core refuses to send the token at all: why --tls exists.
    plain = emulator_factory(EmulatorConfig(accept_bearer_token=TOKEN, jobs=("job-1",)))
    insecure = BatchClient(endpoint=plain.url, credential=StaticToken(TOKEN))
    with pytest.raises(ServiceRequestError, match="non-TLS"):
        insecure.get_task("job-1", "bearer")
    assert plain.stats()["requests"] == {}


def test_ssl_cert_file_is_enough_for_azure_core(
    emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_factory(
        EmulatorConfig(tls=True, account_name=ACCOUNT, account_key=KEY, jobs=("job-1",))
    )
    assert emulator.ca_path is not None
    # requests (azure-core's default transport) reads REQUESTS_CA_BUNDLE; Python's ssl module
    # (httpx, aiohttp) SSL_CERT_FILE. Set both, as a shell user would.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_path)
    monkeypatch.setenv("SSL_CERT_FILE", emulator.ca_path)
    client = BatchClient(endpoint=emulator.url, credential=AzureNamedKeyCredential(ACCOUNT, KEY))
    assert client.get_job("job-1").id == "job-1"


def test_separate_process_with_tls_prints_the_ca_bundle() -> None:
    config = EmulatorConfig(tls=True, account_name=ACCOUNT, account_key=KEY, jobs=("job-p",))
    with EmulatorProcess(config) as proc:
        assert proc.url is not None
        assert proc.url.startswith("https://")
        assert proc.ca_path is not None
        assert Path(proc.ca_path).is_file()
        with proc.http_client() as client:
            r = client.post(
                "/jobs/job-p/tasks",
                params={"api-version": "2025-06-01"},
                json={"id": "one", "commandLine": "echo"},
            )
            assert r.status_code == 201
        assert proc.stats()["tasks_committed"] == 1
        ca_path = proc.ca_path
    assert not Path(ca_path).exists(), "the process removes its temporary CA bundle on exit"
