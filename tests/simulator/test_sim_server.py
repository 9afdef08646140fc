"""Server lifecycle, URLs and prefixes, keep-alive, the request log and settings."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from shared.simulator import Simulator, SimulatorData, describe_settings, run_forever
from tests.simulator.conftest import grant_token


def test_default_urls_put_the_api_under_the_api_prefix(sim: Simulator) -> None:
    assert sim.base_url == f"http://127.0.0.1:{sim.port}/api"
    assert sim.token_url == f"http://127.0.0.1:{sim.port}/oauth/token"
    assert sim.scope == "api://connxio/.default"


@pytest.mark.parametrize(
    ("prefix", "expected"), [("", ""), ("/connxio/api/", "/connxio/api"), ("/api", "/api")]
)
def test_custom_prefix_is_normalised_and_served(
    small_data: SimulatorData, http: httpx.Client, prefix: str, expected: str
) -> None:
    with Simulator(small_data, prefix=prefix) as sim:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}{expected}"
        token = grant_token(sim, http)
        sub = sim.subscription_ids[0]
        headers = {"Authorization": f"Bearer {token}", "Connxio-Api-Key": sim.api_keys[sub]}
        response = http.get(f"{sim.base_url}/v2/integrations", headers=headers)
        assert response.status_code == 200
        assert sim.requests[-1].path == "/v2/integrations"


def test_path_outside_the_prefix_is_404(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    response = http.get(f"http://127.0.0.1:{sim.port}/v2/integrations", headers=headers_a)
    assert response.status_code == 404
    assert "/api" in response.json()["message"]


def test_prefix_without_leading_slash_is_rejected(small_data: SimulatorData) -> None:
    with pytest.raises(ValueError, match="prefix"):
        Simulator(small_data, prefix="api")


def test_urls_before_start_raise_runtime_error(small_data: SimulatorData) -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = Simulator(small_data).base_url


def test_stop_releases_the_port_and_start_can_run_again(
    small_data: SimulatorData, http: httpx.Client
) -> None:
    sim = Simulator(small_data).start()
    port = sim.port
    sim.stop()
    with pytest.raises(httpx.ConnectError):
        http.get(f"http://127.0.0.1:{port}/api/v2/subscriptions")
    sim.start()
    try:
        assert http.get(f"{sim.base_url}/v2/subscriptions").status_code == 401
    finally:
        sim.stop()


def test_stop_twice_is_harmless(small_data: SimulatorData) -> None:
    sim = Simulator(small_data).start()
    sim.stop()
    sim.stop()


def test_starting_a_running_simulator_raises(sim: Simulator) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        sim.start()


def test_default_data_is_a_seeded_estate() -> None:
    with Simulator() as sim:
        assert len(sim.subscription_ids) == 3
        assert all(len(sim.integrations(sub)) == 5 for sub in sim.subscription_ids)


def test_run_forever_serves_until_the_simulator_is_stopped(
    small_data: SimulatorData, http: httpx.Client
) -> None:
    sim = Simulator(small_data)
    runner = threading.Thread(target=run_forever, args=(sim,), daemon=True)
    runner.start()
    for _ in range(400):
        if sim._server is not None:
            break
        time.sleep(0.005)
    assert http.get(f"{sim.base_url}/v2/subscriptions").status_code == 401
    sim.stop()
    runner.join(timeout=5)
    assert not runner.is_alive()


def test_connections_are_kept_alive_across_requests(sim: Simulator) -> None:
    request = (f"GET /api/v2/subscriptions HTTP/1.1\r\nHost: 127.0.0.1:{sim.port}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        reader = conn.makefile("rb")
        for _ in range(3):
            conn.sendall(request)
            status_line = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            reader.read(int(headers["content-length"]))
            assert status_line.startswith(b"HTTP/1.1 401")
            assert headers.get("connection") != "close"


def test_latency_setting_delays_every_request(sim: Simulator, headers_a: dict[str, str]) -> None:
    sim.latency = 0.3
    assert sim.latency == 0.3
    with httpx.Client(timeout=0.05) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get(f"{sim.base_url}/v2/integrations", headers=headers_a)


def test_negative_latency_is_rejected(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="latency"):
        sim.latency = -0.1


def test_concurrent_clients_are_all_answered(
    sim: Simulator, headers_a: dict[str, str], sub_a: str
) -> None:
    sim.latency = 0.02
    ids = [c["id"] for c in sim.integrations(sub_a)]
    results: list[int] = []
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=30, max_keepalive_connections=30)

    with httpx.Client(timeout=5, limits=limits) as client:

        def worker(index: int) -> None:
            for round_ in range(3):
                iid = ids[(index + round_) % len(ids)]
                url = f"{sim.base_url}/v2/integrations/{iid}"
                status = client.get(url, headers=headers_a).status_code
                with lock:
                    results.append(status)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert results == [200] * 90


def test_request_log_records_method_path_query_body_subscription_and_status(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    sim.clear_requests()
    body = sim.integrations(sub_a)[0]
    http.get(f"{sim.base_url}/v2/integrations", params={"a": "1"}, headers=headers_a)
    http.post(f"{sim.base_url}/v2/integrations", headers=headers_a, json=body)
    http.get(f"{sim.base_url}/v2/integrations")
    first, second, third = sim.requests
    assert (first.method, first.path, first.query, first.body) == (
        "GET",
        "/v2/integrations",
        {"a": "1"},
        b"",
    )
    assert (first.subscription_id, first.status) == (sub_a, 200)
    assert second.method == "POST" and json.loads(second.body) == body
    assert second.status == 200
    assert (third.subscription_id, third.status) == (None, 401)


def test_request_log_records_token_requests_without_subscription(
    sim: Simulator, http: httpx.Client
) -> None:
    sim.clear_requests()
    http.post(sim.token_url, data={"grant_type": "client_credentials"})
    (entry,) = sim.requests
    assert (entry.method, entry.path, entry.subscription_id, entry.status) == (
        "POST",
        "/oauth/token",
        None,
        401,
    )


def test_request_log_names_the_subscription_of_a_revoked_key(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str], sub_a: str
) -> None:
    sim.revoke_key(sub_a)
    sim.clear_requests()
    http.get(f"{sim.base_url}/v2/integrations", headers=headers_a)
    assert [(r.subscription_id, r.status) for r in sim.requests] == [(sub_a, 401)]


def test_clear_requests_empties_the_log(
    sim: Simulator, http: httpx.Client, headers_a: dict[str, str]
) -> None:
    http.get(f"{sim.base_url}/v2/integrations", headers=headers_a)
    sim.clear_requests()
    assert sim.requests == []


def test_requests_property_returns_a_copy(sim: Simulator) -> None:
    sim.requests.append("junk")  # type: ignore[arg-type]
    assert sim.requests == []


def test_api_keys_property_returns_a_copy(sim: Simulator, sub_a: str) -> None:
    keys = sim.api_keys
    keys[sub_a] = "changed"
    assert sim.api_keys[sub_a] != "changed"


def test_describe_settings_points_a_client_at_the_simulator(sim: Simulator) -> None:
    settings = describe_settings(sim)
    assert settings == {
        "CONNXIO_BASE_URL": sim.base_url,
        "CONNXIO_TOKEN_URL": sim.token_url,
        "CONNXIO_CLIENT_ID": "cxbackup-demo",
        "CONNXIO_CLIENT_SECRET": "demo-client-secret",
        "CONNXIO_SCOPE": "api://connxio/.default",
        "CONNXIO_API_KEYS": settings["CONNXIO_API_KEYS"],
    }
    assert json.loads(settings["CONNXIO_API_KEYS"]) == sim.api_keys
