"""Validation of request bodies, with the service's error codes and ``values``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._state import valid_id

__all__ = ["Problem", "constraints_problem", "job_problem", "task_problem"]

#: Why a body cannot be accepted: the Batch error code and its ``values`` (key, value) pairs.
Problem = tuple[str, tuple[tuple[str, str], ...]]


def task_problem(task: Mapping[str, Any]) -> Problem | None:
    """Why a task dict cannot be added, as (error code, values); ``None`` if it can."""
    task_id = task.get("id")
    if task_id is None:
        return "MissingRequiredProperty", (("PropertyName", "id"),)
    if not valid_id(task_id):
        return "InvalidPropertyValue", (
            ("PropertyName", "id"),
            ("PropertyValue", str(task_id)),
            (
                "Reason",
                "The id can contain any combination of alphanumeric characters including "
                "hyphens and underscores, and cannot contain more than 64 characters.",
            ),
        )
    command = task.get("commandLine")
    if command is None:
        return "MissingRequiredProperty", (("PropertyName", "commandLine"),)
    if not isinstance(command, str) or not command:
        return "InvalidPropertyValue", (
            ("PropertyName", "commandLine"),
            ("PropertyValue", str(command)),
        )
    if len(task) > 2:
        slots = task.get("requiredSlots")
        if slots is not None and (not isinstance(slots, int) or slots < 1):
            return "InvalidPropertyValue", (
                ("PropertyName", "requiredSlots"),
                ("PropertyValue", str(slots)),
            )
        multi = task.get("multiInstanceSettings")
        if multi is not None:
            count = multi.get("numberOfInstances", 1) if isinstance(multi, Mapping) else None
            if not isinstance(count, int) or count < 1:
                return "InvalidPropertyValue", (
                    ("PropertyName", "numberOfInstances"),
                    ("PropertyValue", str(count)),
                )
        constraints = task.get("constraints")
        if constraints is not None and not isinstance(constraints, Mapping):
            return "InvalidPropertyValue", (("PropertyName", "constraints"),)
    return None


def job_problem(job: Mapping[str, Any]) -> Problem | None:
    """Why a job dict cannot be added; ``None`` if it can."""
    job_id = job.get("id")
    if job_id is None:
        return "MissingRequiredProperty", (("PropertyName", "id"),)
    if not valid_id(job_id):
        return "InvalidPropertyValue", (("PropertyName", "id"), ("PropertyValue", str(job_id)))
    return None


def constraints_problem(body: Mapping[str, Any]) -> Problem | None:
    """Why a task update body cannot be applied; ``None`` if it can."""
    constraints = body.get("constraints")
    if constraints is not None and not isinstance(constraints, dict):
        return "InvalidPropertyValue", (("PropertyName", "constraints"),)
    return None
