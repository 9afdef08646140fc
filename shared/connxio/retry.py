"""Bounded retries with exponential back-off, jitter and ``Retry-After``.

What is retried: ``ConnxioTransientError`` (429, 5xx, timeouts, dropped connections) and
``ConnxioProtocolError`` (a 2xx whose body is not the promised JSON: truncated or an HTML error
page from a proxy is usually a hiccup on the way, not a lasting answer). Everything else (auth,
not found, validation) is an answer that will not change by asking again, so it is raised at once.

How long: attempt ``n`` (1-based) that failed is followed by a wait of

    min(max_delay, base_delay * 2**(n-1)) * (1 + jitter * u),  u uniform in [-1, 1]

unless the server said ``Retry-After``, which is honoured as is (capped at ``max_delay``; the
server knows its rate limit better than our formula, and jitter would only make us early).
The loop stops when ``max_attempts`` are used up or when the next wait would end after
``total_time`` seconds from the first attempt; it then raises the last error, re-worded to say
how many attempts were made and to try again later.

``sleep``, ``clock`` and ``rng`` are injected so tests run without waiting and deterministically;
``RetryPolicy.none()`` makes a single attempt.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from shared.errors import ConnxioError, ConnxioProtocolError, ConnxioTransientError

__all__ = ["RetryPolicy", "is_retryable"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_default_rng = random.Random()  # jitter only spreads load; it needs no cryptographic quality


def is_retryable(error: BaseException) -> bool:
    """Whether asking again may give a different answer (transient or protocol errors)."""
    return isinstance(error, ConnxioTransientError | ConnxioProtocolError)


def _bare_message(error: ConnxioError) -> str:
    """The message without the ``"<operation>: "`` prefix ``ConnxioError`` adds."""
    text = str(error)
    prefix = f"{error.operation}: "
    return text[len(prefix) :] if error.operation and text.startswith(prefix) else text


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a Connxio call is retried. Immutable; share it freely."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    total_time: float = 120.0
    jitter: float = 0.5
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    rng: random.Random | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.total_time < 0:
            raise ValueError("RetryPolicy delays and total_time must be >= 0 seconds")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter is a fraction between 0 and 1")

    @classmethod
    def none(cls, **overrides: object) -> RetryPolicy:
        """One attempt, no retries: for tests, or where a caller retries on its own terms."""
        return cls(max_attempts=1, **overrides)  # type: ignore[arg-type]

    def delay(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(self.max_delay, max(0.0, float(retry_after)))
        computed = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        u = (self.rng or _default_rng).uniform(-1.0, 1.0)
        return max(0.0, computed * (1 + self.jitter * u))

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        operation: str = "",
        retryable: Callable[[BaseException], bool] = is_retryable,
        on_retry: Callable[[int, float, BaseException], None] | None = None,
    ) -> T:
        """Call ``attempt()`` until it returns, fails for good, or the budget is spent.

        ``retryable`` decides per error whether asking again is safe (a non-idempotent call may
        narrow it); ``on_retry(attempt_number, wait, error)`` is told before every wait.
        """
        started = self.clock()
        number = 0
        while True:
            number += 1
            try:
                return await attempt()
            except ConnxioError as error:
                if not retryable(error):
                    raise
                wait = self.delay(number, error)
                if number >= self.max_attempts or self.clock() - started + wait > self.total_time:
                    final = self._give_up(error, number, out_of_time=number < self.max_attempts)
                    if final is error:
                        raise
                    raise final from error
                logger.warning(
                    "%s: attempt %d of %d failed (%s); retrying in %.2f s",
                    error.operation or operation,
                    number,
                    self.max_attempts,
                    _bare_message(error),
                    wait,
                )
                if on_retry is not None:
                    on_retry(number, wait, error)
                await self.sleep(wait)

    def _give_up(self, error: ConnxioError, attempts: int, *, out_of_time: bool) -> ConnxioError:
        """The last error, re-worded to say that we stopped, after how much, and what to do."""
        if self.max_attempts == 1:
            return error  # retrying was switched off: there is nothing to add
        why = f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}"
        if out_of_time:
            why += f", as the next wait would pass the {self.total_time:g} s retry budget"
        bare = _bare_message(error)
        advice = "" if "try again later" in bare else "; try again later"
        message = f"{bare} ({why}{advice})"
        if isinstance(error, ConnxioTransientError):
            return ConnxioTransientError(
                message,
                operation=error.operation,
                status=error.status,
                retry_after=error.retry_after,
            )
        if type(error) is ConnxioProtocolError:
            return ConnxioProtocolError(message, operation=error.operation, status=error.status)
        return error  # a caller-defined retryable error we cannot rebuild faithfully
