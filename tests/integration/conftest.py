"""Fixtures that run the emulator on a real socket (a background thread with its own loop).

``emulator`` is a running emulator with Shared Key authentication and the job ``job-1``;
``emulator_factory(config)`` starts one with any :class:`EmulatorConfig`. Both are plain
(synchronous) fixtures, so they serve asyncio tests, trio tests and threaded clients alike.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import pytest

from batch_tasks_async.emulator import EmulatorConfig, EmulatorServer, RunningEmulator

#: Account used by the ``emulator`` fixture.
ACCOUNT_NAME = "testaccount"
ACCOUNT_KEY = base64.b64encode(b"emulator-test-key-0123456789abcdef").decode()

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]


@pytest.fixture
def emulator_factory() -> Iterator[EmulatorFactory]:
    """Start emulators from configs; every one is stopped when the test ends."""
    servers: list[EmulatorServer] = []

    def start(config: EmulatorConfig) -> RunningEmulator:
        server = EmulatorServer(config)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def emulator(emulator_factory: EmulatorFactory) -> RunningEmulator:
    """A running emulator: Shared Key auth (``ACCOUNT_NAME``/``ACCOUNT_KEY``), job ``job-1``,
    the ``instant`` lifecycle (a task is completed as soon as it is read)."""
    return emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=("job-1",), lifecycle="instant"
        )
    )
