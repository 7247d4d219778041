"""The built documentation site: no Sphinx role may reach the HTML literally.

mkdocstrings renders Markdown, so a docstring's ``:class:`X``` shows up as ``:class:`` text.
The site is built once per session into a temporary directory (about ten seconds); without
mkdocs (the ``docs`` extra, as in ``nox -s tests``) the test is skipped, and CI's strict docs
build catches the same thing through the ``docs/_hooks/sphinx_roles.py`` hook. Fix a failure
by writing the reference as Markdown (``[`X`][batch_tasks_async.X]``), or run
``python docs/_hooks/sphinx_roles.py batch_tasks_async``.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
    pytest.skip(
        "mkdocs and mkdocstrings are not installed (the docs extra)", allow_module_level=True
    )

#: A Sphinx role as it appears in rendered HTML (its backticks become ``<code>``).
HTML_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|exc|data|obj|const):(?:`|<code)")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built strictly into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--no-strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "", "HOME": str(out)},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (out / "build.log").write_text(result.stderr, encoding="utf-8")
    return out


def test_no_sphinx_role_is_rendered_literally(site: Path) -> None:
    found: list[str] = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        found += [f"{page.relative_to(site)}: {role}" for role in _converter().literal_roles(text)]
        # The pattern of this test and the hook's agree.
        assert bool(HTML_ROLE.search(text)) == bool(_converter().literal_roles(text))
    assert not found, f"{len(found)} literal Sphinx role(s):\n" + "\n".join(found[:40])


def test_the_build_has_no_warnings(site: Path) -> None:
    """What ``mkdocs build --strict`` checks: no warning (the role hook's included)."""
    warnings = [line for line in (site / "build.log").read_text().splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings[:20])


def test_every_public_name_has_a_reference_entry(site: Path) -> None:
    import batch_tasks_async

    html = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    missing = [
        name
        for name in batch_tasks_async.__all__
        if name not in ("__version__", "errors", "models")
        and f'id="batch_tasks_async.{name}"' not in html
    ]
    assert not missing, f"no API reference entry for {missing}"


def _converter() -> Any:
    spec = importlib.util.spec_from_file_location(
        "sphinx_roles", ROOT / "docs/_hooks/sphinx_roles.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_role_pattern_matches_what_the_converter_rewrites() -> None:
    module = _converter()
    source = (
        '"""See :class:`~batch_tasks_async.models.TaskAddParameter`, :py:func:`nowhere_at_all`\n'
        'and :meth:`text <batch_tasks_async.BatchClient.close>`."""\n'
    )
    converted, count = module.convert_source(source, "batch_tasks_async.example")
    assert count == 3
    assert "[`TaskAddParameter`][batch_tasks_async.models.TaskAddParameter]" in converted
    assert "`nowhere_at_all`" in converted
    assert "[`text`][batch_tasks_async.BatchClient.close]" in converted
    assert not module.ROLE.search(converted)
    assert module.convert_source(converted, "batch_tasks_async.example") == (converted, 0)


def test_lines_the_rewrite_made_too_long_are_wrapped_in_place() -> None:
    module = _converter()
    before = (
        'def f() -> None:\n    """Add.\n\n'
        "    Args:\n"
        "        tasks: One :class:`TaskAddParameter` per task, read lazily from the input as\n"
        "            the engine needs them.\n"
        '    """\n\n\n'
        "#: Called with a :class:`BulkProgress` a few times a second and once at the end of it.\n"
        "X = 1\n"
    )
    after, _ = module.convert_source(before, "batch_tasks_async._bulk._engine")
    wrapped = module.wrap_long_lines(before, after, 80)
    assert max(len(line) for line in wrapped.splitlines()) <= 80
    lines = wrapped.splitlines()
    # The Args item continues at the item's continuation indent; the comment stays a comment.
    item = next(i for i, line in enumerate(lines) if "tasks:" in line)
    assert lines[item + 1].startswith("            ")
    comment = next(i for i, line in enumerate(lines) if "BulkProgress" in line)
    assert lines[comment].startswith("#: ")
    assert lines[comment + 1].startswith("#: ")
    words = [word for word in wrapped.split() if word != "#:"]
    assert words == [word for word in after.split() if word != "#:"]


def test_literal_block_markers_in_strings_become_colons() -> None:
    module = _converter()
    source = (
        'def f() -> None:\n    """Use it like this::\n\n        f()\n\n    Example::\n\n'
        '        f()\n    """\n\n\nslices = "a::"  # not a line end in prose\n'
    )
    converted, count = module.convert_literal_markers(source)
    assert count == 2
    assert "Use it like this:\n" in converted
    assert "    For example:\n" in converted
    assert 'slices = "a::"' in converted
    assert module.convert_literal_markers(converted) == (converted, 0)
