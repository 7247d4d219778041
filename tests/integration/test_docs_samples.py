"""Every Python sample in README.md and docs/**/*.md runs against a running emulator.

Convention (see docs/guide/cli.md, "Documentation samples"):

* A fenced block whose language is ``python`` (or ``py``, ``python3``) is a complete program.
  It reads ``BATCH_ACCOUNT_URL``, ``BATCH_ACCOUNT_NAME`` and ``BATCH_ACCOUNT_KEY`` from the
  environment, which this test points at an emulator, and uses the job ``my-job`` (the
  README uses ``job-1``), which the emulator has. Tasks stay ``active`` until a sample moves
  them (the emulator's ``manual`` lifecycle), as they do on a real pool that is busy. Each
  sample runs on a fresh emulator state, as ``__main__``.
* A block that deliberately cannot run here (it needs a real Azure account, say) is preceded by
  ``<!-- not-tested: <reason> -->`` on the line before its fence. The reason is mandatory; the
  test counts such blocks so that they stay the exception.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from batch_tasks_async.emulator import EmulatorConfig, EmulatorServer, RunningEmulator

ROOT = Path(__file__).resolve().parents[2]
PYTHON_LANGUAGES = frozenset({"python", "py", "python3"})
NOT_TESTED = re.compile(r"^<!--\s*not-tested:\s*(?P<reason>.*?)\s*-->$")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
ACCOUNT_NAME = "docsaccount"
ACCOUNT_KEY = base64.b64encode(b"documentation-samples-key").decode()
#: Most blocks that may be marked not-tested, so the marker stays the exception.
MAX_NOT_TESTED = 6


@attrs.frozen
class Sample:
    """One fenced Python block."""

    path: Path
    line: int
    code: str
    not_tested: str | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def extract(path: Path) -> list[Sample]:
    """The Python blocks of a Markdown file, with the not-tested reason of each (if any)."""
    samples: list[Sample] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        fence = match["fence"]
        language = (match["info"].split() or [""])[0].lower()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][len(match["indent"]) :])
            index += 1
        index += 1
        if language not in PYTHON_LANGUAGES:
            continue
        previous = start - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marker = NOT_TESTED.match(lines[previous].strip()) if previous >= 0 else None
        samples.append(
            Sample(
                path=path,
                line=start + 1,
                code="\n".join(body) + "\n",
                not_tested=marker["reason"] if marker else None,
            )
        )
    return samples


def markdown_files() -> list[Path]:
    files = sorted((ROOT / "docs").rglob("*.md"))
    readme = ROOT / "README.md"
    return [readme, *files] if readme.exists() else files


SAMPLES = [sample for path in markdown_files() for sample in extract(path)]


@pytest.fixture(scope="module")
def docs_emulator() -> Iterator[RunningEmulator]:
    """One emulator for every sample (reset before each), with the jobs the samples use."""
    config = EmulatorConfig(
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,
        jobs=("my-job", "job-1"),
        lifecycle="manual",
    )
    with EmulatorServer(config) as emulator:
        yield emulator


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_runs(
    sample: Sample,
    docs_emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if sample.not_tested is not None:
        pytest.skip(f"marked not-tested: {sample.not_tested}")
    docs_emulator.reset()
    monkeypatch.setenv("BATCH_ACCOUNT_URL", docs_emulator.url)
    monkeypatch.setenv("BATCH_ACCOUNT_NAME", ACCOUNT_NAME)
    monkeypatch.setenv("BATCH_ACCOUNT_KEY", ACCOUNT_KEY)
    code = compile(sample.code, sample.name, "exec")
    exec(code, {"__name__": "__main__", "__file__": sample.name})
    assert ACCOUNT_KEY not in capsys.readouterr().out


def test_the_convention_holds() -> None:
    """There are samples, markers give a reason, and not-tested blocks stay few."""
    assert len([s for s in SAMPLES if s.not_tested is None]) >= 10
    not_tested = [s for s in SAMPLES if s.not_tested is not None]
    for sample in not_tested:
        assert sample.not_tested, f"{sample.name}: a not-tested marker needs a reason"
    assert len(not_tested) <= MAX_NOT_TESTED, [s.name for s in not_tested]


def test_extract_reads_markers_and_skips_other_languages(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```python\nprint(1)\n```\n\n"
        "<!-- not-tested: needs Azure -->\n\n```py\nprint(2)\n```\n\n"
        "```console\n$ ls\n```\n\n"
        "- item\n\n    ```python\n    print(3)\n    ```\n",
        encoding="utf-8",
    )
    samples = [(s.line, s.code, s.not_tested) for s in extract(page)]
    assert samples == [
        (3, "print(1)\n", None),
        (9, "print(2)\n", "needs Azure"),
        (19, "print(3)\n", None),
    ]
