"""``batch-tasks``: the command line of `batch_tasks_async`.

Commands:

* ``demo``: bulk-submit 10,000 tasks to an emulator started in the same process and check
  that every count agrees (the quick start).
* ``submit JOB FILE|-``: bulk-add tasks from JSON Lines or a JSON array, streaming, with
  progress and a report.
* ``create``, ``list``, ``get``, ``update``, ``delete``, ``terminate``, ``reactivate``,
  ``subtasks``: the other Task operations.
* ``wait``, ``files``, ``download``: wait for a job's tasks, list and read their files.
* ``emulator``: run the local emulator.

Every command takes ``-o/--output`` and ``--query`` and the connection options
(``batch_tasks_async.cli._common`` holds the shared decorators). Connection settings come
from flags or the environment (``BATCH_ACCOUNT_URL``, ``BATCH_ACCOUNT_NAME``,
``BATCH_ACCOUNT_KEY``, then the Azure CLI's ``AZURE_BATCH_ENDPOINT``, ``AZURE_BATCH_ACCOUNT``,
``AZURE_BATCH_ACCESS_KEY``); see ``batch_tasks_async.cli._connection``. Requires the ``cli``
extra (see the README for installing from a checkout).
"""

from __future__ import annotations

import click

from .. import __version__
from ._demo import demo_command
from ._submit import submit_command
from ._tasks import (
    create_command,
    delete_command,
    get_command,
    list_command,
    reactivate_command,
    subtasks_command,
    terminate_command,
    update_command,
)
from ._wait import download_command, files_command, wait_command

__all__ = ["cli", "main"]


class _Group(click.Group):
    """Lists commands in the order they were added (the quick start first)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batch-tasks")
def cli() -> None:
    """Work with Azure Batch tasks: bulk submission, listing, and a local emulator.

    Start with `batch-tasks demo`. Connect with --account-url/--account-name/--account-key (or
    BATCH_ACCOUNT_URL, BATCH_ACCOUNT_NAME, BATCH_ACCOUNT_KEY, then the Azure CLI's
    AZURE_BATCH_ENDPOINT, AZURE_BATCH_ACCOUNT, AZURE_BATCH_ACCESS_KEY), or --emulator for a
    local emulator; without a key, Microsoft Entra ID is used (install azure-identity). Every
    command takes -o/--output json|jsonl|table|tsv|yaml|none and --query JMESPATH.
    """


cli.add_command(demo_command)
cli.add_command(submit_command)
cli.add_command(create_command)
cli.add_command(list_command)
cli.add_command(get_command)
cli.add_command(update_command)
cli.add_command(delete_command)
cli.add_command(terminate_command)
cli.add_command(reactivate_command)
cli.add_command(subtasks_command)
cli.add_command(wait_command)
cli.add_command(files_command)
cli.add_command(download_command)


def _add_emulator_command() -> None:
    try:
        from ..emulator import emulator_command
    except ImportError as missing:  # the emulator extra (starlette, uvicorn) is not installed
        reason = str(missing)

        @click.command("emulator", help="Run a local emulator (needs the 'emulator' extra).")
        def unavailable() -> None:
            raise click.ClickException(
                f"the emulator needs 'pip install \"batch-tasks-async[emulator]\"' ({reason})"
            )

        cli.add_command(unavailable)
    else:
        cli.add_command(emulator_command, "emulator")


_add_emulator_command()


def main() -> None:
    """The ``batch-tasks`` console script."""
    cli(prog_name="batch-tasks")
