"""Fixtures for the simulator's own tests: a small running simulator and an httpx client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from shared.simulator import API_MEDIA_TYPE, Simulator, SimulatorData, seed_estate


@pytest.fixture(scope="session")
def small_data() -> SimulatorData:
    return seed_estate(subscriptions=2, integrations_per_subscription=3, seed=7)


@pytest.fixture
def sim(small_data: SimulatorData) -> Iterator[Simulator]:
    with Simulator(small_data) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    # One client for the session: creating one costs tens of milliseconds (TLS context).
    with httpx.Client(timeout=5.0) as client:
        yield client


def token_form(sim: Simulator, **overrides: str) -> dict[str, str]:
    """The client-credentials form for ``sim``, with any field replaced."""
    form = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "scope": sim.scope,
    }
    form.update(overrides)
    return form


def grant_token(sim: Simulator, http: httpx.Client) -> str:
    response = http.post(sim.token_url, data=token_form(sim))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def token(sim: Simulator, http: httpx.Client) -> str:
    return grant_token(sim, http)


@pytest.fixture
def new_token(sim: Simulator, http: httpx.Client) -> Callable[[], str]:
    """Grant a fresh token on each call."""
    return lambda: grant_token(sim, http)


@pytest.fixture
def sub_a(sim: Simulator) -> str:
    return sim.subscription_ids[0]


@pytest.fixture
def sub_b(sim: Simulator) -> str:
    return sim.subscription_ids[1]


def headers_for(sim: Simulator, token: str, subscription_id: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Connxio-Api-Key": sim.api_keys[subscription_id],
        "Accept": API_MEDIA_TYPE,
    }


@pytest.fixture
def headers(sim: Simulator, token: str) -> Callable[[str], dict[str, str]]:
    """Auth headers (shared token) for a subscription's API key."""
    return lambda subscription_id: headers_for(sim, token, subscription_id)


@pytest.fixture
def headers_a(sim: Simulator, token: str, sub_a: str) -> dict[str, str]:
    return headers_for(sim, token, sub_a)
