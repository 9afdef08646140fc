"""``entry_list_bytes`` uses pydantic's serializer as a shortcut to canonical JSON; these tests
prove the shortcut equals the definition (``canonical_bytes`` of the model dump), and that a
record and its entry lists assemble back into the very manifest they were made from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core.canonical import canonical_bytes
from shared.core.manifest import (
    EntryList,
    IntegrationEntry,
    SnapshotManifest,
    SnapshotStatus,
    SubscriptionEntry,
    SubscriptionStatus,
    Trigger,
    as_record,
    assemble,
    entry_list_bytes,
    parse_manifest,
    record_bytes,
)

# Any text JSON can carry, control characters, quotes, backslashes and astral characters
# included; lone surrogates are not text (both serializers refuse them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
OPTIONAL_TEXT = st.none() | TEXT
MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from((UTC, timezone(timedelta(hours=2)))),
)

ENTRY = st.builds(
    IntegrationEntry,
    hash=TEXT,
    id=TEXT,
    label=TEXT,
    size=st.integers(min_value=0, max_value=2**53),
    updated_at=OPTIONAL_TEXT,
    updated_by=OPTIONAL_TEXT,
)
SUBSCRIPTION = st.builds(
    SubscriptionEntry,
    integrations=st.lists(ENTRY, max_size=4).map(tuple),
    listing_sha256=OPTIONAL_TEXT,
    name=OPTIONAL_TEXT,
    reason=OPTIONAL_TEXT,
    status=st.sampled_from(SubscriptionStatus),
    subscription_id=TEXT,
)
MANIFEST = st.builds(
    SnapshotManifest,
    finished_at=MOMENT,
    format_version=st.just(3),
    mass_change_subscriptions=st.lists(TEXT, max_size=2).map(tuple),
    note=OPTIONAL_TEXT,
    previous_manifest_hash=OPTIONAL_TEXT,
    previous_snapshot_id=OPTIONAL_TEXT,
    snapshot_id=TEXT,
    started_at=MOMENT,
    status=st.sampled_from(SnapshotStatus),
    subscriptions=st.lists(SUBSCRIPTION, max_size=3).map(tuple),
    trigger=st.sampled_from(Trigger),
    warnings=st.lists(TEXT, max_size=2).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ENTRY, max_size=6).map(tuple))
def test_entry_list_bytes_are_the_canonical_json_of_the_model_dump(entries):
    expected = canonical_bytes(EntryList(integrations=entries).model_dump(mode="json"))
    assert entry_list_bytes(entries) == expected


@settings(max_examples=200, deadline=None)
@given(MANIFEST)
def test_a_record_and_its_entry_lists_assemble_back_into_the_manifest(manifest):
    record, inline = as_record(manifest)
    assert parse_manifest(record_bytes(record)) == record
    assert assemble(record, inline) == manifest


@pytest.mark.parametrize("model", [IntegrationEntry, EntryList])
def test_entry_list_models_declare_their_fields_in_sorted_order(model):
    assert list(model.model_fields) == sorted(model.model_fields)
