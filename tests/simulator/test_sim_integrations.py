"""The management operations: subscriptions, list/get, upsert, validation, put, delete."""

from __future__ import annotations

import copy
import json
import re
import uuid

import httpx
import pytest

from shared.simulator import Simulator

DOTNET_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def _body_without_id(sim: Simulator, subscription_id: str) -> dict:
    body = sim.integrations(subscription_id)[0]
    for field in ("id", "_etag", "createdAtUtc", "createdBy", "updatedAtUtc", "updatedBy"):
        body.pop(field)
    return body


def test_subscriptions_lists_every_subscription_of_the_company(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    listed = http.get(f"{sim.base_url}/v2/subscriptions", headers=headers_a).json()
    assert [sub["id"] for sub in listed] == sim.subscription_ids
    assert set(listed[0]) == {"id", "name", "active", "companyId", "companyName"}


def test_current_subscription_is_the_keys_subscription(
    sim: Simulator, http: httpx.Client, headers, sub_b: str
) -> None:
    current = http.get(f"{sim.base_url}/v2/subscriptions/current", headers=headers(sub_b)).json()
    assert current["id"] == sub_b


def test_list_returns_the_live_configs_exactly(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    listed = http.get(f"{sim.base_url}/v2/integrations", headers=headers_a).json()
    assert listed == sim.integrations(sub_a)


def test_get_returns_one_config_exactly(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    expected = sim.integrations(sub_a)[1]
    response = http.get(f"{sim.base_url}/v2/integrations/{expected['id']}", headers=headers_a)
    assert response.status_code == 200
    assert response.json() == expected


def test_get_unknown_integration_is_404_with_message(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    response = http.get(f"{sim.base_url}/v2/integrations/{uuid.uuid4()}", headers=headers_a)
    assert response.status_code == 404
    assert "not found" in response.json()["message"]


def test_replace_variables_fills_placeholders_and_is_recorded(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    config = sim.integrations(sub_a)[0]
    config["description"] = "host {{SFTP_HOST}} and {{UNKNOWN_VAR}}"
    sim.put_integration(sub_a, config)
    plain = http.get(f"{sim.base_url}/v2/integrations/{config['id']}", headers=headers_a).json()
    replaced = http.get(
        f"{sim.base_url}/v2/integrations/{config['id']}",
        params={"replaceVariables": "true"},
        headers=headers_a,
    ).json()
    assert plain["description"] == "host {{SFTP_HOST}} and {{UNKNOWN_VAR}}"
    assert replaced["description"] == "host sftp.contoso.example and {{UNKNOWN_VAR}}"
    assert sim.requests[-1].query == {"replaceVariables": "true"}


def test_post_without_id_creates_with_new_id_and_201(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = _body_without_id(sim, sub_a)
    response = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body)
    assert response.status_code == 201
    created = response.json()
    uuid.UUID(created["id"])
    assert sim.get_integration(sub_a, created["id"]) == created


def test_post_with_unknown_id_creates_keeping_that_id(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = _body_without_id(sim, sub_a)
    body["id"] = "restored-0001"
    response = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body)
    assert response.status_code == 201
    assert response.json()["id"] == "restored-0001"
    assert [c["id"] for c in sim.integrations(sub_a)][-1] == "restored-0001"


def test_create_sets_server_managed_fields(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = _body_without_id(sim, sub_a)
    body["cosmosEntityName"] = "Whatever"
    created = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body).json()
    assert created["cosmosEntityName"] == "IntegrationConfig"
    assert created["createdBy"] == created["updatedBy"] == f"api:{sim.client_id}"
    assert DOTNET_TIME.match(created["createdAtUtc"])
    assert created["createdAtUtc"] == created["updatedAtUtc"]
    assert created["_etag"]
    sub = next(s for s in sim.subscriptions() if s["id"] == sub_a)
    assert created["subscriptionName"] == sub["name"]
    assert created["companyId"] == sub["companyId"]
    assert created["companyName"] == sub["companyName"]


def test_post_with_existing_id_updates_with_200(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    before = sim.integrations(sub_a)[0]
    body = copy.deepcopy(before)
    body["description"] = "changed by the API"
    response = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body)
    assert response.status_code == 200
    after = response.json()
    assert after["description"] == "changed by the API"
    assert len(sim.integrations(sub_a)) == 3
    assert sim.integrations(sub_a)[0]["id"] == before["id"]


def test_update_changes_etag_and_updated_fields_but_keeps_creation_facts(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    before = sim.integrations(sub_a)[0]
    body = copy.deepcopy(before)
    body["createdBy"] = "forged@example.com"
    body["createdAtUtc"] = "2000-01-01T00:00:00.0000000Z"
    after = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body).json()
    assert after["_etag"] != before["_etag"]
    assert after["updatedAtUtc"] > before["updatedAtUtc"]
    assert after["updatedBy"] == f"api:{sim.client_id}"
    assert after["createdBy"] == before["createdBy"]
    assert after["createdAtUtc"] == before["createdAtUtc"]


def test_upsert_keeps_unknown_properties_at_every_level(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = sim.integrations(sub_a)[0]
    body["futureProperty"] = {"nested": [1, 2.5, None, "ø"]}
    body["subIntegrations"][0]["newSubField"] = True
    body["inboundConnection"]["extra"] = "kept"
    stored = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body).json()
    assert stored["futureProperty"] == {"nested": [1, 2.5, None, "ø"]}
    assert stored["subIntegrations"][0]["newSubField"] is True
    assert stored["inboundConnection"]["extra"] == "kept"
    assert sim.get_integration(sub_a, body["id"]) == stored


@pytest.mark.parametrize(
    ("mutate", "field_path"),
    [
        (lambda b: b.pop("transactionType"), "transactionType"),
        (lambda b: b.update(sender=None), "sender"),
        (lambda b: b["inboundConnection"].pop("adapterType"), "inboundConnection.adapterType"),
        (
            lambda b: b["subIntegrations"][0].pop("subIntegrationId"),
            "subIntegrations[0].subIntegrationId",
        ),
        (
            lambda b: b["subIntegrations"][0]["outboundConnections"][0].update(adapterType=None),
            "subIntegrations[0].outboundConnections[0].adapterType",
        ),
        (
            lambda b: b["subIntegrations"][0]["transformations"][0].pop("properties"),
            "subIntegrations[0].transformations[0].properties",
        ),
    ],
)
def test_post_missing_required_field_is_400_naming_the_field(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str, mutate, field_path
) -> None:
    body = sim.integrations(sub_a)[0]
    mutate(body)
    response = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body)
    assert response.status_code == 400
    assert response.json()["message"] == f"Validation failed: {field_path} is required"


def test_failed_validation_stores_nothing(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    before = sim.integrations(sub_a)
    body = copy.deepcopy(before[0])
    body["sender"] = None
    http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body)
    assert sim.integrations(sub_a) == before


def test_novalidation_skips_field_validation_and_stores_disabled(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = _body_without_id(sim, sub_a)
    del body["sender"]
    body["enabled"] = True
    response = http.post(
        f"{sim.base_url}/v2/integrations/novalidation", headers=headers_a, json=body
    )
    assert response.status_code == 201
    assert "sender" not in response.json()
    assert response.json()["enabled"] is False


def test_novalidation_keeps_a_valid_config_as_sent(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = sim.integrations(sub_a)[0]
    body["enabled"] = True
    response = http.post(
        f"{sim.base_url}/v2/integrations/novalidation", headers=headers_a, json=body
    )
    assert response.status_code == 200
    assert response.json()["enabled"] is True


def test_subscription_id_of_another_subscription_is_400(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str, sub_b: str
) -> None:
    body = sim.integrations(sub_a)[0]
    body["subscriptionId"] = sub_b
    response = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body)
    assert response.status_code == 400
    assert "subscriptionId" in response.json()["message"]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"", b'"text"'])
def test_post_body_that_is_not_a_json_object_is_400(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], content: bytes
) -> None:
    for path in ("/v2/integrations", "/v2/integrations/novalidation"):
        response = http.post(f"{sim.base_url}{path}", headers=headers_a, content=content)
        assert response.status_code == 400
        assert response.json()["message"]


def test_put_updates_an_existing_integration(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = sim.integrations(sub_a)[0]
    body["description"] = "put"
    response = http.put(
        f"{sim.base_url}/v2/integrations/{body['id']}", headers=headers_a, json=body
    )
    assert response.status_code == 200
    assert sim.get_integration(sub_a, body["id"])["description"] == "put"


def test_put_takes_the_id_from_the_path_when_the_body_has_none(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    existing_id = sim.integrations(sub_a)[0]["id"]
    body = _body_without_id(sim, sub_a)
    response = http.put(
        f"{sim.base_url}/v2/integrations/{existing_id}", headers=headers_a, json=body
    )
    assert response.status_code == 200
    assert response.json()["id"] == existing_id


def test_put_of_absent_integration_is_404(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = _body_without_id(sim, sub_a)
    response = http.put(f"{sim.base_url}/v2/integrations/absent", headers=headers_a, json=body)
    assert response.status_code == 404


def test_put_with_mismatching_body_id_is_400(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    first, second = sim.integrations(sub_a)[:2]
    response = http.put(
        f"{sim.base_url}/v2/integrations/{second['id']}", headers=headers_a, json=first
    )
    assert response.status_code == 400


def test_put_validates_required_fields(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = sim.integrations(sub_a)[0]
    body["subIntegrations"] = None
    response = http.put(
        f"{sim.base_url}/v2/integrations/{body['id']}", headers=headers_a, json=body
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Validation failed: subIntegrations is required"


def test_delete_returns_the_deleted_config_and_removes_it(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    victim = sim.integrations(sub_a)[0]
    response = http.delete(f"{sim.base_url}/v2/integrations/{victim['id']}", headers=headers_a)
    assert response.status_code == 200
    assert response.json() == victim
    with pytest.raises(KeyError):
        sim.get_integration(sub_a, victim["id"])


def test_delete_of_absent_integration_is_404(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    response = http.delete(f"{sim.base_url}/v2/integrations/absent", headers=headers_a)
    assert response.status_code == 404


@pytest.mark.parametrize("kind", ["environmentvariables", "securityconfigs", "codecomponents"])
def test_company_level_lists_are_served_with_items_by_id(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], kind: str
) -> None:
    listed = http.get(f"{sim.base_url}/v2/{kind}", headers=headers_a).json()
    assert listed and all("id" in item for item in listed)
    one = http.get(f"{sim.base_url}/v2/{kind}/{listed[0]['id']}", headers=headers_a)
    assert one.json() == listed[0]


def test_unknown_path_is_404_json(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    response = http.get(f"{sim.base_url}/v2/nothing-here", headers=headers_a)
    assert response.status_code == 404
    assert "message" in response.json()


def test_wrong_method_on_known_path_is_405_with_allow(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    response = http.delete(f"{sim.base_url}/v2/integrations", headers=headers_a)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}


def test_unsimulated_contract_operation_is_501(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    response = http.put(f"{sim.base_url}/v2/environmentvariables", headers=headers_a, json={})
    assert response.status_code == 501


def test_backdoor_put_keeps_body_and_sets_server_fields(sim: Simulator, sub_a: str) -> None:
    config = sim.integrations(sub_a)[0]
    config["onlyInBackdoor"] = 1
    stored = sim.put_integration(sub_a, config, updated_by="ola.nordmann@contoso.example")
    assert stored["onlyInBackdoor"] == 1
    assert stored["updatedBy"] == "ola.nordmann@contoso.example"
    assert stored["_etag"] != config["_etag"]
    assert sim.get_integration(sub_a, config["id"]) == stored


def test_backdoor_reads_are_copies_that_cannot_change_the_estate(
    sim: Simulator, sub_a: str
) -> None:
    config = sim.integrations(sub_a)[0]
    config["description"] = "mutated locally"
    assert sim.get_integration(sub_a, config["id"])["description"] != "mutated locally"


def test_backdoor_writes_do_not_mutate_the_seed_data(small_data) -> None:
    before = json.dumps(small_data.integrations, sort_keys=True)
    sub_a = small_data.subscriptions[0]["id"]
    with Simulator(small_data) as sim:
        first = sim.integrations(sub_a)[0]
        sim.put_integration(sub_a, {**first, "description": "x"})
        sim.delete_integration(sub_a, sim.integrations(sub_a)[1]["id"])
    assert json.dumps(small_data.integrations, sort_keys=True) == before


def test_backdoor_delete_of_absent_integration_raises_key_error(sim: Simulator, sub_a: str) -> None:
    with pytest.raises(KeyError):
        sim.delete_integration(sub_a, "absent")


def test_backdoor_read_of_unknown_subscription_raises_key_error(sim: Simulator) -> None:
    with pytest.raises(KeyError):
        sim.integrations("no-such-subscription")


def test_chunked_request_body_is_read(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    encoded = json.dumps(_body_without_id(sim, sub_a)).encode()

    def chunks():
        yield encoded[:100]
        yield encoded[100:]

    response = http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, content=chunks())
    assert response.status_code == 201
    assert sim.requests[-1].body == encoded


def test_novalidation_fills_a_missing_subscription_id_from_the_key(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    body = _body_without_id(sim, sub_a)
    body["subscriptionId"] = None
    response = http.post(
        f"{sim.base_url}/v2/integrations/novalidation", headers=headers_a, json=body
    )
    assert response.status_code == 201
    assert response.json()["subscriptionId"] == sub_a
