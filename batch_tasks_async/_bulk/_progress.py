"""Progress reporting of the bulk engine."""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["BulkProgress", "ProgressCallback"]


@attrs.frozen(kw_only=True)
class BulkProgress:
    """A snapshot of a bulk add's progress, handed to ``on_progress``.

    Attributes:
        tasks_read: Tasks taken from the input so far.
        added: Tasks the service confirmed added (including tasks whose earlier attempt had an
            ambiguous outcome and which the service then reported as existing).
        already_existed: Tasks that already existed (``if_exists="skip"``); they count as
            successes but not as ``added``.
        failed: Tasks with a final error result (from the service, or found by the client:
            invalid, duplicate or too large).
        retried: Task submissions that were retries (a request of 100 tasks sent again counts
            100).
        in_flight: Tasks in requests currently awaiting an answer.
        requests_sent: Requests sent, retries included.
        requests_in_flight: Requests currently awaiting an answer.
        throttled: Answers that asked the client to slow down (``429``, ``503``, per-task
            ``ServerBusy``).
        concurrency_limit: The current limit on requests in flight (adapted to throttling,
            never above the configured ``concurrency``).
        unconfirmed: Tasks whose outcome could not be confirmed (set when the run ends).
        elapsed: Seconds since the run started.
        done: ``True`` in the final snapshot, delivered once when the run ends (in every case:
            completion, error, deadline or cancellation).
    """

    tasks_read: int = 0
    added: int = 0
    already_existed: int = 0
    failed: int = 0
    retried: int = 0
    in_flight: int = 0
    requests_sent: int = 0
    requests_in_flight: int = 0
    throttled: int = 0
    concurrency_limit: int = 0
    unconfirmed: int = 0
    elapsed: float = 0.0
    done: bool = False

    @property
    def succeeded(self) -> int:
        """Tasks that are in the job: ``added + already_existed``."""
        return self.added + self.already_existed


#: Called with a [`BulkProgress`][batch_tasks_async.BulkProgress] a few times a second and once at
#: the end. It runs in the
#: event loop, so it must be quick and must not block; an exception it raises stops the run.
ProgressCallback = Callable[[BulkProgress], None]
