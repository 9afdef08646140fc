"""RetryPolicy on its own: the wait formula, Retry-After, the budget and the final error."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from shared.connxio import RetryPolicy
from shared.connxio.auth import parse_retry_after
from shared.errors import ConnxioAuthError, ConnxioProtocolError, ConnxioTransientError
from tests.connxio.conftest import RecordingSleep


class Failing:
    """An attempt that fails with the given errors in turn, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def transient(retry_after: float | None = None) -> ConnxioTransientError:
    return ConnxioTransientError(
        "answered HTTP 503", operation="GET /v2/integrations", status=503, retry_after=retry_after
    )


def test_waits_double_from_the_base_delay_without_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0, jitter=0.0)

    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_waits_never_exceed_max_delay() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0, jitter=0.0)

    assert policy.delay(10) == 3.0


def test_jitter_keeps_waits_within_the_fraction_of_the_nominal_wait() -> None:
    policy = RetryPolicy(base_delay=2.0, jitter=0.25, rng=random.Random(1))

    waits = [policy.delay(1) for _ in range(200)]

    assert all(1.5 <= w <= 2.5 for w in waits)
    assert len(set(waits)) > 1


def test_a_seeded_rng_makes_the_waits_reproducible() -> None:
    first = RetryPolicy(rng=random.Random(42))
    second = RetryPolicy(rng=random.Random(42))

    assert [first.delay(n) for n in range(1, 5)] == [second.delay(n) for n in range(1, 5)]


def test_retry_after_is_used_as_is_without_jitter() -> None:
    policy = RetryPolicy(jitter=0.5, rng=random.Random(3))

    assert policy.delay(1, transient(retry_after=7)) == 7.0


def test_retry_after_is_capped_at_max_delay() -> None:
    assert RetryPolicy(max_delay=10.0).delay(1, transient(retry_after=3600)) == 10.0


def test_none_makes_exactly_one_attempt() -> None:
    assert RetryPolicy.none().max_attempts == 1


@pytest.mark.parametrize(
    "arguments",
    [{"max_attempts": 0}, {"base_delay": -1.0}, {"jitter": 1.5}, {"total_time": -1.0}],
)
def test_nonsense_settings_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**arguments)  # type: ignore[arg-type]


async def test_run_returns_once_an_attempt_succeeds() -> None:
    sleeps = RecordingSleep()
    attempt = Failing(transient(), ConnxioProtocolError("not JSON", operation="GET /x"))

    result = await RetryPolicy(sleep=sleeps, jitter=0.0).run(attempt)

    assert result == "done"
    assert attempt.calls == 3
    assert sleeps.waits == [0.5, 1.0]


async def test_run_raises_answers_that_will_not_change_at_once() -> None:
    sleeps = RecordingSleep()
    attempt = Failing(ConnxioAuthError("refused", operation="GET /x"))

    with pytest.raises(ConnxioAuthError):
        await RetryPolicy(sleep=sleeps).run(attempt)

    assert attempt.calls == 1
    assert sleeps.waits == []


async def test_run_gives_up_after_max_attempts_with_the_count_in_the_message() -> None:
    sleeps = RecordingSleep()
    attempt = Failing(*(transient() for _ in range(3)))

    with pytest.raises(ConnxioTransientError) as caught:
        await RetryPolicy(max_attempts=3, sleep=sleeps).run(attempt)

    assert attempt.calls == 3
    assert len(sleeps.waits) == 2
    assert str(caught.value).startswith("GET /v2/integrations: answered HTTP 503")
    assert "gave up after 3 attempts" in str(caught.value)
    assert "try again later" in str(caught.value)
    assert caught.value.status == 503


async def test_a_persistent_protocol_error_is_raised_as_a_protocol_error() -> None:
    attempt = Failing(*(ConnxioProtocolError("not JSON", operation="GET /x") for _ in range(2)))

    with pytest.raises(ConnxioProtocolError) as caught:
        await RetryPolicy(max_attempts=2, sleep=RecordingSleep()).run(attempt)

    assert "gave up after 2 attempts" in str(caught.value)


async def test_a_caller_may_narrow_what_is_retried() -> None:
    attempt = Failing(transient())

    with pytest.raises(ConnxioTransientError):
        await RetryPolicy(sleep=RecordingSleep()).run(attempt, retryable=lambda error: False)

    assert attempt.calls == 1


def test_retry_after_in_seconds_is_parsed() -> None:
    assert parse_retry_after("120") == 120.0


def test_retry_after_as_an_http_date_is_parsed_relative_to_now() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert parse_retry_after(header, now=now.timestamp) == 90.0


def test_retry_after_in_the_past_means_now() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now - timedelta(seconds=90), usegmt=True)

    assert parse_retry_after(header, now=now.timestamp) == 0.0


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "nan"])
def test_absent_or_garbled_retry_after_is_ignored(header: str | None) -> None:
    assert parse_retry_after(header) is None
