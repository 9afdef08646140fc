"""Injected faults: each kind as an httpx client sees it, matching, ordering and counting."""

from __future__ import annotations

import json

import httpx
import pytest

from shared.simulator import Fault, Simulator
from tests.simulator.conftest import token_form

LIST = "/v2/integrations"


def _list(sim: Simulator, http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return http.get(f"{sim.base_url}{LIST}", headers=headers)


def test_status_fault_429_sends_retry_after_and_message(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("status", status=429, retry_after=2, message="slow down"))
    response = _list(sim, http, headers_a)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json() == {"message": "slow down"}


def test_retry_after_keeps_fractional_seconds(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("status", status=503, retry_after=0.5))
    assert _list(sim, http, headers_a).headers["Retry-After"] == "0.5"


def test_status_fault_defaults_to_503_without_retry_after(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("status"))
    response = _list(sim, http, headers_a)
    assert response.status_code == 503
    assert "Retry-After" not in response.headers


def test_status_fault_400_carries_its_message(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    sim.inject(Fault("status", method="POST", status=400, message="Validation failed: nope"))
    body = sim.integrations(sub_a)[0]
    response = http.post(f"{sim.base_url}{LIST}", headers=headers_a, json=body)
    assert response.status_code == 400
    assert response.json()["message"] == "Validation failed: nope"


def test_status_fault_does_not_process_the_request(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    before = sim.integrations(sub_a)
    sim.inject(Fault("status", method="DELETE"))
    http.delete(f"{sim.base_url}{LIST}/{before[0]['id']}", headers=headers_a)
    assert sim.integrations(sub_a) == before


def test_fault_applies_times_then_the_service_recovers(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("status", status=502, times=2))
    statuses = [_list(sim, http, headers_a).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]


def test_pending_faults_count_down_and_disappear(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    fault = Fault("status", times=2)
    sim.inject(fault)
    _list(sim, http, headers_a)
    assert sim.pending_faults == [(fault, 1)]
    _list(sim, http, headers_a)
    assert sim.pending_faults == []


def test_fault_with_times_none_applies_forever(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("status", times=None))
    assert {_list(sim, http, headers_a).status_code for _ in range(5)} == {503}


def test_clear_faults_removes_every_rule(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("status", times=None))
    sim.clear_faults()
    assert _list(sim, http, headers_a).status_code == 200


def test_first_injected_matching_fault_wins(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("status", status=500))
    sim.inject(Fault("status", status=429))
    assert [_list(sim, http, headers_a).status_code for _ in range(3)] == [500, 429, 200]


def test_path_is_matched_in_full_without_prefix(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    sim.inject(Fault("status", path=r"/v2/integrations", times=None))
    one = sim.integrations(sub_a)[0]["id"]
    assert http.get(f"{sim.base_url}{LIST}/{one}", headers=headers_a).status_code == 200
    assert _list(sim, http, headers_a).status_code == 503


def test_method_filter_leaves_other_methods_alone(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("status", method="post", times=None))
    assert _list(sim, http, headers_a).status_code == 200


def test_subscription_filter_matches_only_that_keys_requests(
    sim: Simulator, http: httpx.Client, headers, sub_a: str, sub_b: str
) -> None:
    sim.inject(Fault("status", subscription_id=sub_b, times=None))
    assert _list(sim, http, headers(sub_a)).status_code == 200
    assert _list(sim, http, headers(sub_b)).status_code == 503


def test_integration_filter_matches_the_id_in_the_path(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    first, second = (c["id"] for c in sim.integrations(sub_a)[:2])
    sim.inject(Fault("status", integration_id=second, times=None))
    assert http.get(f"{sim.base_url}{LIST}/{first}", headers=headers_a).status_code == 200
    assert http.get(f"{sim.base_url}{LIST}/{second}", headers=headers_a).status_code == 503


def test_integration_filter_matches_the_id_in_a_post_body(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    first, second = sim.integrations(sub_a)[:2]
    sim.inject(Fault("status", integration_id=second["id"], times=None))
    assert http.post(f"{sim.base_url}{LIST}", headers=headers_a, json=first).status_code == 200
    assert http.post(f"{sim.base_url}{LIST}", headers=headers_a, json=second).status_code == 503


def test_token_endpoint_can_fail(sim: Simulator, http: httpx.Client) -> None:
    sim.inject(Fault("status", path="/oauth/token", status=503))
    response = http.post(sim.token_url, data=token_form(sim))
    assert response.status_code == 503
    assert sim.token_requests == 0


def test_malformed_fault_answers_200_with_a_body_that_is_not_json(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("malformed"))
    response = _list(sim, http, headers_a)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_truncated_fault_sends_the_first_half_with_matching_length(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    full = _list(sim, http, headers_a).content
    sim.inject(Fault("truncated"))
    response = _list(sim, http, headers_a)
    assert response.status_code == 200
    assert response.content == full[: len(full) // 2]
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_html_fault_defaults_to_200_with_an_html_page(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("html"))
    response = _list(sim, http, headers_a)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.lstrip().startswith("<!DOCTYPE html>")


def test_html_fault_can_carry_an_error_status(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("html", status=502))
    response = _list(sim, http, headers_a)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")


def test_drop_fault_closes_without_a_response_and_is_recorded_as_0(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("drop"))
    with pytest.raises(httpx.RemoteProtocolError):
        _list(sim, http, headers_a)
    assert sim.requests[-1].status == 0
    assert _list(sim, http, headers_a).status_code == 200


def test_drop_fault_does_not_process_the_request(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    victim = sim.integrations(sub_a)[0]["id"]
    sim.inject(Fault("drop", method="DELETE"))
    with pytest.raises(httpx.RemoteProtocolError):
        http.delete(f"{sim.base_url}{LIST}/{victim}", headers=headers_a)
    assert sim.get_integration(sub_a, victim)["id"] == victim


def test_drop_mid_body_fault_breaks_off_the_body(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("drop_mid_body"))
    with pytest.raises(httpx.RemoteProtocolError):
        _list(sim, http, headers_a)
    assert _list(sim, http, headers_a).status_code == 200


def test_drop_mid_body_fault_processes_the_request_first(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    victim = sim.integrations(sub_a)[0]["id"]
    sim.inject(Fault("drop_mid_body", method="DELETE"))
    with pytest.raises(httpx.RemoteProtocolError):
        http.delete(f"{sim.base_url}{LIST}/{victim}", headers=headers_a)
    with pytest.raises(KeyError):
        sim.get_integration(sub_a, victim)


def test_latency_fault_delays_the_answer_past_a_client_timeout(
    sim: Simulator, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("latency", delay=0.3))
    with httpx.Client(timeout=0.05) as impatient, pytest.raises(httpx.ReadTimeout):
        _list(sim, impatient, headers_a)


def test_latency_fault_then_answers_normally(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    sim.inject(Fault("latency", delay=0.01))
    assert _list(sim, http, headers_a).status_code == 200
    assert sim.pending_faults == []


def test_requests_answered_by_faults_are_recorded_with_their_status(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    sim.clear_requests()
    sim.inject(Fault("status", status=429))
    sim.inject(Fault("html", status=503))
    _list(sim, http, headers_a)
    _list(sim, http, headers_a)
    _list(sim, http, headers_a)
    assert [(r.path, r.status, r.subscription_id) for r in sim.requests] == [
        (LIST, 429, sub_a),
        (LIST, 503, sub_a),
        (LIST, 200, sub_a),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "explode"}, "kind"),
        ({"kind": "status", "times": 0}, "times"),
        ({"kind": "status", "path": "("}, "regex"),
        ({"kind": "status", "status": 99}, "status"),
        ({"kind": "latency", "delay": -1}, "delay"),
    ],
)
def test_invalid_fault_is_rejected_with_a_reason(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault(**kwargs)
