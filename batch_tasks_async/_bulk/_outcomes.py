"""The per-task results the bulk engine makes itself (client-side failures, unconfirmed tasks).

Their codes are service-like names, so a caller handles them the way it handles the service's:

* ``RequestBodyTooLarge``: the task does not fit in a request body by itself (found by the
  client, or by the service's 413 for a request holding only this task).
* ``DuplicateTaskId``: the id (compared as the service does) appeared earlier in the input.
* ``MissingRequiredProperty`` / ``InvalidPropertyValue``: a mapping without a non-empty string
  ``"id"``.
* ``InvalidPropertyName``: a mapping with a snake_case key where the wire name is camelCase.
* ``InvalidRequestBody``: an item that is neither a model nor a mapping, a value JSON cannot
  carry (``NaN``, infinities) or that cannot be serialized.
* ``TaskNotConfirmed`` (status ``servererror``, in ``add_collection``'s result only): the outcome
  is not known; see [`UnconfirmedTask`][batch_tasks_async.errors.UnconfirmedTask].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .. import models
from ..errors import UnconfirmedTask

__all__ = ["client_error", "error", "too_large", "unconfirmed_result"]

_CLIENT_ERROR: Final = models.TaskAddStatus.CLIENT_ERROR
_SERVER_ERROR: Final = models.TaskAddStatus.SERVER_ERROR


def error(code: str, message: str, values: Mapping[str, str] | None = None) -> models.BatchError:
    """A Batch error body with ``code``, an English ``message`` and ``values``."""
    return models.BatchError(
        code=code,
        message=models.ErrorMessage(lang="en-US", value=message),
        values=[models.BatchErrorDetail(key=k, value=v) for k, v in values.items()]
        if values
        else None,
    )


def client_error(
    task_id: str, code: str, message: str, values: Mapping[str, str] | None = None
) -> models.TaskAddResult:
    """A ``clienterror`` result found by the client."""
    return models.TaskAddResult(
        status=_CLIENT_ERROR, task_id=task_id, error=error(code, message, values)
    )


def too_large(task_id: str, size: int, limit: int, *, by_service: bool) -> models.TaskAddResult:
    """``RequestBodyTooLarge`` for a task whose request body alone is ``size`` bytes."""
    if by_service:
        message = (
            f"The service rejected a {size}-byte request body holding only task {task_id!r} "
            f"(413 RequestBodyTooLarge); the client's limit was {limit} bytes."
        )
    else:
        message = (
            f"Task {task_id!r} makes a {size}-byte request body by itself, over the "
            f"{limit}-byte limit on a request body."
        )
    return client_error(
        task_id,
        "RequestBodyTooLarge",
        message,
        {"RequestBodySize": str(size), "MaxRequestBodySize": str(limit)},
    )


def unconfirmed_result(item: UnconfirmedTask) -> models.TaskAddResult:
    """The ``TaskNotConfirmed`` entry standing for an unconfirmed task in a collection result."""
    return models.TaskAddResult(
        status=_SERVER_ERROR,
        task_id=item.task_id,
        error=error(
            "TaskNotConfirmed",
            f"The outcome of adding task {item.task_id!r} is not known: {item.reason}.",
            {"Reason": item.reason, "Ambiguous": "true" if item.ambiguous else "false"},
        ),
    )
