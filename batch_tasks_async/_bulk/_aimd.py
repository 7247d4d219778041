"""The concurrency limit of a bulk add: one update per round trip, additive increase,
decrease in proportion to what was throttled. Pure.

A *round trip* ends when a request sent after the previous update is answered. At that
moment, and only then, the limit ``L`` becomes ``L * (1 - f / 2) + (1 - f)`` (within ``[1,
concurrency]``), where ``f`` is the fraction of the tasks answered since the previous update
that the service refused for throttling (every task of a ``429`` or ``503 ServerBusy`` request,
the tasks of a per-task ``ServerBusy``). So a round trip throttled through and through halves
the limit (down to one request); a clean one raises it by one; 5% of tasks refused lowers it by
2.5% and raises it by 0.95, which balance at ``L = 38``. A burst of throttled answers to
requests that were all in flight together counts once.
"""

from __future__ import annotations

__all__ = ["Aimd"]


class Aimd:
    """The adaptive limit on requests in flight.

    Args:
        maximum: The configured ``concurrency``: the limit starts there and never exceeds it.
    """

    __slots__ = ("_answered", "_throttled", "epoch", "limit", "maximum")

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.epoch = 0  # the current round trip: requests carry the value when sent
        self._throttled = 0
        self._answered = 0

    @property
    def tokens(self) -> int:
        """How many requests may be in flight now (at least one)."""
        return max(1, int(self.limit))

    def answered(self, epoch: int, throttled: int, size: int) -> None:
        """A request of ``size`` tasks sent during round trip ``epoch`` was answered, with
        ``throttled`` of its tasks refused for throttling."""
        self._throttled += throttled
        self._answered += size
        if epoch != self.epoch:
            return  # sent before the current round trip began
        fraction = self._throttled / self._answered if self._answered else 0.0
        fraction = min(fraction, 1.0)
        limit = self.limit * (1.0 - fraction / 2.0) + (1.0 - fraction)
        self.limit = min(float(self.maximum), max(1.0, limit))
        self.epoch += 1
        self._throttled = 0
        self._answered = 0
