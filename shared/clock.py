"""The clock seam: services ask a ``Clock`` for the time; pure code is handed the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TickingClock:
    """Starts at ``at`` and moves on by ``step`` at every reading: distinct, ordered times for
    tests that take several snapshots in a row."""

    def __init__(self, at: datetime, step: timedelta = timedelta(seconds=1)) -> None:
        self._at = at
        self._step = step

    def now(self) -> datetime:
        current = self._at
        self._at = current + self._step
        return current


class FixedClock:
    """A clock that says what it is told; for tests and for replaying a run."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at = self._at + timedelta(**delta)
