"""``python -m batch_tasks_async.emulator``: run the emulator (see ``--help``)."""

from __future__ import annotations

from ._cli import emulator_command

if __name__ == "__main__":
    emulator_command(prog_name="python -m batch_tasks_async.emulator")
