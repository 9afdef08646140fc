"""Transient trouble is retried within bounds; calls that could duplicate work are not resent."""

from __future__ import annotations

import pytest

from shared.connxio import ClientCredentials, ConnxioClient, RetryPolicy
from shared.errors import ConnxioProtocolError, ConnxioTransientError
from shared.simulator import Fault, Simulator
from tests.connxio.conftest import FakeClock, RecordingSleep

API = r"/v2/.*"  # faults aimed at the API, not at the token endpoint


async def test_429_with_retry_after_waits_exactly_that_long_then_succeeds(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
) -> None:
    simulator.inject(Fault(kind="status", status=429, retry_after=7, path=API))

    got = await client.list_integrations(api_key)

    assert got == simulator.integrations(sub_id)
    assert sleeps.waits == [7.0]
    assert client.stats.retries == 1
    assert client.stats.requests == 2


async def test_retry_after_longer_than_max_delay_is_capped(
    simulator: Simulator, credentials: ClientCredentials, sleeps: RecordingSleep, api_key: str
) -> None:
    simulator.inject(Fault(kind="status", status=503, retry_after=600, path=API))
    retry = RetryPolicy(max_delay=5.0, sleep=sleeps)
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry
    ) as client:
        await client.list_integrations(api_key)

    assert sleeps.waits == [5.0]


async def test_transient_server_errors_are_retried_with_growing_waits_then_succeed(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
) -> None:
    simulator.inject(Fault(kind="status", status=503, times=3, path=API))

    got = await client.list_integrations(api_key)

    assert got == simulator.integrations(sub_id)
    assert client.stats.retries == 3
    # base 0.5 s doubling, each within +-50 % jitter
    for attempt, wait in enumerate(sleeps.waits, start=1):
        nominal = 0.5 * 2 ** (attempt - 1)
        assert nominal * 0.5 <= wait <= nominal * 1.5


async def test_retries_stop_when_the_next_wait_would_pass_the_total_time(
    simulator: Simulator, credentials: ClientCredentials, api_key: str
) -> None:
    clock = FakeClock()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    retry = RetryPolicy(
        max_attempts=10, base_delay=1.0, jitter=0.0, total_time=5.0, sleep=sleep, clock=clock
    )
    simulator.inject(Fault(kind="status", status=503, times=None, path=API))
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry
    ) as client:
        with pytest.raises(ConnxioTransientError) as caught:
            await client.list_integrations(api_key)

    assert waits == [1.0, 2.0]  # a third wait of 4 s would end at 7 s > 5 s
    assert client.stats.requests == 3
    assert "3 attempts" in str(caught.value)
    assert "5 s retry budget" in str(caught.value)


@pytest.mark.parametrize("kind", ["drop", "drop_mid_body", "truncated", "html", "malformed"])
async def test_a_broken_answer_to_a_read_is_retried_then_succeeds(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
    kind: str,
) -> None:
    simulator.inject(Fault(kind=kind, path=r"/v2/integrations"))  # type: ignore[arg-type]

    got = await client.list_integrations(api_key)

    assert got == simulator.integrations(sub_id)
    assert len(sleeps.waits) == 1


async def test_a_slow_answer_times_out_and_is_retried(
    simulator: Simulator,
    credentials: ClientCredentials,
    sleeps: RecordingSleep,
    sub_id: str,
    api_key: str,
) -> None:
    simulator.inject(Fault(kind="latency", delay=1.0, path=r"/v2/integrations"))
    async with ConnxioClient(
        base_url=simulator.base_url,
        credentials=credentials,
        retry=RetryPolicy(sleep=sleeps),
        timeout=0.2,
    ) as client:
        got = await client.list_integrations(api_key)

    assert got == simulator.integrations(sub_id)
    assert len(sleeps.waits) == 1


async def test_an_upsert_with_an_id_is_resent_after_a_dropped_answer(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
) -> None:
    config = dict(simulator.integrations(sub_id)[0], description="after the drop")
    simulator.inject(Fault(kind="drop_mid_body", method="POST", path=API))

    result = await client.upsert_integration(api_key, config)

    assert result.config["description"] == "after the drop"
    assert len(sleeps.waits) == 1


async def test_an_upsert_without_an_id_is_not_resent_when_it_may_have_been_applied(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
) -> None:
    config = {k: v for k, v in simulator.integrations(sub_id)[0].items() if k != "id"}
    before = len(simulator.integrations(sub_id))
    simulator.inject(Fault(kind="truncated", method="POST", path=API))

    with pytest.raises(ConnxioProtocolError) as caught:
        await client.upsert_integration(api_key, config)

    assert sleeps.waits == []
    assert "not resent" in str(caught.value)
    assert len(simulator.integrations(sub_id)) == before + 1  # created once, not twice


async def test_an_upsert_without_an_id_is_resent_after_a_rate_limit(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
) -> None:
    config = {k: v for k, v in simulator.integrations(sub_id)[0].items() if k != "id"}
    before = len(simulator.integrations(sub_id))
    simulator.inject(Fault(kind="status", status=429, retry_after=1, method="POST", path=API))

    result = await client.upsert_integration(api_key, config)

    assert result.created is True
    assert sleeps.waits == [1.0]
    assert len(simulator.integrations(sub_id)) == before + 1


async def test_a_delete_resent_after_a_dropped_answer_counts_the_404_as_done(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
) -> None:
    integration_id = simulator.integrations(sub_id)[0]["id"]
    simulator.inject(Fault(kind="drop_mid_body", method="DELETE", path=API))

    await client.delete_integration(api_key, integration_id)

    assert integration_id not in [c["id"] for c in simulator.integrations(sub_id)]
    assert len(sleeps.waits) == 1


async def test_no_retry_policy_makes_a_single_attempt(
    simulator: Simulator, credentials: ClientCredentials, api_key: str
) -> None:
    simulator.inject(Fault(kind="status", status=503, path=API))
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=RetryPolicy.none()
    ) as client:
        with pytest.raises(ConnxioTransientError):
            await client.list_integrations(api_key)

    assert client.stats.requests == 1
