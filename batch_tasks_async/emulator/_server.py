"""Running the emulator on a real socket: in a thread, as an async context manager, or as a
separate process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any

import anyio
import anyio.to_thread
import attrs
import httpx
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ._app import TRANSPORT_EXTENSION, create_app
from ._config import EmulatorConfig
from ._lifecycle_flags import lifecycle_args
from ._state import Store

__all__ = [
    "EmulatorProcess",
    "EmulatorServer",
    "RunningEmulator",
    "config_to_args",
    "make_uvicorn_config",
    "run_emulator",
]


class _TransportExposingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the transport in ``scope["extensions"]`` so a fault
    can abort the connection (no response at all) instead of answering 500."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            extensions = scope.get("extensions")
            if extensions is None:
                extensions = scope["extensions"] = {}
            extensions[TRANSPORT_EXTENSION] = self.transport
            await inner(scope, receive, send)

        self.app = app


def make_uvicorn_config(app: Any, *, log_level: str = "warning") -> uvicorn.Config:
    """The uvicorn settings the emulator runs with: httptools + uvloop, no access log."""
    return uvicorn.Config(
        app,
        http=_TransportExposingProtocol,
        loop="auto",
        lifespan="off",
        access_log=False,
        log_level=log_level,
        server_header=False,
        date_header=False,
        timeout_keep_alive=30,
        backlog=4096,
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


@attrs.define
class RunningEmulator:
    """A handle on a running emulator: where it listens and how to reach its state in-process."""

    url: str
    config: EmulatorConfig
    store: Store = attrs.field(repr=False)

    @property
    def account_name(self) -> str:
        """The account name clients sign with."""
        return self.config.account_name

    @property
    def account_key(self) -> str | None:
        """The account key clients sign with (``None``: the emulator is open)."""
        return self.config.account_key

    def stats(self, *, per_task: bool = False) -> dict[str, Any]:
        """The same JSON ``GET /_emulator/stats`` answers."""
        with self.store.lock:
            return self.store.stats.snapshot(per_task=per_task)

    def commit_counts(self, job_id: str) -> dict[str, int]:
        """How many times each task id of ``job_id`` was committed (each should be 1)."""
        with self.store.lock:
            return {
                task: n
                for (job, task), n in self.store.stats.task_commit_counts.items()
                if job.lower() == job_id.lower()
            }

    def create_job(self, job_id: str, **properties: Any) -> None:
        """Create a job in-process; raise ``ValueError`` if it exists."""
        if self.store.add_job({"id": job_id, **properties}) is None:
            raise ValueError(f"job {job_id!r} already exists")

    def task_ids(self, job_id: str) -> list[str]:
        """The ids (as given) of the tasks in ``job_id``, in list order."""
        with self.store.lock:
            job = self.store.get_job(job_id)
            if job is None:
                raise KeyError(job_id)
            return [job.tasks[key].id for key in job.keys_sorted()]

    def advance_task(self, job_id: str, task_id: str, to: str = "completed") -> None:
        """Move a task to ``running`` or ``completed`` (for the ``manual`` lifecycle)."""
        with self.store.lock:
            job, task = self.store.find_task(job_id, task_id)
            self.store.advance(job, task, to)

    def reset(self) -> None:
        """Forget every job, task and counter (the configured jobs are re-created)."""
        self.store.reset()


class EmulatorServer:
    """The emulator served by uvicorn on a background thread with its own event loop.

    Use it as a (sync) context manager; it works from any thread and from benchmarks::

        with EmulatorServer(EmulatorConfig(jobs=("job-1",))) as emulator:
            print(emulator.url)
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        startup_timeout: float = 15.0,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.store = Store(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._handle: RunningEmulator | None = None

    @property
    def handle(self) -> RunningEmulator:
        """The :class:`RunningEmulator` of a started server."""
        if self._handle is None:
            raise RuntimeError("the emulator is not running")
        return self._handle

    def start(self) -> RunningEmulator:
        """Bind, start serving on the background thread and wait until it accepts requests."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        sock = bind_socket(self.host, self.port)
        bound_port = sock.getsockname()[1]
        uv_config = make_uvicorn_config(create_app(store=self.store), log_level=self.log_level)
        server = uvicorn.Server(uv_config)
        self._server = server
        loop_factory = uv_config.get_loop_factory()

        def serve() -> None:
            try:
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    runner.run(server.serve(sockets=[sock]))
            except BaseException as exc:  # reported to the starting thread
                self._error = exc
            finally:
                sock.close()

        thread = threading.Thread(target=serve, name=f"batch-emulator-{bound_port}", daemon=True)
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self._thread = None
                raise RuntimeError(f"the emulator did not start: {self._error!r}")
            time.sleep(0.005)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._handle = RunningEmulator(
            url=f"http://{host}:{bound_port}", config=self.config, store=self.store
        )
        return self._handle

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread (open connections are closed)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._server = self._thread = None
        self._handle = None

    def __enter__(self) -> RunningEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.asynccontextmanager
async def run_emulator(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
) -> AsyncIterator[RunningEmulator]:
    """Run the emulator on a free port for the duration of an ``async with`` block.

    Works from asyncio and trio: uvicorn runs on its own thread and event loop, and starting
    and stopping it happen in worker threads so the caller's loop is never blocked.
    """
    server = EmulatorServer(config, host=host, port=port, log_level=log_level)
    handle = await anyio.to_thread.run_sync(server.start)
    try:
        yield handle
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(server.stop)


_READY = re.compile(r"listening on (http://\S+)")


def config_to_args(config: EmulatorConfig) -> list[str]:
    """The ``batch-tasks emulator`` flags that reproduce ``config``."""
    args = ["--account-name", config.account_name]
    if config.account_key:
        args += ["--account-key", config.account_key]
    if config.accept_bearer_token is not None:
        args += ["--accept-bearer-token", config.accept_bearer_token]
    for job in config.jobs:
        args += ["--job", job]
    args += [
        "--max-body-bytes", str(config.max_body_bytes),
        "--max-tasks-per-collection", str(config.max_tasks_per_collection),
        "--max-results", str(config.max_results),
        "--status-casing", config.status_casing,
    ]  # fmt: skip
    args += lifecycle_args(config)
    if not config.shuffle_results:
        args.append("--no-shuffle")
    faults = config.faults
    args += [
        "--seed", str(faults.seed),
        "--fault-operations", ",".join(sorted(faults.operations)),
        "--task-server-error", repr(faults.task_server_error),
        "--throttle-429", repr(faults.throttle_429),
        "--busy-503", repr(faults.busy_503),
        "--retry-after", str(faults.retry_after),
        "--internal-error-500", repr(faults.internal_error_500),
        "--drop-before-commit", repr(faults.drop_before_commit),
        "--drop-after-commit", repr(faults.drop_after_commit),
        "--delay-after-commit", repr(faults.delay_after_commit),
        "--delay-after-commit-seconds", repr(faults.delay_after_commit_seconds),
        "--rate-limit-status", str(faults.rate_limit_status),
        "--latency-ms", repr(faults.latency_ms),
    ]  # fmt: skip
    if faults.job_rate_limit:
        args += ["--job-rate-limit", repr(faults.job_rate_limit)]
    return args


class EmulatorProcess:
    """The emulator in a separate Python process (so it gets its own core in benchmarks).

    ``cpu`` pins the process to one CPU (Linux). Statistics are read over HTTP.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cpu: int | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 20.0,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self.cpu = cpu
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        self._proc: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        """Process id of the emulator."""
        if self._proc is None:
            raise RuntimeError("the emulator process is not running")
        return self._proc.pid

    def start(self) -> str:
        """Start the process, wait for its ready line and return its URL."""
        cmd = [
            sys.executable,
            "-m",
            "batch_tasks_async.emulator",
            "--host",
            self.host,
            "--port",
            str(self.port),
            *config_to_args(self.config),
            *self.extra_args,
        ]
        if self.cpu is not None:
            cmd += ["--cpu", str(self.cpu)]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
        self._proc = proc
        deadline = time.monotonic() + self.startup_timeout
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            match = _READY.search(line)
            if match:
                self.url = match[1]
                return self.url
        self.stop()
        raise RuntimeError("the emulator process did not report that it is listening")

    def stats(self, *, per_task: bool = False) -> dict[str, Any]:
        """``GET /_emulator/stats`` of the process."""
        if self.url is None:
            raise RuntimeError("the emulator process is not running")
        params = {"per_task": "true"} if per_task else {}
        response = httpx.get(f"{self.url}/_emulator/stats", params=params, timeout=30)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used (Linux ``/proc``), or ``nan``."""
        try:
            with open(f"/proc/{self.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
            return (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, ValueError, IndexError):
            return float("nan")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process and wait for it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        if proc.stdout is not None:
            proc.stdout.close()
        self.url = None

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    config: EmulatorConfig,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    announce: Callable[[str], None] = print,
) -> None:
    """Serve on the calling (main) thread until interrupted; announce the URL when bound."""
    sock = bind_socket(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    uv_config = make_uvicorn_config(create_app(config), log_level=log_level)
    server = uvicorn.Server(uv_config)
    announce(f"Batch emulator listening on http://{shown}:{bound} (account {config.account_name})")
    loop_factory = uv_config.get_loop_factory()
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
