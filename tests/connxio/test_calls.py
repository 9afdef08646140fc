"""The client's calls against the simulator: what goes on the wire and what comes back."""

from __future__ import annotations

import pytest

from shared.connxio import ConnxioClient, RetryPolicy
from shared.errors import ConnxioNotFoundError, StoreUnavailableError
from shared.simulator import Simulator
from tests.connxio.conftest import RecordingTransport

MEDIA_TYPE = "application/json; x-api-version=2.0"


async def test_every_api_call_sends_the_api_key_bearer_token_and_versioned_media_type(
    client: ConnxioClient, transport: RecordingTransport, api_key: str
) -> None:
    await client.list_integrations(api_key)

    (sent,) = transport.api_requests()
    assert sent.headers["Connxio-Api-Key"] == api_key
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert len(sent.headers["Authorization"]) > len("Bearer ")
    assert sent.headers["Accept"] == MEDIA_TYPE


async def test_upsert_sends_the_body_with_the_versioned_content_type(
    client: ConnxioClient,
    transport: RecordingTransport,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
) -> None:
    config = simulator.integrations(sub_id)[0]

    await client.upsert_integration(api_key, config)

    (sent,) = transport.api_requests()
    assert sent.headers["Content-Type"] == MEDIA_TYPE
    assert sent.headers["Accept"] == MEDIA_TYPE


async def test_list_integrations_returns_the_configs_exactly_as_the_api_holds_them(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    assert await client.list_integrations(api_key) == simulator.integrations(sub_id)


async def test_reads_never_ask_for_replaced_variables(
    client: ConnxioClient,
    transport: RecordingTransport,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
) -> None:
    integration_id = simulator.integrations(sub_id)[0]["id"]

    await client.list_integrations(api_key)
    await client.get_integration(api_key, integration_id)

    assert [r.url.query for r in transport.api_requests()] == [b"", b""]


async def test_get_integration_returns_the_config_exactly_as_the_api_holds_it(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    integration_id = simulator.integrations(sub_id)[0]["id"]

    got = await client.get_integration(api_key, integration_id)

    assert got == simulator.get_integration(sub_id, integration_id)


async def test_list_subscriptions_returns_every_subscription_of_the_company(
    client: ConnxioClient, simulator: Simulator, api_key: str
) -> None:
    subscriptions = await client.list_subscriptions(api_key)

    assert sorted(s["id"] for s in subscriptions) == sorted(simulator.subscription_ids)


async def test_current_subscription_is_the_one_the_api_key_belongs_to(
    client: ConnxioClient, sub_id: str, api_key: str
) -> None:
    current = await client.current_subscription(api_key)

    assert current["id"] == sub_id


async def test_a_path_prefix_in_the_base_url_is_kept_when_joining_api_paths(
    client: ConnxioClient, transport: RecordingTransport, simulator: Simulator, api_key: str
) -> None:
    assert simulator.base_url.endswith("/api")

    await client.list_integrations(api_key)

    (sent,) = transport.api_requests()
    assert sent.url.path == "/api/v2/integrations"


async def test_a_trailing_slash_on_the_base_url_makes_no_difference(
    simulator: Simulator,
    credentials,
    retry: RetryPolicy,
    transport: RecordingTransport,
    sub_id: str,
    api_key: str,
) -> None:
    async with ConnxioClient(
        base_url=simulator.base_url + "/",
        credentials=credentials,
        retry=retry,
        transport=transport,
    ) as client:
        got = await client.list_integrations(api_key)

    assert got == simulator.integrations(sub_id)
    assert transport.api_requests()[0].url.path == "/api/v2/integrations"


@pytest.mark.parametrize("hostile_id", ["../x", "..", ".", "a/b", "x?y=1", "x#frag"])
async def test_an_integration_id_cannot_escape_its_path_segment(
    client: ConnxioClient, transport: RecordingTransport, api_key: str, hostile_id: str
) -> None:
    with pytest.raises(ConnxioNotFoundError):
        await client.get_integration(api_key, hostile_id)

    (sent,) = transport.api_requests()
    assert sent.url.raw_path.startswith(b"/api/v2/integrations/")
    assert b"/" not in sent.url.raw_path.removeprefix(b"/api/v2/integrations/")
    assert sent.url.query == b""


async def test_upsert_of_a_new_config_reports_created_and_returns_the_stored_config(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    config = dict(simulator.integrations(sub_id)[0], id="new-integration-1")

    result = await client.upsert_integration(api_key, config)

    assert result.created is True
    assert result.config["id"] == "new-integration-1"
    assert result.config == simulator.get_integration(sub_id, "new-integration-1")


async def test_upsert_of_an_existing_config_reports_updated(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    config = simulator.integrations(sub_id)[0]

    result = await client.upsert_integration(api_key, dict(config, description="changed"))

    assert result.created is False
    assert simulator.get_integration(sub_id, config["id"])["description"] == "changed"


async def test_upsert_sends_unknown_properties_through_unchanged(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    future = {"nested": [1, 2.5, None, {"deep": "ünïcode"}], "flag": True}
    config = dict(simulator.integrations(sub_id)[0], someFutureProperty=future)

    result = await client.upsert_integration(api_key, config)

    assert result.config["someFutureProperty"] == future
    assert simulator.get_integration(sub_id, config["id"])["someFutureProperty"] == future


async def test_upsert_without_validation_posts_to_the_novalidation_endpoint(
    client: ConnxioClient,
    transport: RecordingTransport,
    simulator: Simulator,
    sub_id: str,
    api_key: str,
) -> None:
    config = simulator.integrations(sub_id)[0]

    result = await client.upsert_integration(api_key, config, validate=False)

    assert result.created is False
    assert [(r.method, r.url.path) for r in transport.api_requests()] == [
        ("POST", "/api/v2/integrations/novalidation")
    ]


async def test_upsert_result_repr_does_not_show_the_config(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    config = dict(simulator.integrations(sub_id)[0], description="do-not-print-me")

    result = await client.upsert_integration(api_key, config)

    assert "do-not-print-me" not in repr(result)
    assert config["id"] in repr(result)


async def test_delete_removes_the_integration(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    integration_id = simulator.integrations(sub_id)[0]["id"]

    await client.delete_integration(api_key, integration_id)

    assert integration_id not in [c["id"] for c in simulator.integrations(sub_id)]


async def test_stats_count_the_api_requests_sent(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    integration_id = simulator.integrations(sub_id)[0]["id"]

    await client.list_integrations(api_key)
    await client.get_integration(api_key, integration_id)

    assert client.stats.requests == 2
    assert client.stats.retries == 0


async def test_read_integrations_hashes_the_answer_bytes_and_parses_them(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    listing = await client.read_integrations(api_key)

    assert not listing.unchanged
    assert list(listing.configs) == simulator.integrations(sub_id)
    assert len(listing.body_sha256) == 64
    assert (await client.read_integrations(api_key)).body_sha256 == listing.body_sha256


async def test_read_integrations_skips_parsing_an_answer_with_the_hash_already_held(
    client: ConnxioClient, api_key: str
) -> None:
    first = await client.read_integrations(api_key)

    again = await client.read_integrations(api_key, unchanged_if=first.body_sha256)

    assert again.unchanged
    assert again.configs == ()
    assert again.body_sha256 == first.body_sha256


async def test_read_integrations_parses_an_answer_that_differs_from_the_hash_held(
    client: ConnxioClient, simulator: Simulator, sub_id: str, api_key: str
) -> None:
    first = await client.read_integrations(api_key)
    edited = dict(simulator.integrations(sub_id)[0], description="edited")
    await client.upsert_integration(api_key, edited)

    again = await client.read_integrations(api_key, unchanged_if=first.body_sha256)

    assert not again.unchanged
    assert again.body_sha256 != first.body_sha256
    assert any(c.get("description") == "edited" for c in again.configs)


async def test_read_integrations_looks_the_held_hash_up_only_once_the_answer_is_in(
    client: ConnxioClient, simulator: Simulator, api_key: str
) -> None:
    first = await client.read_integrations(api_key)
    sent_before_lookup: list[int] = []

    async def lookup() -> str:
        sent_before_lookup.append(len(simulator.requests))
        return first.body_sha256

    again = await client.read_integrations(api_key, unchanged_if=lookup)

    assert sent_before_lookup == [len(simulator.requests)]  # the request was already answered
    assert again.unchanged


async def test_an_error_of_the_hash_lookup_reaches_the_caller_unchanged_and_is_not_retried(
    client: ConnxioClient, simulator: Simulator, api_key: str
) -> None:
    async def lookup() -> str:
        raise StoreUnavailableError("the store is down")

    with pytest.raises(StoreUnavailableError, match="the store is down"):
        await client.read_integrations(api_key, unchanged_if=lookup)

    assert client.stats.requests == 1


async def test_an_integration_listing_repr_holds_no_config(
    client: ConnxioClient, api_key: str
) -> None:
    listing = await client.read_integrations(api_key)

    assert "decryptedValue" not in repr(listing)
    assert f"configs={len(listing.configs)}" in repr(listing)
