"""A faithful local Azure Batch **Task** service, with seeded fault injection.

The emulator serves the nine Task operations (add, add collection, get, update, delete, list,
list subtasks, terminate, reactivate), task counts, task files (list, get, properties, delete)
and enough of the Job API (add, get, delete, list) with the live service's paths, status
codes, headers (bare ``ETag``, ``Last-Modified``, ``request-id``, echoed ``client-request-id``,
``DataServiceId``, ``Location``, ``DataServiceVersion: 3.0``,
``application/json;odata=minimalmetadata``), ``odata.metadata`` values, filled-in defaults and
Batch error bodies.

Ways to run it:

    batch-tasks emulator --port 8765 --job my-job [--account-name N --account-key-file F]
    batch-tasks emulator --tls ...                          # https; prints the CA bundle's path
    python -m batch_tasks_async.emulator --help

    app = create_app(EmulatorConfig(jobs=("job",)))        # ASGI, e.g. httpx.ASGITransport
    async with run_emulator(config) as emulator: ...        # asyncio or trio, free port
    with EmulatorServer(config) as emulator: ...            # sync, background thread
    with EmulatorProcess(config, cpu=0) as proc: ...        # separate process (benchmarks)

Knobs ([`EmulatorConfig`][batch_tasks_async.emulator.EmulatorConfig] field / CLI flag):

* ``account_name`` / ``account_key`` (``--account-name``; the key from
  ``BATCH_EMULATOR_ACCOUNT_KEY``, ``--account-key-file`` or ``--account-key``): Shared Key
  verification exactly as azure-batch 15.x signs, for **every** endpoint, the control endpoints
  included, and a request date (``ocp-date``, else ``Date``) within ``date_window_seconds``
  (``--date-window``, 900) of the emulator's clock; 403 ``AuthenticationFailed`` otherwise.
  ``accept_bearer_token`` (``BATCH_EMULATOR_BEARER_TOKEN``, ``--accept-bearer-token``): ``"*"``
  or one allowed token. With neither a key nor bearer tokens the emulator is open. Neither
  secret appears in ``repr()`` or, with
  [`EmulatorProcess`][batch_tasks_async.emulator.EmulatorProcess], in the process's arguments.
* ``tls`` (``--tls``): https with a certificate made at start (trustme); the CA bundle is
  written to ``tls_ca_path`` (``--tls-ca-file``) or a temporary file, printed as
  ``TLS CA bundle: PATH`` and held by ``RunningEmulator.ca_path``.
* ``jobs`` (``--job``, repeatable): jobs created at start-up.
* ``api_versions`` (``--api-version`` adds one): accepted versions; others answer 400
  ``UnsupportedRequestVersion``, a missing one 400
  ``MissingRequiredQueryParameter``.
* ``max_body_bytes`` (1,048,576): larger bodies answer 413 ``RequestBodyTooLarge`` with
  ``MaxLimit``. ``max_tasks_per_collection`` (100): more answers 400 ``InvalidPropertyValue``.
  ``max_results`` (1000): page size limit and default.
* ``lifecycle``: ``"auto"`` (default: a task reads ``active`` when added, then starts and
  completes by itself after seeded times drawn from ``active_seconds`` and ``running_seconds``),
  ``"instant"`` (tasks complete as soon as they are read), ``"manual"`` (move them with
  [`RunningEmulator.advance_task`][batch_tasks_async.emulator.RunningEmulator.advance_task] or
  ``POST
  /_emulator/jobs/{j}/tasks/{t}/advance?to=running|completed``) or fixed seconds spent in
  ``active`` and again in ``running``. ``POST /_emulator/clock?advance=S`` moves the clock tasks
  run on. **Exit codes**: the first matching ``exit_code_rules`` pattern, else the last ``exit N``
  in the command line (``/bin/sh -c 'exit 3'``, ``cmd /c exit 3``), else the seeded
  ``failure_rate`` (``failure_exit_code``), else 0. A
  non-zero exit completes the task with ``result: failure`` and ``failureInfo``
  ``FailureExitCode``; such a task can be reactivated. Terminate completes a task with
  ``failureInfo`` ``TaskEnded`` (409 ``TaskCompleted`` if already completed); reactivating a
  task that is not completed or that succeeded answers 409 ``OperationInvalidForCurrentState``.
  ``multiInstanceSettings.numberOfInstances: N`` gives subtasks 1..N-1 once the task has
  started.
* ``status_casing`` (``"pascal"``: ``Success``/``ClientError``/``ServerError`` as the live
  service answers; ``"lower"`` as the spec spells them), ``shuffle_results`` (seeded shuffle
  of add-collection results; clients must not rely on order).

Faults ([`FaultConfig`][batch_tasks_async.emulator.FaultConfig], all seeded by ``seed`` /
``--seed``, applied to the operations in
``operations`` / ``--fault-operations``, by default ``task_add_collection,task_add``):

* ``task_server_error``: probability of a per-task ``ServerError`` result (not committed).
* ``throttle_429`` / ``busy_503``: whole-request 429 ``TooManyRequests`` / 503 ``ServerBusy``
  with ``Retry-After: retry_after`` (or ``retry_after_text`` as is: ``inf``, ``1e20``, a date).
  ``internal_error_500``: 500 ``InternalError``.
* ``drop_before_commit`` / ``drop_after_commit``: the socket is aborted with no response,
  before anything is committed or after the tasks were committed (the client cannot know).
  In-process (ASGI) the app raises `ConnectionDroppedError` instead.
* ``delay_after_commit`` with ``delay_after_commit_seconds``: the response is held back after
  commit (set the delay past the client's timeout).
* ``job_rate_limit``: tasks per second per job (token bucket), answered with
  ``rate_limit_status`` 429 ``TooManyRequests`` or 503 ``ServerBusy`` and ``Retry-After``.
* ``latency_ms``: added latency per request (an async sleep).
* ``garbled_body`` (``garbled_kinds``): after commit, a 2xx body that is not JSON, truncated,
  cut off, an HTML page, empty, a bare 204 or 202, with ``value`` not a list or entries without
  ``status``, or with a false ``Content-Encoding``.
* ``omit_result`` / ``omit_result_pattern``, ``duplicate_result``, ``unknown_status``:
  add-collection entries left out, listed twice (``TaskExists`` then ``Success``), or with a
  status the spec does not have; the tasks' fate is what it was.
* ``drip_feed`` (``drip_interval``): the body is sent one byte at a time.
* ``poison_task_pattern``: every request holding a matching task id answers 500, uncommitted.
* ``commit_late`` (``commit_late_seconds``): the changes are committed after a wait, when the
  client may have given up.

Every fault has the same flag on ``batch-tasks emulator`` and ``batch-tasks demo``;
[`FaultConfig.preset`][batch_tasks_async.emulator.FaultConfig.preset] (``--faults-preset``) gives
the named mixes ``chaos``,
``benchmark`` and ``hostile``.

``GET /_emulator/stats`` (``?per_task=true`` adds every task's commit count and the tasks each
fault touched) reports tasks committed (total, per job, distinct, committed more than once),
duplicate add attempts answered ``TaskExists``, requests per operation and faults injected per
kind; ``POST /_emulator/reset`` forgets everything. With a key these paths need a signature
too: ``RunningEmulator.http_client()`` signs (see `EmulatorAuth`).
"""

from __future__ import annotations

from ._app import ConnectionDroppedError, create_app
from ._auth import EmulatorAuth, emulator_auth
from ._cli import emulator_command
from ._config import (
    ALL_OPERATIONS,
    DEFAULT_API_VERSIONS,
    FAULT_PRESETS,
    GARBLE_KINDS,
    EmulatorConfig,
    FaultConfig,
    Lifecycle,
)
from ._server import (
    ACCOUNT_KEY_ENV,
    BEARER_TOKEN_ENV,
    EmulatorProcess,
    EmulatorServer,
    RunningEmulator,
    config_to_args,
    config_to_env,
    run_emulator,
)
from ._state import exit_code_of
from ._tls import client_ssl_context

__all__ = [
    "ACCOUNT_KEY_ENV",
    "ALL_OPERATIONS",
    "BEARER_TOKEN_ENV",
    "DEFAULT_API_VERSIONS",
    "FAULT_PRESETS",
    "GARBLE_KINDS",
    "ConnectionDroppedError",
    "EmulatorAuth",
    "EmulatorConfig",
    "EmulatorProcess",
    "EmulatorServer",
    "FaultConfig",
    "Lifecycle",
    "RunningEmulator",
    "client_ssl_context",
    "config_to_args",
    "config_to_env",
    "create_app",
    "emulator_auth",
    "emulator_command",
    "exit_code_of",
    "run_emulator",
]
