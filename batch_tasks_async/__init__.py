"""batch_tasks_async: an asyncio-native SDK for the Azure Batch Task REST API.

The public surface is re-exported here; modules whose names start with ``_`` are private.
``models`` holds the wire types and ``errors`` the exception tree.
"""

from __future__ import annotations

from . import errors, models
from ._bulk import BulkProgress, BulkRetryPolicy, TaskAddStream
from ._client import BatchClient
from ._credentials import (
    BATCH_SCOPE,
    AccessTokenLike,
    AsyncTokenCredential,
    BearerTokenCredential,
    SharedKeyCredential,
)
from ._files import TaskFileDownload, TaskFileProperties
from ._paging import AsyncPager, Page
from ._pipeline import DEFAULT_API_VERSION, RetryPolicy
from ._response import ResponseMetadata
from ._wait_ledger import CompletedTask, TaskFailure, WaitProgress, WaitSummary

__version__ = "0.1.0"

__all__ = [
    "BATCH_SCOPE",
    "DEFAULT_API_VERSION",
    "AccessTokenLike",
    "AsyncPager",
    "AsyncTokenCredential",
    "BatchClient",
    "BearerTokenCredential",
    "BulkProgress",
    "BulkRetryPolicy",
    "CompletedTask",
    "Page",
    "ResponseMetadata",
    "RetryPolicy",
    "SharedKeyCredential",
    "TaskAddStream",
    "TaskFailure",
    "TaskFileDownload",
    "TaskFileProperties",
    "WaitProgress",
    "WaitSummary",
    "__version__",
    "errors",
    "models",
]

# Show the public import path in reprs and docs, as httpx does.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
