"""batch_tasks_async: an asyncio-native SDK for the Azure Batch Task REST API.

The public surface is re-exported here; modules whose names start with ``_`` are private.
``models`` holds the wire types and ``errors`` the exception tree.
"""

from __future__ import annotations

from . import errors, models
from ._bulk import BulkOptions, BulkProgress, BulkRetryPolicy, TaskAddStream
from ._client import BatchClient
from ._credentials import (
    BATCH_SCOPE,
    AccessTokenLike,
    AsyncTokenCredential,
    AsyncTokenInfoCredential,
    BearerTokenCredential,
    NamedKeyCredential,
    SharedKeyCredential,
)
from ._files import TaskFileDownload, TaskFileProperties
from ._options import CallOptions, ConditionalCallOptions, TimeConditionalCallOptions
from ._paging import AsyncPager, Page
from ._pipeline import DEFAULT_API_VERSION, RetryPolicy
from ._response import Response, ResponseMetadata
from ._retry import is_testing, set_testing
from ._version import __version__
from ._wait_ledger import CompletedTask, TaskFailure, WaitProgress, WaitSummary

__all__ = [
    "BATCH_SCOPE",
    "DEFAULT_API_VERSION",
    "AccessTokenLike",
    "AsyncPager",
    "AsyncTokenCredential",
    "AsyncTokenInfoCredential",
    "BatchClient",
    "BearerTokenCredential",
    "BulkOptions",
    "BulkProgress",
    "BulkRetryPolicy",
    "CallOptions",
    "CompletedTask",
    "ConditionalCallOptions",
    "NamedKeyCredential",
    "Page",
    "Response",
    "ResponseMetadata",
    "RetryPolicy",
    "SharedKeyCredential",
    "TaskAddStream",
    "TaskFailure",
    "TaskFileDownload",
    "TaskFileProperties",
    "TimeConditionalCallOptions",
    "WaitProgress",
    "WaitSummary",
    "__version__",
    "errors",
    "is_testing",
    "models",
    "set_testing",
]

# Show the public import path in reprs and docs, as httpx does.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
