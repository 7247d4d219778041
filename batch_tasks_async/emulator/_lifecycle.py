"""When a task starts and completes, and with which exit code: the emulator's task schedule.

Every draw is a pure function of the seed, the job id and the task id (a keyed hash, not a
shared random stream), so a task gets the same times and the same exit code whatever order
tasks are read in, and a run can be repeated exactly.
"""

from __future__ import annotations

import hashlib
import re

from ._config import EmulatorConfig

__all__ = ["Schedule", "exit_code_of"]

_EXIT = re.compile(r"(?:^|[\s;&|('\"])exit\s+(-?\d+)", re.IGNORECASE)


def exit_code_of(command_line: object) -> int:
    """The exit code a task "returns": the last ``exit N`` in its command line, else 0.

    ``/bin/sh -c 'exit 3'`` and ``cmd /c exit 3`` both complete with exit code 3.
    """
    if not isinstance(command_line, str):
        return 0
    found = _EXIT.findall(command_line)
    return int(found[-1]) if found else 0


def _literal_exit(command_line: str) -> int | None:
    found = _EXIT.findall(command_line)
    return int(found[-1]) if found else None


class Schedule:
    """The configured lifecycle: ``mode`` and the per-task phase times and exit codes."""

    __slots__ = (
        "_active",
        "_failure_code",
        "_failure_rate",
        "_rules",
        "_running",
        "_seed",
        "mode",
    )

    def __init__(self, config: EmulatorConfig) -> None:
        lifecycle = config.lifecycle
        #: ``"auto"``, ``"instant"`` or ``"manual"`` (a number of seconds is ``"auto"`` with
        #: both phases fixed at that many seconds).
        self.mode: str = lifecycle if isinstance(lifecycle, str) else "auto"
        if isinstance(lifecycle, str):
            self._active = config.active_seconds
            self._running = config.running_seconds
        else:
            self._active = self._running = (float(lifecycle), float(lifecycle))
        self._seed = config.faults.seed
        self._rules = tuple((re.compile(p), code) for p, code in config.exit_code_rules)
        self._failure_rate = config.failure_rate
        self._failure_code = config.failure_exit_code

    def _fraction(self, job_id: str, task_id: str, salt: str) -> float:
        """A uniform draw in [0, 1) fixed by the seed, the ids and ``salt``."""
        text = f"{self._seed}\x00{job_id.lower()}\x00{task_id.lower()}\x00{salt}"
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 18446744073709551616.0

    def phase_seconds(self, job_id: str, task_id: str, state: str) -> float:
        """How long the task stays in ``state`` (``active`` or ``running``) under ``auto``."""
        low, high = self._active if state == "active" else self._running
        if low == high:
            return low
        return low + (high - low) * self._fraction(job_id, task_id, state)

    def exit_code(self, job_id: str, task_id: str, command_line: object) -> int:
        """The exit code: the first matching rule, else the last ``exit N``, else the seeded
        failure rate, else 0."""
        text = command_line if isinstance(command_line, str) else ""
        for pattern, code in self._rules:
            if pattern.search(text):
                return code
        literal = _literal_exit(text)
        if literal is not None:
            return literal
        rate = self._failure_rate
        if rate and self._fraction(job_id, task_id, "exit") < rate:
            return self._failure_code
        return 0
