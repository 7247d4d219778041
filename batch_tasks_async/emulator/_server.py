"""Running the emulator on a real socket: in a thread, as an async context manager, or as a
separate process; over http or, with ``tls``, https.

Secrets stay out of process arguments: `EmulatorProcess` hands the account key and the
bearer token to the child in environment variables (`config_to_env`), never in argv.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import ssl
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
from ._auth import EmulatorAuth, emulator_auth
from ._config import EmulatorConfig
from ._fault_flags import fault_args
from ._lifecycle_flags import lifecycle_args
from ._state import Store
from ._tls import TLSMaterial, client_ssl_context

__all__ = [
    "ACCOUNT_KEY_ENV",
    "BEARER_TOKEN_ENV",
    "EmulatorProcess",
    "EmulatorServer",
    "RunningEmulator",
    "config_to_args",
    "config_to_env",
    "make_uvicorn_config",
    "run_emulator",
]

#: Environment variable the emulator reads its account key from (also ``--account-key-file``).
ACCOUNT_KEY_ENV = "BATCH_EMULATOR_ACCOUNT_KEY"
#: Environment variable the emulator reads its accepted bearer token from.
BEARER_TOKEN_ENV = "BATCH_EMULATOR_BEARER_TOKEN"


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


def make_uvicorn_config(
    app: Any, *, log_level: str = "warning", ssl_context: ssl.SSLContext | None = None
) -> uvicorn.Config:
    """The uvicorn settings the emulator runs with: httptools + uvloop, no access log; https
    with ``ssl_context``."""
    factory = None if ssl_context is None else (lambda _config, _default: ssl_context)
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
        ssl_context_factory=factory,
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


def _client_options(
    url: str, config: EmulatorConfig, ca_path: str | None, given: dict[str, Any]
) -> dict[str, Any]:
    """httpx client options that reach an emulator: signed, trusting its CA, no proxies."""
    options: dict[str, Any] = {
        "base_url": url,
        "auth": emulator_auth(config),
        "verify": client_ssl_context(ca_path) if ca_path else True,
        "trust_env": False,
    }
    options.update(given)
    return options


@attrs.define
class RunningEmulator:
    """A handle on a running emulator: where it listens and how to reach its state in-process."""

    url: str
    config: EmulatorConfig
    store: Store = attrs.field(repr=False)
    #: With ``tls``: the PEM file of the CA that signed the server certificate.
    ca_path: str | None = None

    @property
    def http_auth(self) -> EmulatorAuth | None:
        """An ``httpx.Auth`` that signs requests for this emulator (``None``: it is open)."""
        return emulator_auth(self.config)

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What to pass as httpx's ``verify=``: a context trusting `ca_path`, or ``True``."""
        return client_ssl_context(self.ca_path) if self.ca_path else True

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` on `url` that signs every request and trusts the CA.

        Handy for the ``/_emulator/...`` control endpoints, which need a signature too.
        """
        return httpx.Client(**_client_options(self.url, self.config, self.ca_path, kwargs))

    def async_http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """The async twin of `http_client`."""
        return httpx.AsyncClient(**_client_options(self.url, self.config, self.ca_path, kwargs))

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

    Use it as a (sync) context manager; it works from any thread and from benchmarks:

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
        self._tls: TLSMaterial | None = None

    @property
    def handle(self) -> RunningEmulator:
        """The `RunningEmulator` of a started server."""
        if self._handle is None:
            raise RuntimeError("the emulator is not running")
        return self._handle

    def start(self) -> RunningEmulator:
        """Bind, start serving on the background thread and wait until it accepts requests."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        tls = TLSMaterial(self.host, self.config.tls_ca_path) if self.config.tls else None
        self._tls = tls
        sock = bind_socket(self.host, self.port)
        bound_port = sock.getsockname()[1]
        uv_config = make_uvicorn_config(
            create_app(store=self.store),
            log_level=self.log_level,
            ssl_context=None if tls is None else tls.server_context(),
        )
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
                self._cleanup_tls()
                raise RuntimeError(f"the emulator did not start: {self._error!r}")
            time.sleep(0.005)
        self._handle = RunningEmulator(
            url=_url(self.host, bound_port, tls=tls is not None),
            config=self.config,
            store=self.store,
            ca_path=None if tls is None else str(tls.ca_path),
        )
        return self._handle

    def _cleanup_tls(self) -> None:
        tls, self._tls = self._tls, None
        if tls is not None:
            tls.cleanup()

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
        self._cleanup_tls()

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


_READY = re.compile(r"listening on (https?://\S+)")
_CA_LINE = re.compile(r"TLS CA bundle: (.+)$")


def _url(host: str, port: int, *, tls: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def config_to_env(config: EmulatorConfig) -> dict[str, str]:
    """The environment variables that carry ``config``'s secrets to a ``batch-tasks emulator``
    process (the account key and the bearer token never go in its arguments)."""
    env: dict[str, str] = {}
    if config.account_key:
        env[ACCOUNT_KEY_ENV] = config.account_key
    if config.accept_bearer_token is not None:
        env[BEARER_TOKEN_ENV] = config.accept_bearer_token
    return env


def config_to_args(config: EmulatorConfig) -> list[str]:
    """The ``batch-tasks emulator`` flags that reproduce ``config``, secrets left out.

    Pass `config_to_env` as the process's environment for the key and the token.
    """
    args = ["--account-name", config.account_name]
    args += ["--date-window", repr(config.date_window_seconds)]
    if config.tls:
        args.append("--tls")
        if config.tls_ca_path is not None:
            args += ["--tls-ca-file", config.tls_ca_path]
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
    args += fault_args(config.faults)
    return args


class EmulatorProcess:
    """The emulator in a separate Python process (so it gets its own core in benchmarks).

    ``cpu`` pins the process to one CPU (Linux). Statistics are read over HTTP, signed. The
    account key and bearer token reach the process in its environment, never in its arguments
    (so not in ``/proc/<pid>/cmdline``).
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
        #: With ``tls``: the CA bundle the process wrote.
        self.ca_path: str | None = None
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
        env.pop(ACCOUNT_KEY_ENV, None)
        env.pop(BEARER_TOKEN_ENV, None)
        env.update(config_to_env(self.config))
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
        self._proc = proc
        deadline = time.monotonic() + self.startup_timeout
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            ca = _CA_LINE.search(line.rstrip("\n"))
            if ca:
                self.ca_path = ca[1].strip()
            match = _READY.search(line)
            if match:
                self.url = match[1]
                return self.url
        self.stop()
        raise RuntimeError("the emulator process did not report that it is listening")

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` on the process's URL that signs requests and trusts its CA."""
        if self.url is None:
            raise RuntimeError("the emulator process is not running")
        kwargs.setdefault("timeout", 30.0)
        return httpx.Client(**_client_options(self.url, self.config, self.ca_path, kwargs))

    def stats(self, *, per_task: bool = False) -> dict[str, Any]:
        """``GET /_emulator/stats`` of the process (signed)."""
        params = {"per_task": "true"} if per_task else {}
        with self.http_client() as client:
            response = client.get("/_emulator/stats", params=params)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        """``POST /_emulator/reset`` (signed): forget every task and counter."""
        with self.http_client() as client:
            client.post("/_emulator/reset").raise_for_status()

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
        self.ca_path = None

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
    """Serve on the calling (main) thread until interrupted; announce the URL when bound.

    With ``tls`` the CA bundle's path is announced first (``TLS CA bundle: PATH``).
    """
    tls = TLSMaterial(host, config.tls_ca_path) if config.tls else None
    try:
        sock = bind_socket(host, port)
        bound = sock.getsockname()[1]
        uv_config = make_uvicorn_config(
            create_app(config),
            log_level=log_level,
            ssl_context=None if tls is None else tls.server_context(),
        )
        server = uvicorn.Server(uv_config)
        if tls is not None:
            announce(f"TLS CA bundle: {tls.ca_path}")
        if not (config.account_key or config.accept_bearer_token) and host not in _LOOPBACK:
            announce(
                f"warning: no account key: anyone who can reach {host} can read, change and "
                "reset every task (give --account-key-file or "
                f"{ACCOUNT_KEY_ENV})"
            )
        url = _url(host, bound, tls=tls is not None)
        announce(f"Batch emulator listening on {url} (account {config.account_name})")
        loop_factory = uv_config.get_loop_factory()
        # uvicorn re-raises a captured SIGTERM once it has shut down; exiting through
        # SystemExit (not the signal's default action) lets the cleanup below run.
        previous = _exit_on_sigterm()
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(server.serve(sockets=[sock]))
        finally:
            sock.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    finally:
        if tls is not None:
            tls.cleanup()


def _exit_on_sigterm() -> Any:
    """Make SIGTERM raise ``SystemExit`` on the main thread; return the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, handler)


_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
