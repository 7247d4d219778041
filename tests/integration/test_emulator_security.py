"""Secure by default, over real sockets: every endpoint signed, request dates within the
window, secrets out of process arguments and reprs."""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from batch_tasks_async import SharedKeyCredential
from batch_tasks_async.emulator import (
    ACCOUNT_KEY_ENV,
    EmulatorAuth,
    EmulatorConfig,
    EmulatorProcess,
    RunningEmulator,
    config_to_args,
    config_to_env,
    emulator_command,
)
from batch_tasks_async.emulator._auth import Authenticator
from batch_tasks_async.emulator._errors import EmulatorHTTPError

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

ACCOUNT = "secaccount"
KEY = base64.b64encode(b"security-test-key-0123456789abcdef").decode()
V = {"api-version": "2025-06-01"}


def signed(
    method: str, url: str, *, date: str | None, date_header: str = "ocp-date", **extra: str
) -> dict[str, str]:
    """Headers of a request signed with ``date`` in ``date_header`` (``None``: no date)."""
    headers = dict(extra)
    if date is not None:
        headers[date_header] = date
    if method != "GET":
        headers.setdefault("content-length", "0")
    credential = SharedKeyCredential(ACCOUNT, KEY)
    headers["authorization"] = credential.sign(method, url, headers)
    return headers


def detail(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == "AuthenticationFailed"
    values: dict[str, str] = {v["key"]: v["value"] for v in body["values"]}
    return values["AuthenticationErrorDetail"]


@pytest.fixture
def secured(emulator_factory: EmulatorFactory) -> RunningEmulator:
    return emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT, account_key=KEY, jobs=("job-1",), date_window_seconds=300
        )
    )


def test_request_dates_outside_the_window_are_refused(secured: RunningEmulator) -> None:
    url = f"{secured.url}/jobs/job-1/tasks?api-version=2025-06-01"
    now = formatdate(usegmt=True)
    cases = {
        "two hours old": formatdate(_now() - 7200, usegmt=True),
        "a day ahead": formatdate(_now() + 86400, usegmt=True),
        "just outside (301 s old)": formatdate(_now() - 301, usegmt=True),
    }
    with httpx.Client(trust_env=False) as client:
        assert client.get(url, headers=signed("GET", url, date=now)).status_code == 200
        inside = formatdate(_now() - 240, usegmt=True)
        assert client.get(url, headers=signed("GET", url, date=inside)).status_code == 200
        for name, date in cases.items():
            text = detail(client.get(url, headers=signed("GET", url, date=date)))
            assert date in text, name
            assert ("too old" in text) == (name != "a day ahead"), name
        # No date at all, or one that is not an RFC 1123 date: refused as well.
        assert "neither an ocp-date nor a Date" in detail(
            client.get(url, headers=signed("GET", url, date=None))
        )
        garbage = detail(client.get(url, headers=signed("GET", url, date="yesterday-ish")))
        assert "not a valid RFC 1123 date" in garbage
        # The standard Date header counts when ocp-date is absent (signed in its own slot).
        assert (
            client.get(url, headers=signed("GET", url, date=now, date_header="date")).status_code
            == 200
        )
        stale = formatdate(_now() - 3600, usegmt=True)
        refused = client.get(url, headers=signed("GET", url, date=stale, date_header="date"))
        assert "too old" in detail(refused)
    assert secured.stats()["requests"]["task_list"] == 2 + len(cases) + 4


def test_a_captured_delete_cannot_be_replayed_later(secured: RunningEmulator) -> None:
    base = f"{secured.url}/jobs/job-1/tasks"
    with secured.http_client() as client:
        created = client.post(base, params=V, json={"id": "keep", "commandLine": "echo"})
        assert created.status_code == 201
    url = f"{base}/keep?api-version=2025-06-01"
    # What an eavesdropper captured 20 minutes ago, sent again now, byte for byte.
    captured = signed("DELETE", url, date=formatdate(_now() - 20 * 60, usegmt=True))
    with httpx.Client(trust_env=False) as client:
        assert "too old" in detail(client.delete(url, headers=captured))
    assert secured.task_ids("job-1") == ["keep"]


def test_the_same_signed_request_expires_with_the_clock() -> None:
    clock = [1_800_000_000.0]
    config = EmulatorConfig(account_name=ACCOUNT, account_key=KEY)
    gate = Authenticator(config, clock=lambda: clock[0])
    url = "http://emu/jobs/j/tasks/t?api-version=2025-06-01"
    headers = signed("DELETE", url, date=formatdate(clock[0], usegmt=True))
    args = ("DELETE", "/jobs/j/tasks/t", "api-version=2025-06-01", headers.items())
    gate.check_parts(*args)
    clock[0] += 899
    gate.check_parts(*args)
    clock[0] += 2
    with pytest.raises(EmulatorHTTPError) as info:
        gate.check_parts(*args)
    assert info.value.status == 403
    assert info.value.code == "AuthenticationFailed"
    assert "too old" in dict(info.value.values)["AuthenticationErrorDetail"]
    assert repr(gate) == "Authenticator(required=True)"


def test_control_endpoints_need_a_signature(secured: RunningEmulator) -> None:
    with httpx.Client(base_url=secured.url, trust_env=False) as anonymous:
        for method, path in (
            ("GET", "/_emulator/stats"),
            ("POST", "/_emulator/reset"),
            ("POST", "/_emulator/clock?advance=60"),
            ("POST", "/_emulator/jobs/job-1/tasks/t/advance"),
        ):
            r = anonymous.request(method, path)
            assert "Authorization" in detail(r), path
        wrong = EmulatorAuth(ACCOUNT, base64.b64encode(b"not the key at all").decode())
        assert detail(anonymous.get("/_emulator/stats", auth=wrong))
    with secured.http_client() as client:
        client.post("/jobs/job-1/tasks", params=V, json={"id": "t", "commandLine": "echo"})
        stats = client.get("/_emulator/stats", params={"per_task": "true"}).json()
        assert stats["task_commit_counts"] == {"job-1": {"t": 1}}
        advanced = client.post("/_emulator/jobs/job-1/tasks/t/advance", params={"to": "running"})
        assert advanced.status_code == 204
        assert client.post("/_emulator/clock", params={"advance": "1"}).status_code == 200
        assert client.post("/_emulator/reset").status_code == 204
        assert client.get("/_emulator/stats").json()["tasks_committed"] == 0


def test_bearer_only_emulator_guards_control_endpoints(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(EmulatorConfig(accept_bearer_token="only-this", jobs=("j",)))
    with httpx.Client(base_url=emulator.url, trust_env=False) as client:
        assert client.post("/_emulator/reset").status_code == 403
        bad = client.post("/_emulator/reset", headers={"authorization": "Bearer other"})
        assert "bearer token is not valid" in detail(bad)
    with emulator.http_client() as client:
        assert client.post("/_emulator/reset").status_code == 204


def test_open_emulator_stays_open(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(EmulatorConfig(jobs=("j",)))
    assert emulator.http_auth is None
    r = httpx.get(f"{emulator.url}/_emulator/stats", trust_env=False)
    assert r.status_code == 200


def test_key_never_in_process_arguments_or_reprs() -> None:
    config = EmulatorConfig(
        account_name=ACCOUNT, account_key=KEY, accept_bearer_token="tok-secret", jobs=("j",)
    )
    assert KEY not in repr(config)
    assert "tok-secret" not in repr(config)
    args = config_to_args(config)
    assert KEY not in " ".join(args)
    assert "tok-secret" not in " ".join(args)
    assert config_to_env(config)[ACCOUNT_KEY_ENV] == KEY
    assert KEY not in repr(EmulatorAuth(ACCOUNT, KEY))
    with EmulatorProcess(config) as proc:
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert b"batch_tasks_async.emulator" in cmdline
        assert KEY.encode() not in cmdline
        assert b"tok-secret" not in cmdline
        assert b"--account-key" not in cmdline
        # The key reached the process all the same: signed requests pass, others do not.
        assert proc.url is not None
        assert httpx.get(f"{proc.url}/_emulator/stats", trust_env=False).status_code == 403
        assert proc.stats()["tasks_committed"] == 0
        proc.reset()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_cli_reads_the_key_from_a_file_or_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    bad_file = tmp_path / "bad"
    bad_file.write_text("not base64 !!")
    runner = CliRunner()
    both = runner.invoke(
        emulator_command, ["--account-key", KEY, "--account-key-file", str(key_file)]
    )
    assert both.exit_code == 2
    assert "once" in both.output
    bad = runner.invoke(emulator_command, ["--account-key-file", str(bad_file)])
    assert bad.exit_code == 2
    assert "base64" in bad.output
    assert "not base64 !!" not in bad.output
    visible = runner.invoke(emulator_command, ["--account-key", "%%%"])
    assert "visible to every user" in visible.stderr
    assert "%%%" not in visible.output
    env_bad = runner.invoke(emulator_command, [], env={ACCOUNT_KEY_ENV: "%%%"})
    assert "visible to every user" not in env_bad.stderr
    assert env_bad.exit_code == 2
    assert "base64" in env_bad.output
    assert "%%%" not in env_bad.output
    config = EmulatorConfig(account_name=ACCOUNT, jobs=("j",))
    with EmulatorProcess(config, extra_args=["--account-key-file", str(key_file)]) as proc:
        assert KEY.encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert proc.url is not None
        assert httpx.get(f"{proc.url}/_emulator/stats", trust_env=False).status_code == 403
        keyed = EmulatorAuth(ACCOUNT, KEY)
        r = httpx.get(f"{proc.url}/_emulator/stats", auth=keyed, trust_env=False)
        assert r.status_code == 200


def _now() -> float:
    return time.time()
