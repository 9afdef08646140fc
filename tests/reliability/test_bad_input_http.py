"""Bad input to every HTTP endpoint: each case gets a 4xx problem document and changes nothing.

The functions are the ones ``function_app.py`` registers (loaded as the host loads it), called
with real ``azure.functions.HttpRequest`` objects against a store on Azurite that holds one
snapshot and one restore plan, and the simulator. For every case the test checks:

- the status is the expected 4xx and the body an RFC 9457 ``application/problem+json`` document
  (``type``, ``title``, ``status``, ``detail``) that is short and holds no stack trace;
- the store's listing (objects, snapshots, audits, plans, restores, state, locks) is identical
  before and after, and the simulator received no write (POST/PUT/DELETE).

Wrong methods never reach a function: the Functions host routes by the methods each HTTP
trigger declares in its binding and answers any other method itself (404 or 405; the function is
not invoked). ``METHODS`` below is that
contract, checked against the registered bindings, so a function that accepted more methods
than it handles would fail here.

The table
=========

``{snapshot}`` is the stored snapshot's id, ``{integration}`` one of its integrations,
``{subscription}`` one of its subscriptions, ``{plan}`` the stored plan's id. Ids with path
traversal are tried in every position that takes an id: ``../``, ``%2e%2e`` (URL-encoded dots
arrive percent-decoded or not, depending on the front end; both forms are tried), absolute
paths and Windows paths.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import azure.functions as func
import pytest

from shared.app import plan_restore, take_backup
from shared.clock import TickingClock
from shared.connxio import RetryPolicy
from shared.core.manifest import Trigger
from shared.services.restore import PlanRequest
from shared.settings import load_settings
from shared.simulator import Simulator, describe_settings, seed_estate
from shared.triggers.context import use_runtime
from shared.triggers.requests import MAX_BODY_BYTES
from shared.wiring import Runtime
from tests.reliability.conftest import api_writes, store_names
from tests.service_fixtures import START
from tests.support import no_sleep

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN_SNAPSHOT = "20200101T000000Z-abcdef"
UNKNOWN_PLAN = "plan-20200101T000000Z-abcdef"

# What the host enforces before any code of ours runs: each HTTP function's exact methods.
# Any other method on the route gets the host's own 404/405; the function is never called.
METHODS = {
    "start_backup": {"POST"},
    "snapshots": {"GET"},
    "snapshot": {"GET"},
    "snapshot_integration": {"GET"},
    "audits": {"GET"},
    "integration_history": {"GET"},
    "restore": {"POST"},
    "verify_snapshots": {"POST"},
    "prune_snapshots": {"POST"},
    "acknowledge_snapshot": {"POST"},
}

TRAVERSAL_IDS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc",
    "..",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "snapshots/../../x",
]


@dataclass(frozen=True)
class Case:
    """One bad request: which function, what is wrong with it, and the status it must get."""

    function: str
    what: str  # the kind of bad input, for the test id
    status: int
    method: str = "GET"
    route_params: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def id(self) -> str:
        return f"{self.function}-{self.what}"


def body(document: object) -> bytes:
    return json.dumps(document).encode("utf-8")


def huge(document_key: str = "note") -> bytes:
    return body({document_key: "x" * (MAX_BODY_BYTES + 1)})


def backup_cases() -> list[Case]:
    def post(what: str, data: bytes, status: int = 400) -> Case:
        return Case("start_backup", what, status, "POST", body=data)

    return [
        post("malformed-json", b'{"note": '),
        post("json-not-an-object", b'["note"]'),
        post("json-string", b'"note"'),
        post("wrong-type-number", body({"note": 42})),
        post("wrong-type-object", body({"note": {"text": "x"}})),
        post("unknown-field", body({"note": "x", "subscriptions": ["a"]})),
        post("oversized-field", body({"note": "x" * 501})),
        post("not-utf8", b'{"note": "\xff\xfe"}'),
        post("nan-literal", b'{"note": NaN}'),
        post("huge-body", huge(), 413),
    ]


def listing_cases() -> list[Case]:
    def get(what: str, params: dict[str, str]) -> Case:
        return Case("snapshots", what, 400, params=params)

    cases = [
        get("limit-not-a-number", {"limit": "ten"}),
        get("limit-zero", {"limit": "0"}),
        get("limit-negative", {"limit": "-1"}),
        get("limit-too-large", {"limit": "201"}),
        get("limit-float", {"limit": "1.5"}),
        get("limit-huge-number", {"limit": "9" * 5000}),
        get("before-latest", {"before": "latest"}),
        get("before-oversized", {"before": "2" * 5000}),
    ]
    cases += [get(f"before-traversal-{i}", {"before": bad}) for i, bad in enumerate(TRAVERSAL_IDS)]
    return cases


def snapshot_cases() -> list[Case]:
    cases = [
        Case("snapshot", "unknown-snapshot", 404, route_params={"snapshotId": UNKNOWN_SNAPSHOT}),
        Case("snapshot", "empty-id", 400, route_params={"snapshotId": ""}),
        Case("snapshot", "oversized-id", 400, route_params={"snapshotId": "2" * 5000}),
        Case("snapshot", "id-with-suffix", 400, route_params={"snapshotId": "{snapshot}.json"}),
    ]
    cases += [
        Case("snapshot", f"traversal-{i}", 400, route_params={"snapshotId": bad})
        for i, bad in enumerate(TRAVERSAL_IDS)
    ]
    return cases


def stored_integration_cases() -> list[Case]:
    def get(what: str, snapshot: str, integration: str, status: int = 400) -> Case:
        return Case(
            "snapshot_integration",
            what,
            status,
            route_params={"snapshotId": snapshot, "integrationId": integration},
        )

    cases = [
        get("unknown-snapshot", UNKNOWN_SNAPSHOT, "{integration}", 404),
        get("unknown-integration", "{snapshot}", "no-such-integration", 404),
        get("oversized-integration-id", "{snapshot}", "a" * 129),
        get("integration-id-with-slash", "{snapshot}", "{integration}/x"),
    ]
    cases += [
        get(f"snapshot-traversal-{i}", bad, "{integration}") for i, bad in enumerate(TRAVERSAL_IDS)
    ]
    cases += [
        get(f"integration-traversal-{i}", "{snapshot}", bad) for i, bad in enumerate(TRAVERSAL_IDS)
    ]
    return cases


def audit_cases() -> list[Case]:
    def get(what: str, params: dict[str, str], status: int = 400) -> Case:
        return Case("audits", what, status, params=params)

    return [
        get("unknown-format", {"format": "pdf"}),
        get("format-traversal", {"format": "../html"}),
        get("from-unknown-snapshot", {"from": UNKNOWN_SNAPSHOT}, 404),
        get("to-unknown-snapshot", {"to": UNKNOWN_SNAPSHOT}, 404),
        get("from-traversal", {"from": "../../etc/passwd"}),
        get("to-encoded-traversal", {"to": "%2e%2e%2f%2e%2e"}),
        get("from-absolute-path", {"from": "/etc/passwd"}),
        get("from-oversized", {"from": "2" * 5000}),
        get("subscription-traversal", {"subscription": "../x"}),
        get("integration-absolute-path", {"integration": "/etc/passwd"}),
        get("integration-list-with-traversal", {"integration": "{integration},../x"}),
    ]


def history_cases() -> list[Case]:
    cases = [
        Case(
            "integration_history",
            "unknown-integration",
            404,
            route_params={"integrationId": "no-such-integration"},
        ),
        Case("integration_history", "oversized-id", 400, route_params={"integrationId": "a" * 129}),
        Case("integration_history", "empty-id", 400, route_params={"integrationId": ""}),
    ]
    cases += [
        Case("integration_history", f"traversal-{i}", 400, route_params={"integrationId": bad})
        for i, bad in enumerate(TRAVERSAL_IDS)
    ]
    return cases


def restore_cases() -> list[Case]:
    def post(what: str, data: bytes, status: int = 400) -> Case:
        return Case("restore", what, status, "POST", body=data)

    apply = {"apply": True, "planId": "{plan}", "confirm": "{snapshot}"}
    cases = [
        post("missing-body", b""),
        post("malformed-json", b'{"snapshot": "latest"'),
        post("json-not-an-object", b'["latest"]'),
        post("not-utf8", b'{"snapshot": "\xff"}'),
        post("wrong-type-snapshot", body({"snapshot": 5})),
        post("wrong-type-apply-string", body({**apply, "apply": "true"})),
        post("wrong-type-apply-number", body({**apply, "apply": 1})),
        post("wrong-type-validate", body({"snapshot": "latest", "validate": "no"})),
        post("wrong-type-subscriptions", body({"snapshot": "latest", "subscriptions": "abc"})),
        post("wrong-type-integration-items", body({"snapshot": "latest", "integrations": [1]})),
        post("unknown-field", body({"snapshot": "latest", "dryRun": True})),
        post("unknown-field-on-apply", body({**apply, "overwrite": True})),
        post("oversized-snapshot", body({"snapshot": "2" * 65})),
        post("oversized-requested-by", body({"snapshot": "latest", "requestedBy": "x" * 201})),
        post(
            "too-many-subscriptions",
            body({"snapshot": "latest", "subscriptions": [f"s{i}" for i in range(101)]}),
        ),
        post(
            "too-many-integrations",
            body({"snapshot": "latest", "integrations": [f"i{i}" for i in range(1001)]}),
        ),
        post("empty-scope-list", body({"snapshot": "latest", "integrations": []})),
        post("no-snapshot", body({"requestedBy": "someone"})),
        post("unknown-snapshot", body({"snapshot": UNKNOWN_SNAPSHOT}), 404),
        post(
            "unknown-subscription",
            body({"snapshot": "{snapshot}", "subscriptions": ["no-such-subscription"]}),
            404,
        ),
        post(
            "unknown-integration",
            body({"snapshot": "{snapshot}", "integrations": ["no-such-integration"]}),
            404,
        ),
        post(
            "integration-traversal",
            body({"snapshot": "{snapshot}", "integrations": ["../../etc/passwd"]}),
        ),
        post(
            "subscription-absolute-path",
            body({"snapshot": "{snapshot}", "subscriptions": ["/etc/passwd"]}),
        ),
        post(
            "target-subscription-traversal",
            body({"snapshot": "{snapshot}", "targetSubscription": "..\\..\\x"}),
        ),
        post("plan-id-traversal", body({**apply, "planId": "../plans/x"})),
        post("plan-id-encoded-traversal", body({**apply, "planId": "%2e%2e%2fx"})),
        post(
            "unknown-plan",
            body({"apply": True, "planId": UNKNOWN_PLAN, "confirm": UNKNOWN_SNAPSHOT}),
            404,
        ),
        post("apply-without-plan", body({"apply": True, "confirm": "{snapshot}"}), 422),
        post("apply-without-confirm", body({"apply": True, "planId": "{plan}"}), 422),
        post("apply-confirm-latest", body({**apply, "confirm": "latest"}), 422),
        post("apply-wrong-confirm", body({**apply, "confirm": UNKNOWN_SNAPSHOT}), 422),
        post("apply-with-scope", body({**apply, "integrations": ["{integration}"]})),
        post("plan-with-plan-id", body({"snapshot": "{snapshot}", "planId": "{plan}"})),
        post("huge-body", huge("requestedBy"), 413),
    ]
    cases += [
        post(f"snapshot-traversal-{i}", body({"snapshot": bad}))
        for i, bad in enumerate(TRAVERSAL_IDS)
    ]
    return cases


def verify_cases() -> list[Case]:
    def post(what: str, data: bytes, status: int = 400) -> Case:
        return Case("verify_snapshots", what, status, "POST", body=data)

    cases = [
        post("malformed-json", b'{"snapshot": '),
        post("json-not-an-object", b"[true]"),
        post("wrong-type-snapshot", body({"snapshot": 5})),
        post("wrong-type-all", body({"all": "true"})),
        post("unknown-field", body({"all": True, "repair": True})),
        post("snapshot-and-all", body({"snapshot": "{snapshot}", "all": True})),
        post("oversized-snapshot", body({"snapshot": "2" * 65})),
        post("unknown-snapshot", body({"snapshot": UNKNOWN_SNAPSHOT}), 404),
        post("huge-body", huge("snapshot"), 413),
    ]
    cases += [
        post(f"snapshot-traversal-{i}", body({"snapshot": bad}))
        for i, bad in enumerate(TRAVERSAL_IDS)
    ]
    return cases


def prune_cases() -> list[Case]:
    def post(what: str, data: bytes, status: int = 400) -> Case:
        return Case("prune_snapshots", what, status, "POST", body=data)

    return [
        post("malformed-json", b'{"dryRun": tru'),
        post("json-not-an-object", b"true"),
        post("wrong-type-dry-run-string", body({"dryRun": "yes"})),
        post("wrong-type-dry-run-number", body({"dryRun": 1})),
        post("python-field-name", body({"dry_run": True})),
        post("unknown-field", body({"dryRun": True, "keepLast": 0})),
        post("huge-body", huge("dryRun"), 413),
    ]


def acknowledge_cases() -> list[Case]:
    def post(what: str, data: bytes, status: int = 400, snapshot: str = "{snapshot}") -> Case:
        return Case(
            "acknowledge_snapshot",
            what,
            status,
            "POST",
            route_params={"snapshotId": snapshot},
            body=data,
        )

    cases = [
        post("missing-body", b""),
        post("malformed-json", b'{"by": "ops"'),
        post("json-not-an-object", b'["ops"]'),
        post("missing-by", body({"note": "reviewed"})),
        post("empty-by", body({"by": ""})),
        post("wrong-type-by", body({"by": 5})),
        post("wrong-type-note", body({"by": "ops", "note": ["x"]})),
        post("oversized-by", body({"by": "x" * 201})),
        post("oversized-note", body({"by": "ops", "note": "x" * 2001})),
        post("unknown-field", body({"by": "ops", "force": True})),
        post("huge-body", huge("by"), 413),
        post("unknown-snapshot", body({"by": "ops"}), 404, UNKNOWN_SNAPSHOT),
        post("snapshot-without-mass-change", body({"by": "ops"}), 422),
    ]
    cases += [
        post(f"snapshot-traversal-{i}", body({"by": "ops"}), 400, bad)
        for i, bad in enumerate(TRAVERSAL_IDS)
    ]
    return cases


CASES: list[Case] = [
    *backup_cases(),
    *listing_cases(),
    *snapshot_cases(),
    *stored_integration_cases(),
    *audit_cases(),
    *history_cases(),
    *restore_cases(),
    *verify_cases(),
    *prune_cases(),
    *acknowledge_cases(),
]


# -- the app and a store with something in it --------------------------------------------------


def load_function_app() -> func.FunctionApp:
    """Import function_app.py from the repository root under the name the host gives it."""
    spec = importlib.util.spec_from_file_location("function_app", ROOT / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module.app


@pytest.fixture(scope="module")
def http_functions() -> dict[str, SimpleNamespace]:
    """Each registered HTTP function by name: its methods (from the binding) and callable."""
    found = {}
    for fn in load_function_app().get_functions():
        bindings = json.loads(fn.get_function_json())["bindings"]
        (trigger,) = [b for b in bindings if b["type"].endswith("Trigger")]
        if trigger["type"] == "httpTrigger":
            found[fn.get_function_name()] = SimpleNamespace(
                methods={m.upper() for m in trigger["methods"]},
                route=trigger["route"],
                call=fn.get_user_function(),
            )
    return found


@pytest.fixture(scope="module")
def seeded(azurite) -> Iterator[SimpleNamespace]:
    """One simulator and one Azurite container holding a snapshot and a stored plan."""
    data = seed_estate(subscriptions=2, integrations_per_subscription=3, seed=5)
    with Simulator(data) as simulator:
        settings = {
            **describe_settings(simulator),
            "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "BACKUP_CONTAINER": f"bad-{uuid.uuid4().hex[:20]}",
        }
        runtime = Runtime.from_settings(load_settings(settings), clock=TickingClock(START))
        runtime.retry = RetryPolicy(sleep=no_sleep, max_attempts=2)

        async def prepare() -> SimpleNamespace:
            outcome = await take_backup(runtime, Trigger.HTTP)
            manifest = await runtime.repository.read_manifest(outcome.manifest.snapshot_id)
            plan = await plan_restore(
                runtime, PlanRequest(snapshot=manifest.snapshot_id, requested_by="test")
            )
            subscription = manifest.subscriptions[0]
            return SimpleNamespace(
                snapshot=manifest.snapshot_id,
                subscription=subscription.subscription_id,
                integration=subscription.integrations[0].id,
                plan=plan.plan_id,
            )

        ids = asyncio.run(prepare())
        try:
            yield SimpleNamespace(simulator=simulator, runtime=runtime, ids=ids)
        finally:
            runtime.repository.close()


@pytest.fixture
def installed(seeded) -> Iterator[SimpleNamespace]:
    use_runtime(seeded.runtime)
    yield seeded
    use_runtime(None)


def fill(value, ids: SimpleNamespace):
    """Put the stored ids into a case's placeholders (``{snapshot}``...)."""
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, bytes):
        for name, real in vars(ids).items():
            value = value.replace(f"{{{name}}}".encode(), real.encode())
        return value
    for name, real in vars(ids).items():
        value = value.replace(f"{{{name}}}", real)
    return value


def request_for(case: Case, ids: SimpleNamespace, route: str) -> func.HttpRequest:
    route_params = fill(case.route_params, ids)
    url = "/api/" + route
    for name, value in route_params.items():
        url = url.replace(f"{{{name}}}", value)
    return func.HttpRequest(
        case.method,
        url,
        body=fill(case.body, ids),
        params=fill(case.params, ids),
        route_params=route_params,
        headers={"content-type": "application/json"},
    )


# -- the tests ---------------------------------------------------------------------------------


def test_every_http_function_declares_exactly_its_methods(http_functions):
    """The host answers any other method itself; the function is never called with it."""
    assert {name: f.methods for name, f in http_functions.items()} == METHODS


def test_every_http_function_has_bad_input_cases(http_functions):
    covered = {case.function for case in CASES}
    assert set(http_functions) <= covered, sorted(set(http_functions) - covered)


def test_case_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_bad_request_gets_a_4xx_problem_and_changes_nothing(
    case: Case, installed, http_functions
):
    function = http_functions[case.function]
    assert case.method in function.methods
    backend = installed.runtime.repository.backend
    names_before = store_names(backend)
    writes_before = len(api_writes(installed.simulator))

    response = await function.call(request_for(case, installed.ids, function.route))

    assert response.status_code == case.status, response.get_body()[:500]
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    raw = response.get_body()
    assert len(raw) < 4096  # short: never echoes a huge input back
    document = json.loads(raw)
    assert {"type", "title", "status", "detail"} <= document.keys()
    assert document["status"] == case.status
    assert isinstance(document["detail"], str) and document["detail"]
    assert "Traceback" not in document["detail"]
    assert store_names(backend) == names_before
    assert len(api_writes(installed.simulator)) == writes_before
