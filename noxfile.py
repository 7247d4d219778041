"""Development sessions: ``nox -s tests``, ``lint``, ``types``, ``docs``, ``demo``, ``bench``.

Every session installs the project from ``uv.lock`` (``uv sync --locked``), so a fresh machine
with only Python and pip (``pip install "nox[uv]"``) gets the exact versions CI tests.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests", "lint", "types", "docs"]
nox.options.reuse_venv = "yes"

PYTHON = os.environ.get("NOX_PYTHON") or None


def sync(session: nox.Session, *extras: str) -> None:
    """Install the locked dependencies with ``extras`` into the session's virtualenv."""
    args = ["uv", "sync", "--locked", "--inexact"]
    for extra in extras:
        args += ["--extra", extra]
    session.run_install(
        *args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}, silent=True
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite: unit and integration tests, each async test on asyncio and on trio."""
    sync(session, "test")
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    sync(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def types(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the benchmarks."""
    sync(session, "types")
    session.run("mypy")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation with warnings as errors."""
    sync(session, "docs")
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: bulk-submit tasks to the embedded emulator (``batch-tasks demo``)."""
    sync(session, "cli")
    session.run("batch-tasks", "demo", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmark harness: this SDK against the official azure-batch SDK, one run."""
    sync(session, "bench")
    session.run("python", "-m", "benchmarks.run", *session.posargs)
