"""Fixtures for the Connxio client tests: a real simulator on loopback and a client for it.

Retry waits go to a recording no-op sleep (injected into ``RetryPolicy``), so tests never wait
and can assert on the waits. Requests go through ``RecordingTransport``: the real httpx
transport, which additionally notes each request's method, URL and headers, so tests can check
what went on the wire (the simulator's own record has no headers).
"""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from shared.connxio import ClientCredentials, ConnxioClient, RetryPolicy
from shared.simulator import Simulator
from tests.support import RecordingSleep


@dataclass
class FakeClock:
    """A monotonic clock that moves only when told (or when a ``RecordingSleep`` sleeps)."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: httpx.URL
    headers: httpx.Headers


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real network transport, noting every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentRequest] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(SentRequest(request.method, request.url, request.headers.copy()))
        return await super().handle_async_request(request)

    def api_requests(self) -> list[SentRequest]:
        """Requests to the API (not to the token endpoint)."""
        return [r for r in self.sent if "/v2/" in r.url.path]

    def bearer_tokens(self) -> set[str]:
        """Every access token that went on the wire."""
        return {
            r.headers["Authorization"].removeprefix("Bearer ")
            for r in self.sent
            if "Authorization" in r.headers
        }


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator() as sim:
        yield sim


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def credentials(simulator: Simulator) -> ClientCredentials:
    return ClientCredentials(
        token_url=simulator.token_url,
        client_id=simulator.client_id,
        client_secret=simulator.client_secret,
        scope=simulator.scope,
    )


@pytest.fixture
def retry(sleeps: RecordingSleep) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, rng=random.Random(7))


@pytest.fixture
async def client(
    simulator: Simulator,
    credentials: ClientCredentials,
    retry: RetryPolicy,
    transport: RecordingTransport,
) -> AsyncIterator[ConnxioClient]:
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry, transport=transport
    ) as connxio:
        yield connxio


@pytest.fixture
def sub_id(simulator: Simulator) -> str:
    """A subscription that holds integrations."""
    for candidate in simulator.subscription_ids:
        if simulator.integrations(candidate):
            return candidate
    raise AssertionError("the default simulator seed should hold integrations")


@pytest.fixture
def api_key(simulator: Simulator, sub_id: str) -> str:
    return simulator.api_keys[sub_id]


@pytest.fixture
def secrets(simulator: Simulator, transport: RecordingTransport) -> SecretCheck:
    return SecretCheck(simulator, transport)


class SecretCheck:
    """Asserts that no API key, client secret or access token shows up in a text."""

    def __init__(self, simulator: Simulator, transport: RecordingTransport) -> None:
        self._simulator = simulator
        self._transport = transport

    def values(self) -> set[str]:
        return {
            *self._simulator.api_keys.values(),
            self._simulator.client_secret,
            *self._transport.bearer_tokens(),
        }

    def assert_absent(self, *texts: str) -> None:
        values = self.values()
        assert len(values) >= 3, "the check needs the key, the secret and at least one token"
        for text in texts:
            for value in values:
                assert value not in text

    def assert_clean(self, error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
        """The error's message and repr, and every captured log line, hold no secret."""
        formatter = logging.Formatter("%(message)s")
        logged = [formatter.format(record) for record in caplog.records]
        self.assert_absent(str(error), repr(error), *logged)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
