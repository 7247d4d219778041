"""The emulator's ASGI application (starlette): the Batch Task and Job endpoints.

The pieces live in their own modules: [`_routes`][batch_tasks_async.emulator._routes] (route
table and the steps around every handler), `_auth` (authentication), `_query` (query parameters
and paging), `_conditions` (conditional requests), `_faults` (fault injection), `_validate`
(request bodies), `_handlers_task` / `_handlers_job` (the operations), `_control` (the
``/_emulator`` endpoints) and `_state` (the store every change goes through).
"""

from __future__ import annotations

from starlette.applications import Starlette

from ._config import EmulatorConfig
from ._faults import TRANSPORT_EXTENSION, ConnectionDroppedError
from ._routes import build_routes, not_found
from ._state import Store

__all__ = ["TRANSPORT_EXTENSION", "ConnectionDroppedError", "create_app"]


def create_app(config: EmulatorConfig | None = None, *, store: Store | None = None) -> Starlette:
    """Build the emulator's ASGI app for ``config`` (or around an existing ``store``).

    The store is reachable as ``app.state.store`` (jobs, tasks and statistics).
    """
    if store is None:
        store = Store(config or EmulatorConfig())
    app = Starlette(routes=build_routes(store), exception_handlers={404: not_found, 405: not_found})
    app.state.store = store
    return app
