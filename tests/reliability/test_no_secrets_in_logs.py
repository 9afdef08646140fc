"""Secrets never reach a log line, an output, an error message, or a stored document other than
the config objects themselves.

The estate holds known secret values: every seeded ``decryptedValue`` (``sk-live-...``), plus a
password inside a ``connectionProperties`` JSON string that this test adds, and the rotated values
of a "bad edit". Around them are the API keys, the OAuth client secret and the bearer tokens the
simulator issued. A backup, a second backup after the edit, the audits and a restore (plan, then
apply, with the API rejecting one upsert by quoting the secrets it was sent) run with every
logger captured at DEBUG; none of those values may appear anywhere a person or a log collector
sees.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from shared.cli import main
from shared.core.manifest import SubscriptionStatus, Trigger
from shared.simulator import Fault, Simulator, describe_settings, seeded_secret_values
from shared.triggers.http import audits, start_backup
from shared.triggers.restore import restore
from tests.functions.conftest import http_request
from tests.reliability.conftest import subscription_entry
from tests.support import stored_text

PASSWORD = "KNOWN-SECRET-sftp-password-5b7e21"
ROTATED_KEY = "KNOWN-SECRET-rotated-header-key-91c4d0"
ROTATED_PASSWORD = "KNOWN-SECRET-rotated-password-3fa8e2"


def add_password(simulator: Simulator, password: str, header_key: str | None = None) -> dict:
    """Edit the first integration of the first subscription like a person in the portal: a
    password inside its connectionProperties (a JSON string), optionally a new header key."""
    sid = simulator.subscription_ids[0]
    config = simulator.integrations(sid)[0]
    inbound = config["inboundConnection"]
    properties = json.loads(inbound["connectionProperties"])
    properties["password"] = password
    inbound["connectionProperties"] = json.dumps(properties)
    if header_key is not None:
        config["loggingWebhooks"][0]["authorizationHeaderKey"]["decryptedValue"] = header_key
    return simulator.put_integration(sid, config)


def known_secrets(simulator: Simulator, estate) -> set[str]:
    """Every secret value this test knows of, including the tokens issued so far."""
    tokens = set(simulator._api.tokens._expiry)  # the simulator's issued bearer tokens
    return {
        *seeded_secret_values(estate),
        PASSWORD,
        ROTATED_KEY,
        ROTATED_PASSWORD,
        *simulator.api_keys.values(),
        simulator.client_secret,
        *tokens,
    }


def log_text(caplog) -> str:
    """Every captured record as a handler would write it (tracebacks included), plus the
    structured ``extra`` fields a JSON log handler would ship."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    lines = []
    for record in caplog.records:
        lines.append(formatter.format(record))
        lines.append(repr(record.__dict__))
    return "\n".join(lines)


def assert_no_secret(text: str, secrets: set[str]) -> None:
    leaked = sorted(s for s in secrets if s and s in text)
    assert not leaked, f"{len(leaked)} secret value(s) leaked, e.g. {leaked[0][:6]}…"
    assert "Bearer " not in text


def reject_with_echo(simulator: Simulator, integration_id: str, *quoted: str) -> None:
    """The API refuses the upsert of ``integration_id`` with a 400 that quotes what it got."""
    simulator.inject(
        Fault(
            "status",
            status=400,
            method="POST",
            path=r"/v2/integrations(/novalidation)?",
            integration_id=integration_id,
            message="Validation failed: " + "; ".join(f"value '{q}' rejected" for q in quoted),
        )
    )


# -- the CLI, end to end -----------------------------------------------------------------------


def cli_story(simulator, estate, monkeypatch, capsys, tmp_path: Path) -> tuple[str, Path, dict]:
    """backup, bad edit, backup, audits, restore plan, restore apply (one upsert rejected)."""
    for name, value in describe_settings(simulator).items():
        monkeypatch.setenv(name, value)
    store = tmp_path / "store"
    monkeypatch.setenv("CXBACKUP_STORE", str(store))
    output: list[str] = []

    def cxbackup(*args: str) -> int:
        code = main(["--debug", *args])
        captured = capsys.readouterr()
        output.extend([captured.out, captured.err])
        return code

    edited = add_password(simulator, PASSWORD)
    sid = simulator.subscription_ids[0]
    # A throttled first listing: the retry path logs too (Retry-After 0: no real wait).
    simulator.inject(Fault("status", status=429, retry_after=0, path=r"/v2/integrations"))
    assert cxbackup("backup") == 0
    first = json.loads(stored_text(next(Path(store, "snapshots").iterdir())))["snapshot_id"]

    add_password(simulator, ROTATED_PASSWORD, header_key=ROTATED_KEY)
    assert cxbackup("backup") == 0
    assert cxbackup("audit", "--format", "markdown") == 0
    assert cxbackup("audit", "--format", "html") == 0
    assert cxbackup("audit", "--json") == 0
    assert cxbackup("history", edited["id"]) == 0

    original_key = edited["loggingWebhooks"][0]["authorizationHeaderKey"]["decryptedValue"]
    reject_with_echo(simulator, edited["id"], PASSWORD, original_key, simulator.api_keys[sid])
    assert cxbackup("restore", first) == 0
    plan_id = next(Path(store, "plans").iterdir()).name.removesuffix(".json")
    code = cxbackup("restore", first, "--plan", plan_id, "--apply", "--yes")
    report_path = next(Path(store, "restores").iterdir())
    return "\n".join(output), store, {"code": code, "report": json.loads(stored_text(report_path))}


def test_cli_backup_audit_and_restore_print_and_log_no_secret(
    simulator, estate, monkeypatch, capsys, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    output, _store, applied = cli_story(simulator, estate, monkeypatch, capsys, tmp_path)

    rejected = [i for i in applied["report"]["items"] if i["status"] == "failed"]
    assert applied["code"] == 3 and len(rejected) == 1  # the rejection path really ran
    assert "rejected" in rejected[0]["message"]
    assert "retrying" in caplog.text  # so did the retry path
    secrets = known_secrets(simulator, estate)
    assert_no_secret(output, secrets)
    assert_no_secret(log_text(caplog), secrets)


def test_only_config_objects_hold_secrets_in_the_store(
    simulator, estate, monkeypatch, capsys, tmp_path
):
    _output, store, _applied = cli_story(simulator, estate, monkeypatch, capsys, tmp_path)
    secrets = known_secrets(simulator, estate)
    outside_objects = [
        p for p in store.rglob("*") if p.is_file() and p.relative_to(store).parts[0] != "objects"
    ]
    assert {p.relative_to(store).parts[0] for p in outside_objects} >= {
        "snapshots",
        "audits",
        "plans",
        "restores",
    }
    for path in outside_objects:
        assert_no_secret(stored_text(path), secrets)
    stored = "".join(stored_text(p) for p in Path(store, "objects").rglob("*.json"))
    assert PASSWORD in stored and ROTATED_KEY in stored  # the backup itself is lossless


# -- the HTTP API ------------------------------------------------------------------------------


async def test_http_backup_audit_and_restore_answer_and_log_no_secret(
    runtime, simulator, estate, caplog
):
    caplog.set_level(logging.DEBUG)
    bodies: list[bytes] = []
    edited = add_password(simulator, PASSWORD)
    first = await start_backup(http_request("POST", "/api/backups"))
    bodies.append(first.get_body())
    first_id = json.loads(first.get_body())["snapshotId"]
    add_password(simulator, ROTATED_PASSWORD, header_key=ROTATED_KEY)
    bodies.append((await start_backup(http_request("POST", "/api/backups"))).get_body())
    for fmt in ("json", "markdown", "html"):
        bodies.append(
            (await audits(http_request("GET", "/api/audits", params={"format": fmt}))).get_body()
        )

    planned = await restore(
        http_request("POST", "/api/restore", body=json.dumps({"snapshot": first_id}).encode())
    )
    assert planned.status_code == 200
    bodies.append(planned.get_body())
    original_key = edited["loggingWebhooks"][0]["authorizationHeaderKey"]["decryptedValue"]
    reject_with_echo(simulator, edited["id"], PASSWORD, original_key)
    apply = {"apply": True, "planId": json.loads(planned.get_body())["planId"], "confirm": first_id}
    applied = await restore(http_request("POST", "/api/restore", body=json.dumps(apply).encode()))
    assert applied.status_code == 207  # one item failed: the rejection path ran
    bodies.append(applied.get_body())

    secrets = known_secrets(simulator, estate)
    assert_no_secret(b"\n".join(bodies).decode("utf-8"), secrets)
    assert_no_secret(log_text(caplog), secrets)


# -- error messages quoting secrets ------------------------------------------------------------


# Each server error quotes what that request carried: an API call its own API key, the token
# endpoint the client secret.
SERVER_ERRORS = [
    pytest.param(r"/v2/integrations", 418, id="list-418"),
    pytest.param(r"/v2/integrations", 403, id="list-403"),
    pytest.param(r"/v2/integrations", 503, id="list-503"),
    pytest.param(r"/v2/integrations", 400, id="list-400"),
    pytest.param(r"/oauth/token", 400, id="token-400"),
    pytest.param(r"/oauth/token", 500, id="token-500"),
]


@pytest.mark.parametrize(("path", "status"), SERVER_ERRORS)
async def test_server_error_quoting_what_it_was_sent_never_reaches_the_manifest_or_logs(
    backup_service, simulator, estate, caplog, path, status
):
    caplog.set_level(logging.DEBUG)
    if path == r"/oauth/token":
        quoted = f"invalid client_secret {simulator.client_secret}"
        simulator.inject(Fault("status", status=status, path=path, times=None, message=quoted))
    for sid, key in simulator.api_keys.items():
        quoted = f"API key {key} is not valid here"
        simulator.inject(
            Fault(
                "status", status=status, path=path, subscription_id=sid, times=None, message=quoted
            )
        )
    manifest = (await backup_service.run(Trigger.CLI)).manifest
    for sid in simulator.subscription_ids:
        entry = subscription_entry(manifest, sid)
        assert entry.status is SubscriptionStatus.FAILED
        assert f"HTTP {status}" in entry.reason
    secrets = known_secrets(simulator, estate)
    assert_no_secret(manifest.model_dump_json(), secrets)
    assert_no_secret(log_text(caplog), secrets)
