"""The concurrency limit of a bulk add: additive increase, proportional decrease. Pure.

The limit drops at most once per round trip: a request sent before the last drop carries the
old ``epoch`` and cannot drop it again, so a burst of throttled answers to requests that were
all in flight together counts once. The drop is in proportion to what was throttled: a request
throttled as a whole (``429``, ``503 ServerBusy``) halves the limit; one whose answer refused 5%
of its tasks (per-task ``ServerBusy``) lowers it by 2.5%. Every answer adds credit in
proportion to what went through, and a window's worth of credit raises the limit by one, never
above the configured ``concurrency``.
"""

from __future__ import annotations

__all__ = ["Aimd"]


class Aimd:
    """The adaptive limit on requests in flight.

    Args:
        maximum: The configured ``concurrency``: the limit starts there and never exceeds it.
    """

    __slots__ = ("_credit", "epoch", "limit", "maximum")

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.epoch = 0  # bumped at every drop: requests sent before it carry an older value
        self._credit = 0.0

    @property
    def tokens(self) -> int:
        """How many requests may be in flight now (at least one)."""
        return max(1, int(self.limit))

    def answered(self, epoch: int, throttled: float) -> None:
        """A request sent at ``epoch`` was answered; ``throttled`` is the fraction of it the
        service refused for throttling (0 to 1)."""
        if throttled > 0 and epoch == self.epoch:
            self.epoch += 1
            self.limit = max(1.0, self.limit * (1.0 - min(throttled, 1.0) / 2.0))
            self._credit = 0.0
        passed = 1.0 - min(max(throttled, 0.0), 1.0)
        if passed and self.limit < self.maximum:
            self._credit += passed
            if self._credit >= self.limit:
                self._credit = 0.0
                self.limit = min(float(self.maximum), float(int(self.limit) + 1))
