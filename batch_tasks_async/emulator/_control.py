"""The emulator's own control endpoints under ``/_emulator`` (statistics, reset, advance)."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ._state import Store, iso

__all__ = ["ControlHandlers"]


class ControlHandlers:
    """``GET /_emulator/stats``, ``POST /_emulator/reset``, ``POST /_emulator/clock`` and
    ``POST /_emulator/jobs/{job}/tasks/{task}/advance``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def stats(self, request: Request) -> Response:
        per_task = request.query_params.get("per_task", "").lower() in ("1", "true", "yes")
        with self.store.lock:
            snap = self.store.stats.snapshot(per_task=per_task)
        return Response(orjson.dumps(snap), headers={"content-type": "application/json"})

    async def reset(self, request: Request) -> Response:
        self.store.reset()
        return Response(b"", status_code=204)

    async def clock(self, request: Request) -> Response:
        """``?advance=SECONDS`` moves the clock tasks run on forward; answers the new time."""
        text = request.query_params.get("advance", "0")
        try:
            now = self.store.advance_clock(float(text))
        except ValueError:
            message = f"advance must be a number of seconds >= 0, not {text!r}"
            return Response(orjson.dumps({"error": message}), status_code=400)
        return Response(
            orjson.dumps({"now": iso(now)}), headers={"content-type": "application/json"}
        )

    async def advance(self, request: Request) -> Response:
        target = request.query_params.get("to", "completed")
        try:
            with self.store.lock:
                job, task = self.store.find_task(
                    request.path_params["job_id"], request.path_params["task_id"]
                )
                self.store.advance(job, task, target)
        except KeyError:
            return Response(b'{"error":"no such job or task"}', status_code=404)
        except ValueError as exc:
            return Response(orjson.dumps({"error": str(exc)}), status_code=409)
        return Response(b"", status_code=204)
