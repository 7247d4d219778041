"""``batch-tasks emulator``: the click command that serves the emulator on a socket."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from typing import Any

import click
from click.core import ParameterSource

from ._config import DEFAULT_API_VERSIONS, EmulatorConfig
from ._fault_flags import fault_options, faults_from_flags
from ._lifecycle_flags import lifecycle_fields, lifecycle_options

__all__ = ["emulator_command"]


def read_key_file(path: str) -> str:
    """The account key held in ``path``, checked to be base64 (the key is never echoed)."""
    with open(path, encoding="utf-8") as fh:
        key = fh.read().strip()
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise click.BadParameter(
            f"{path} does not hold a base64 account key", param_hint="--account-key-file"
        ) from None
    if not key:
        raise click.BadParameter(f"{path} is empty", param_hint="--account-key-file")
    return key


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0: a free one).")
@click.option("--account-name", default="emulator", show_default=True, help="Batch account name.")
@click.option(
    "--account-key",
    default=None,
    envvar="BATCH_EMULATOR_ACCOUNT_KEY",
    show_envvar=True,
    help="Base64 account key; every request (control endpoints too) must carry a valid Shared "
    "Key signature and a current date. Without a key (and without --accept-bearer-token) the "
    "emulator is open. Prefer the environment variable or --account-key-file: a flag's value "
    "is visible to every user of the machine.",
)
@click.option(
    "--account-key-file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, readable=True),
    help="Read the account key from this file (surrounding whitespace ignored).",
)
@click.option(
    "--accept-bearer-token",
    default=None,
    envvar="BATCH_EMULATOR_BEARER_TOKEN",
    show_envvar=True,
    help="Accept 'Authorization: Bearer' tokens: '*' for any token, or the one token allowed.",
)
@click.option(
    "--date-window",
    default=900.0,
    show_default=True,
    type=click.FloatRange(0.0, min_open=True),
    help="Seconds a signed request's ocp-date/Date may be off the emulator's clock.",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Serve https with a certificate made at start; the CA bundle's path is printed.",
)
@click.option(
    "--tls-ca-file",
    default=None,
    type=click.Path(dir_okay=False, writable=True),
    help="With --tls: write the CA bundle here (default: a temporary file).",
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
@fault_options()
@click.option("--log-level", default="warning", show_default=True, help="uvicorn log level.")
@click.option("--cpu", default=None, type=int, help="Pin the process to this CPU (Linux).")
def emulator_command(
    *,
    host: str,
    port: int,
    account_name: str,
    account_key: str | None,
    account_key_file: str | None,
    accept_bearer_token: str | None,
    date_window: float,
    tls: bool,
    tls_ca_file: str | None,
    jobs: tuple[str, ...],
    api_versions: tuple[str, ...],
    max_body_bytes: int,
    max_tasks_per_collection: int,
    max_results: int,
    status_casing: str,
    no_shuffle: bool,
    log_level: str,
    cpu: int | None,
    **lifecycle: Any,
) -> None:
    """Run a local Azure Batch Task service emulator (with seeded fault injection)."""
    from ._server import serve_forever

    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    ctx = click.get_current_context()
    if account_key and ctx.get_parameter_source("account_key") is ParameterSource.COMMANDLINE:
        click.echo(
            "warning: a key given as --account-key is visible to every user of this machine "
            "in the process list; prefer BATCH_EMULATOR_ACCOUNT_KEY or --account-key-file",
            err=True,
        )
    if account_key_file is not None:
        if account_key:
            raise click.UsageError("give the account key once: --account-key or --account-key-file")
        account_key = read_key_file(account_key_file)
    if tls_ca_file is not None and not tls:
        raise click.UsageError("--tls-ca-file needs --tls")
    faults = faults_from_flags(ctx)
    try:
        config = EmulatorConfig(
            account_name=account_name,
            account_key=account_key or None,
            accept_bearer_token=accept_bearer_token,
            date_window_seconds=date_window,
            tls=tls,
            tls_ca_path=tls_ca_file,
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
