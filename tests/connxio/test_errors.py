"""Each failure the API answers with becomes the right error, naming the call, no secrets."""

from __future__ import annotations

import logging

import pytest

from shared.connxio import ConnxioClient
from shared.errors import (
    ConnxioAuthError,
    ConnxioError,
    ConnxioNotFoundError,
    ConnxioProtocolError,
    ConnxioTransientError,
    ConnxioValidationError,
)
from shared.simulator import Fault, Simulator
from tests.connxio.conftest import RecordingSleep, SecretCheck

API = r"/v2/.*"  # faults aimed at the API, not at the token endpoint


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    # Every log line the client writes is checked for secrets, DEBUG included.
    caplog.set_level(logging.DEBUG)


async def test_unknown_integration_raises_not_found_naming_the_call(
    client: ConnxioClient,
    api_key: str,
    sleeps: RecordingSleep,
    secrets: SecretCheck,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ConnxioNotFoundError) as caught:
        await client.get_integration(api_key, "no-such-integration")

    assert caught.value.status == 404
    assert caught.value.operation == "GET /v2/integrations/no-such-integration"
    assert "no-such-integration" in str(caught.value)
    assert sleeps.waits == []
    secrets.assert_clean(caught.value, caplog)


async def test_deleting_an_unknown_integration_raises_not_found(
    client: ConnxioClient, api_key: str
) -> None:
    with pytest.raises(ConnxioNotFoundError):
        await client.delete_integration(api_key, "no-such-integration")


async def test_forbidden_raises_auth_error_without_retrying(
    client: ConnxioClient,
    simulator: Simulator,
    api_key: str,
    sleeps: RecordingSleep,
    secrets: SecretCheck,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.inject(Fault(kind="status", status=403, path=r"/v2/integrations"))

    with pytest.raises(ConnxioAuthError) as caught:
        await client.list_integrations(api_key)

    assert caught.value.status == 403
    assert "GET /v2/integrations" in str(caught.value)
    assert "Management scope" in str(caught.value)
    assert client.stats.requests == 1
    assert sleeps.waits == []
    secrets.assert_clean(caught.value, caplog)


async def test_bad_request_raises_validation_error_with_the_servers_message(
    client: ConnxioClient,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
    sleeps: RecordingSleep,
    secrets: SecretCheck,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.inject(
        Fault(
            kind="status", status=400, method="POST", message="Sender must not be empty", path=API
        )
    )

    with pytest.raises(ConnxioValidationError) as caught:
        await client.upsert_integration(api_key, simulator.integrations(sub_id)[0])

    assert caught.value.server_message == "Sender must not be empty"
    assert "POST /v2/integrations" in str(caught.value)
    assert "Sender must not be empty" in str(caught.value)
    assert sleeps.waits == []
    secrets.assert_clean(caught.value, caplog)


async def test_a_validation_message_echoing_a_secret_value_is_scrubbed(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    secret_value = "pa55word-from-the-config"
    config = dict(
        simulator.integrations(sub_id)[0],
        extraSecret={"name": "x", "version": "1", "decryptedValue": secret_value},
    )
    simulator.inject(
        Fault(
            kind="status", status=400, method="POST", message=f"bad value {secret_value}", path=API
        )
    )

    with pytest.raises(ConnxioValidationError) as caught:
        await client.upsert_integration(api_key, config)

    assert secret_value not in caught.value.server_message
    assert secret_value not in str(caught.value)
    assert "bad value ***" in caught.value.server_message


async def test_an_unexpected_client_error_status_raises_the_base_error_naming_the_status(
    client: ConnxioClient, simulator: Simulator, api_key: str, sleeps: RecordingSleep
) -> None:
    simulator.inject(Fault(kind="status", status=409, message="conflict", path=API))

    with pytest.raises(ConnxioError) as caught:
        await client.list_integrations(api_key)

    assert type(caught.value) is ConnxioError
    assert caught.value.status == 409
    assert "409" in str(caught.value)
    assert sleeps.waits == []


async def test_persistent_html_page_with_status_200_raises_protocol_error(
    client: ConnxioClient,
    simulator: Simulator,
    api_key: str,
    secrets: SecretCheck,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.inject(Fault(kind="html", times=None, path=API))

    with pytest.raises(ConnxioProtocolError) as caught:
        await client.list_integrations(api_key)

    message = str(caught.value)
    assert "GET /v2/integrations" in message
    assert "not JSON" in message
    assert "5 attempts" in message
    assert "<html" not in message.lower()
    secrets.assert_clean(caught.value, caplog)


async def test_persistent_malformed_body_raises_protocol_error(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    integration_id = simulator.integrations(sub_id)[0]["id"]
    simulator.inject(Fault(kind="malformed", times=None, path=API))

    with pytest.raises(ConnxioProtocolError) as caught:
        await client.get_integration(api_key, integration_id)

    assert f"GET /v2/integrations/{integration_id}" in str(caught.value)


async def test_persistent_server_error_raises_transient_error_saying_how_often_it_tried(
    client: ConnxioClient,
    simulator: Simulator,
    api_key: str,
    sleeps: RecordingSleep,
    secrets: SecretCheck,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.inject(Fault(kind="status", status=502, times=None, path=API))

    with pytest.raises(ConnxioTransientError) as caught:
        await client.list_integrations(api_key)

    message = str(caught.value)
    assert caught.value.status == 502
    assert "GET /v2/integrations" in message
    assert "5 attempts" in message
    assert "try again later" in message
    assert client.stats.requests == 5
    assert len(sleeps.waits) == 4
    secrets.assert_clean(caught.value, caplog)


async def test_refused_connection_raises_transient_error_naming_the_base_url_setting(
    simulator: Simulator, credentials, sleeps: RecordingSleep, api_key: str, unused_port: int
) -> None:
    from shared.connxio import RetryPolicy

    dead_base = f"http://127.0.0.1:{unused_port}/api"
    # Fetch a token from the real simulator first, so only the API is unreachable.
    async with ConnxioClient(
        base_url=dead_base,
        credentials=credentials,
        retry=RetryPolicy(max_attempts=2, sleep=sleeps),
    ) as client:
        with pytest.raises(ConnxioTransientError) as caught:
            await client.list_integrations(api_key)

    assert "could not connect" in str(caught.value)
    assert "CONNXIO_BASE_URL" in str(caught.value)
    assert "2 attempts" in str(caught.value)
