"""The infrastructure code: checkov finds nothing, every waiver says why, and it provisions the app.

checkov runs from its own virtual environment (``.venv-infra``, made by ``make setup`` from
requirements-infra.txt) because its pins clash with the app's. Without it these tests fail rather
than skip: infrastructure that nobody checks is the thing this file exists to prevent.

checkov parses Bicep itself (pycep); the Bicep CLI is not needed. A file checkov cannot parse is
silently left out of its report, so the parse is asserted too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN_BICEP = INFRA / "main.bicep"
PARAMETERS = INFRA / "main.parameters.json"
CHECKOV = Path(os.environ.get("CXBACKUP_CHECKOV", ROOT / ".venv-infra" / "bin" / "checkov"))

# The same pattern checkov uses for inline suppressions (checkov.common.comment.enum).
SKIP_COMMENT = re.compile(
    r"(?:checkov|bridgecrew|cortex):skip= *([A-Za-z_\d-]+(?:,[A-Za-z_\d-]+)*)?(:[^\n]*)?"
)
MIN_REASON_LENGTH = 25  # long enough that "n/a" or "false positive" is not a reason


def _bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    if not CHECKOV.is_file():
        pytest.fail(
            f"checkov is not installed at {CHECKOV}; run `make setup` (or: python -m venv "
            ".venv-infra && .venv-infra/bin/pip install -r requirements-infra.txt)",
            pytrace=False,
        )
    # No --quiet: the report must list skipped checks too, so their reasons can be checked.
    # --skip-download: no network; checkov's bundled checks are all that run.
    command = [
        str(CHECKOV),
        "--directory",
        str(INFRA),
        "--framework",
        "bicep",
        "--compact",
        "--skip-download",
        "--output",
        "json",
    ]
    env = {**os.environ, "LOG_LEVEL": "WARNING", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(
            f"checkov (exit {result.returncode}) printed no JSON report.\n"
            f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-4000:]}",
            pytrace=False,
        )
    if isinstance(report, list):  # one report per framework; only bicep was asked for
        report = next((r for r in report if r.get("check_type") == "bicep"), {})
    if "results" not in report:
        pytest.fail(f"checkov scanned nothing in {INFRA}: {report}", pytrace=False)
    return report


def _records(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(report["results"].get(kind, []))


def _where(record: dict[str, Any]) -> str:
    first, last = record.get("file_line_range") or (0, 0)
    return f"{record['check_id']} on {record['resource']} ({record['file_path']}:{first}-{last})"


def test_every_bicep_file_parses(checkov_report: dict[str, Any]) -> None:
    assert _bicep_files(), "no Bicep files under infra/"
    assert checkov_report["results"].get("parsing_errors", []) == []
    assert checkov_report["summary"]["parsing_errors"] == 0


def test_the_main_resources_are_scanned(checkov_report: dict[str, Any]) -> None:
    scanned = {
        r["resource"]
        for kind in ("passed_checks", "failed_checks", "skipped_checks")
        for r in _records(checkov_report, kind)
    }
    for resource in (
        "Microsoft.Web/sites.functionApp",
        "Microsoft.Storage/storageAccounts.hostStorage",
        "Microsoft.Storage/storageAccounts.backupStorage",
        "Microsoft.Storage/storageAccounts/blobServices/containers.backupContainer",
        "Microsoft.KeyVault/vaults.keyVault",
        "Microsoft.KeyVault/vaults/secrets.secret",
    ):
        assert resource in scanned, f"checkov did not check {resource}; was it renamed or unparsed?"


def test_no_failed_checks(checkov_report: dict[str, Any]) -> None:
    failed = _records(checkov_report, "failed_checks")
    lines = [f"{_where(r)}: {r['check_name']}" for r in failed]
    assert not failed, (
        "checkov failed checks; fix the Bicep, or, only where a check cannot apply, add "
        "`// checkov:skip=<ID>: <reason>` inside the resource:\n  " + "\n  ".join(lines)
    )


def test_every_skipped_check_carries_a_reason(checkov_report: dict[str, Any]) -> None:
    unexplained = []
    for record in _records(checkov_report, "skipped_checks"):
        reason = (record.get("check_result") or {}).get("suppress_comment", "").strip()
        if reason == "No comment provided" or len(reason) < MIN_REASON_LENGTH:
            unexplained.append(f"{_where(record)}: {reason!r}")
    assert not unexplained, "skipped checks without a written reason:\n  " + "\n  ".join(
        unexplained
    )


def test_every_skip_comment_is_used_and_explained(checkov_report: dict[str, Any]) -> None:
    """A waiver left behind after the resource changed hides the next real finding."""
    skipped = _records(checkov_report, "skipped_checks")
    problems = []
    for path in _bicep_files():
        relative = "/" + path.relative_to(INFRA).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if not match:
                continue
            ids, reason = match.group(1) or "", (match.group(2) or "")[1:].strip()
            where = f"infra{relative}:{number}"
            if not ids or "," in ids:
                problems.append(f"{where}: name exactly one check per skip comment")
                continue
            if len(reason) < MIN_REASON_LENGTH:
                problems.append(f"{where}: {ids} has no written reason")
            used = any(
                r["check_id"] == ids
                and r["file_path"] == relative
                and r["file_line_range"][0] <= number <= r["file_line_range"][1]
                for r in skipped
            )
            if not used:
                problems.append(f"{where}: {ids} is skipped but no such check ran on this resource")
    assert not problems, "\n".join(problems)


# --- The template provisions what the app reads ------------------------------------------------

# Settings the app cannot run without in Azure, and the optional ones this template also sets.
REQUIRED_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "CONNXIO_CLIENT_ID",
    "CONNXIO_CLIENT_SECRET",
    "CONNXIO_API_KEYS",
    "BACKUP_STORAGE_ACCOUNT_URL",
    "BACKUP_CONTAINER",
}
TUNING_SETTINGS = {
    "CONNXIO_BASE_URL",
    "CONNXIO_TOKEN_URL",
    "CONNXIO_SCOPE",
    "BACKUP_SCHEDULE",
    "AUDIT_WEBHOOK_URL",
    "RETENTION_KEEP_LAST",
    "RETENTION_KEEP_DAILY",
    "RETENTION_KEEP_WEEKLY",
    "RETENTION_KEEP_MONTHLY",
    "RETENTION_GRACE_DAYS",
    "MASS_CHANGE_THRESHOLD",
}
# Flex Consumption rejects or ignores these: runtime and deployment live in functionAppConfig.
FORBIDDEN_ON_FLEX = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "AzureWebJobsStorage",
    "BACKUP_STORAGE_CONNECTION_STRING",
}


def _app_settings() -> dict[str, str]:
    text = MAIN_BICEP.read_text(encoding="utf-8")
    block = re.search(
        r"^resource appSettings 'Microsoft\.Web/sites/config@[^']+' = \{"
        r".*?^  properties: \{\n(.*?)^  \}",
        text,
        re.DOTALL | re.MULTILINE,
    )
    assert block, "main.bicep has no `resource appSettings 'Microsoft.Web/sites/config@...'` block"
    return dict(re.findall(r"^    ([A-Za-z_][A-Za-z0-9_]*): (.+)$", block.group(1), re.MULTILINE))


def test_the_app_settings_cover_what_the_app_reads() -> None:
    settings = _app_settings()
    missing = (REQUIRED_SETTINGS | TUNING_SETTINGS) - settings.keys()
    assert not missing, f"main.bicep does not set {sorted(missing)}"
    assert not FORBIDDEN_ON_FLEX & settings.keys(), sorted(FORBIDDEN_ON_FLEX & settings.keys())


def test_secrets_are_key_vault_references_and_storage_is_identity_based() -> None:
    settings = _app_settings()
    for name in ("CONNXIO_CLIENT_SECRET", "CONNXIO_API_KEYS"):
        assert settings[name].startswith("'@Microsoft.KeyVault("), (
            f"{name} must be a Key Vault reference"
        )
    assert "@Microsoft.KeyVault(" in settings["AUDIT_WEBHOOK_URL"]
    assert "primaryEndpoints.blob" in settings["BACKUP_STORAGE_ACCOUNT_URL"]
    text = MAIN_BICEP.read_text(encoding="utf-8")
    assert "listKeys(" not in text, "no account key may reach the app: it uses its managed identity"
    assert "AccountKey=" not in text


def _bicep_parameters() -> dict[str, bool]:
    """Parameter name → whether it has a default, for main.bicep."""
    text = MAIN_BICEP.read_text(encoding="utf-8")
    found = re.findall(r"^param (\w+) \w+( =)?", text, re.MULTILINE)
    return {name: bool(default) for name, default in found}


def test_parameters_file_matches_the_template() -> None:
    declared = _bicep_parameters()
    given = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    unknown = given.keys() - declared.keys()
    assert not unknown, f"main.parameters.json sets parameters main.bicep lacks: {unknown}"
    required = {name for name, has_default in declared.items() if not has_default}
    assert required <= given.keys(), f"azd would have no value for {required - given.keys()}"
    assert given["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert given["location"]["value"] == "${AZURE_LOCATION}"
