"""The OData ``$filter`` subset the emulator understands for task and job lists.

Grammar (case-insensitive keywords):

    expr    := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | primary
    primary := "(" expr ")" | "startswith(" prop "," string ")" | prop op literal
    op      := eq | ne | lt | le | gt | ge
    literal := 'string' | integer | true | false | null | datetime'2025-01-01T00:00:00Z'

Properties are the top-level task properties plus ``executionInfo/...`` paths. String
comparisons ignore case (ids and enum values are case-insensitive in Batch). Anything else
raises [`FilterError`][batch_tasks_async.emulator._filter.FilterError], which the app answers
with ``InvalidQueryParameterValue``, as it does a filter of more than
[`MAX_TERMS`][batch_tasks_async.emulator._filter.MAX_TERMS] terms or nested deeper than
[`MAX_DEPTH`][batch_tasks_async.emulator._filter.MAX_DEPTH]. ``and`` / ``or`` chains compile to
flat predicates, so evaluating a filter never recurses deeper than its parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_TERMS", "FilterError", "Predicate", "compile_filter", "parse_datetime"]

#: Most comparisons (and ``startswith`` calls) in one filter.
MAX_TERMS = 300
#: Deepest nesting of parentheses and ``not``.
MAX_DEPTH = 32

Predicate = Callable[[Mapping[str, Any]], bool]

TASK_PROPERTIES = frozenset(
    {
        "id",
        "displayName",
        "state",
        "previousState",
        "creationTime",
        "lastModified",
        "stateTransitionTime",
        "previousStateTransitionTime",
        "commandLine",
        "requiredSlots",
        "executionInfo/exitCode",
        "executionInfo/result",
        "executionInfo/startTime",
        "executionInfo/endTime",
        "executionInfo/retryCount",
        "executionInfo/requeueCount",
    }
)
JOB_PROPERTIES = frozenset(
    {"id", "displayName", "state", "creationTime", "lastModified", "priority"}
)
#: Task files: the service documents ``startswith(name, '...')``.
FILE_PROPERTIES = frozenset({"name"})

_DATETIME_PROPS = {
    "creationTime",
    "lastModified",
    "stateTransitionTime",
    "previousStateTransitionTime",
    "executionInfo/startTime",
    "executionInfo/endTime",
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<dt>datetime'(?P<dtv>[^']*)')
      | (?P<str>'(?P<strv>(?:[^']|'')*)')
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<lp>\() | (?P<rp>\)) | (?P<comma>,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


class FilterError(ValueError):
    """The ``$filter`` expression is not one the emulator (or the service) supports."""


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 time as Batch writes it (``Z`` suffix, up to 7 fraction digits)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$", value)
    if match:
        value = f"{match[1]}.{match[2][:6].ljust(6, '0')}{match[3]}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FilterError(f"not a datetime: {text!r}") from exc
    if parsed.tzinfo is None:
        raise FilterError(f"datetime needs a time zone: {text!r}")
    return parsed


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"unexpected text at position {pos}: {text[pos : pos + 20]!r}")
        pos = match.end()
        if match["dt"] is not None:
            tokens.append(("lit", parse_datetime(match["dtv"])))
        elif match["str"] is not None:
            tokens.append(("lit", match["strv"].replace("''", "'")))
        elif match["num"] is not None:
            num = match["num"]
            if len(num) > 40:
                raise FilterError(f"the number at position {match.start('num')} is too long")
            tokens.append(("lit", float(num) if "." in num else int(num)))
        elif match["lp"]:
            tokens.append(("(", None))
        elif match["rp"]:
            tokens.append((")", None))
        elif match["comma"]:
            tokens.append((",", None))
        else:
            word = match["name"]
            lower = word.lower()
            if lower in ("true", "false"):
                tokens.append(("lit", lower == "true"))
            elif lower == "null":
                tokens.append(("lit", None))
            elif lower in ("and", "or", "not", "startswith") or lower in _OPS:
                tokens.append((lower, None))
            else:
                tokens.append(("name", word))
    return tokens


def _get(item: Mapping[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _norm(value: Any, is_datetime: bool) -> Any:
    if isinstance(value, str):
        if is_datetime:
            try:
                return parse_datetime(value)
            except FilterError:
                return value
        return value.lower()
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], properties: frozenset[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.properties = {p.lower(): p for p in properties}
        self.depth = 0
        self.terms = 0

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"the filter is nested more than {MAX_DEPTH} levels deep")

    def term(self) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise FilterError(f"the filter has more than {MAX_TERMS} terms")

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self, kind: str) -> Any:
        if self.peek() != kind:
            got = self.peek() or "end of filter"
            raise FilterError(f"expected {kind!r}, found {got!r}")
        value = self.tokens[self.pos][1]
        self.pos += 1
        return value

    def prop(self) -> str:
        name = self.take("name")
        canonical = self.properties.get(name.lower())
        if canonical is None:
            raise FilterError(f"filtering on {name!r} is not supported")
        return canonical

    def parse(self) -> Predicate:
        pred = self.parse_or()
        if self.pos != len(self.tokens):
            raise FilterError(f"unexpected {self.peek()!r} after the expression")
        return pred

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek() == "or":
            self.take("or")
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        alternatives = tuple(parts)
        return lambda item: any(part(item) for part in alternatives)

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.peek() == "and":
            self.take("and")
            parts.append(self.parse_unary())
        if len(parts) == 1:
            return parts[0]
        conditions = tuple(parts)
        return lambda item: all(part(item) for part in conditions)

    def parse_unary(self) -> Predicate:
        if self.peek() == "not":
            self.take("not")
            self.enter()
            inner = self.parse_unary()
            self.depth -= 1
            return lambda item: not inner(item)
        return self.parse_primary()

    def parse_primary(self) -> Predicate:
        kind = self.peek()
        if kind == "(":
            self.take("(")
            self.enter()
            inner = self.parse_or()
            self.take(")")
            self.depth -= 1
            return inner
        self.term()
        if kind == "startswith":
            self.take("startswith")
            self.take("(")
            path = self.prop()
            self.take(",")
            prefix = self.take("lit")
            self.take(")")
            if not isinstance(prefix, str):
                raise FilterError("startswith needs a string literal")
            lowered = prefix.lower()

            def starts(item: Mapping[str, Any]) -> bool:
                value = _get(item, path)
                return isinstance(value, str) and value.lower().startswith(lowered)

            return starts
        path = self.prop()
        op_name = self.peek()
        if op_name not in _OPS:
            raise FilterError(f"expected a comparison operator after {path!r}")
        self.take(op_name)
        literal = self.take("lit")
        is_dt = path in _DATETIME_PROPS
        if is_dt and not isinstance(literal, datetime | None):
            literal = parse_datetime(str(literal))
        expected = _norm(literal, False) if not isinstance(literal, datetime) else literal
        op = _OPS[op_name]

        def compare(item: Mapping[str, Any]) -> bool:
            value = _norm(_get(item, path), is_dt)
            if value is None or expected is None:
                return op_name in ("eq", "ne") and op(value, expected)
            try:
                return bool(op(value, expected))
            except TypeError:
                return op_name == "ne"

        return compare


def compile_filter(text: str, properties: frozenset[str] = TASK_PROPERTIES) -> Predicate:
    """Compile ``text`` into a predicate over wire-format dicts; raise `FilterError`."""
    tokens = _tokenize(text)
    if not tokens:
        raise FilterError("the filter is empty")
    return _Parser(tokens, properties).parse()
