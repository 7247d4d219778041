"""A task's filterable properties, computed only when a ``$filter`` asks for them.

Listing with a filter tests every task of the job; building each task's whole wire body just
to read its ``state`` made a filtered list of 100,000 tasks cost a second of CPU. The view
answers the properties of [`TASK_PROPERTIES`][batch_tasks_async.emulator._filter.TASK_PROPERTIES]
with the values the wire body would hold (times as aware datetimes, which the filter compares
directly), and the full body is built only for the tasks that match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._state import JobRecord, Store, TaskRecord

__all__ = ["TaskFilterView"]

_MISSING: Any = object()


def _time(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class TaskFilterView(Mapping[str, Any]):
    """The properties a filter can name, read from the task record on demand."""

    __slots__ = ("_job", "_store", "_task")

    def __init__(self, store: Store, job: JobRecord, task: TaskRecord) -> None:
        self._store = store
        self._job = job
        self._task = task

    def get(self, key: str, default: Any = None) -> Any:
        getter = _GETTERS.get(key)
        if getter is None:
            return default
        value = getter(self)
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (key for key in _GETTERS if self.get(key) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _execution_info(self) -> dict[str, Any]:
        return self._store.execution_info(self._job, self._task)


_GETTERS: dict[str, Callable[[TaskFilterView], Any]] = {
    "id": lambda v: v._task.id,
    "displayName": lambda v: v._task.body.get("displayName"),
    "state": lambda v: v._task.state,
    "previousState": lambda v: v._task.prev_state,
    "creationTime": lambda v: _time(v._task.created),
    "lastModified": lambda v: _time(v._task.last_modified),
    "stateTransitionTime": lambda v: _time(v._task.state_time),
    "previousStateTransitionTime": lambda v: _time(v._task.prev_state_time),
    "commandLine": lambda v: v._task.body.get("commandLine"),
    "requiredSlots": lambda v: v._task.body.get("requiredSlots", 1),
    "executionInfo": TaskFilterView._execution_info,
}
