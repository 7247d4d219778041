"""The servers the benchmarks run against, each in its own process on the loopback interface.

* :func:`emulator_server`: the project's emulator (``python -m batch_tasks_async.emulator``),
  with Shared Key verification, optional latency and faults; it holds every task, so lost and
  duplicated tasks can be counted.
* :func:`stdlib_server`: :mod:`benchmarks.stdlib_server`, which verifies and stores nothing.

Both print a ``listening on http://...`` line once bound; :class:`ServerProcess` waits for it.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import attrs
import httpx

from batch_tasks_async.emulator import EmulatorConfig, FaultConfig, config_to_args

__all__ = [
    "ACCOUNT_KEY",
    "ACCOUNT_NAME",
    "BENCH_JOB",
    "LIST_JOB",
    "ServerProcess",
    "emulator_server",
    "pin",
    "stdlib_server",
]

#: Account the clients sign with (the emulator verifies it; the stdlib server ignores it).
ACCOUNT_NAME = "benchaccount"
#: A fixed base64 key (32 bytes): a benchmark secret, not a credential of anything real.
ACCOUNT_KEY = "YmVuY2htYXJrLWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ="
#: The job measured runs add to.
BENCH_JOB = "bench"
#: The job the list benchmark reads.
LIST_JOB = "bench-list"
#: The job warm-up runs add to (see :data:`benchmarks.worker.WARMUP_JOB`).
WARMUP_JOB = "bench-warmup"

_READY = re.compile(r"listening on (http://\S+)")


def pin(pid: int, cpu: int | None) -> None:
    """Pin process ``pid`` to one CPU (Linux; a no-op elsewhere or with ``cpu=None``)."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    with contextlib.suppress(OSError):
        os.sched_setaffinity(pid, {cpu})


class ServerProcess:
    """A server process: started, waited for until it listens, read and stopped.

    Args:
        name: ``"emulator"`` or ``"stdlib"`` (how result tables name it).
        command: The command line to start it.
        stats_path / reset_path: Its statistics and reset endpoints.
        cpu: The CPU to pin it to, or ``None``.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        stats_path: str,
        reset_path: str,
        cpu: int | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.stats_path = stats_path
        self.reset_path = reset_path
        self.cpu = cpu
        self.startup_timeout = startup_timeout
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None
        self._http = httpx.Client(timeout=60.0, trust_env=False)

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self._proc is None:
            raise RuntimeError(f"the {self.name} server is not running")
        return self._proc.pid

    def start(self) -> str:
        """Start the process and return its URL once it reports that it listens."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self._proc = proc
        pin(proc.pid, self.cpu)
        assert proc.stdout is not None
        found: list[str] = []

        def read_ready() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                match = _READY.search(line)
                if match:
                    found.append(match[1])
                    break
            # Keep draining so a chatty server never blocks on a full pipe.
            for _line in proc.stdout:
                pass

        reader = threading.Thread(target=read_ready, name=f"{self.name}-stdout", daemon=True)
        reader.start()
        deadline = time.monotonic() + self.startup_timeout
        while not found and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        if not found:
            self.stop()
            raise RuntimeError(f"the {self.name} server did not start: {self.command}")
        self.url = found[0]
        return self.url

    def stats(self, **params: str) -> dict[str, Any]:
        """The server's statistics endpoint, as JSON."""
        response = self._http.get(f"{self.url}{self.stats_path}", params=params)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def reset(self) -> None:
        """Forget every task and counter (the configured jobs are created again)."""
        self._http.post(f"{self.url}{self.reset_path}").raise_for_status()

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far (Linux ``/proc``), or ``nan``."""
        try:
            with open(f"/proc/{self.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, RuntimeError):
            return float("nan")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process and wait for it."""
        proc, self._proc = self._proc, None
        self._http.close()
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def emulator_server(
    *,
    latency_ms: float = 0.0,
    faults: FaultConfig | None = None,
    cpu: int | None = None,
) -> ServerProcess:
    """The emulator with Shared Key verification, the benchmark jobs and ``faults``.

    ``latency_ms`` is added to every add request (the emulator applies latency to the
    operations faults apply to: the two task-add operations).
    """
    fault_config = faults or FaultConfig()
    if latency_ms:
        fault_config = attrs.evolve(fault_config, latency_ms=float(latency_ms))
    config = EmulatorConfig(
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,
        jobs=(BENCH_JOB, LIST_JOB, WARMUP_JOB),
        lifecycle="instant",  # listed tasks read completed, as in the published results
        faults=fault_config,
    )
    command = [
        sys.executable,
        "-m",
        "batch_tasks_async.emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *config_to_args(config),
    ]
    return ServerProcess(
        "emulator", command, stats_path="/_emulator/stats", reset_path="/_emulator/reset", cpu=cpu
    )


def stdlib_server(
    *, latency_ms: float = 0.0, list_tasks: int = 0, cpu: int | None = None
) -> ServerProcess:
    """The minimal stdlib server (see :mod:`benchmarks.stdlib_server`)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.stdlib_server",
        "--port",
        "0",
        "--latency-ms",
        repr(float(latency_ms)),
        "--list-tasks",
        str(list_tasks),
    ]
    return ServerProcess("stdlib", command, stats_path="/_stats", reset_path="/_reset", cpu=cpu)
