"""MkDocs hook: publish the benchmark harness's plots next to the page that includes them.

``docs/benchmarks.md`` includes ``benchmarks/results/results.md`` (written by the harness) with
the snippets extension. That file links its plots by bare file name (``throughput.png``), so
the plots are added to the site at the docs root, beside ``benchmarks.md``, where those links
resolve. Nothing is copied into ``docs/``; a checkout without results builds unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path("benchmarks") / "results"


def on_files(files: Files, config: Any) -> Files:
    """Add every image under ``benchmarks/results/`` to the site's files."""
    root = Path(config["config_file_path"]).resolve().parent
    results = root / RESULTS
    if not results.is_dir():
        return files
    for image in sorted(results.iterdir()):
        is_image = image.suffix.lower() in {".png", ".svg"}
        if is_image and files.get_file_from_path(image.name) is None:
            files.append(File.generated(config, image.name, abs_src_path=str(image)))
    return files
