"""The legacy ``azure-batch`` 14.x (msrest, ``add_collection(threads=)``) in its own virtualenv.

It cannot share an environment with 15.x (same ``azure.batch`` package), so the harness makes
``benchmarks/.work/venv-azure-batch-14`` with ``python -m venv`` and pip-installs
``azure-batch>=14,<15`` into it; the worker runs there by file path. Where that fails (no
index, no wheel for this Python) the legacy SDK is skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["LEGACY_REQUIREMENT", "ensure_legacy_python"]

#: What the legacy virtualenv installs.
LEGACY_REQUIREMENT = "azure-batch>=14,<15"

_CHECK = (
    "import importlib.metadata as m, azure.batch.batch_auth;"
    "v = m.version('azure-batch'); assert v.startswith('14.'), v; print(v)"
)


def _python_in(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", _CHECK], capture_output=True, text=True, timeout=120, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_legacy_python(venv: Path, *, timeout: float = 600.0) -> tuple[Path | None, str]:
    """The legacy virtualenv's interpreter (made if needed) and a note; ``None`` if it failed.

    The note is the installed version, or why the legacy SDK is skipped.
    """
    python = _python_in(venv)
    version = _installed_version(python)
    if version:
        return python, f"azure-batch {version} in {venv}"
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", LEGACY_REQUIREMENT],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
        return None, f"could not install {LEGACY_REQUIREMENT}: {' | '.join(tail)}"[:400]
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"could not make the legacy virtualenv: {exc}"[:400]
    version = _installed_version(python)
    if not version:
        return None, f"{LEGACY_REQUIREMENT} installed but does not import on this Python"
    return python, f"azure-batch {version} in {venv}"
