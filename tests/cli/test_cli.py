"""``cxbackup`` commands as a user runs them: output, --json, exit codes, clear errors."""

from __future__ import annotations

from shared.core.canonical import canonical_bytes
from tests.support import edit_first_integration


def test_backup_prints_a_summary_and_exits_zero(cli_env, cxbackup):
    run = cxbackup("backup")
    assert run.code == 0
    assert "complete" in run.out
    assert "backing up into" in run.err  # progress goes to stderr


def test_backup_json_output_is_machine_readable(cli_env, cxbackup):
    run = cxbackup("backup", "--json")
    summary = run.json()
    assert summary["status"] == "complete"
    assert summary["objectsWritten"] == 6


def test_partial_backup_exits_three(cli_env, cxbackup, simulator):
    simulator.revoke_key(simulator.subscription_ids[0])
    run = cxbackup("backup")
    assert run.code == 3
    assert "failed" in run.out


def test_snapshots_lists_newest_first(cli_env, cxbackup):
    first = cxbackup("backup", "--json").json()["snapshotId"]
    second = cxbackup("backup", "--json").json()["snapshotId"]
    listing = cxbackup("snapshots", "--json").json()
    assert [i["snapshotId"] for i in listing["items"]] == [second, first]


def test_show_integration_prints_the_stored_bytes_exactly(cli_env, cxbackup, simulator):
    cxbackup("backup")
    live = simulator.integrations(simulator.subscription_ids[0])[0]
    run = cxbackup("show", "latest", "--integration", live["id"])
    assert run.out.encode("utf-8") == canonical_bytes(live) + b"\n"


def test_audit_markdown_names_the_changed_integration(cli_env, cxbackup, simulator):
    cxbackup("backup")
    sid = simulator.subscription_ids[0]
    config = edit_first_integration(simulator, sid, "changed")
    cxbackup("backup")
    run = cxbackup("audit", "--format", "markdown")
    assert run.code == 0
    assert config["id"] in run.out
    assert "/description" in run.out


def test_audit_writes_html_to_a_file(cli_env, cxbackup, tmp_path):
    cxbackup("backup")
    target = tmp_path / "audit.html"
    run = cxbackup("audit", "--format", "html", "-o", str(target))
    assert run.code == 0
    assert target.read_text().startswith("<!DOCTYPE html>")


def test_history_shows_the_integration_timeline(cli_env, cxbackup, simulator):
    cxbackup("backup")
    live = simulator.integrations(simulator.subscription_ids[0])[0]
    run = cxbackup("history", live["id"], "--json")
    assert run.json()["events"][0]["kind"] == "added"


def test_unknown_snapshot_is_a_clear_error(cli_env, cxbackup):
    cxbackup("backup")
    run = cxbackup("show", "20200101T000000Z-abcdef")
    assert run.code == 1
    assert "does not exist" in run.err
    assert "Traceback" not in run.err


def test_malformed_snapshot_id_is_a_clear_error(cli_env, cxbackup):
    run = cxbackup("show", "../../etc/passwd")
    assert run.code == 1
    assert "is not a snapshot id" in run.err


def test_missing_setting_is_named(cli_env, cxbackup, monkeypatch):
    monkeypatch.delenv("CONNXIO_CLIENT_SECRET")
    run = cxbackup("backup")
    assert run.code == 1
    assert "CONNXIO_CLIENT_SECRET" in run.err


def test_errors_never_print_the_client_secret_or_keys(cli_env, cxbackup, simulator, monkeypatch):
    monkeypatch.setenv("CONNXIO_CLIENT_SECRET", "wrong-secret-value")
    run = cxbackup("backup")
    assert run.code in (1, 3)
    text = run.out + run.err
    assert "wrong-secret-value" not in text
    assert all(key not in text for key in simulator.api_keys.values())


def test_store_that_is_a_file_is_a_clear_error(cli_env, cxbackup, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    run = cxbackup("snapshots", "--store", str(not_a_folder))
    assert run.code == 1
    assert "not a folder" in run.err


def test_demo_runs_the_whole_story(cxbackup, tmp_path, monkeypatch):
    monkeypatch.delenv("CXBACKUP_STORE", raising=False)
    run = cxbackup("demo", "--store", str(tmp_path / "demo"))
    assert run.code == 0, run.err
    assert "0 new object(s)" in run.out  # the unchanged second backup
    assert "wrong-host.example" in run.out  # the audit shows the bad edit


def test_backup_where_every_subscription_fails_exits_one(cli_env, cxbackup, simulator):
    for sid in simulator.subscription_ids:
        simulator.revoke_key(sid)
    run = cxbackup("backup")
    assert run.code == 1
    assert "failed" in run.out


def test_backup_note_is_stored_with_the_snapshot(cli_env, cxbackup):
    cxbackup("backup", "--note", "before the release")
    assert cxbackup("show", "latest", "--json").json()["note"] == "before the release"


def test_simulator_on_a_port_in_use_is_a_clear_error(cxbackup):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = cxbackup("simulator", "--port", str(taken.getsockname()[1]))
    assert run.code == 1
    assert "choose another with --port" in run.err
