"""Seeded estates: deterministic, complete per the contract, and carrying findable secrets."""

from __future__ import annotations

import json
import re

import pytest

from shared.simulator import (
    INTEGRATION_PROPERTIES,
    SECRET_FIELD_NAMES,
    SECRET_PREFIX,
    seed_estate,
    seeded_secret_values,
    validation_problems,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DOTNET_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def _all_configs(data):
    return [config for configs in data.integrations.values() for config in configs]


def _size(config) -> int:
    return len(json.dumps(config, separators=(",", ":"), ensure_ascii=False).encode())


def test_same_seed_gives_identical_estate() -> None:
    first = seed_estate(subscriptions=2, integrations_per_subscription=4, seed=11)
    second = seed_estate(subscriptions=2, integrations_per_subscription=4, seed=11)
    assert json.dumps(first.__dict__, sort_keys=True) == json.dumps(second.__dict__, sort_keys=True)


def test_different_seeds_give_different_estates() -> None:
    first = seed_estate(subscriptions=1, integrations_per_subscription=2, seed=1)
    second = seed_estate(subscriptions=1, integrations_per_subscription=2, seed=2)
    assert first.integrations != second.integrations


def test_estate_has_requested_counts_and_one_key_per_subscription() -> None:
    data = seed_estate(subscriptions=4, integrations_per_subscription=6)
    assert [sub["name"] for sub in data.subscriptions] == [
        "Production",
        "Test",
        "Development",
        "Partner-EU",
    ]
    assert set(data.api_keys) == {sub["id"] for sub in data.subscriptions}
    assert len(set(data.api_keys.values())) == 4
    assert all(len(configs) == 6 for configs in data.integrations.values())


def test_subscriptions_have_the_contract_fields() -> None:
    data = seed_estate(subscriptions=2, integrations_per_subscription=0)
    for sub in data.subscriptions:
        assert set(sub) == {"id", "name", "active", "companyId", "companyName"}
        assert UUID.match(sub["id"])
        assert sub["companyId"] == data.company["id"]


def test_every_config_has_all_35_top_level_properties_in_contract_order() -> None:
    configs = _all_configs(seed_estate(subscriptions=2, integrations_per_subscription=10))
    assert len(INTEGRATION_PROPERTIES) == 35
    for config in configs:
        assert tuple(config) == INTEGRATION_PROPERTIES


def test_server_managed_fields_look_like_the_service_writes_them() -> None:
    for config in _all_configs(seed_estate()):
        assert UUID.match(config["id"])
        assert config["cosmosEntityName"] == "IntegrationConfig"
        assert config["_etag"].startswith('"') and config["_etag"].endswith('"')
        assert DOTNET_TIME.match(config["createdAtUtc"])
        assert DOTNET_TIME.match(config["updatedAtUtc"])
        assert config["createdAtUtc"] <= config["updatedAtUtc"]
        assert config["updatedBy"] and config["createdBy"]


def test_integration_ids_are_unique_across_the_estate() -> None:
    data = seed_estate(subscriptions=3, integrations_per_subscription=50)
    ids = [c["id"] for c in _all_configs(data)]
    assert len(ids) == len(set(ids))


def test_connection_properties_are_json_documents_serialised_as_strings() -> None:
    for config in _all_configs(seed_estate()):
        connections = [config["inboundConnection"]] + [
            oc for sub in config["subIntegrations"] for oc in sub["outboundConnections"]
        ]
        for connection in connections:
            assert isinstance(connection["connectionProperties"], str)
            assert isinstance(json.loads(connection["connectionProperties"]), dict)


def test_sub_integration_count_stays_in_the_requested_range() -> None:
    data = seed_estate(subscriptions=1, integrations_per_subscription=40, sub_integrations=(2, 3))
    counts = {len(c["subIntegrations"]) for c in _all_configs(data)}
    assert counts == {2, 3}


def test_seeded_configs_pass_the_post_validation() -> None:
    for config in _all_configs(seed_estate(subscriptions=2, integrations_per_subscription=20)):
        assert validation_problems(config) == []


def test_seeded_secret_values_lists_every_decrypted_value() -> None:
    data = seed_estate(subscriptions=2, integrations_per_subscription=20)
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                if key in SECRET_FIELD_NAMES and child is not None:
                    found.append(child["decryptedValue"])
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    for config in _all_configs(data):
        walk(config)
    assert found, "the seeded estate should carry secrets"
    assert seeded_secret_values(data) == set(found)
    assert all(value.startswith(SECRET_PREFIX) for value in found)


def test_secrets_appear_as_secret_objects_with_name_version_and_value() -> None:
    data = seed_estate(subscriptions=1, integrations_per_subscription=30)
    webhooks = [w for c in _all_configs(data) for w in c["loggingWebhooks"] + c["resendWebhooks"]]
    assert webhooks
    for webhook in webhooks:
        assert set(webhook["authorizationHeaderKey"]) == {"name", "version", "decryptedValue"}
    external = [
        w["externalContentServiceWebhook"] for w in webhooks if w.get("useExternalContentService")
    ]
    assert any(e["oAuthClientSecret"] or e["basicAuthenticationPassword"] for e in external)


@pytest.mark.parametrize("target", [3500, 4500, 6000, 12000])
def test_target_size_lands_within_ten_percent(target: int) -> None:
    data = seed_estate(subscriptions=1, integrations_per_subscription=30, target_size_bytes=target)
    sizes = [_size(c) for c in _all_configs(data)]
    average = sum(sizes) / len(sizes)
    assert abs(average - target) <= target * 0.1, sizes


def test_sized_configs_still_have_all_properties_and_validate() -> None:
    data = seed_estate(subscriptions=1, integrations_per_subscription=20, target_size_bytes=5000)
    for config in _all_configs(data):
        assert tuple(config) == INTEGRATION_PROPERTIES
        assert validation_problems(config) == []


def test_company_level_lists_are_seeded() -> None:
    data = seed_estate()
    assert data.environment_variables and data.security_configs and data.code_components
    assert all(UUID.match(item["id"]) for item in data.environment_variables)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"subscriptions": -1},
        {"integrations_per_subscription": -1},
        {"sub_integrations": (0, 2)},
        {"sub_integrations": (3, 2)},
        {"target_size_bytes": 0},
    ],
)
def test_invalid_arguments_raise_value_error_naming_the_argument(kwargs) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        seed_estate(**kwargs)
