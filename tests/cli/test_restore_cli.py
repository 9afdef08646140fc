"""``cxbackup restore`` as a user runs it: the plan table, confirmation, exit codes, --json.

Fixtures (``cli_env``: the environment pointed at the simulator with a local store;
``cxbackup``: ``main`` in-process) come from ``tests/cli/conftest.py``.
"""

from __future__ import annotations

import io
import json
import sys

from shared.simulator import Fault


class Terminal(io.StringIO):
    """Standard input as a terminal on which the user types ``text``."""

    def isatty(self) -> bool:
        return True


def writes(simulator) -> list:
    return [r for r in simulator.requests if r.path.startswith("/v2/") and r.method != "GET"]


def backup(cxbackup) -> str:
    return cxbackup("backup", "--json").json()["snapshotId"]


def break_one(simulator) -> tuple[str, dict]:
    sid = simulator.subscription_ids[0]
    config = simulator.integrations(sid)[0]
    original = config["description"]
    config["description"] = "broken at 14:05"
    simulator.put_integration(sid, config)
    return original, config


def test_restore_without_apply_prints_the_plan_with_its_changes(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    original, config = break_one(simulator)

    run = cxbackup("restore", snapshot_id)

    assert run.code == 0
    line = next(line for line in run.out.splitlines() if config["id"] in line)
    assert line.split()[:2] == ["update", config["id"]]
    expected = f"/description: {json.dumps('broken at 14:05')} → {json.dumps(original)[:60]}"
    assert expected in run.out
    assert "Nothing was changed" in run.out


def test_restore_without_apply_writes_nothing(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    break_one(simulator)
    simulator.clear_requests()

    cxbackup("restore", snapshot_id)

    assert writes(simulator) == []


def test_restore_apply_yes_restores_and_exits_zero(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    original, config = break_one(simulator)

    run = cxbackup("restore", snapshot_id, "--apply", "--yes")

    assert run.code == 0
    assert "succeeded" in run.out
    restored = simulator.get_integration(simulator.subscription_ids[0], config["id"])
    assert restored["description"] == original


def test_restore_apply_without_a_terminal_or_yes_is_refused_before_anything_is_read(
    cli_env, cxbackup, simulator, monkeypatch
):
    snapshot_id = backup(cxbackup)
    break_one(simulator)
    monkeypatch.setattr(sys, "stdin", io.StringIO(snapshot_id + "\n"))
    simulator.clear_requests()

    run = cxbackup("restore", snapshot_id, "--apply")

    assert run.code == 1
    assert "--yes" in run.err
    assert simulator.requests == []


def test_restore_apply_applies_when_the_user_types_the_snapshot_id(
    cli_env, cxbackup, simulator, monkeypatch
):
    snapshot_id = backup(cxbackup)
    original, config = break_one(simulator)
    monkeypatch.setattr(sys, "stdin", Terminal(snapshot_id + "\n"))

    run = cxbackup("restore", "latest", "--apply")

    assert run.code == 0
    assert f"Type the snapshot id {snapshot_id}" in run.err
    restored = simulator.get_integration(simulator.subscription_ids[0], config["id"])
    assert restored["description"] == original


def test_restore_apply_with_a_mistyped_confirmation_applies_nothing(
    cli_env, cxbackup, simulator, monkeypatch
):
    snapshot_id = backup(cxbackup)
    break_one(simulator)
    monkeypatch.setattr(sys, "stdin", Terminal("yes\n"))
    simulator.clear_requests()

    run = cxbackup("restore", snapshot_id, "--apply")

    assert run.code == 1
    assert "nothing was applied" in run.err
    assert writes(simulator) == []


def test_restore_exits_three_when_an_item_failed(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    _, config = break_one(simulator)
    simulator.inject(
        Fault("status", status=400, method="POST", integration_id=config["id"], message="nope")
    )

    run = cxbackup("restore", snapshot_id, "--apply", "--yes")

    assert run.code == 3
    line = next(line for line in run.out.splitlines() if config["id"] in line and "failed" in line)
    assert "nope" in line


def test_restore_json_output_holds_the_plan_and_the_report(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    break_one(simulator)

    document = cxbackup("restore", snapshot_id, "--apply", "--yes", "--json").json()

    assert document["plan"]["snapshot_id"] == snapshot_id
    assert document["report"]["outcome"] == "succeeded"


def test_a_reviewed_plan_is_applied_by_its_id(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    original, config = break_one(simulator)
    plan_id = cxbackup("restore", snapshot_id, "--json").json()["plan"]["plan_id"]

    run = cxbackup("restore", snapshot_id, "--plan", plan_id, "--apply", "--yes", "--json")

    assert run.code == 0
    assert run.json()["report"]["plan"]["plan_id"] == plan_id
    restored = simulator.get_integration(simulator.subscription_ids[0], config["id"])
    assert restored["description"] == original


def test_a_plan_id_applied_twice_is_refused_the_second_time(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    break_one(simulator)
    plan_id = cxbackup("restore", snapshot_id, "--json").json()["plan"]["plan_id"]
    cxbackup("restore", snapshot_id, "--plan", plan_id, "--apply", "--yes")

    run = cxbackup("restore", snapshot_id, "--plan", plan_id, "--apply", "--yes")

    assert run.code == 1
    assert "already applied" in run.err


def test_a_plan_id_with_another_snapshot_is_refused(cli_env, cxbackup, simulator):
    first = backup(cxbackup)
    break_one(simulator)
    second = backup(cxbackup)
    plan_id = cxbackup("restore", first, "--json").json()["plan"]["plan_id"]

    run = cxbackup("restore", second, "--plan", plan_id, "--apply", "--yes")

    assert run.code == 1
    assert first in run.err


def test_yes_without_apply_is_a_usage_error(cli_env, cxbackup):
    run = cxbackup("restore", "latest", "--yes")
    assert run.code == 1
    assert "--apply" in run.err


def test_restore_into_another_subscription_prints_the_new_ids(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    source, target = simulator.subscription_ids[:2]

    run = cxbackup(
        "restore", snapshot_id, "--subscription", source, "--to-subscription", target,
        "--apply", "--yes", "--json",
    )  # fmt: skip

    report = run.json()["report"]
    assert run.code == 0
    new_ids = set(report["id_map"].values())
    assert new_ids <= {c["id"] for c in simulator.integrations(target)}
    assert len(new_ids) == len(simulator.integrations(source))


def test_the_plan_table_shows_a_changed_secret_without_its_value(cli_env, cxbackup, simulator):
    snapshot_id = backup(cxbackup)
    secrets: set[str] = set()
    for sid in simulator.subscription_ids:
        for config in simulator.integrations(sid):
            secrets |= _decrypted(config)
    sid = simulator.subscription_ids[0]
    config = next(c for c in simulator.integrations(sid) if _decrypted(c))
    _rotate(config, "sk-live-rotated-at-1405")
    simulator.put_integration(sid, config)

    run = cxbackup("restore", snapshot_id, "--apply", "--yes")

    assert "secret changed" in run.out
    shown = run.out + run.err
    assert [s for s in secrets | {"sk-live-rotated-at-1405"} if s in shown] == []


def _decrypted(value) -> set[str]:
    if isinstance(value, dict):
        found = {value["decryptedValue"]} if isinstance(value.get("decryptedValue"), str) else set()
        for item in value.values():
            found |= _decrypted(item)
        return found
    if isinstance(value, list):
        return set().union(*(_decrypted(item) for item in value)) if value else set()
    return set()


def _rotate(value, new: str) -> None:
    if isinstance(value, dict):
        if isinstance(value.get("decryptedValue"), str):
            value["decryptedValue"] = new
        for item in value.values():
            _rotate(item, new)
    elif isinstance(value, list):
        for item in value:
            _rotate(item, new)
