"""The JSON, Markdown and HTML renderings of an audit."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from shared.core.audit import Audit, build_audit
from shared.core.manifest import (
    IntegrationEntry,
    SnapshotManifest,
    SnapshotStatus,
    SubscriptionEntry,
    SubscriptionStatus,
    Trigger,
)
from shared.reports import render_html, render_json, render_markdown
from tests.support import ConfigStore

T_OLD = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
T_NEW = T_OLD + timedelta(days=1)
OLD_SECRET = "sk-live-old-0123456789"
NEW_SECRET = "sk-live-new-9876543210"
OLD_PASSWORD = "pw-old-hunter2"
NEW_PASSWORD = "pw-new-correcthorse"
HOSTILE = "<script>alert(1)</script>"


def config(integration_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": integration_id,
        "transactionType": "Order",
        "sender": "Acme ERP",
        "receiver": "Contoso WMS",
        "enabled": True,
        "description": "nightly orders",
        "updatedBy": "alice@contoso.example",
        "updatedAtUtc": "2026-12-01T10:00:00.0000000Z",
        "inboundConnection": {
            "adapterType": "Sftp",
            "connectionProperties": json.dumps(
                {"host": "sftp.acme.example", "password": OLD_PASSWORD}
            ),
        },
        "loggingWebhooks": [
            {
                "webhookConnectionId": "wh-1",
                "endpointURL": "https://log.example/hook",
                "authorizationHeaderKey": {
                    "name": "k",
                    "version": "1",
                    "decryptedValue": OLD_SECRET,
                },
            }
        ],
    }
    base.update(fields)
    return base


def manifest(snapshot_id: str, at: datetime, *subs: SubscriptionEntry) -> SnapshotManifest:
    return SnapshotManifest(
        snapshot_id=snapshot_id,
        trigger=Trigger.TIMER,
        status=SnapshotStatus.PARTIAL,
        started_at=at,
        finished_at=at + timedelta(seconds=30),
        subscriptions=subs,
    )


def sub(sid: str, name: str, entries: list[IntegrationEntry], **kw: Any) -> SubscriptionEntry:
    return SubscriptionEntry(
        subscription_id=sid,
        name=name,
        status=kw.pop("status", SubscriptionStatus.COMPLETE),
        integrations=tuple(entries),
        **kw,
    )


def modified_config() -> dict[str, Any]:
    changed = config(
        "int-mod",
        enabled=False,
        description=HOSTILE,
        updatedBy="bob@contoso.example",
        updatedAtUtc="2026-12-03T09:15:00.0000000Z",
    )
    changed["inboundConnection"]["connectionProperties"] = json.dumps(
        {"host": "sftp.contoso.example", "password": NEW_PASSWORD}
    )
    changed["loggingWebhooks"][0]["authorizationHeaderKey"]["decryptedValue"] = NEW_SECRET
    return changed


@pytest.fixture
def audit() -> Audit:
    store = ConfigStore()
    unchanged = store.entry(config("int-same"))
    old_prod = [unchanged, store.entry(config("int-mod")), store.entry(config("int-gone"))]
    new_prod = [
        unchanged,
        store.entry(modified_config()),
        store.entry(config("int-new", transactionType=f"Invoice {HOSTILE}")),
    ]
    old = manifest(
        "20261203T020000Z-aaaaaa",
        T_OLD,
        sub("sub-prod", "Production", old_prod),
        sub("sub-test", "Test", [store.entry(config("int-t1"))]),
        sub("sub-dev", "Development", [unchanged]),
    )
    new = manifest(
        "20261204T020000Z-bbbbbb",
        T_NEW,
        sub("sub-prod", "Production", new_prod),
        sub("sub-test", "Test", [], status=SubscriptionStatus.SKIPPED, reason="no API key"),
        sub("sub-dev", "Development", [unchanged]),
    )
    return build_audit(old, new, store.load, generated_at=T_NEW + timedelta(minutes=5))


SECRETS = (OLD_SECRET, NEW_SECRET, OLD_PASSWORD, NEW_PASSWORD)
RENDERERS = {"json": render_json, "markdown": render_markdown, "html": render_html}


@pytest.mark.parametrize("kind", sorted(RENDERERS))
def test_no_secret_value_appears_in_any_report(audit: Audit, kind: str) -> None:
    text = RENDERERS[kind](audit)
    assert [s for s in SECRETS if s in text] == []


@pytest.mark.parametrize("kind", sorted(RENDERERS))
def test_every_report_says_secret_changed(audit: Audit, kind: str) -> None:
    assert "secret changed" in RENDERERS[kind](audit)


def test_json_report_parses_back_into_the_audit(audit: Audit) -> None:
    assert Audit.model_validate_json(render_json(audit)) == audit


# -- markdown ------------------------------------------------------------------------------


def test_markdown_names_both_snapshots_and_their_times(audit: Audit) -> None:
    text = render_markdown(audit)
    assert "20261203T020000Z-aaaaaa" in text and "20261204T020000Z-bbbbbb" in text
    assert "2026-12-03 02:00:00 UTC" in text and "2026-12-04 02:00:00 UTC" in text


def test_markdown_lists_changed_paths_with_old_and_new_values(audit: Audit) -> None:
    text = render_markdown(audit)
    assert "`/enabled`: `true` → `false`" in text
    assert "`/inboundConnection/connectionProperties/host` (inside a JSON string): " in text


def test_markdown_names_integrations_with_who_and_when(audit: Audit) -> None:
    text = render_markdown(audit)
    assert "Order: Acme ERP → Contoso WMS (`int-mod`), by bob@contoso.example" in text
    assert "2026-12-03T09:15:00.0000000Z" in text


def test_markdown_lists_added_and_removed_integrations(audit: Audit) -> None:
    text = render_markdown(audit)
    assert "### Added (1)" in text and "`int-new`" in text
    assert "### Removed (1)" in text and "`int-gone`" in text


def test_markdown_notes_a_subscription_that_was_not_compared(audit: Audit) -> None:
    assert "not backed up in the newer snapshot (skipped: no API key)" in render_markdown(audit)


def test_markdown_puts_unchanged_subscriptions_on_one_line(audit: Audit) -> None:
    text = render_markdown(audit)
    assert "Unchanged subscriptions (integrations): Development (1)" in text
    assert "## Development" not in text


def test_markdown_neutralises_markup_in_labels(audit: Audit) -> None:
    text = render_markdown(audit)
    assert "<script>" not in text.replace("`", "").split("### Modified")[0]
    assert r"Invoice \<script\>alert(1)\</script\>" in text


def test_markdown_shortens_long_values(audit: Audit) -> None:
    text = render_markdown(audit, max_value_chars=10)
    assert '`"<script>…`' in text


def test_markdown_caps_long_change_lists(audit: Audit) -> None:
    text = render_markdown(audit, max_changes=1)
    assert "- … and 4 more changes" in text


def test_markdown_caps_long_integration_lists(audit: Audit) -> None:
    text = render_markdown(audit, max_integrations=0)
    assert "- … and 1 more integrations" in text and "… and 1 more modified integrations" in text


# -- html ----------------------------------------------------------------------------------


class _Checker(HTMLParser):
    """Collects tags and checks that non-void elements nest and close properly."""

    VOID = frozenset({"meta", "br", "col", "img", "hr", "input", "link", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return checker


def test_html_is_well_formed(audit: Audit) -> None:
    checker = parse(render_html(audit))
    assert (checker.problems, checker.stack) == ([], [])


def test_html_loads_no_external_resources(audit: Audit) -> None:
    checker = parse(render_html(audit))
    references = [
        value
        for _, attrs in checker.tags
        for name, value in attrs.items()
        if name in {"src", "href", "srcset", "action", "data"} and value
    ]
    assert references == []
    assert "url(" not in render_html(audit) and "@import" not in render_html(audit)


def test_html_has_no_script_elements(audit: Audit) -> None:
    assert [tag for tag, _ in parse(render_html(audit)).tags if tag == "script"] == []


def test_html_escapes_markup_in_values_and_labels(audit: Audit) -> None:
    text = render_html(audit)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_html_gives_each_change_a_row_with_its_path(audit: Audit) -> None:
    checker = parse(render_html(audit))
    paths = [a["data-path"] for tag, a in checker.tags if tag == "tr" and "data-path" in a]
    assert "/enabled" in paths
    assert "/inboundConnection/connectionProperties/host" in paths
    assert "/loggingWebhooks/0/authorizationHeaderKey/decryptedValue" in paths


def test_html_marks_secret_rows_and_hides_their_values(audit: Audit) -> None:
    checker = parse(render_html(audit))
    secret_rows = [a for tag, a in checker.tags if tag == "tr" and a.get("data-secret") == "true"]
    assert {a["data-path"] for a in secret_rows} == {
        "/inboundConnection/connectionProperties/password",
        "/loggingWebhooks/0/authorizationHeaderKey/decryptedValue",
    }


def test_html_shows_old_and_new_values_side_by_side(audit: Audit) -> None:
    text = render_html(audit)
    row = re.search(r'<tr [^>]*data-path="/enabled"[^>]*>.*?</tr>', text, re.S)
    assert row is not None
    assert '<td class="old"><pre>true</pre></td><td class="new"><pre>false</pre></td>' in row.group(
        0
    )


def test_html_shows_attribution_and_labels(audit: Audit) -> None:
    text = " ".join(parse(render_html(audit)).text)
    assert "Order: Acme ERP → Contoso WMS" in text
    assert "by bob@contoso.example" in text and "2026-12-03T09:15:00.0000000Z" in text


def test_html_uses_collapsible_sections(audit: Audit) -> None:
    checker = parse(render_html(audit))
    integrations = [a for tag, a in checker.tags if tag == "details" and "data-integration-id" in a]
    assert [a["data-integration-id"] for a in integrations] == ["int-mod"]


def test_html_summary_counts_the_changes(audit: Audit) -> None:
    checker = parse(render_html(audit))
    stats = {a["data-stat"] for tag, a in checker.tags if tag == "li" and "data-stat" in a}
    assert {"added", "removed", "modified", "unchanged", "changes"} <= stats


def test_html_of_a_first_snapshot_says_everything_is_new() -> None:
    store = ConfigStore()
    new = manifest("20261204T020000Z-bbbbbb", T_NEW, sub("p", "P", [store.entry(config("i1"))]))
    audit = build_audit(None, new, store.load, generated_at=T_NEW)
    assert "First snapshot" in render_html(audit) and "First snapshot" in render_markdown(audit)
