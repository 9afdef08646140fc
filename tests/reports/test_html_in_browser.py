"""The HTML audit report, opened in a real headless Chromium (Debian's, installed by `make setup`).

It needs nothing from the network: the page is loaded from a file with networking unused, and
the test checks what the browser rendered, not the text we wrote.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared import app
from shared.clock import TickingClock
from shared.core.manifest import Trigger
from shared.reports import render_html
from shared.settings import load_settings
from shared.simulator import Simulator, describe_settings, seed_estate
from shared.wiring import Runtime

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is not installed: run `make setup` (installs Debian's chromium)")
    return found


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


@pytest.fixture(scope="module")
def audit_page(tmp_path_factory) -> tuple[Path, dict]:
    """A real audit: back up the simulator, edit a connection, rotate a secret, back up again."""
    import asyncio

    folder = tmp_path_factory.mktemp("browser")
    with Simulator(seed_estate(subscriptions=2, integrations_per_subscription=3, seed=5)) as sim:
        runtime = Runtime.from_settings(
            load_settings({**describe_settings(sim), "BACKUP_LOCAL_PATH": str(folder / "store")}),
            clock=TickingClock(datetime(2026, 12, 4, 2, tzinfo=UTC)),
        )
        sid = sim.subscription_ids[0]
        config = next(c for c in sim.integrations(sid) if c.get("loggingWebhooks"))
        asyncio.run(app.take_backup(runtime, Trigger.CLI))
        old_secret = config["loggingWebhooks"][0]["authorizationHeaderKey"]["decryptedValue"]
        properties = json.loads(config["inboundConnection"]["connectionProperties"])
        properties["host"] = "changed-host.example"
        config["inboundConnection"]["connectionProperties"] = json.dumps(properties)
        config["loggingWebhooks"][0]["authorizationHeaderKey"]["decryptedValue"] = (
            "sk-live-NEWVALUE"
        )
        sim.put_integration(sid, config)
        outcome = asyncio.run(app.take_backup(runtime, Trigger.CLI))
        runtime.repository.close()
    page = folder / "audit.html"
    page.write_text(render_html(outcome.audit), encoding="utf-8")
    facts = {"id": config["id"], "old_secret": old_secret, "new_secret": "sk-live-NEWVALUE"}
    return page, facts


def test_rendered_page_shows_the_changed_paths_and_the_integration(audit_page, tmp_path):
    page, facts = audit_page
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "/inboundConnection/connectionProperties/host" in dom
    assert "changed-host.example" in dom
    assert facts["id"] in dom
    assert "secret changed" in dom.lower()


def test_rendered_page_never_shows_a_secret_value(audit_page, tmp_path):
    page, facts = audit_page
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert facts["old_secret"] not in dom
    assert facts["new_secret"] not in dom


def test_page_renders_to_a_screenshot(audit_page, tmp_path):
    page, _ = audit_page
    shot = tmp_path / "audit.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # a rendered page, not a blank one
