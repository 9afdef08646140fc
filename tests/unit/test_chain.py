"""Chain verification: edits, deletions and reordering of stored manifests are evident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.core.canonical import canonical_bytes, content_hash
from shared.core.chain import ChainReport, verify_chain
from shared.core.manifest import (
    ManifestRecord,
    SnapshotManifest,
    SnapshotStatus,
    Trigger,
    new_snapshot_id,
    record_bytes,
)

START = datetime(2026, 12, 1, 2, tzinfo=UTC)

Entries = list[tuple[str, bytes]]


def build_chain(statuses: list[SnapshotStatus]) -> Entries:
    """Manifests one day apart, each linked to the previous complete one as a backup would."""
    entries: Entries = []
    previous: tuple[str, bytes] | None = None
    for day, status in enumerate(statuses):
        at = START + timedelta(days=day)
        manifest = ManifestRecord(
            snapshot_id=new_snapshot_id(at, "abc123"),
            trigger=Trigger.TIMER,
            status=status,
            started_at=at,
            finished_at=at + timedelta(minutes=5),
            previous_snapshot_id=previous[0] if previous else None,
            previous_manifest_hash=(content_hash(previous[1]) if previous else None),
        )
        data = record_bytes(manifest)
        entries.append((manifest.snapshot_id, data))
        if status is SnapshotStatus.COMPLETE:
            previous = (manifest.snapshot_id, data)
    return entries


def complete_chain(n: int) -> Entries:
    return build_chain([SnapshotStatus.COMPLETE] * n)


def edit(entries: Entries, index: int, **changes: object) -> Entries:
    sid, data = entries[index]
    changed = ManifestRecord.model_validate_json(data).model_copy(update=changes)
    return [*entries[:index], (sid, record_bytes(changed)), *entries[index + 1 :]]


def test_intact_chain_is_ok() -> None:
    report = verify_chain(complete_chain(4))
    assert report.ok
    assert (report.checked, report.verified_links) == (4, 3)


def test_chain_with_partial_snapshots_links_them_to_the_previous_complete_one() -> None:
    statuses = [SnapshotStatus.COMPLETE, SnapshotStatus.PARTIAL, SnapshotStatus.FAILED]
    report = verify_chain(build_chain([*statuses, SnapshotStatus.COMPLETE]))
    assert report.ok
    assert report.verified_links == 3


def test_empty_repository_is_ok() -> None:
    assert verify_chain([]).ok


def test_edited_manifest_is_reported_as_hash_mismatch_naming_it() -> None:
    entries = edit(complete_chain(3), 1, warnings=("quietly edited",))
    report = verify_chain(entries)
    assert not report.ok
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [(entries[1][0], "hash_mismatch")]


def test_edit_seen_by_several_successors_is_reported_once() -> None:
    entries = build_chain(
        [SnapshotStatus.COMPLETE, SnapshotStatus.PARTIAL, SnapshotStatus.COMPLETE]
    )
    entries = edit(entries, 0, note="edited")
    report = verify_chain(entries)
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [(entries[0][0], "hash_mismatch")]


def test_deleted_manifest_is_reported_as_missing_previous_naming_it() -> None:
    entries = complete_chain(3)
    deleted = entries.pop(1)
    report = verify_chain(entries)
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [(deleted[0], "missing_previous")]


def test_manifest_forgotten_by_prune_is_not_a_problem() -> None:
    entries = complete_chain(3)
    forgotten = entries.pop(0)
    report = verify_chain(entries, forgotten=frozenset({forgotten[0]}))
    assert report.ok
    assert report.verified_links == 1


def test_forgotten_manifest_still_stored_is_still_hash_checked() -> None:
    entries = edit(complete_chain(2), 0, note="edited")
    report = verify_chain(entries, forgotten=frozenset({entries[0][0]}))
    assert [p.kind for p in report.problems] == ["hash_mismatch"]


def test_unparseable_manifest_is_reported_without_echoing_its_content() -> None:
    entries = complete_chain(2)
    entries[1] = (entries[1][0], b'{"secret": "hunter2"}')
    report = verify_chain(entries)
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [(entries[1][0], "unparseable")]
    assert "hunter2" not in report.problems[0].detail


def test_unparseable_manifest_is_still_hash_checked_by_its_successor() -> None:
    entries = complete_chain(2)
    entries[0] = (entries[0][0], b"not json")
    kinds = {p.kind for p in verify_chain(entries).problems}
    assert kinds == {"unparseable", "hash_mismatch"}


def test_manifest_stored_under_another_snapshots_name_is_reported() -> None:
    entries = complete_chain(2)
    entries.append(("20261231T000000Z-ffffff", entries[1][1]))
    report = verify_chain(entries)
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [
        ("20261231T000000Z-ffffff", "id_mismatch")
    ]


def test_entries_out_of_id_order_are_reported() -> None:
    entries = complete_chain(3)
    entries[1], entries[2] = entries[2], entries[1]
    report = verify_chain(entries)
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [(entries[2][0], "order")]


def test_manifest_naming_a_later_snapshot_as_previous_is_reported() -> None:
    entries = complete_chain(2)
    later_id = entries[1][0]
    entries = edit(entries, 0, previous_snapshot_id=later_id, previous_manifest_hash="0" * 64)
    kinds = {(p.snapshot_id, p.kind) for p in verify_chain(entries).problems}
    assert (entries[0][0], "order") in kinds


def test_manifest_claiming_to_be_first_after_a_complete_one_is_reported() -> None:
    entries = complete_chain(3)
    entries = edit(entries, 2, previous_snapshot_id=None, previous_manifest_hash=None)
    report = verify_chain(entries)
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [(entries[2][0], "order")]


def test_report_cannot_claim_ok_with_problems() -> None:
    with pytest.raises(ValidationError):
        ChainReport(
            ok=True,
            problems=({"snapshot_id": "x", "kind": "order", "detail": "d"},),
        )


def manifest_entry(
    at: datetime,
    suffix: str,
    *,
    previous: tuple[str, bytes] | None,
    duration: timedelta = timedelta(minutes=5),
) -> tuple[str, bytes]:
    """One complete manifest started at ``at`` that names ``previous`` as a backup would."""
    manifest = ManifestRecord(
        snapshot_id=new_snapshot_id(at, suffix),
        trigger=Trigger.TIMER,
        status=SnapshotStatus.COMPLETE,
        started_at=at,
        finished_at=at + duration,
        previous_snapshot_id=previous[0] if previous else None,
        previous_manifest_hash=content_hash(previous[1]) if previous else None,
    )
    return manifest.snapshot_id, record_bytes(manifest)


def test_overlapping_backups_that_share_a_previous_snapshot_are_not_a_problem() -> None:
    base = manifest_entry(START, "000001", previous=None)
    timer = manifest_entry(START + timedelta(days=1), "000001", previous=base)
    http = manifest_entry(START + timedelta(days=1), "000002", previous=base)
    after = manifest_entry(START + timedelta(days=2), "000001", previous=http)
    report = verify_chain([base, timer, http, after])
    assert report.ok, report.problems
    assert report.verified_links == 3


def test_backup_that_started_before_a_newer_one_finished_may_name_an_older_previous() -> None:
    base = manifest_entry(START, "000001", previous=None)
    slow = manifest_entry(
        START + timedelta(hours=1), "000001", previous=base, duration=timedelta(hours=2)
    )
    quick = manifest_entry(START + timedelta(hours=2), "000001", previous=base)
    # Started while `slow` was still running, so `slow` was not yet there to be named.
    report = verify_chain([base, slow, quick])
    assert report.ok, report.problems


def test_two_first_backups_that_overlapped_may_both_record_no_previous() -> None:
    first = manifest_entry(START, "000001", previous=None)
    second = manifest_entry(START + timedelta(minutes=1), "000001", previous=None)
    assert verify_chain([first, second]).ok


def test_removed_snapshot_named_by_one_of_two_overlapping_backups_is_reported() -> None:
    base = manifest_entry(START, "000001", previous=None)
    timer = manifest_entry(START + timedelta(days=1), "000001", previous=base)
    http = manifest_entry(START + timedelta(days=1), "000002", previous=base)
    after = manifest_entry(START + timedelta(days=2), "000001", previous=http)
    report = verify_chain([base, timer, after])
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [(http[0], "missing_previous")]


def test_edited_snapshot_shared_by_overlapping_backups_is_reported_once() -> None:
    base = manifest_entry(START, "000001", previous=None)
    timer = manifest_entry(START + timedelta(days=1), "000001", previous=base)
    http = manifest_entry(START + timedelta(days=1), "000002", previous=base)
    entries = edit([base, timer, http], 0, note="rewritten")
    report = verify_chain(entries)
    assert [(p.snapshot_id, p.kind) for p in report.problems] == [(base[0], "hash_mismatch")]


def test_first_backup_starting_the_moment_another_finished_may_record_no_previous() -> None:
    first = manifest_entry(START, "000001", previous=None, duration=timedelta(seconds=0))
    second = manifest_entry(START + timedelta(seconds=1), "000001", previous=None)
    assert verify_chain([first, second]).ok


def legacy_entry(at: datetime, suffix: str) -> tuple[str, bytes]:
    """A complete manifest as format 2 stored it: the whole manifest, entries inline."""
    manifest = SnapshotManifest(
        format_version=2,
        snapshot_id=new_snapshot_id(at, suffix),
        trigger=Trigger.TIMER,
        status=SnapshotStatus.COMPLETE,
        started_at=at,
        finished_at=at + timedelta(minutes=5),
    )
    return manifest.snapshot_id, canonical_bytes(manifest.model_dump(mode="json"))


def test_record_linked_to_a_legacy_format_2_manifest_verifies() -> None:
    legacy = legacy_entry(START, "000001")
    record = manifest_entry(START + timedelta(days=1), "000001", previous=legacy)
    report = verify_chain([legacy, record])
    assert report.ok, report.problems
    assert report.verified_links == 1
