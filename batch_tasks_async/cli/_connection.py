"""Where the command line connects and how it authenticates.

Settings come from flags, else from the environment: this package's variables first
(``BATCH_ACCOUNT_URL``, ``BATCH_ACCOUNT_NAME``, ``BATCH_ACCOUNT_KEY``), then the Azure CLI's
(``AZURE_BATCH_ENDPOINT``, ``AZURE_BATCH_ACCOUNT``, ``AZURE_BATCH_ACCESS_KEY``). An endpoint
given without a scheme (as the Azure CLI accepts it) gets ``https://``. The credential is
chosen like this:

1. an account key was given: Shared Key with the account name (given, or the first label of
   the account URL's host);
2. no key and the URL is a loopback address (a local emulator): no credential, the emulator
   runs open;
3. otherwise Microsoft Entra ID through ``azure.identity.aio.DefaultAzureCredential`` when
   azure-identity is installed (``pip install "batch-tasks-async[identity]"``).

``--emulator`` targets a local emulator: ``http://127.0.0.1:8765`` and account ``emulator``
(what ``batch-tasks emulator`` serves by default) unless a URL or name is given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import click

from .._client import BatchClient
from .._credentials import SharedKeyCredential
from .._pipeline import Credential
from ..errors import ClientValidationError

__all__ = [
    "DEFAULT_EMULATOR_ACCOUNT",
    "DEFAULT_EMULATOR_URL",
    "ENVIRONMENT_VARIABLES",
    "KEY_VARIABLES",
    "NAME_VARIABLES",
    "URL_VARIABLES",
    "ConnectionSettings",
    "connection_options",
    "is_loopback",
    "open_client",
]

#: The environment variables of each setting, in the order they are read.
URL_VARIABLES = ("BATCH_ACCOUNT_URL", "AZURE_BATCH_ENDPOINT")
NAME_VARIABLES = ("BATCH_ACCOUNT_NAME", "AZURE_BATCH_ACCOUNT")
KEY_VARIABLES = ("BATCH_ACCOUNT_KEY", "AZURE_BATCH_ACCESS_KEY")
#: Every environment variable the connection options read.
ENVIRONMENT_VARIABLES = URL_VARIABLES + NAME_VARIABLES + KEY_VARIABLES

#: Where ``batch-tasks emulator`` listens by default.
DEFAULT_EMULATOR_URL = "http://127.0.0.1:8765"
#: The account name ``batch-tasks emulator`` uses by default.
DEFAULT_EMULATOR_ACCOUNT = "emulator"

F = TypeVar("F", bound=Callable[..., Any])


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost`` or a loopback address)."""
    host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _account_from_url(url: str) -> str | None:
    host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
    if not host or is_loopback(url):
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.split(".", 1)[0] or None
    return None


@attrs.frozen(kw_only=True)
class ConnectionSettings:
    """The resolved connection settings of one command.

    Attributes:
        url: The account URL (or the emulator's URL).
        account_name: The account name, when one is known.
        account_key: The account key (never shown: it is left out of ``repr()``).
        emulator: Whether ``--emulator`` was given.
    """

    url: str
    account_name: str | None = None
    account_key: str | None = attrs.field(default=None, repr=False)
    emulator: bool = False

    @classmethod
    def resolve(
        cls,
        *,
        url: str | None,
        account_name: str | None,
        account_key: str | None,
        emulator: bool,
    ) -> ConnectionSettings:
        """Combine the flags (already merged with the environment by click) into settings.

        Raises:
            click.UsageError: No account URL was given and ``--emulator`` was not set, or a key
                was given without an account name that can be found.
        """
        url = (url or "").strip() or None
        if url is not None and "://" not in url:
            url = f"https://{url}"
        account_name = (account_name or "").strip() or None
        account_key = account_key or None
        if emulator:
            url = url or DEFAULT_EMULATOR_URL
            account_name = account_name or DEFAULT_EMULATOR_ACCOUNT
        if url is None:
            raise click.UsageError(
                "no Batch account: pass --account-url (or set BATCH_ACCOUNT_URL or "
                "AZURE_BATCH_ENDPOINT), "
                "or --emulator for a local emulator"
            )
        if account_name is None:
            account_name = _account_from_url(url)
        if account_key is not None and account_name is None:
            raise click.UsageError(
                "an account key needs an account name: pass --account-name "
                "(or set BATCH_ACCOUNT_NAME or AZURE_BATCH_ACCOUNT)"
            )
        return cls(url=url, account_name=account_name, account_key=account_key, emulator=emulator)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be printed."""
        return (self.account_key,) if self.account_key else ()

    def describe_auth(self) -> str:
        """How requests will be authenticated, in words (never the secret itself)."""
        if self.account_key is not None:
            return f"Shared Key (account {self.account_name})"
        if is_loopback(self.url):
            return "none (local emulator)"
        return "Microsoft Entra ID (DefaultAzureCredential)"


@asynccontextmanager
async def open_client(
    settings: ConnectionSettings, **client_options: Any
) -> AsyncIterator[BatchClient]:
    """Open a [`BatchClient`][batch_tasks_async.BatchClient] for ``settings``; close it (and
    any credential) after.

    Raises:
        click.UsageError: Microsoft Entra ID is needed and azure-identity is not installed.
        ClientValidationError: The account key is not valid base64.
    """
    async with AsyncExitStack() as stack:
        credential: Credential | None
        if settings.account_key is not None:
            if settings.account_name is None:  # resolve() makes this impossible
                raise ClientValidationError("an account key needs an account name")
            credential = SharedKeyCredential(settings.account_name, settings.account_key)
        elif is_loopback(settings.url):
            credential = None
        else:
            try:
                from azure.identity.aio import DefaultAzureCredential
            except ImportError:
                raise click.UsageError(
                    "no account key was given and azure-identity is not installed: pass "
                    "--account-key (or set BATCH_ACCOUNT_KEY or AZURE_BATCH_ACCESS_KEY), or "
                    "install "
                    "'batch-tasks-async[identity]' to sign in with Microsoft Entra ID"
                ) from None
            entra = DefaultAzureCredential()
            stack.push_async_callback(entra.close)
            credential = entra
        client = BatchClient(settings.url, credential, **client_options)
        stack.push_async_callback(client.close)
        yield client


def connection_options(func: F) -> F:
    """Add ``--account-url``, ``--account-name``, ``--account-key`` and ``--emulator``.

    The decorated command receives one ``connection: ConnectionSettings`` argument instead.
    """
    options = [
        click.option(
            "--account-url",
            "account_url",
            envvar=list(URL_VARIABLES),
            metavar="URL",
            help="Batch account URL, https://<account>.<region>.batch.azure.com "
            "[env: BATCH_ACCOUNT_URL, then AZURE_BATCH_ENDPOINT].",
        ),
        click.option(
            "--account-name",
            "account_name",
            envvar=list(NAME_VARIABLES),
            metavar="NAME",
            help="Batch account name (default: the URL's first label) "
            "[env: BATCH_ACCOUNT_NAME, then AZURE_BATCH_ACCOUNT].",
        ),
        click.option(
            "--account-key",
            "account_key",
            envvar=list(KEY_VARIABLES),
            metavar="KEY",
            help="Batch account key for Shared Key; without it Microsoft Entra ID is used "
            "[env: BATCH_ACCOUNT_KEY, then AZURE_BATCH_ACCESS_KEY].",
        ),
        click.option(
            "--emulator",
            "emulator",
            is_flag=True,
            help=f"Target a local emulator (default {DEFAULT_EMULATOR_URL}, account "
            f"'{DEFAULT_EMULATOR_ACCOUNT}').",
        ),
    ]

    def callback(**kwargs: Any) -> Any:
        kwargs["connection"] = ConnectionSettings.resolve(
            url=kwargs.pop("account_url"),
            account_name=kwargs.pop("account_name"),
            account_key=kwargs.pop("account_key"),
            emulator=kwargs.pop("emulator"),
        )
        return func(**kwargs)

    wrapped: Callable[..., Any] = _copy_meta(callback, func)
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[return-value]


def _copy_meta(wrapper: Callable[..., Any], wrapped: Callable[..., Any]) -> Callable[..., Any]:
    wrapper.__name__ = wrapped.__name__
    wrapper.__doc__ = wrapped.__doc__
    wrapper.__module__ = wrapped.__module__
    params = getattr(wrapped, "__click_params__", None)
    if params is not None:
        wrapper.__click_params__ = list(params)  # type: ignore[attr-defined]
    return wrapper
