"""Handlers of the task file operations: list, get (with ``ocp-range``), properties (HEAD)
and delete, under ``/jobs/{job}/tasks/{task}/files``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from ._conditions import check_conditions
from ._context import RequestContext
from ._faults import Faults
from ._files import TaskFile, content_type_of, normalize_path
from ._filter import FILE_PROPERTIES
from ._query import bad_query, paginate, parse_list_options
from ._responses import empty_response, json_response
from ._state import JobRecord, Store, TaskRecord, http_date, iso

__all__ = ["INVALID_URL_BODY", "FileHandlers"]

#: What the service's front end (HTTP.sys) answers, as ``text/html``, for a path with control
#: characters (a recording shows ``wd%09askOut.txt`` answered so, ``content-length: 324``).
INVALID_URL_BODY = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">'
    b'\r\n<HTML><HEAD><TITLE>Bad Request</TITLE>\r\n<META HTTP-EQUIV="Content-Type" '
    b'Content="text/html; charset=us-ascii"></HEAD>\r\n<BODY><h2>Bad Request - Invalid URL</h2>'
    b"\r\n<hr><p>HTTP Error 400. The request URL is invalid.</p>\r\n</BODY></HTML>\r\n"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class FileHandlers:
    """The task file endpoints of one emulator."""

    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.config = store.config
        self.faults = faults

    def _files(self, ctx: RequestContext) -> tuple[JobRecord, TaskRecord, dict[str, TaskFile]]:
        job, task = ctx.task_or_404(self.store)
        self.store.settle(job, task)
        files = self.store.task_files(job, task)
        if files is None:
            raise ctx.error(
                409,
                "TaskFilesUnavailable",
                message="The files of the specified task are unavailable.",
                values=(("Reason", "The task has not started on a compute node yet."),),
            )
        return job, task, files

    def _url(self, ctx: RequestContext, job: JobRecord, task: TaskRecord, name: str) -> str:
        return f"{ctx.base_url}/jobs/{job.id}/tasks/{task.id}/files/{name}"

    def _one(self, ctx: RequestContext) -> tuple[JobRecord, TaskRecord, TaskFile]:
        raw = ctx.path_params["file_path"]
        job, task, files = self._files(ctx)
        path = normalize_path(raw)
        entry = files.get(path) if path is not None else None
        if entry is None:
            raise ctx.error(404, "FileNotFound", values=(("FilePath", raw),))
        return job, task, entry

    def _headers(
        self, ctx: RequestContext, job: JobRecord, task: TaskRecord, entry: TaskFile
    ) -> dict[str, str]:
        return {
            "content-type": content_type_of(entry.name),
            "last-modified": http_date(entry.modified),
            "ocp-batch-file-isdirectory": "True" if entry.is_directory else "False",
            "ocp-batch-file-mode": entry.mode,
            "ocp-batch-file-url": quote(self._url(ctx, job, task, entry.name), safe=""),
        }

    async def list(self, ctx: RequestContext) -> Response:
        recursive_text = ctx.query.get("recursive")
        recursive = False
        if recursive_text is not None:
            lowered = recursive_text.strip().lower()
            if lowered not in ("true", "false"):
                raise bad_query(ctx, "recursive", recursive_text, "Use true or false.")
            recursive = lowered == "true"
        job, task, files = self._files(ctx)
        options = parse_list_options(
            ctx, FILE_PROPERTIES, self.config.max_results, expandable=False
        )
        await self.faults.before_commit(ctx)
        names = sorted(name for name in files if recursive or "/" not in name)
        start = 0
        if options.after is not None:
            start = next((i for i, name in enumerate(names) if name > options.after), len(names))

        def to_wire(entry: TaskFile) -> dict[str, Any]:
            wire: dict[str, Any] = {
                "name": entry.name,
                "url": self._url(ctx, job, task, entry.name),
                "isDirectory": entry.is_directory,
            }
            if not entry.is_directory:
                wire["properties"] = {
                    "lastModified": iso(entry.modified),
                    "contentLength": str(len(entry.content)),
                    "contentType": content_type_of(entry.name),
                    "fileMode": entry.mode,
                }
            return wire

        body = paginate(
            ctx,
            options,
            ((name, files[name]) for name in names[start:]),
            to_wire,
            path=f"/jobs/{job.id}/tasks/{task.id}/files",
            metadata="files",
        )
        await self.faults.after_commit(ctx)
        return json_response(200, body)

    async def get(self, ctx: RequestContext) -> Response:
        if _CONTROL.search(ctx.path_params["file_path"]):
            return _invalid_url()
        job, task, entry = self._one(ctx)
        check_conditions(ctx, "", entry.modified, read=True)
        headers = self._headers(ctx, job, task, entry)
        content = entry.content
        if ctx.request.method == "HEAD":
            await self.faults.before_commit(ctx)
            await self.faults.after_commit(ctx)
            headers["content-length"] = str(len(content))
            return Response(b"", status_code=200, headers=headers)
        wanted = ctx.request.headers.get("ocp-range")
        if wanted is not None:
            content = _slice(ctx, content, wanted)
        await self.faults.before_commit(ctx)
        await self.faults.after_commit(ctx)
        return Response(content, status_code=200, headers=headers)

    async def delete(self, ctx: RequestContext) -> Response:
        if _CONTROL.search(ctx.path_params["file_path"]):
            return _invalid_url()
        job, task, entry = self._one(ctx)
        recursive_text = (ctx.query.get("recursive") or "false").strip().lower()
        if recursive_text not in ("true", "false"):
            raise bad_query(ctx, "recursive", ctx.query["recursive"], "Use true or false.")
        if entry.is_directory and recursive_text != "true":
            files = self.store.task_files(job, task) or {}
            if any(name.startswith(entry.name + "/") for name in files):
                raise ctx.error(
                    409,
                    "OperationInvalidForCurrentState",
                    message="The directory is not empty; delete it with recursive=true.",
                    values=(("FilePath", entry.name),),
                )
        await self.faults.before_commit(ctx)
        self.store.delete_task_file(job, task, entry.name)
        await self.faults.after_commit(ctx)
        return empty_response(200, {})


def _slice(ctx: RequestContext, content: bytes, wanted: str) -> bytes:
    """The ``ocp-range: bytes=START-END`` (inclusive; ``START-``, ``-SUFFIX``) of ``content``."""
    match = _RANGE.match(wanted)
    size = len(content)
    if match is None or not (match.group(1) or match.group(2)):
        raise ctx.error(
            400, "InvalidHeaderValue", values=(("HeaderName", "ocp-range"), ("HeaderValue", wanted))
        )
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:
        start = max(0, size - int(last))
        end = size - 1
    if start >= size or end < start:
        raise ctx.error(
            416,
            "InvalidRange",
            message="The range specified is invalid for the current size of the resource.",
            values=(("ContentLength", str(size)), ("RequestedRange", wanted)),
        )
    return content[start : end + 1]


def _invalid_url() -> Response:
    return Response(
        INVALID_URL_BODY, status_code=400, headers={"content-type": "text/html; charset=us-ascii"}
    )
