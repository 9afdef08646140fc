"""The Connxio simulator: a loopback HTTP server speaking the Management API contract.

Used by the test suites, the benchmark and ``cxbackup simulator``::

    with Simulator(seed_estate(subscriptions=2)) as sim:
        sim.inject(Fault("status", status=429, retry_after=1, path=r"/v2/integrations"))
        ...  # point a client at sim.base_url / sim.token_url with sim.api_keys

``seed`` makes the deterministic estate, ``state`` holds it, ``api`` answers requests the way
the contract says, ``faults`` describes injected misbehaviour and ``server`` speaks HTTP.
"""

from shared.simulator.api import API_MEDIA_TYPE, DEFAULT_SCOPE, validation_problems
from shared.simulator.faults import Fault
from shared.simulator.seed import (
    INTEGRATION_PROPERTIES,
    SECRET_FIELD_NAMES,
    SECRET_PREFIX,
    SimulatorData,
    seed_estate,
    seeded_secret_values,
)
from shared.simulator.server import RecordedRequest, Simulator, describe_settings, run_forever

__all__ = [
    "API_MEDIA_TYPE",
    "DEFAULT_SCOPE",
    "INTEGRATION_PROPERTIES",
    "SECRET_FIELD_NAMES",
    "SECRET_PREFIX",
    "Fault",
    "RecordedRequest",
    "Simulator",
    "SimulatorData",
    "describe_settings",
    "run_forever",
    "seed_estate",
    "seeded_secret_values",
    "validation_problems",
]
