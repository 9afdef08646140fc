"""OAuth tokens: cached, refreshed before expiry and once on a 401, and kept secret."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from shared.connxio import ClientCredentials, ConnxioClient, RetryPolicy
from shared.errors import ConnxioAuthError, ConnxioTransientError
from shared.simulator import Fault, Simulator
from tests.connxio.conftest import FakeClock, RecordingSleep, RecordingTransport, SecretCheck


def _credentials(simulator: Simulator, **overrides: object) -> ClientCredentials:
    arguments: dict[str, object] = {
        "token_url": simulator.token_url,
        "client_id": simulator.client_id,
        "client_secret": simulator.client_secret,
        "scope": simulator.scope,
    }
    arguments.update(overrides)
    return ClientCredentials(**arguments)  # type: ignore[arg-type]


async def test_one_token_request_serves_many_calls(
    client: ConnxioClient, simulator: Simulator, api_key: str
) -> None:
    for _ in range(5):
        await client.list_integrations(api_key)

    assert simulator.token_requests == 1


async def test_concurrent_first_calls_share_one_token_request(
    client: ConnxioClient, simulator: Simulator, api_key: str
) -> None:
    await asyncio.gather(*(client.list_integrations(api_key) for _ in range(20)))

    assert simulator.token_requests == 1


async def test_the_token_is_refreshed_when_it_comes_within_the_margin_of_expiry(
    simulator: Simulator, retry: RetryPolicy, api_key: str
) -> None:
    clock = FakeClock()
    credentials = _credentials(simulator, refresh_margin=60.0, clock=clock)
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry
    ) as client:
        await client.list_integrations(api_key)
        clock.advance(3600 - 61)  # the simulator's tokens live 3600 s
        await client.list_integrations(api_key)
        assert simulator.token_requests == 1
        clock.advance(2)
        await client.list_integrations(api_key)

    assert simulator.token_requests == 2


async def test_a_token_shorter_lived_than_the_margin_is_still_reused(
    retry: RetryPolicy,
) -> None:
    with Simulator(token_ttl=30) as simulator:
        api_key = simulator.api_keys[simulator.subscription_ids[0]]
        credentials = _credentials(simulator, refresh_margin=60.0, clock=FakeClock())
        async with ConnxioClient(
            base_url=simulator.base_url, credentials=credentials, retry=retry
        ) as client:
            await client.list_integrations(api_key)
            await client.list_integrations(api_key)

        assert simulator.token_requests == 1


async def test_a_401_refreshes_the_token_once_and_resends_the_request(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    await client.list_integrations(api_key)
    simulator.expire_tokens()

    got = await client.list_integrations(api_key)

    assert got == simulator.integrations(sub_id)
    assert simulator.token_requests == 2
    assert client.stats.auth_refreshes == 1
    assert client.stats.retries == 0


async def test_concurrent_calls_hitting_401_share_one_token_refresh(
    client: ConnxioClient, simulator: Simulator, api_key: str
) -> None:
    await client.list_integrations(api_key)
    simulator.expire_tokens()

    await asyncio.gather(*(client.list_integrations(api_key) for _ in range(10)))

    assert simulator.token_requests == 2


async def test_a_revoked_api_key_raises_auth_error_without_a_retry_storm(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
    secrets: SecretCheck,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    simulator.revoke_key(sub_id)

    with pytest.raises(ConnxioAuthError) as caught:
        await client.list_integrations(api_key)

    assert "GET /v2/integrations" in str(caught.value)
    assert "API key" in str(caught.value)
    assert client.stats.requests <= 2  # the first try, plus one after a token refresh
    assert simulator.token_requests <= 2
    assert sleeps.waits == []
    secrets.assert_clean(caught.value, caplog)


async def test_wrong_client_secret_raises_auth_error_naming_the_settings(
    simulator: Simulator,
    retry: RetryPolicy,
    sleeps: RecordingSleep,
    transport: RecordingTransport,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_secret = "not-the-right-secret-42"
    credentials = _credentials(simulator, client_secret=wrong_secret)
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry, transport=transport
    ) as client:
        with pytest.raises(ConnxioAuthError) as caught:
            await client.list_integrations(api_key)

    message = str(caught.value)
    assert "token endpoint refused the client credentials" in message
    assert "CONNXIO_CLIENT_ID / CONNXIO_CLIENT_SECRET" in message
    assert sleeps.waits == []
    assert transport.api_requests() == []  # no API call without a token
    logged = " ".join(r.getMessage() for r in caplog.records)
    for secret in (wrong_secret, api_key):
        assert secret not in message
        assert secret not in repr(caught.value)
        assert secret not in logged


async def test_token_endpoint_outage_is_retried_then_succeeds(
    simulator: Simulator, client: ConnxioClient, sleeps: RecordingSleep, api_key: str
) -> None:
    token_path = httpx.URL(simulator.token_url).path
    simulator.inject(Fault(kind="status", path=token_path, status=503, times=2))

    await client.list_integrations(api_key)

    assert len(sleeps.waits) == 2
    assert client.stats.retries == 2


async def test_concurrent_calls_share_a_token_endpoint_failure_instead_of_each_asking(
    simulator: Simulator, client: ConnxioClient, transport: RecordingTransport, api_key: str
) -> None:
    token_path = httpx.URL(simulator.token_url).path
    simulator.inject(Fault(kind="status", path=token_path, status=503, times=1))

    await asyncio.gather(*(client.list_integrations(api_key) for _ in range(10)))

    token_posts = [r for r in transport.sent if r.url.path == token_path]
    assert len(token_posts) == 2  # the failed one, then one that served everybody


async def test_concurrent_calls_with_refused_credentials_send_one_token_request(
    simulator: Simulator, retry: RetryPolicy, transport: RecordingTransport, api_key: str
) -> None:
    credentials = _credentials(simulator, client_secret="not-the-right-secret-42")
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry, transport=transport
    ) as client:
        results = await asyncio.gather(
            *(client.list_integrations(api_key) for _ in range(10)), return_exceptions=True
        )

    assert all(isinstance(r, ConnxioAuthError) for r in results)
    assert len(transport.sent) == 1
    assert credentials.token_requests == 1


async def test_unreachable_token_endpoint_raises_transient_error_after_the_retries(
    simulator: Simulator, sleeps: RecordingSleep, api_key: str, unused_port: int
) -> None:
    credentials = _credentials(simulator, token_url=f"http://127.0.0.1:{unused_port}/oauth/token")
    retry = RetryPolicy(max_attempts=3, sleep=sleeps)
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry
    ) as client:
        with pytest.raises(ConnxioTransientError) as caught:
            await client.list_integrations(api_key)

    assert "token endpoint" in str(caught.value)
    assert "3 attempts" in str(caught.value)
    assert len(sleeps.waits) == 2


def test_credentials_repr_does_not_show_the_client_secret() -> None:
    credentials = ClientCredentials(
        token_url="https://login.example/oauth/token",
        client_id="cxbackup",
        client_secret="s3cr3t-value-that-must-not-show",
    )

    assert "s3cr3t-value-that-must-not-show" not in repr(credentials)
    assert "s3cr3t-value-that-must-not-show" not in str(credentials)
    assert "cxbackup" in repr(credentials)
