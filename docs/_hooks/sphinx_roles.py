"""Rewrite Sphinx cross-reference roles in docstrings as mkdocstrings Markdown references.

mkdocstrings renders Markdown: a Sphinx role such as ``:class:`~batch_tasks_async.BatchClient```
shows up literally in the HTML. This script rewrites every role in the given Python files (or
every ``.py`` file under the given directories) into a Markdown cross-reference::

    :class:`~batch_tasks_async.models.TaskAddParameter`
      -> [`TaskAddParameter`][batch_tasks_async.models.TaskAddParameter]
    :meth:`add_collection` (inside class TaskOperations)
      -> [`add_collection`][batch_tasks_async._operations.TaskOperations.add_collection]
    :class:`BulkProgress` (re-exported by the package)
      -> [`BulkProgress`][batch_tasks_async.BulkProgress]

A role whose target cannot be imported, lies outside the package, or is not under an identifier
the docs render (a ``::: identifier`` line in ``docs/``) becomes plain code (`` `name` ``), so
the strict build never gains a dangling reference. It also rewrites reStructuredText's
literal-block marker (a line ending in ``::``) inside strings as ``:`` (``Example::`` as
``For example:``), which Markdown would show literally. The rewrite is idempotent. Usage
(from the repository root)::

    python docs/_hooks/sphinx_roles.py batch_tasks_async          # rewrite in place, wrapped
    python docs/_hooks/sphinx_roles.py --check batch_tasks_async  # list roles, exit 1 if any

It is also a MkDocs hook (``mkdocs.yml`` loads it): after each page is rendered it logs a
warning for every Sphinx role left literal in the HTML, so ``mkdocs build --strict`` (CI's docs
session) fails on one, naming the page and the text.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import io
import logging
import re
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "HTML_ROLE",
    "ROLE",
    "convert_literal_markers",
    "convert_source",
    "literal_roles",
    "main",
    "on_post_page",
    "wrap_long_lines",
]

#: A Sphinx role: ``:class:`X```, ``:py:meth:`~a.b```, ``:func:`text <a.b>```.
ROLE = re.compile(
    r":(?:py:)?(?P<role>class|meth|func|attr|mod|exc|data|obj|const):"
    r"`(?P<body>[^`]+)`"
)
#: A role as it appears in rendered HTML (the backticks became ``<code>``).
HTML_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|exc|data|obj|const):(?:`|<code)")

_LOG = logging.getLogger("mkdocs.hooks.sphinx_roles")


def literal_roles(html: str) -> list[str]:
    """The Sphinx roles left literal in a rendered page, each with a little following text."""
    found = []
    for match in HTML_ROLE.finditer(html):
        text = re.sub(r"<[^>]*>|<[^>]*$", "", html[match.start() : match.start() + 160])
        found.append(" ".join(text.split())[:80])
    return found


def on_post_page(output: str, page: Any, config: Any) -> str:
    """MkDocs hook: warn (a failure under ``--strict``) about each literal Sphinx role."""
    for text in literal_roles(output):
        _LOG.warning(
            "%s: a Sphinx role is shown literally: %r; write a Markdown cross-reference "
            "([`X`][batch_tasks_async.X]) or run python docs/_hooks/sphinx_roles.py "
            "batch_tasks_async",
            page.file.src_uri,
            text,
        )
    return output


#: Where unqualified names are looked for, after the file's own module and class.
_SEARCH = ("batch_tasks_async", "batch_tasks_async.models", "batch_tasks_async.errors")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.resolve().relative_to(root.resolve()).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(dotted: str) -> object | None:
    """Import ``a.b.C.d``: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return None
            obj = getattr(obj, name)
        return obj
    return None


def _classes_by_line(source: str) -> list[tuple[int, int, str]]:
    """(first line, last line, dotted class name) of every class in ``source``."""
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                name = f"{prefix}{child.name}"
                found.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, f"{name}.")

    visit(ast.parse(source), "")
    return found


def rendered_roots(docs: Path) -> set[str]:
    """The identifiers the docs render: each ``::: identifier`` line of the Markdown pages
    (for a block with a ``members:`` list, the identifier's listed members instead)."""
    roots: set[str] = set()
    for page in docs.rglob("*.md"):
        blocks = re.split(r"^:::\s*", page.read_text(encoding="utf-8"), flags=re.M)[1:]
        for block in blocks:
            lines = block.splitlines()
            ident = lines[0].strip()
            options = []
            for line in lines[1:]:
                if line and not line[0].isspace():
                    break
                options.append(line.strip())
            if "members:" in options:
                start = options.index("members:") + 1
                members = [o[2:].strip() for o in options[start:] if o.startswith("- ")]
                roots.add(ident + "#exact")
                roots.update(f"{ident}.{member}" for member in members)
            else:
                roots.add(ident)
    return roots


#: Set by ``main``: only targets under these identifiers become references.
_ROOTS: set[str] = set()


def _ours(obj: object) -> bool:
    module = obj.__name__ if isinstance(obj, type(sys)) else getattr(obj, "__module__", None)
    if isinstance(obj, property) or (callable(obj) and module is None):
        return True
    return isinstance(module, str) and module.split(".")[0] == "batch_tasks_async"


def _public(candidate: str) -> str:
    """``candidate`` through the package's re-exports (``batch_tasks_async.X[.member]``)."""
    parts = candidate.split(".")
    for index in range(len(parts) - 1, 0, -1):
        public = f"batch_tasks_async.{parts[index]}"
        head = ".".join(parts[: index + 1])
        if head != public and _resolve(public) is not None and _resolve(public) is _resolve(head):
            return ".".join([public, *parts[index + 1 :]])
    return candidate


def _documented(target: str) -> bool:
    if not _ROOTS:
        return True
    if f"{target}#exact" in _ROOTS:
        return True
    for root in _ROOTS:
        if target == root or target.startswith(f"{root}."):
            # A private module below a rendered root is not rendered (its members may be).
            return "._" not in target[len(root) :]
    return False


def _target(name: str, module: str, enclosing: str | None) -> str | None:
    name = name.lstrip(".")
    candidates = []
    if name.startswith("batch_tasks_async"):
        candidates.append(name)
    else:
        if enclosing is not None:
            candidates.append(f"{module}.{enclosing}.{name}")
        candidates.append(f"{module}.{name}")
        candidates += [f"{root}.{name}" for root in _SEARCH]
    for candidate in candidates:
        obj = _resolve(candidate)
        if obj is not None:
            if not _ours(obj):
                return None
            target = _public(candidate)
            return target if _documented(target) else None
    return None


def convert_source(source: str, module: str) -> tuple[str, int]:
    """``source`` with every role rewritten, and how many were rewritten."""
    classes = _classes_by_line(source)
    line_starts = [0]
    for match in re.finditer("\n", source):
        line_starts.append(match.end())

    def line_of(offset: int) -> int:
        low, high = 0, len(line_starts)
        while low < high - 1:
            mid = (low + high) // 2
            if line_starts[mid] <= offset:
                low = mid
            else:
                high = mid
        return low + 1

    def enclosing(offset: int) -> str | None:
        line = line_of(offset)
        inside = [name for first, last, name in classes if first <= line <= last]
        return inside[-1] if inside else None

    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        body = match.group("body").strip()
        explicit = re.fullmatch(r"(?P<text>.+?)\s*<(?P<target>[^>]+)>", body)
        if explicit:
            text, name = explicit.group("text"), explicit.group("target")
        else:
            name = body.lstrip("~!")
            text = name.rsplit(".", 1)[-1] if body.startswith("~") else name
        name = name.lstrip("~!").removesuffix("()")
        target = _target(name, module, enclosing(match.start()))
        if target is None:
            return f"`{text}`"
        return f"[`{text}`][{target}]"

    return ROLE.sub(replace, source), count


_LITERAL = re.compile(r"(?m)^(?P<indent>[ \t]*)(?P<text>\S[^\n]*?)::$")
_SECTION_LITERAL = re.compile(r"(?i)(?:example|examples)")


def _string_spans(source: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the string literals of ``source``."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING:
            (row, col), (end_row, end_col) = token.start, token.end
            spans.append((starts[row - 1] + col, starts[end_row - 1] + end_col))
    return spans


def convert_literal_markers(source: str) -> tuple[str, int]:
    """Rewrite reStructuredText's ``text::`` (a literal block follows) inside string literals
    as ``text:``; ``Example::`` becomes ``For example:`` (a Google ``Example:`` section would
    swallow the block that follows). The indented block stays a Markdown code block."""
    spans = _string_spans(source)
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match.group("text").endswith(":") or not any(
            start <= match.start("text") < end for start, end in spans
        ):
            return match.group()
        count += 1
        text = match.group("text")
        if _SECTION_LITERAL.fullmatch(text):
            text = "For example"
        return f"{match.group('indent')}{text}:"

    return _LITERAL.sub(replace, source), count


_ITEM = re.compile(r"^\s+[\w*]+(?: \([^)]*\))?: \S")


def wrap_long_lines(before: str, after: str, limit: int) -> str:
    """Wrap the lines of ``after`` that the rewrite made longer than ``limit`` (lines already
    too long in ``before`` are left alone). A wrapped line continues at the indentation of
    the following line when that one is a continuation, at four more spaces for a Google
    ``name: text`` item, and at its own indentation otherwise."""
    old = set(before.splitlines())
    lines = after.splitlines(keepends=True)
    out: list[str] = []
    for index, line in enumerate(lines):
        body = line.rstrip("\n")
        if len(body) <= limit or body in old:
            out.append(line)
            continue
        indent = len(body) - len(body.lstrip())
        following = lines[index + 1] if index + 1 < len(lines) else ""
        next_indent = len(following) - len(following.lstrip())
        if following.strip() and next_indent > indent:
            cont = next_indent
        elif _ITEM.match(body):
            cont = indent + 4
        else:
            cont = indent
        ending = line[len(body) :]
        stripped = body.lstrip()
        prefix = ""
        if stripped.startswith("#"):  # a comment (e.g. a ``#:`` doc comment) stays one
            prefix = "#: " if stripped.startswith("#: ") else "# "
            cont = indent
        start = cont + len(prefix)
        while len(body) > limit:
            cut = body.rfind(" ", start + 1, limit + 1)
            while cut > 0 and body[:cut].count("`") % 2:  # never inside a code span
                cut = body.rfind(" ", start + 1, cut)
            if cut <= start:
                break
            out.append(body[:cut] + "\n")
            body = " " * cont + prefix + body[cut + 1 :]
        out.append(body + ending)
    return "".join(out)


def _python_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        elif path.suffix == ".py":
            yield path


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or, with ``--check``, list) the roles in the given files or directories."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="list the roles, change nothing")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the import root")
    parser.add_argument(
        "--line-length", type=int, default=100, help="wrap lines the rewrite made longer"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.root.resolve()))
    _ROOTS.update(rendered_roots(args.root / "docs"))
    total = 0
    for path in _python_files(args.paths):
        source = path.read_text(encoding="utf-8")
        if args.check:
            for match in ROLE.finditer(source):
                line = source.count("\n", 0, match.start()) + 1
                print(f"{path}:{line}: {match.group()}")
                total += 1
            continue
        converted, count = convert_source(source, _module_name(path, args.root))
        converted, literals = convert_literal_markers(converted)
        count += literals
        converted = wrap_long_lines(source, converted, args.line_length)
        if count:
            path.write_text(converted, encoding="utf-8")
            print(f"{path}: {count} role(s) and literal marker(s) rewritten")
            total += count
    if args.check:
        return 1 if total else 0
    print(f"{total} role(s) and literal marker(s) rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
