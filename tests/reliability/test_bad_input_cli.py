"""Bad input to every ``cxbackup`` command: a clear error, a nonzero exit, and nothing changed.

``main`` runs in-process, as a user runs it, against a local store that holds one snapshot and
one restore plan, with the simulator behind it. For every case the test checks:

- the exit code: 2 for bad usage (argparse: unknown option, wrong type, missing argument), 1 for
  input that parses but is wrong (a malformed or unknown id, a bad setting, a refused flag combo);
- the error: exit 1 prints exactly one ``cxbackup: error: ...`` line on stderr (progress lines
  aside) that says what was wrong, never a traceback and never a secret; exit 2 prints argparse's
  usage and error lines;
- nothing changed: the store folder holds the same files, and the simulator got no write.

The table
=========

``{snapshot}`` is the stored snapshot's id, ``{subscription}`` and ``{integration}`` one of its
subscriptions and integrations, ``{plan}`` the stored plan's id, ``{file}`` a path to an ordinary
file, ``{folder}`` an existing folder, ``{missing}`` a folder that does not exist, ``{store}`` the
store itself. Settings are the CLI's "JSON input"
(``CONNXIO_API_KEYS`` is a JSON object), so malformed JSON and wrong types are tried there too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.cli import build_parser, main
from shared.simulator import Simulator, describe_settings, seed_estate
from tests.reliability.conftest import api_writes

UNKNOWN_SNAPSHOT = "20200101T000000Z-abcdef"
UNKNOWN_PLAN = "plan-20200101T000000Z-abcdef"
TRAVERSAL_IDS = ["../../etc/passwd", "%2e%2e%2f%2e%2e", "/etc/passwd", "C:\\Windows\\win.ini"]
HUGE = "2" * 100_000


@dataclass(frozen=True)
class Case:
    what: str
    args: tuple[str, ...]
    code: int  # 1: clear error; 2: bad usage
    says: str = ""  # a fragment the error must contain (case-sensitive)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return self.args[0] if self.args else "(none)"

    @property
    def id(self) -> str:
        return f"{self.command}-{self.what}"


def case(what: str, *args: str, code: int = 1, says: str = "", env=None) -> Case:
    return Case(what, tuple(args), code, says, env or {})


NOT_A_SNAPSHOT_ID = "is not a snapshot id"

CASES: list[Case] = [
    # no command, unknown command, unknown global option
    Case("no-command", (), 2),
    case("unknown-command", "nonsense", code=2),
    case("unknown-global-option", "--bogus", "snapshots", code=2),
    # backup: options and settings (CONNXIO_API_KEYS is JSON)
    case("unknown-option", "backup", "--bogus", code=2),
    case("store-is-a-file", "backup", "--store", "{file}", says="not a folder"),
    case(
        "api-keys-malformed-json",
        "backup",
        says="CONNXIO_API_KEYS",
        env={"CONNXIO_API_KEYS": '{"a": "k1",'},
    ),
    case(
        "api-keys-json-array",
        "backup",
        says="CONNXIO_API_KEYS",
        env={"CONNXIO_API_KEYS": '["k1"]'},
    ),
    case(
        "api-keys-wrong-value-type",
        "backup",
        says="CONNXIO_API_KEYS",
        env={"CONNXIO_API_KEYS": '{"sub": 5}'},
    ),
    case(
        "api-keys-empty-object",
        "backup",
        says="CONNXIO_API_KEYS",
        env={"CONNXIO_API_KEYS": "{}"},
    ),
    case(
        "timeout-not-a-number",
        "backup",
        says="CONNXIO_TIMEOUT_SECONDS",
        env={"CONNXIO_TIMEOUT_SECONDS": "fast"},
    ),
    case(
        "timeout-zero",
        "backup",
        says="CONNXIO_TIMEOUT_SECONDS",
        env={"CONNXIO_TIMEOUT_SECONDS": "0"},
    ),
    case(
        "concurrency-zero",
        "backup",
        says="BACKUP_CONCURRENCY",
        env={"BACKUP_CONCURRENCY": "0"},
    ),
    case(
        "base-url-file-scheme",
        "backup",
        says="CONNXIO_BASE_URL",
        env={"CONNXIO_BASE_URL": "file:///etc/passwd"},
    ),
    case(
        "threshold-not-a-number",
        "backup",
        says="MASS_CHANGE_THRESHOLD",
        env={"MASS_CHANGE_THRESHOLD": "lots"},
    ),
    case(
        "blob-container-traversal",
        "backup",
        "--store",
        "blob",
        says="BACKUP_CONTAINER",
        env={
            "BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",
            "BACKUP_CONTAINER": "../etc",
        },
    ),
    case("blob-without-settings", "backup", "--store", "blob", says="no backup store"),
    # snapshots
    case("limit-not-a-number", "snapshots", "--limit", "ten", code=2),
    case("limit-zero", "snapshots", "--limit", "0", says="--limit"),
    case("limit-too-large", "snapshots", "--limit", "201", says="--limit"),
    case("limit-negative", "snapshots", "--limit", "-1", says="--limit"),
    case("store-is-a-file", "snapshots", "--store", "{file}", says="not a folder"),
    # show
    case("missing-snapshot", "show", code=2),
    case("unknown-snapshot", "show", UNKNOWN_SNAPSHOT, says="does not exist"),
    case("oversized-snapshot", "show", HUGE, says=NOT_A_SNAPSHOT_ID),
    case("unknown-integration", "show", "{snapshot}", "--integration", "nope", says="not in"),
    case(
        "integration-traversal",
        "show",
        "{snapshot}",
        "--integration",
        "../../etc/passwd",
        says="not in",
    ),
    *[
        case(f"snapshot-traversal-{i}", "show", bad, says=NOT_A_SNAPSHOT_ID)
        for i, bad in enumerate(TRAVERSAL_IDS)
    ],
    # audit
    case("unknown-format", "audit", "--format", "pdf", code=2),
    case("unknown-from", "audit", UNKNOWN_SNAPSHOT, says="does not exist"),
    case("unknown-to", "audit", "{snapshot}", UNKNOWN_SNAPSHOT, says="does not exist"),
    case("to-traversal", "audit", "{snapshot}", "../../x", says=NOT_A_SNAPSHOT_ID),
    case(
        "output-in-missing-folder",
        "audit",
        "--output",
        "{missing}/audit.html",
        says="audit.html",
    ),
    case("output-is-a-folder", "audit", "--output", "{folder}", says="{folder}"),
    case("subscription-traversal", "audit", "--subscription", "../x", says="--subscription"),
    case(
        "integration-absolute-path",
        "audit",
        "--integration",
        "{integration}",
        "--integration",
        "/etc/passwd",
        says="--integration",
    ),
    *[
        case(f"from-traversal-{i}", "audit", bad, says=NOT_A_SNAPSHOT_ID)
        for i, bad in enumerate(TRAVERSAL_IDS)
    ],
    # history
    case("missing-integration", "history", code=2),
    case("unknown-integration", "history", "no-such-integration", says="no-such-integration"),
    case("oversized-integration", "history", HUGE, says="in none of"),
    *[
        case(f"integration-traversal-{i}", "history", bad, says="in none of")
        for i, bad in enumerate(TRAVERSAL_IDS)
    ],
    # restore
    case("missing-snapshot", "restore", code=2),
    case("unknown-snapshot", "restore", UNKNOWN_SNAPSHOT, says="does not exist"),
    case("oversized-snapshot", "restore", HUGE, says=NOT_A_SNAPSHOT_ID),
    case("unknown-option", "restore", "{snapshot}", "--dry-run", code=2),
    case(
        "unknown-integration",
        "restore",
        "{snapshot}",
        "--integration",
        "no-such-integration",
        says="not in snapshot",
    ),
    case(
        "integration-traversal",
        "restore",
        "{snapshot}",
        "--integration",
        "../../etc/passwd",
        says="integration",
    ),
    case(
        "subscription-absolute-path",
        "restore",
        "{snapshot}",
        "--subscription",
        "/etc/passwd",
        says="subscription",
    ),
    case(
        "target-subscription-traversal",
        "restore",
        "{snapshot}",
        "--subscription",
        "{subscription}",
        "--to-subscription",
        "../x",
        says="no API key for subscription ../x",
    ),
    case(
        "plan-id-traversal",
        "restore",
        "{snapshot}",
        "--plan",
        "../plans/x",
        "--apply",
        "--yes",
        says="is not a plan id",
    ),
    case(
        "unknown-plan",
        "restore",
        "{snapshot}",
        "--plan",
        UNKNOWN_PLAN,
        "--apply",
        "--yes",
        says="does not exist",
    ),
    case(
        "plan-of-another-snapshot",
        "restore",
        UNKNOWN_SNAPSHOT,
        "--plan",
        "{plan}",
        "--apply",
        "--yes",
        says="not " + UNKNOWN_SNAPSHOT,
    ),
    case(
        "plan-with-latest",
        "restore",
        "latest",
        "--plan",
        "{plan}",
        "--apply",
        "--yes",
        says="not 'latest'",
    ),
    case("plan-without-apply", "restore", "{snapshot}", "--plan", "{plan}", says="add --apply"),
    case("yes-without-apply", "restore", "{snapshot}", "--yes", says="--apply"),
    case("apply-without-terminal", "restore", "{snapshot}", "--apply", says="--yes"),
    case(
        "plan-with-scope",
        "restore",
        "{snapshot}",
        "--plan",
        "{plan}",
        "--apply",
        "--yes",
        "--integration",
        "{integration}",
        says="cannot change a stored plan",
    ),
    *[
        case(f"snapshot-traversal-{i}", "restore", bad, says=NOT_A_SNAPSHOT_ID)
        for i, bad in enumerate(TRAVERSAL_IDS)
    ],
    # simulator (never starts serving for these)
    case("port-not-a-number", "simulator", "--port", "http", code=2),
    case("port-out-of-range", "simulator", "--port", "99999", says="--port"),
    case("no-subscriptions", "simulator", "--subscriptions", "0", says="--subscriptions"),
    case("negative-latency", "simulator", "--latency", "-1", says="--latency"),
    # demo
    case("unknown-option", "demo", "--bogus", code=2),
    case("store-is-a-file", "demo", "--store", "{file}", says="needs an empty folder"),
    case("store-not-empty", "demo", "--store", "{store}", says="needs an empty folder"),
    # verify
    case("unknown-option", "verify", "--repair", code=2),
    case("unknown-snapshot", "verify", UNKNOWN_SNAPSHOT, says="does not exist"),
    case("oversized-snapshot", "verify", HUGE, says=NOT_A_SNAPSHOT_ID),
    case("snapshot-and-all", "verify", "{snapshot}", "--all", says="not both"),
    case("store-is-a-file", "verify", "--store", "{file}", says="not a folder"),
    *[
        case(f"snapshot-traversal-{i}", "verify", bad, says=NOT_A_SNAPSHOT_ID)
        for i, bad in enumerate(TRAVERSAL_IDS)
    ],
    # prune (settings are its input)
    case("unknown-option", "prune", "--keep-last", "0", code=2),
    case("dry-run-with-a-value", "prune", "--dry-run", "yes", code=2),
    case("store-is-a-file", "prune", "--store", "{file}", says="not a folder"),
    case(
        "keep-last-negative",
        "prune",
        says="RETENTION_KEEP_LAST",
        env={"RETENTION_KEEP_LAST": "-1"},
    ),
    case(
        "keep-daily-not-a-number",
        "prune",
        says="RETENTION_KEEP_DAILY",
        env={"RETENTION_KEEP_DAILY": "many"},
    ),
    case(
        "grace-not-a-number",
        "prune",
        says="RETENTION_GRACE_DAYS",
        env={"RETENTION_GRACE_DAYS": "1.5"},
    ),
    # acknowledge
    case("missing-by", "acknowledge", "{snapshot}", code=2),
    case("missing-snapshot", "acknowledge", "--by", "ops", code=2),
    case("blank-by", "acknowledge", "{snapshot}", "--by", "   ", says="--by"),
    case("unknown-snapshot", "acknowledge", UNKNOWN_SNAPSHOT, "--by", "ops", says="does not exist"),
    case(
        "snapshot-without-mass-change",
        "acknowledge",
        "{snapshot}",
        "--by",
        "ops",
        says="flagged no mass change",
    ),
    case(
        "oversized-by",
        "acknowledge",
        "{snapshot}",
        "--by",
        HUGE,
        says="1-200 characters",
    ),
    *[
        case(f"snapshot-traversal-{i}", "acknowledge", bad, "--by", "ops", says=NOT_A_SNAPSHOT_ID)
        for i, bad in enumerate(TRAVERSAL_IDS)
    ],
]


# -- a store with something in it --------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(args: list[str], capsys) -> Run:
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's bad usage
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def set_env(monkeypatch, simulator: Simulator, store: Path) -> None:
    for name, value in describe_settings(simulator).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CXBACKUP_STORE", str(store))
    for name in (
        "BACKUP_STORAGE_CONNECTION_STRING",
        "BACKUP_STORAGE_ACCOUNT_URL",
        "BACKUP_LOCAL_PATH",
        "BACKUP_CONTAINER",
        "AzureWebJobsStorage",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """A simulator and a local store holding one snapshot and one restore plan."""
    root = tmp_path_factory.mktemp("cli-bad-input")
    store = root / "store"
    a_file = root / "a-file.txt"
    a_file.write_text("not a folder")
    folder = root / "a-folder"
    folder.mkdir()
    with Simulator(seed_estate(subscriptions=2, integrations_per_subscription=3, seed=9)) as sim:
        with pytest.MonkeyPatch.context() as patch:
            set_env(patch, sim, store)
            from shared.app import plan_restore, take_backup
            from shared.cli.common import runtime_from_args
            from shared.core.manifest import Trigger
            from shared.services.restore import PlanRequest

            async def prepare() -> SimpleNamespace:
                args = SimpleNamespace(store=str(store))
                runtime = runtime_from_args(args, need_connxio=True)
                try:
                    outcome = await take_backup(runtime, Trigger.CLI)
                    manifest = await runtime.repository.read_manifest(outcome.manifest.snapshot_id)
                    plan = await plan_restore(
                        runtime, PlanRequest(snapshot=manifest.snapshot_id, requested_by="test")
                    )
                finally:
                    runtime.repository.close()
                return SimpleNamespace(
                    snapshot=manifest.snapshot_id,
                    integration=manifest.subscriptions[0].integrations[0].id,
                    subscription=manifest.subscriptions[0].subscription_id,
                    plan=plan.plan_id,
                    file=str(a_file),
                    folder=str(folder),
                    missing=str(root / "no-such-folder"),
                    store=str(store),
                )

            ids = asyncio.run(prepare())
        yield SimpleNamespace(simulator=sim, store=store, ids=ids)


def fill(text: str, ids: SimpleNamespace) -> str:
    for name, value in vars(ids).items():
        text = text.replace(f"{{{name}}}", value)
    return text


def files_in(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# -- the tests ---------------------------------------------------------------------------------


def test_every_command_has_bad_input_cases():
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    covered = {c.command for c in CASES}
    assert commands <= covered, sorted(commands - covered)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("bad", CASES, ids=lambda c: c.id)
def test_bad_input_is_a_clear_error_and_changes_nothing(bad: Case, seeded, monkeypatch, capsys):
    set_env(monkeypatch, seeded.simulator, seeded.store)
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.stdin", _NoTerminal())
    before = files_in(seeded.store)
    writes_before = len(api_writes(seeded.simulator))

    run = run_cli([fill(a, seeded.ids) for a in bad.args], capsys)

    assert run.code == bad.code, (run.code, run.err[-500:])
    assert "Traceback" not in run.err + run.out
    assert len(run.err) < 2000  # a huge argument is never echoed whole
    if bad.code == 2:
        assert "usage:" in run.err and "error:" in run.err
    else:
        errors = [line for line in run.err.splitlines() if not line.startswith("… ")]
        assert len(errors) == 1, run.err
        assert errors[0].startswith("cxbackup: error: ")
        assert "unexpected" not in errors[0], errors[0]  # a known failure, explained
        assert fill(bad.says, seeded.ids) in errors[0]
    for secret in [*seeded.simulator.api_keys.values(), seeded.simulator.client_secret]:
        assert secret not in run.err + run.out
    assert files_in(seeded.store) == before
    assert len(api_writes(seeded.simulator)) == writes_before


class _NoTerminal:
    """stdin of a pipeline: not a terminal, and nothing to read."""

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return ""

    def read(self, *_args) -> str:
        return ""


def test_json_mode_errors_are_one_json_document(seeded, monkeypatch, capsys):
    set_env(monkeypatch, seeded.simulator, seeded.store)
    run = run_cli(["show", UNKNOWN_SNAPSHOT, "--json"], capsys)
    assert run.code == 1
    assert "does not exist" in json.loads(run.out)["error"]
