"""``batch-tasks emulator``: the click command that serves the emulator on a socket."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import click

from ._config import DEFAULT_API_VERSIONS, EmulatorConfig, FaultConfig
from ._lifecycle_flags import lifecycle_fields, lifecycle_options

__all__ = ["emulator_command"]


_PROB = click.FloatRange(0.0, 1.0)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0: a free one).")
@click.option("--account-name", default="emulator", show_default=True, help="Batch account name.")
@click.option(
    "--account-key",
    default=None,
    envvar="BATCH_EMULATOR_ACCOUNT_KEY",
    help="Base64 account key; requests must carry a valid Shared Key signature. "
    "Without a key (and without --accept-bearer-token) the emulator is open.",
)
@click.option(
    "--accept-bearer-token",
    default=None,
    help="Accept 'Authorization: Bearer' tokens: '*' for any token, or the one token allowed.",
)
@click.option("--job", "jobs", multiple=True, help="Create this job at start-up (repeatable).")
@click.option("--api-version", "api_versions", multiple=True, help="Accept this api-version too.")
@click.option("--max-body-bytes", default=1_048_576, show_default=True, type=click.IntRange(1))
@click.option("--max-tasks-per-collection", default=100, show_default=True, type=click.IntRange(1))
@click.option("--max-results", default=1000, show_default=True, type=click.IntRange(1))
@lifecycle_options
@click.option(
    "--status-casing",
    type=click.Choice(["pascal", "lower"]),
    default="pascal",
    show_default=True,
    help="Add-collection status casing: 'Success' (live service) or 'success' (spec).",
)
@click.option("--no-shuffle", is_flag=True, help="Keep add-collection results in request order.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every fault.")
@click.option(
    "--fault-operations",
    default="task_add_collection,task_add",
    show_default=True,
    help="Comma-separated operations the faults apply to.",
)
@click.option("--task-server-error", default=0.0, type=_PROB, help="P(per-task servererror).")
@click.option("--throttle-429", default=0.0, type=_PROB, help="P(429 TooManyRequests).")
@click.option("--busy-503", default=0.0, type=_PROB, help="P(503 ServerBusy).")
@click.option("--retry-after", default=1, show_default=True, type=click.IntRange(0))
@click.option("--internal-error-500", default=0.0, type=_PROB, help="P(500 InternalError).")
@click.option("--drop-before-commit", default=0.0, type=_PROB, help="P(drop before commit).")
@click.option("--drop-after-commit", default=0.0, type=_PROB, help="P(drop after commit).")
@click.option("--delay-after-commit", default=0.0, type=_PROB, help="P(delay after commit).")
@click.option("--delay-after-commit-seconds", default=5.0, show_default=True, type=float)
@click.option("--job-rate-limit", default=None, type=float, help="Tasks per second per job.")
@click.option("--rate-limit-status", default="429", type=click.Choice(["429", "503"]))
@click.option("--latency-ms", default=0.0, type=click.FloatRange(0.0), help="Added latency.")
@click.option("--log-level", default="warning", show_default=True, help="uvicorn log level.")
@click.option("--cpu", default=None, type=int, help="Pin the process to this CPU (Linux).")
def emulator_command(
    *,
    host: str,
    port: int,
    account_name: str,
    account_key: str | None,
    accept_bearer_token: str | None,
    jobs: tuple[str, ...],
    api_versions: tuple[str, ...],
    max_body_bytes: int,
    max_tasks_per_collection: int,
    max_results: int,
    status_casing: str,
    no_shuffle: bool,
    seed: int,
    fault_operations: str,
    task_server_error: float,
    throttle_429: float,
    busy_503: float,
    retry_after: int,
    internal_error_500: float,
    drop_before_commit: float,
    drop_after_commit: float,
    delay_after_commit: float,
    delay_after_commit_seconds: float,
    job_rate_limit: float | None,
    rate_limit_status: str,
    latency_ms: float,
    log_level: str,
    cpu: int | None,
    **lifecycle: Any,
) -> None:
    """Run a local Azure Batch Task service emulator (with seeded fault injection)."""
    from ._server import serve_forever

    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    try:
        faults = FaultConfig(
            seed=seed,
            operations=frozenset(op.strip() for op in fault_operations.split(",") if op.strip()),
            task_server_error=task_server_error,
            throttle_429=throttle_429,
            busy_503=busy_503,
            retry_after=retry_after,
            internal_error_500=internal_error_500,
            drop_before_commit=drop_before_commit,
            drop_after_commit=drop_after_commit,
            delay_after_commit=delay_after_commit,
            delay_after_commit_seconds=delay_after_commit_seconds,
            job_rate_limit=job_rate_limit,
            rate_limit_status=429 if rate_limit_status == "429" else 503,
            latency_ms=latency_ms,
        )
        config = EmulatorConfig(
            account_name=account_name,
            account_key=account_key,
            accept_bearer_token=accept_bearer_token,
            jobs=jobs,
            api_versions=DEFAULT_API_VERSIONS | set(api_versions),
            max_body_bytes=max_body_bytes,
            max_tasks_per_collection=max_tasks_per_collection,
            max_results=max_results,
            **lifecycle_fields(lifecycle),
            status_casing="pascal" if status_casing == "pascal" else "lower",
            shuffle_results=not no_shuffle,
            faults=faults,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(
            config,
            host=host,
            port=port,
            log_level=log_level,
            announce=lambda line: click.echo(line),
        )
