"""OAuth client credentials, the two auth headers, subscription scoping and the media type."""

from __future__ import annotations

import time

import httpx

from shared.simulator import Simulator, seed_estate
from tests.simulator.conftest import token_form


def test_token_grant_returns_bearer_token_with_expiry(sim: Simulator, http: httpx.Client) -> None:
    response = http.post(sim.token_url, data=token_form(sim))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and len(body["access_token"]) > 20


def test_each_grant_issues_a_new_token_and_is_counted(sim: Simulator, http: httpx.Client) -> None:
    first = http.post(sim.token_url, data=token_form(sim)).json()["access_token"]
    second = http.post(sim.token_url, data=token_form(sim)).json()["access_token"]
    assert first != second
    assert sim.token_requests == 2


def test_token_grant_accepts_http_basic_client_authentication(
    sim: Simulator, http: httpx.Client
) -> None:
    response = http.post(
        sim.token_url,
        data={"grant_type": "client_credentials"},
        auth=(sim.client_id, sim.client_secret),
    )
    assert response.status_code == 200


def test_wrong_client_secret_gets_401_invalid_client(sim: Simulator, http: httpx.Client) -> None:
    response = http.post(sim.token_url, data=token_form(sim, client_secret="wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert sim.token_requests == 0


def test_wrong_client_id_gets_401_invalid_client(sim: Simulator, http: httpx.Client) -> None:
    response = http.post(sim.token_url, data=token_form(sim, client_id="someone-else"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_wrong_grant_type_gets_400(sim: Simulator, http: httpx.Client) -> None:
    response = http.post(sim.token_url, data=token_form(sim, grant_type="password"))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_wrong_scope_gets_400_invalid_scope(sim: Simulator, http: httpx.Client) -> None:
    response = http.post(sim.token_url, data=token_form(sim, scope="api://other/.default"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_get_on_token_endpoint_is_405(sim: Simulator, http: httpx.Client) -> None:
    assert http.get(sim.token_url).status_code == 405


def test_call_without_bearer_token_gets_401(sim: Simulator, http: httpx.Client, sub_a: str) -> None:
    response = http.get(
        f"{sim.base_url}/v2/integrations", headers={"Connxio-Api-Key": sim.api_keys[sub_a]}
    )
    assert response.status_code == 401
    assert "bearer token" in response.json()["message"].lower()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_call_with_unknown_token_gets_401(sim: Simulator, http: httpx.Client, sub_a: str) -> None:
    response = http.get(
        f"{sim.base_url}/v2/integrations",
        headers={"Authorization": "Bearer not-a-token", "Connxio-Api-Key": sim.api_keys[sub_a]},
    )
    assert response.status_code == 401


def test_expire_tokens_makes_issued_tokens_fail_with_401(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    assert http.get(f"{sim.base_url}/v2/integrations", headers=headers_a).status_code == 200
    sim.expire_tokens()
    assert http.get(f"{sim.base_url}/v2/integrations", headers=headers_a).status_code == 401


def test_token_expires_after_its_ttl(http: httpx.Client) -> None:
    data = seed_estate(subscriptions=1, integrations_per_subscription=1)
    with Simulator(data, token_ttl=0.001) as sim:
        token = http.post(sim.token_url, data=token_form(sim)).json()["access_token"]
        time.sleep(0.01)
        sub = sim.subscription_ids[0]
        headers = {"Authorization": f"Bearer {token}", "Connxio-Api-Key": sim.api_keys[sub]}
        assert http.get(f"{sim.base_url}/v2/integrations", headers=headers).status_code == 401


def test_call_without_api_key_gets_401(sim: Simulator, http: httpx.Client, token: str) -> None:
    response = http.get(
        f"{sim.base_url}/v2/integrations", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert "Connxio-Api-Key" in response.json()["message"]


def test_call_with_unknown_api_key_gets_401(sim: Simulator, http: httpx.Client, token: str) -> None:
    response = http.get(
        f"{sim.base_url}/v2/integrations",
        headers={"Authorization": f"Bearer {token}", "Connxio-Api-Key": "cxk_unknown"},
    )
    assert response.status_code == 401


def test_revoked_key_gets_401_everywhere(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    sim.revoke_key(sub_a)
    for path in ("/v2/integrations", "/v2/subscriptions", "/v2/subscriptions/current"):
        assert http.get(f"{sim.base_url}{path}", headers=headers_a).status_code == 401


def test_revoking_one_key_leaves_other_subscriptions_working(
    sim: Simulator, http: httpx.Client, headers, sub_a: str, sub_b: str
) -> None:
    sim.revoke_key(sub_a)
    assert http.get(f"{sim.base_url}/v2/integrations", headers=headers(sub_b)).status_code == 200


def test_error_bodies_never_echo_the_key_or_token(
    sim: Simulator, http: httpx.Client, token: str, sub_a: str
) -> None:
    key = sim.api_keys[sub_a]
    sim.revoke_key(sub_a)
    bad_token = "Bearer secret-looking-token-value"
    responses = [
        http.get(
            f"{sim.base_url}/v2/integrations",
            headers={"Authorization": f"Bearer {token}", "Connxio-Api-Key": key},
        ),
        http.get(
            f"{sim.base_url}/v2/integrations",
            headers={"Authorization": bad_token, "Connxio-Api-Key": key},
        ),
    ]
    for response in responses:
        assert response.status_code == 401
        assert key not in response.text
        assert token not in response.text
        assert "secret-looking-token-value" not in response.text


def test_a_key_cannot_read_another_subscriptions_integration(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_b: str
) -> None:
    other_id = sim.integrations(sub_b)[0]["id"]
    response = http.get(f"{sim.base_url}/v2/integrations/{other_id}", headers=headers_a)
    assert response.status_code == 404
    assert other_id in response.json()["message"]


def test_a_key_lists_only_its_own_subscriptions_integrations(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    listed = http.get(f"{sim.base_url}/v2/integrations", headers=headers_a).json()
    assert [c["id"] for c in listed] == [c["id"] for c in sim.integrations(sub_a)]
    assert {c["subscriptionId"] for c in listed} == {sub_a}


def test_api_key_is_also_accepted_as_query_parameter(
    sim: Simulator, http: httpx.Client, token: str, sub_a: str
) -> None:
    response = http.get(
        f"{sim.base_url}/v2/subscriptions/current",
        params={"Connxio-Api-Key": sim.api_keys[sub_a]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json()["id"] == sub_a


def test_responses_carry_the_versioned_json_media_type(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    response = http.get(f"{sim.base_url}/v2/integrations", headers=headers_a)
    assert response.headers["Content-Type"] == "application/json; x-api-version=2.0"


def test_accept_that_excludes_json_gets_406(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    response = http.get(
        f"{sim.base_url}/v2/integrations", headers={**headers_a, "Accept": "text/html"}
    )
    assert response.status_code == 406
    assert "Accept" in response.json()["message"]


def test_lenient_accept_values_are_allowed(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    for accept in ("*/*", "application/json", "application/json; x-api-version=2.0", ""):
        response = http.get(
            f"{sim.base_url}/v2/integrations", headers={**headers_a, "Accept": accept}
        )
        assert response.status_code == 200, accept
