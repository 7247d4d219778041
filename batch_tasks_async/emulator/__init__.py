"""A faithful local Azure Batch **Task** service, with seeded fault injection.

The emulator serves the nine Task operations (add, add collection, get, update, delete, list,
list subtasks, terminate, reactivate), task counts and enough of the Job API (add, get,
delete, list) with the live service's paths, status codes, headers (bare ``ETag``,
``Last-Modified``, ``request-id``, echoed ``client-request-id``, ``DataServiceId``,
``Location``, ``DataServiceVersion: 3.0``, ``application/json;odata=minimalmetadata``),
``odata.metadata`` values, filled-in defaults and Batch error bodies.

Ways to run it::

    batch-tasks emulator --port 8765 --job my-job [--account-name N --account-key K]
    python -m batch_tasks_async.emulator --help

    app = create_app(EmulatorConfig(jobs=("job",)))        # ASGI, e.g. httpx.ASGITransport
    async with run_emulator(config) as emulator: ...        # asyncio or trio, free port
    with EmulatorServer(config) as emulator: ...            # sync, background thread
    with EmulatorProcess(config, cpu=0) as proc: ...        # separate process (benchmarks)

Knobs (:class:`EmulatorConfig` field / CLI flag):

* ``account_name`` / ``account_key`` (``--account-name``, ``--account-key``): Shared Key
  verification exactly as azure-batch 15.x signs (403 ``AuthenticationFailed`` otherwise).
  ``accept_bearer_token`` (``--accept-bearer-token``): ``"*"`` or one allowed token. With
  neither a key nor bearer tokens the emulator is open.
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
  :meth:`RunningEmulator.advance_task` or ``POST
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

Faults (:class:`FaultConfig`, all seeded by ``seed`` / ``--seed``, applied to the operations in
``operations`` / ``--fault-operations``, by default ``task_add_collection,task_add``):

* ``task_server_error``: probability of a per-task ``ServerError`` result (not committed).
* ``throttle_429`` / ``busy_503``: whole-request 429 ``TooManyRequests`` / 503 ``ServerBusy``
  with ``Retry-After: retry_after``. ``internal_error_500``: 500 ``InternalError``.
* ``drop_before_commit`` / ``drop_after_commit``: the socket is aborted with no response,
  before anything is committed or after the tasks were committed (the client cannot know).
  In-process (ASGI) the app raises :class:`ConnectionDroppedError` instead.
* ``delay_after_commit`` with ``delay_after_commit_seconds``: the response is held back after
  commit (set the delay past the client's timeout).
* ``job_rate_limit``: tasks per second per job (token bucket), answered with
  ``rate_limit_status`` 429 ``TooManyRequests`` or 503 ``ServerBusy`` and ``Retry-After``.
* ``latency_ms``: added latency per request (an async sleep).

``GET /_emulator/stats`` (``?per_task=true`` adds every task's commit count) reports tasks
committed (total, per job, distinct, committed more than once), duplicate add attempts
answered ``TaskExists``, requests per operation and faults injected per kind;
``POST /_emulator/reset`` forgets everything. These paths need no authentication.
"""

from __future__ import annotations

from ._app import ConnectionDroppedError, create_app
from ._cli import emulator_command
from ._config import ALL_OPERATIONS, DEFAULT_API_VERSIONS, EmulatorConfig, FaultConfig, Lifecycle
from ._server import (
    EmulatorProcess,
    EmulatorServer,
    RunningEmulator,
    config_to_args,
    run_emulator,
)
from ._state import exit_code_of

__all__ = [
    "ALL_OPERATIONS",
    "DEFAULT_API_VERSIONS",
    "ConnectionDroppedError",
    "EmulatorConfig",
    "EmulatorProcess",
    "EmulatorServer",
    "FaultConfig",
    "Lifecycle",
    "RunningEmulator",
    "config_to_args",
    "create_app",
    "emulator_command",
    "exit_code_of",
    "run_emulator",
]
