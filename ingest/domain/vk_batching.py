"""How much one ``execute`` asks VK for (pure).

VK refuses an ``execute`` whose response is over 5 MB (error 13, "Response size is too big") and
keeps nothing of it, so a batch that is too big for a busy group would fail the same way every
round. The batch is halved on that error, and before it, when a response comes near the limit,
down to a single call, which is sent on its own (the limit is execute's); should VK refuse even
that, calls ask for fewer items. Rounds whose responses leave room for twice as much grow it back
one step at a time: a quiet group goes back to 25 calls an ``execute``, a busy one settles where
its responses fit.
"""

from dataclasses import dataclass, field

EXECUTE_LIMIT = 25  # VK runs at most 25 API calls in one execute
EXECUTE_RESPONSE_LIMIT = 5 * 1024 * 1024  # VK's limit on what one execute may return
# A response above this share of the limit shrinks the next request before VK refuses one: a
# post's comments grow between two rounds.
NEAR_LIMIT = 0.8


@dataclass
class BatchSize:
    """Calls per ``execute`` and items per call for one poller; changes as VK's answers come."""

    max_calls: int = EXECUTE_LIMIT
    max_count: int = 100
    min_count: int = 10
    limit: int = EXECUTE_RESPONSE_LIMIT
    calls: int = field(init=False)
    count: int = field(init=False)
    _per_call: float = field(default=0.0, init=False)  # largest bytes per call this round
    _shrunk: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.calls, self.count = self.max_calls, self.max_count

    @property
    def near(self) -> float:
        return NEAR_LIMIT * self.limit

    def too_big(self, calls: int) -> None:
        """VK refused an execute of ``calls`` calls as too big, or one came near the limit:
        half as many (a single call is sent on its own, outside execute and its limit)."""
        self._shrunk = True
        self.calls = max(1, min(self.calls, calls) // 2)

    def fewer_items(self) -> None:
        """VK refused even a call on its own: each call asks for half the items."""
        self._shrunk = True
        self.count = max(self.min_count, self.count // 2)

    def measured(self, size: int, calls: int) -> None:
        """An ``execute`` of ``calls`` calls returned ``size`` bytes."""
        self.noted(size, calls)
        if size > self.near:
            self.too_big(calls)

    def noted(self, size: int, calls: int) -> None:
        """A response not bound by the limit (a call on its own): it only tells whether
        growing would fit."""
        self._per_call = max(self._per_call, size / max(calls, 1))

    def end_round(self) -> None:
        """Grow one step after a round that shrank nothing, if the largest call seen would
        still fit twice as many (or twice its items) under the near limit."""
        grow = not self._shrunk and self._per_call * self.calls * 2 <= self.near
        self._per_call, self._shrunk = 0.0, False
        if not grow:
            return
        if self.count < self.max_count:
            self.count = min(self.max_count, self.count * 2)
        elif self.calls < self.max_calls:
            self.calls = min(self.max_calls, self.calls * 2)
