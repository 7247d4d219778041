"""The package's version, in one place: read from the installed distribution's metadata.

``pyproject.toml`` is the only file that spells the version; everything else (the package's
``__version__``, the ``User-Agent`` header) reads it from here.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("batch-tasks-async")
except PackageNotFoundError:  # pragma: no cover - run from a source tree that is not installed
    __version__ = "0+unknown"
