"""Exit codes and how the command line reports errors.

An expected failure (the service refused, the network failed, the input was wrong) is printed
as one or two lines on standard error: the Batch error code, the message and the request id.
Never a traceback, and never a secret: every line printed for an error is scrubbed of the
account key before it is written.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, NoReturn

import anyio
import click

from ..errors import (
    AuthenticationError,
    BatchError,
    ClientValidationError,
    CreateTasksError,
    ServiceError,
    TransportError,
)

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandFailed",
    "describe_error",
    "run_async",
    "scrub",
]

#: Everything worked.
EXIT_OK = 0
#: The operation failed: the service refused it, or it could not be reached.
EXIT_FAILURE = 1
#: Bad usage: an unknown option, a missing argument, an unreadable file (click's own code).
EXIT_USAGE = 2
#: ``submit`` / ``demo``: the run finished but not every task was added (some failed, some
#: were not confirmed, some input lines were malformed, or the counts disagree).
EXIT_INCOMPLETE = 3
#: Interrupted with Ctrl-C.
EXIT_INTERRUPTED = 130


class CommandFailed(click.ClickException):
    """An expected failure, printed as ``error: <message>`` with the given exit code."""

    exit_code = EXIT_FAILURE

    def show(self, file: Any = None) -> None:
        """Print ``error: <message>`` on standard error."""
        click.echo(f"error: {self.format_message()}", file=file or sys.stderr)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text`` with ``<hidden>``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    return text


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _identity_error_types() -> tuple[type[BaseException], ...]:
    try:
        from azure.core.exceptions import ClientAuthenticationError
    except ImportError:  # azure-identity (and azure-core) not installed
        return ()
    return (ClientAuthenticationError,)


def describe_error(error: BaseException) -> str:
    """One readable description of an expected failure (code, message, request id)."""
    if isinstance(error, ServiceError):
        code = error.code or f"HTTP {error.status_code}"
        text = f"{code} (HTTP {error.status_code})"
        message = _first_line(error.message)
        if message:
            text += f": {message}"
        if error.values:
            text += " [" + ", ".join(f"{k}={v}" for k, v in error.values.items()) + "]"
        ids = []
        if error.request_id:
            ids.append(f"request-id {error.request_id}")
        if error.client_request_id:
            ids.append(f"client-request-id {error.client_request_id}")
        if ids:
            text += "\n  " + ", ".join(ids)
        if isinstance(error, AuthenticationError):
            text += "\n  check the account name and key (or your Microsoft Entra ID sign-in)"
        return text
    if isinstance(error, TransportError):
        where = f" ({error.method} {error.url})" if error.method and error.url else ""
        text = f"{type(error).__name__}: {_first_line(str(error))}{where}"
        if error.request_sent:
            text += "\n  the request may have reached the service; its outcome is unknown"
        if error.client_request_id:
            text += f"\n  client-request-id {error.client_request_id}"
        return text
    if isinstance(error, CreateTasksError):
        return str(error)
    if isinstance(error, ClientValidationError):
        return f"invalid input: {error}"
    if isinstance(error, _identity_error_types()):
        return f"Microsoft Entra ID sign-in failed: {_first_line(str(error))}"
    return f"{type(error).__name__}: {_first_line(str(error))}"


def _expected(error: BaseException) -> bool:
    return isinstance(error, (BatchError, OSError, *_identity_error_types()))


def run_async(
    func: Callable[[], Coroutine[Any, Any, int]],
    *,
    secrets: Iterable[str] = (),
    interrupt_message: str | None = "interrupted",
) -> NoReturn:
    """Run ``func`` on asyncio and exit with the code it returns.

    Expected failures ([`BatchError`][batch_tasks_async.errors.BatchError], network errors,
    Entra ID sign-in errors) become ``error: ...`` lines and exit code 1; Ctrl-C prints
    ``interrupt_message`` (unless ``None``: the command printed its own) and exits 130.
    """
    secrets = tuple(secrets)
    try:
        code = anyio.run(func)
    except click.ClickException as error:
        text = error.format_message()
        if scrub(text, secrets) != text:
            raise CommandFailed(scrub(text, secrets)) from None
        raise
    except KeyboardInterrupt:
        if interrupt_message is not None:
            click.echo(interrupt_message, err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BaseExceptionGroup as group:
        # A task group may wrap an expected failure; report the first one found.
        for leaf in _leaves(group):
            if _expected(leaf):
                raise CommandFailed(scrub(describe_error(leaf), secrets)) from None
        raise
    except Exception as error:
        if _expected(error):
            raise CommandFailed(scrub(describe_error(error), secrets)) from None
        raise
    click.get_current_context().exit(code)


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for inner in group.exceptions:
        if isinstance(inner, BaseExceptionGroup):
            found.extend(_leaves(inner))
        else:
            found.append(inner)
    return found
