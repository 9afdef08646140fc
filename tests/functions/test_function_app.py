"""function_app.py loaded as the Functions host loads it: import the module, collect the
registered functions, and check every trigger, route, method and auth level."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import azure.functions as func
import pytest

ROOT = Path(__file__).resolve().parents[2]

# name → (trigger type, route, methods, auth level); timers have schedule instead of route.
EXPECTED_HTTP = {
    "start_backup": ("backups", {"POST"}),
    "snapshots": ("snapshots", {"GET"}),
    "snapshot": ("snapshots/{snapshotId}", {"GET"}),
    "snapshot_integration": ("snapshots/{snapshotId}/integrations/{integrationId}", {"GET"}),
    "audits": ("audits", {"GET"}),
    "integration_history": ("integrations/{integrationId}/history", {"GET"}),
    "restore": ("restore", {"POST"}),
    "verify_snapshots": ("verify", {"POST"}),
    "prune_snapshots": ("prune", {"POST"}),
    "acknowledge_snapshot": ("snapshots/{snapshotId}/acknowledge", {"POST"}),
}
EXPECTED_TIMERS = {"scheduled_backup": "%BACKUP_SCHEDULE%"}


@pytest.fixture(scope="module")
def function_app() -> func.FunctionApp:
    """Import function_app.py from the repository root under the name the host gives it."""
    spec = importlib.util.spec_from_file_location("function_app", ROOT / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module.app


@pytest.fixture(scope="module")
def function_json(function_app) -> dict[str, dict]:
    """Each function's function.json, as the host indexes it (collected once: the app refuses
    to index the same blueprints twice)."""
    documents = {}
    for fn in function_app.get_functions():
        document = json.loads(fn.get_function_json())
        # The worker hands retry policies to the host from the function's settings.
        document["retry_policy"] = fn.get_settings_dict("retry_policy")
        documents[fn.get_function_name()] = document
    return documents


@pytest.fixture(scope="module")
def bindings(function_json) -> dict[str, list[dict]]:
    return {name: document["bindings"] for name, document in function_json.items()}


def trigger_of(bindings: list[dict]) -> dict:
    (trigger,) = [b for b in bindings if b["type"].endswith("Trigger")]
    return trigger


def test_the_app_registers_exactly_the_expected_functions(bindings):
    assert set(bindings) == set(EXPECTED_HTTP) | set(EXPECTED_TIMERS)


@pytest.mark.parametrize("name", sorted(EXPECTED_HTTP))
def test_http_function_has_its_route_method_and_function_level_auth(bindings, name):
    route, methods = EXPECTED_HTTP[name]
    trigger = trigger_of(bindings[name])
    assert trigger["type"] == "httpTrigger"
    assert trigger["route"] == route
    assert {m.upper() for m in trigger["methods"]} == methods
    assert trigger["authLevel"].lower() == "function"


def test_every_http_function_requires_a_key(bindings):
    for name, function_bindings in bindings.items():
        trigger = trigger_of(function_bindings)
        if trigger["type"] == "httpTrigger":
            assert trigger["authLevel"].lower() in ("function", "admin"), name


@pytest.mark.parametrize("name", sorted(EXPECTED_TIMERS))
def test_timer_runs_on_the_schedule_app_setting(bindings, name):
    trigger = trigger_of(bindings[name])
    assert trigger["type"] == "timerTrigger"
    assert trigger["schedule"] == EXPECTED_TIMERS[name]
    assert trigger.get("runOnStartup") in (False, None)


def used_settings(bindings) -> set[str]:
    text = json.dumps(bindings)
    return set(re.findall(r"%([A-Za-z0-9_]+)%", text))


def test_every_setting_the_bindings_use_is_in_local_settings_example(bindings):
    example = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    assert used_settings(bindings) <= set(example)


def test_every_setting_the_bindings_use_is_documented_in_the_readme(bindings):
    readme = (ROOT / "README.md").read_text()
    for setting in used_settings(bindings):
        assert f"`{setting}`" in readme, setting


def test_every_setting_the_app_reads_is_in_local_settings_example():
    example = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    source = (ROOT / "shared" / "settings.py").read_text()
    read = set(re.findall(r'"((?:CONNXIO|BACKUP|AUDIT|RETENTION|MASS)_[A-Z_]+)"', source))
    assert read - {"BACKUP_LOCAL_PATH"} <= set(example)


def test_the_scheduled_backup_is_retried_with_backoff_when_it_fails(function_json):
    retry = function_json["scheduled_backup"]["retry_policy"]
    assert retry["strategy"] == "exponential_backoff"
    assert int(retry["max_retry_count"]) == 2
