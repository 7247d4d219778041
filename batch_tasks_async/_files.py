"""``client.file``: the files a task leaves on its node (``/jobs/{jobId}/tasks/{taskId}/files``).

Listing is a pager of [`NodeFile`][batch_tasks_async.models.NodeFile]; reading a file is
streamed (httpx streaming, never the whole file in memory) to an async iterator of bytes or to a
path; the properties come from the ``ocp-batch-file-*`` headers of a ``HEAD``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self, Unpack
from urllib.parse import unquote

import anyio
import attrs
import httpx

from . import _routes as routes
from . import models
from ._dates import parse_http_date
from ._operations import TaskOperations
from ._options import CallOptions, RequestOptions, TimeConditionalCallOptions, check_listing
from ._paging import AsyncPager
from ._pipeline import CallState, Pipeline
from ._response import ResponseMetadata, unusable
from .errors import ClientValidationError

__all__ = ["FileOperations", "TaskFileDownload", "TaskFileProperties"]

#: Bytes read from the network at a time while streaming a file.
DEFAULT_CHUNK_SIZE: Final = 64 * 1024

_RANGE: Final = re.compile(r"bytes=(\d*)-(\d*)")


@attrs.frozen(kw_only=True)
class TaskFileProperties:
    """What the service says about a task file, read from the reply's headers.

    Attributes:
        url: The file's URL (``ocp-batch-file-url``, percent-decoded).
        is_directory: Whether the path is a directory (``ocp-batch-file-isdirectory``).
        content_length: The size in bytes (``Content-Length``); ``None`` when a download is sent
            chunked without one.
        content_type: The ``Content-Type``.
        last_modified: When the file was last modified (``Last-Modified``).
        creation_time: When the file was created (``ocp-creation-time``; not sent for files on
            Linux nodes).
        file_mode: The file mode in octal (``ocp-batch-file-mode``, Linux nodes only), e.g.
            ``"0o100644"``.
        e_tag: The ``ETag``, if sent.
        request_id: The service's ``request-id``.
        client_request_id: The ``client-request-id`` sent (or echoed).
    """

    url: str | None = None
    is_directory: bool | None = None
    content_length: int | None = None
    content_type: str | None = None
    last_modified: datetime | None = None
    creation_time: datetime | None = None
    file_mode: str | None = None
    e_tag: str | None = None
    request_id: str | None = None
    client_request_id: str | None = None

    @classmethod
    def from_response(
        cls, response: httpx.Response, client_request_id: str | None = None
    ) -> TaskFileProperties:
        """Read the ``ocp-batch-file-*`` and entity headers of ``response``.

        Raises:
            ResponseDecodeError: A header is present but malformed.
        """
        headers = response.headers

        def date(name: str) -> datetime | None:
            raw = headers.get(name)
            if raw is None:
                return None
            parsed = parse_http_date(raw)
            if parsed is None:
                raise unusable(response, f"the {name} header is not an HTTP date: {raw!r}")
            return parsed

        raw_dir = headers.get("ocp-batch-file-isdirectory")
        is_directory: bool | None = None
        if raw_dir is not None:
            if raw_dir.strip().lower() not in ("true", "false"):
                raise unusable(
                    response, f"ocp-batch-file-isdirectory is not true or false: {raw_dir!r}"
                )
            is_directory = raw_dir.strip().lower() == "true"
        raw_length = headers.get("content-length")
        length: int | None = None
        if raw_length is not None:
            if not raw_length.strip().isdigit():
                raise unusable(response, f"Content-Length is not a size: {raw_length!r}")
            length = int(raw_length)
        raw_url = headers.get("ocp-batch-file-url")
        return cls(
            url=unquote(raw_url) if raw_url is not None else None,
            is_directory=is_directory,
            content_length=length,
            content_type=headers.get("content-type"),
            last_modified=date("last-modified"),
            creation_time=date("ocp-creation-time"),
            file_mode=headers.get("ocp-batch-file-mode"),
            e_tag=headers.get("etag"),
            request_id=headers.get("request-id"),
            client_request_id=headers.get("client-request-id") or client_request_id,
        )


def _flag(name: str, value: bool | None) -> str | None:
    """A boolean query parameter as the service spells it (``true``/``false``), or ``None``."""
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ClientValidationError(f"{name} must be a bool, got {value!r}")
    return "true" if value else "false"


def _check_range(ocp_range: str | None) -> str | None:
    if ocp_range is None:
        return None
    match = _RANGE.fullmatch(ocp_range.strip()) if isinstance(ocp_range, str) else None
    if (
        match is None
        or not (match[1] or match[2])
        or (match[1] and match[2] and int(match[2]) < int(match[1]))
    ):
        raise ClientValidationError(
            "ocp_range must be 'bytes=START-END' (START <= END), 'bytes=START-' or "
            f"'bytes=-SUFFIX', got {ocp_range!r}"
        )
    return ocp_range.strip()


class TaskFileDownload:
    """A task file being read, returned at once by
    [`FileOperations.get_from_task`][batch_tasks_async._files.FileOperations.get_from_task].

    Three ways to use it:

    * ``async for chunk in download``: the file's bytes as they arrive (the request is sent
      when the loop starts and closed when the loop runs to its end);
    * ``async with download as d``: the reply is open inside the block, ``d.properties`` holds
      the headers' [`TaskFileProperties`][batch_tasks_async._files.TaskFileProperties], then
      ``async for chunk in d``; the connection is released when the block ends, also when the
      loop is left early (prefer this form when you may ``break``);
    * ``await download.to_path(path)``: stream to a file (written next to it, then renamed over
      it, so a failed download never leaves a partial file at ``path``); or
      ``await download.read()`` for a small file.

    A failure while the body arrives raises
    [`BatchConnectionError`][batch_tasks_async.errors.BatchConnectionError] or
    [`BatchTimeoutError`][batch_tasks_async.errors.BatchTimeoutError], and closing the client
    before or while it arrives raises
    [`ClientClosedError`][batch_tasks_async.errors.ClientClosedError]; the request is not
    retried once bytes were received (ask for the rest with ``ocp_range``).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        open_response: Callable[[], Awaitable[httpx.Response]],
        chunk_size: int,
    ) -> None:
        self._pipeline = pipeline
        self._open = open_response
        self._chunk_size = chunk_size
        self._response: httpx.Response | None = None
        self._client_request_id: str | None = None
        #: The file's properties, known once the reply has arrived (inside ``async with``).
        self.properties: TaskFileProperties | None = None

    def __repr__(self) -> str:
        return f"<TaskFileDownload open={self._response is not None}>"

    async def __aenter__(self) -> Self:
        if self._response is not None:
            raise ClientValidationError("this download is already open")
        response = await self._open()
        try:
            self.properties = TaskFileProperties.from_response(response)
        except BaseException:
            await response.aclose()
            raise
        self._response = response
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_bytes()

    async def iter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Yield the file's bytes as they arrive (see the class docs)."""
        if self._response is not None:
            async for chunk in self._body(self._response):
                yield chunk
            return
        async with self:
            async for chunk in self._body(self._opened()):
                yield chunk

    def _opened(self) -> httpx.Response:
        if self._response is None:
            raise ClientValidationError("the download is not open")
        return self._response

    def _body(self, response: httpx.Response) -> AsyncGenerator[bytes, None]:
        return self._pipeline.iter_bytes(response, self._chunk_size)

    async def read(self) -> bytes:
        """The whole file, in memory (for small files such as ``stderr.txt``)."""
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def to_path(self, path: str | os.PathLike[str]) -> TaskFileProperties:
        """Stream the file to ``path`` (replaced only once the download completed).

        Returns:
            The file's properties, as the reply's headers gave them.

        Raises:
            ClientValidationError: ``path`` is a directory, or its directory does not exist.
        """
        target = anyio.Path(path)
        if await target.is_dir():
            raise ClientValidationError(f"{target} is a directory; pass the path of a file")
        if not await target.parent.is_dir():
            raise ClientValidationError(f"the directory of {target} does not exist")
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        try:
            async with self, await anyio.open_file(partial, "wb") as out:
                async for chunk in self._body(self._opened()):
                    await out.write(chunk)
            await partial.replace(target)
        finally:
            await partial.unlink(missing_ok=True)
        assert self.properties is not None
        return self.properties


class FileOperations:
    """The Task file operations, reached as ``client.file``.

    Each method takes the REST API's options as keyword arguments, as
    [`TaskOperations`][batch_tasks_async._operations.TaskOperations] does (the
    `CallOptions`: ``timeout``, ``client_request_id``,
    ``return_client_request_id``, ``ocp_date``, ``retry_policy``; reading a file and its
    properties also take the time conditions ``if_modified_since`` / ``if_unmodified_since``,
    the [`TimeConditionalCallOptions`][batch_tasks_async.TimeConditionalCallOptions]).
    ``file_path`` is the path relative to the task's directory, e.g. ``"stdout.txt"`` or
    ``"wd/out/result.json"``: each ``/``-separated segment is percent-encoded on its own, and
    an empty, ``.`` or ``..`` segment is refused with
    [`ClientValidationError`][batch_tasks_async.errors.ClientValidationError] before anything
    is sent.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._tasks = TaskOperations(pipeline)  # for its pager plumbing

    def __repr__(self) -> str:
        return f"<FileOperations endpoint={self._pipeline.endpoint!r}>"

    def list_from_task(
        self,
        job_id: str,
        task_id: str,
        *,
        recursive: bool | None = None,
        filter: str | None = None,
        max_results: int | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[models.NodeFile]:
        """List a task's files (``GET /jobs/{jobId}/tasks/{taskId}/files``); returns a pager.

        Args:
            recursive: Also list the files under the task's subdirectories (``wd/...``).
            filter: An OData ``$filter``, e.g. ``"startswith(name, 'wd')"``.
            max_results: Most files per page (1 to 1000).
            **options: The call options, used for every page.

        For example:

            async for f in client.file.list_from_task("job-1", "t1", recursive=True):
                if not f.is_directory:
                    print(f.name, f.properties.content_length)

        Raises:
            NotFoundError: ``JobNotFound`` / ``TaskNotFound`` (when the pager is iterated).
        """
        check_listing(max_results, filter)
        request = RequestOptions.from_call(options, conditional=False)
        params: dict[str, Any] = {
            "$filter": filter,
            "recursive": _flag("recursive", recursive),
            "maxresults": max_results,
            "timeout": request.timeout,
        }
        first = self._pipeline.url(routes.task_files(job_id, task_id), params)
        return AsyncPager(self._tasks._page_fetcher(first, models.NodeFile, request))

    def get_from_task(
        self,
        job_id: str,
        task_id: str,
        file_path: str,
        *,
        ocp_range: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        **options: Unpack[TimeConditionalCallOptions],
    ) -> TaskFileDownload:
        """Read a task file (``GET .../files/{filePath}``), streamed; returns at once.

        Args:
            ocp_range: The bytes to get: ``"bytes=START-END"`` (inclusive), ``"bytes=START-"``
                or the last bytes, ``"bytes=-SUFFIX"``; the whole file when omitted.
            chunk_size: Bytes read from the network at a time.
            **options: The call options; ``if_modified_since`` reads only a file changed
                since (else [`NotModifiedError`][batch_tasks_async.errors.NotModifiedError]),
                ``if_unmodified_since`` only one not changed since (else
                [`PreconditionFailedError`][batch_tasks_async.errors.PreconditionFailedError]).

        Returns:
            A [`TaskFileDownload`][batch_tasks_async._files.TaskFileDownload]: iterate it for
            the bytes, or ``await download.to_path(path)``.

        For example:

            await client.file.get_from_task("job-1", "t1", "stdout.txt").to_path("t1.out")
            async for chunk in client.file.get_from_task("job-1", "t1", "stderr.txt"):
                sys.stdout.buffer.write(chunk)

        Raises:
            NotFoundError: The job, task or file does not exist (when the download opens).
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ClientValidationError(f"chunk_size must be a positive int, got {chunk_size!r}")
        extra = [("accept", "application/octet-stream")]
        checked_range = _check_range(ocp_range)
        if checked_range is not None:
            extra.append(("ocp-range", checked_range))
        request = RequestOptions.from_call(options, conditional="time", extra_headers=tuple(extra))
        url = self._pipeline.url(
            routes.task_file(job_id, task_id, file_path), {"timeout": request.timeout}
        )
        pipeline = self._pipeline

        async def open_response() -> httpx.Response:
            return await pipeline.send("GET", url, options=request, stream=True)

        return TaskFileDownload(pipeline, open_response, chunk_size)

    async def get_properties_from_task(
        self,
        job_id: str,
        task_id: str,
        file_path: str,
        **options: Unpack[TimeConditionalCallOptions],
    ) -> TaskFileProperties:
        """A task file's properties (``HEAD .../files/{filePath}``): size, type, times, mode.

        Raises:
            NotFoundError: The job, task or file does not exist.
            NotModifiedError: ``if_modified_since`` found no change.
            PreconditionFailedError: ``if_unmodified_since`` not met.
        """
        request = RequestOptions.from_call(options, conditional="time")
        url = self._pipeline.url(
            routes.task_file(job_id, task_id, file_path), {"timeout": request.timeout}
        )
        state = CallState(client_request_id=request.client_request_id or str(uuid.uuid4()))
        response = await self._pipeline.send("HEAD", url, options=request, state=state)
        return TaskFileProperties.from_response(response, state.client_request_id)

    async def delete_from_task(
        self,
        job_id: str,
        task_id: str,
        file_path: str,
        *,
        recursive: bool | None = None,
        **options: Unpack[CallOptions],
    ) -> ResponseMetadata:
        """Delete a task file or directory (``DELETE .../files/{filePath}``).

        Args:
            recursive: For a directory, delete everything in it too; without it a directory
                must be empty.
            **options: The call options.

        Raises:
            NotFoundError: The job, task or file does not exist.
        """
        request = RequestOptions.from_call(options, conditional=False)
        url = self._pipeline.url(
            routes.task_file(job_id, task_id, file_path),
            {"recursive": _flag("recursive", recursive), "timeout": request.timeout},
        )
        state = CallState(client_request_id=request.client_request_id or str(uuid.uuid4()))
        response = await self._pipeline.send("DELETE", url, options=request, state=state)
        return ResponseMetadata.from_response(response, state.client_request_id)
