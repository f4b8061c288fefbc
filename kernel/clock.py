"""The one source of "now" for every otklik process.

Production runs on the system clock. ``OTKLIK_CLOCK_OFFSET`` shifts it by a fixed amount, so that
a test (or a rehearsal of a month's close) runs every process at a moment it chooses — a Friday
evening, New Year's Eve — while time still passes as usual: processes started with one offset
agree on "now" whenever each of them started. Durations are measured with ``time.monotonic``,
never with this.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Clock:
    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @classmethod
    def starting_at(cls, moment: datetime) -> "Clock":
        """A clock that reads ``moment`` now and runs on from there."""
        return cls(moment - datetime.now(UTC))


SYSTEM_CLOCK = Clock()
