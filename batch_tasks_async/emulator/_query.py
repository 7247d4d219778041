"""Query parameters: api-version and timeout on every request, and the list options
(``$filter``, ``$select``, ``$expand``, ``maxresults``, ``$skiptoken``) with the one paging loop."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import quote

from ._config import EmulatorConfig
from ._context import RequestContext
from ._errors import EmulatorHTTPError
from ._filter import FilterError, Predicate, compile_filter

__all__ = [
    "ListOptions",
    "bad_query",
    "check_common_query",
    "paginate",
    "parse_expand",
    "parse_list_options",
    "parse_select",
    "select_fields",
]

_SKIPTOKEN_PREFIX = "WATV2:"
T = TypeVar("T")


def bad_query(ctx: RequestContext, name: str, value: str, reason: str) -> EmulatorHTTPError:
    """400 ``InvalidQueryParameterValue`` naming the parameter, its value and why."""
    return ctx.error(
        400,
        "InvalidQueryParameterValue",
        values=(
            ("QueryParameterName", name),
            ("QueryParameterValue", value),
            ("Reason", reason),
        ),
    )


def check_common_query(ctx: RequestContext, config: EmulatorConfig) -> None:
    """``api-version`` (required, one of the accepted ones) and ``timeout`` (positive int)."""
    version = ctx.query.get("api-version")
    if version is None:
        raise ctx.error(
            400,
            "MissingRequiredQueryParameter",
            values=(("QueryParameterName", "api-version"),),
        )
    if version not in config.api_versions:
        raise ctx.error(
            400,
            "UnsupportedRequestVersion",
            values=(
                ("QueryParameterName", "api-version"),
                ("QueryParameterValue", version),
                ("Reason", "The specified api-version is not supported."),
            ),
        )
    timeout = ctx.query.get("timeout")
    if timeout is not None:
        try:
            seconds = int(timeout)
        except ValueError:
            seconds = 0
        if seconds <= 0:
            raise bad_query(ctx, "timeout", timeout, "The timeout must be a positive integer.")
        # The service caps the server-side timeout at 30 seconds; larger values mean 30.


def parse_filter(ctx: RequestContext, properties: frozenset[str]) -> Predicate | None:
    """The compiled ``$filter``, ``None`` when absent; 400 when it does not parse."""
    text = ctx.query.get("$filter")
    if text is None or not text.strip():
        return None
    try:
        return compile_filter(text, properties)
    except FilterError as exc:
        raise bad_query(ctx, "$filter", text, str(exc)) from None


def parse_select(ctx: RequestContext) -> frozenset[str] | None:
    """The lowercased ``$select`` names, ``None`` when absent."""
    text = ctx.query.get("$select")
    if text is None or not text.strip():
        return None
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())


def parse_expand(ctx: RequestContext) -> bool:
    """Whether ``$expand=stats`` was asked; anything else expanded is 400."""
    text = ctx.query.get("$expand")
    if text is None or not text.strip():
        return False
    parts = {part.strip().lower() for part in text.split(",") if part.strip()}
    if parts - {"stats"}:
        raise bad_query(ctx, "$expand", text, "Only 'stats' can be expanded on tasks.")
    return True


def parse_maxresults(ctx: RequestContext, limit: int) -> int:
    """``maxresults`` between 1 and ``limit`` (default ``limit``)."""
    text = ctx.query.get("maxresults")
    if text is None:
        return limit
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= limit:
        raise bad_query(ctx, "maxresults", text, f"maxresults must be between 1 and {limit}.")
    return value


def parse_skiptoken(ctx: RequestContext) -> str | None:
    """The key a continuation token resumes after, ``None`` on the first page."""
    token = ctx.query.get("$skiptoken")
    if token is None:
        return None
    if token.startswith(_SKIPTOKEN_PREFIX):
        try:
            raw = token[len(_SKIPTOKEN_PREFIX) :]
            return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    raise bad_query(ctx, "$skiptoken", token, "The continuation token is not valid.")


def select_fields(item: dict[str, Any], select: frozenset[str] | None) -> dict[str, Any]:
    """``item`` reduced to the ``$select``ed properties (case-insensitively)."""
    if select is None:
        return item
    return {key: value for key, value in item.items() if key.lower() in select}


class ListOptions:
    """The parsed options of one list request."""

    __slots__ = ("after", "expand", "limit", "predicate", "select")

    def __init__(
        self,
        predicate: Predicate | None,
        select: frozenset[str] | None,
        expand: bool,
        limit: int,
        after: str | None,
    ) -> None:
        self.predicate = predicate
        self.select = select
        self.expand = expand
        self.limit = limit
        self.after = after


def parse_list_options(
    ctx: RequestContext,
    properties: frozenset[str],
    max_results: int,
    *,
    expandable: bool,
) -> ListOptions:
    """Every list option of ``ctx``, validated in the service's order."""
    predicate = parse_filter(ctx, properties)
    select = parse_select(ctx)
    expand = parse_expand(ctx) if expandable else False
    limit = parse_maxresults(ctx, max_results)
    after = parse_skiptoken(ctx)
    return ListOptions(predicate, select, expand, limit, after)


def _next_link(ctx: RequestContext, path: str, limit: int, last_key: str) -> str:
    token = _SKIPTOKEN_PREFIX + base64.urlsafe_b64encode(last_key.encode()).decode().rstrip("=")
    query = ctx.query
    parts = [f"api-version={quote(query.get('api-version', ''), safe='.-')}"]
    for name in ("$filter", "$select", "$expand", "recursive", "timeout"):
        value = query.get(name)
        if value is not None:
            parts.append(f"{name}={quote(value, safe='')}")
    parts.append(f"maxresults={limit}")
    parts.append(f"$skiptoken={token}")
    return f"{ctx.base_url}{path}?{'&'.join(parts)}"


def paginate(
    ctx: RequestContext,
    options: ListOptions,
    items: Iterable[tuple[str, T]],
    to_wire: Callable[[T], dict[str, Any]],
    *,
    path: str,
    metadata: str,
) -> dict[str, Any]:
    """One page of a list: ``items`` (key, item) in list order after ``options.after``,
    filtered, ``$select``ed and cut at ``options.limit``, with ``odata.nextLink`` if more."""
    predicate = options.predicate
    select = options.select
    limit = options.limit
    page: list[dict[str, Any]] = []
    last_key: str | None = None
    more = False
    for key, item in items:
        wire = to_wire(item)
        if predicate is not None and not predicate(wire):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(select_fields(wire, select))
        last_key = key
    body: dict[str, Any] = {"odata.metadata": f"{ctx.base_url}/$metadata#{metadata}", "value": page}
    if more and last_key is not None:
        body["odata.nextLink"] = _next_link(ctx, path, limit, last_key)
    return body
