"""``cxbackup verify``, ``prune`` and ``acknowledge`` as a user runs them: output, --json, exit
codes and clear errors."""

from __future__ import annotations

import pytest

from shared.store import codec
from shared.store.local import LocalBackend
from shared.store.repository import object_name, snapshot_name


@pytest.fixture
def keep_one(monkeypatch):
    """Retention that keeps only the newest snapshot, with no grace period."""
    for name, value in {
        "RETENTION_KEEP_LAST": "1",
        "RETENTION_KEEP_DAILY": "0",
        "RETENTION_KEEP_WEEKLY": "0",
        "RETENTION_KEEP_MONTHLY": "0",
        "RETENTION_GRACE_DAYS": "0",
    }.items():
        monkeypatch.setenv(name, value)


def first_object_of(cxbackup) -> tuple[str, str]:
    """(integration id, hash) of the first entry of the latest snapshot."""
    manifest = cxbackup("show", "latest", "--json").json()
    entry = manifest["subscriptions"][0]["integrations"][0]
    return entry["id"], entry["hash"]


def test_verify_of_an_intact_store_says_ok_and_exits_zero(cli_env, cxbackup):
    cxbackup("backup")
    run = cxbackup("verify")
    assert run.code == 0
    assert "1 snapshot(s)" in run.out
    assert ": ok" in run.out


def test_verify_names_a_missing_object_and_exits_three(cli_env, cxbackup):
    cxbackup("backup")
    integration_id, digest = first_object_of(cxbackup)
    LocalBackend(cli_env).delete(object_name(digest))
    run = cxbackup("verify", "latest")
    assert run.code == 3
    assert "missing" in run.out
    assert integration_id in run.out


def test_verify_json_reports_an_edited_manifest(cli_env, cxbackup):
    first = cxbackup("backup", "--json").json()["snapshotId"]
    cxbackup("backup")
    backend = LocalBackend(cli_env)
    data = codec.decode(backend.read(snapshot_name(first)))
    backend.delete(snapshot_name(first))
    edited = data.replace(b'"warnings":[]', b'"warnings":["x"]')
    backend.create(snapshot_name(first), codec.encode(edited))
    run = cxbackup("verify", "--all", "--json")
    assert run.code == 3
    report = run.json()
    assert [(p["snapshot_id"], p["kind"]) for p in report["chain"]["problems"]] == [
        (first, "hash_mismatch")
    ]


def test_verify_with_both_a_snapshot_and_all_is_an_error(cli_env, cxbackup):
    run = cxbackup("verify", "latest", "--all")
    assert run.code == 1
    assert "not both" in run.err


def test_prune_dry_run_lists_what_would_go_and_changes_nothing(cli_env, cxbackup, keep_one):
    first = cxbackup("backup", "--json").json()["snapshotId"]
    cxbackup("backup")
    run = cxbackup("prune", "--dry-run")
    assert run.code == 0
    assert "dry run" in run.out
    assert f"forget  {first}" in run.out
    assert len(cxbackup("snapshots", "--json").json()["items"]) == 2


def test_prune_forgets_what_the_policy_lets_go_and_says_why_it_keeps_the_rest(
    cli_env, cxbackup, keep_one
):
    cxbackup("backup")
    newest = cxbackup("backup", "--json").json()["snapshotId"]
    run = cxbackup("prune", "--json")
    assert run.code == 0
    report = run.json()
    assert [k["snapshot_id"] for k in report["keep"]] == [newest]
    assert "last good" in report["keep"][0]["reasons"]
    assert [i["snapshotId"] for i in cxbackup("snapshots", "--json").json()["items"]] == [newest]


def test_acknowledge_releases_a_mass_change_hold(cli_env, cxbackup, simulator, keep_one):
    cxbackup("backup")
    victim = simulator.subscription_ids[0]
    for config in simulator.integrations(victim)[1:]:
        simulator.delete_integration(victim, config["id"])
    flagged = cxbackup("backup", "--json").json()["snapshotId"]
    cxbackup("backup")

    held = cxbackup("prune")
    assert f"hold: subscription {victim}" in held.out
    assert len(cxbackup("snapshots", "--json").json()["items"]) == 3

    ack = cxbackup("acknowledge", flagged, "--by", "alice", "--note", "planned clean-up")
    assert ack.code == 0
    assert "alice" in ack.out
    cxbackup("prune")
    assert len(cxbackup("snapshots", "--json").json()["items"]) == 1


def test_acknowledging_a_snapshot_without_a_mass_change_is_an_error(cli_env, cxbackup):
    quiet = cxbackup("backup", "--json").json()["snapshotId"]
    run = cxbackup("acknowledge", quiet, "--by", "alice")
    assert run.code == 1
    assert "nothing to acknowledge" in run.err


def test_acknowledge_needs_to_know_who_reviewed_it(cli_env, cxbackup):
    with pytest.raises(SystemExit) as exit_info:
        cxbackup("acknowledge", "latest")
    assert exit_info.value.code == 2
