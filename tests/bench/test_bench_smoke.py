"""The benchmark's machinery at a tiny scale: every process starts, every figure is there.

2 subscriptions x 5 integrations, no latency, on the session's Azurite. No timing is asserted
(timings are the benchmark's output, not a test's); what is asserted is the shape of the table
and the JSON, and the counts that do not depend on timing: which requests and writes each
scenario makes.
"""

from __future__ import annotations

import io
import json

import pytest

from bench.counting import CountingBackend
from bench.report import HEADERS, METRICS
from bench.run import run_benchmark
from shared.errors import ObjectExistsError
from shared.store import LocalBackend

SCENARIOS = ("first", "unchanged", "changed", "audit", "plan", "apply")


@pytest.fixture(scope="module")
def document(azurite, tmp_path_factory):
    output = tmp_path_factory.mktemp("bench") / "latest.json"
    out = io.StringIO()
    returned = run_benchmark(
        [
            "--subscriptions",
            "2",
            "--integrations",
            "5",
            "--latency-ms",
            "0",
            "--restore-changes",
            "2",
            "--reps",
            "1",
            "--connection-string",
            azurite.connection_string,
            "--output",
            str(output),
        ],
        out=out,
    )
    written = json.loads(output.read_text(encoding="utf-8"))
    return {"returned": returned, "written": written, "text": out.getvalue()}


def test_the_json_is_what_was_returned_and_has_every_section(document):
    written = document["written"]
    assert written == json.loads(json.dumps(document["returned"], default=str))
    assert written["schema"] == "cxbackup-bench/1"
    for section in ("parameters", "environment", "data", "table", "targets", "floor", "scenarios"):
        assert section in written
    parameters = written["parameters"]
    assert parameters["integrations"] == 10
    assert parameters["changed_integrations"] == 1  # 1% of 10, at least one
    assert written["data"]["integration_count"] == 10


def test_the_table_has_every_figure_for_both_sides(document):
    rows = document["written"]["table"]
    assert len(rows) == len(SCENARIOS) * len(METRICS)
    for row in rows:
        assert set(row) == {
            "scenario",
            "metric",
            "cxbackup",
            "baseline",
            "ratio",
            "floor_api_s",
            "floor_s",
            "floor_ratio",
        }
        assert row["cxbackup"] is not None
        assert row["baseline"] is not None
    walls = [r for r in rows if r["metric"] == "wall_s"]
    floored = [r for r in walls if r["floor_s"] is not None]
    assert len(floored) == 4  # the three backups and the audit
    assert all(r["floor_ratio"] is not None for r in floored)


def test_the_printed_table_and_targets(document):
    text = document["text"]
    for header in HEADERS:
        assert header in text
    for _, metric in METRICS:
        assert metric in text
    assert "targets:" in text
    assert "[MET   ]" in text or "[MISSED]" in text


def test_targets_are_all_evaluated(document):
    targets = document["written"]["targets"]
    assert len(targets) == 8
    for target in targets:
        assert isinstance(target["met"], bool)
        assert target["measured"] and target["limit"]


def _scenario(document, key):
    return next(s for s in document["written"]["scenarios"] if s["key"] == key)


def test_requests_and_writes_each_scenario_makes(document):
    first = _scenario(document, "first")
    # a token, the subscription list, one integration list per subscription
    assert first["cxbackup"]["api_requests"] == 4
    assert first["baseline"]["api_requests"] == 3  # no discovery
    assert first["cxbackup"]["blob"]["creates_by_kind"]["objects"] == 10
    assert first["baseline"]["blob"]["requests"] == 2  # one file per subscription

    unchanged = _scenario(document, "unchanged")["cxbackup"]
    assert unchanged["runs_s"] == [unchanged["wall_s"]]  # --reps 1: one run, kept
    kinds = unchanged["blob"]["creates_by_kind"]
    assert kinds.get("objects", 0) == 0
    assert kinds["snapshots"] == 1
    assert kinds["audits"] == 1

    changed = _scenario(document, "changed")["cxbackup"]
    assert changed["details"]["objects_written"] == 1
    assert changed["blob"]["creates_by_kind"]["objects"] == 1

    audit = _scenario(document, "audit")
    assert audit["cxbackup"]["api_requests"] == 0
    assert audit["cxbackup"]["details"]["summary"]["integrations_modified"] == 1
    assert audit["baseline"]["details"]["deepdiff_s"] >= 0

    plan = _scenario(document, "plan")
    assert plan["cxbackup"]["details"]["counts"]["update"] == 2
    assert plan["baseline"]["details"]["sent"] == 2
    apply = _scenario(document, "apply")["cxbackup"]
    assert apply["details"]["outcome"] == "succeeded"
    assert apply["details"]["counts"]["updated"] == 2
    assert apply["api_by_route"]["POST /v2/integrations"] == 2


def test_every_measurement_reports_its_peak_memory(document):
    for scenario in document["written"]["scenarios"]:
        for side in ("cxbackup", "baseline"):
            assert scenario[side]["peak_rss_mb"] > 0


def test_counting_backend_counts_and_passes_through(tmp_path):
    backend = CountingBackend(LocalBackend(tmp_path))
    backend.create("objects/ab/x.json", b"12345")
    with pytest.raises(ObjectExistsError):
        backend.create("objects/ab/x.json", b"12345")
    backend.create("snapshots/s.json", b"{}")
    assert backend.read("objects/ab/x.json") == b"12345"
    assert backend.exists("snapshots/s.json")
    assert list(backend.list("objects/")) == ["objects/ab/x.json"]
    backend.delete("snapshots/s.json")
    counts = backend.snapshot()
    assert counts["by_op"] == {"create": 3, "read": 1, "exists": 1, "list": 1, "delete": 1}
    assert counts["requests"] == 7
    assert counts["bytes_written"] == 12
    assert counts["bytes_read"] == 5
    assert counts["objects_created"] == 2
    assert counts["creates_existing"] == 1
    assert counts["creates_by_kind"] == {"objects": 2, "snapshots": 1}
