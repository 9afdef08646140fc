"""The benchmark's output: the floors, the targets, one table, and the JSON document.

Everything here is pure: it takes the measurements (dicts as the measurement processes print
them, plus the simulator's request counts) and returns rows, text and a JSON-ready dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA = "cxbackup-bench/1"

# The targets of the issue, as numbers.
FLOOR_FACTOR = 1.5
CHANGED_BYTES_SHARE = 0.02
AUDIT_SECONDS = 0.5
AUDIT_SPEEDUP = 10.0
PEAK_RSS_MB = 300.0

METRICS: tuple[tuple[str, str], ...] = (
    ("wall_s", "wall time (s)"),
    ("api_requests", "API requests"),
    ("blob_requests", "Blob requests"),
    ("blob_mb_written", "Blob MB written"),
    ("peak_rss_mb", "peak RSS (MB)"),
)


def figures(measurement: dict[str, Any] | None) -> dict[str, float | int | None]:
    """The five table figures of one measurement (None where it has none)."""
    if measurement is None:
        return dict.fromkeys(k for k, _ in METRICS)
    blob = measurement.get("blob") or {}
    written = blob.get("bytes_written")
    return {
        "wall_s": measurement.get("wall_s"),
        "api_requests": measurement.get("api_requests"),
        "blob_requests": blob.get("requests"),
        "blob_mb_written": None if written is None else written / 1_000_000,
        "peak_rss_mb": measurement.get("peak_rss_mb"),
    }


# -- floors ------------------------------------------------------------------------------------


def compute_floors(
    floor: dict[str, Any], *, latency_s: float, subscriptions: int, concurrency: int
) -> dict[str, dict[str, float]]:
    """Per backup scenario: the theoretical API floor, the measured API floor, and the floor
    with the required storage work (see bench/README.md, "The latency floor")."""
    api = floor["api"]
    storage = floor["storage"]
    rounds = -(-subscriptions // concurrency)
    theoretical = (2 + rounds) * latency_s
    fetch, first = api["fetch_s"], api["first_list_s"]
    tails = storage.get("tails", {})

    def full(objects_s: float, label: str) -> float:
        tail = tails.get(label, {}).get("tail_s", 0.0)
        return max(fetch, first + objects_s) + tail

    floors = {
        "first": {
            "api_theoretical_s": theoretical,
            "api_s": fetch,
            "full_s": full(storage["objects_all_s"], "first"),
        },
        "unchanged": {
            "api_theoretical_s": theoretical,
            "api_s": fetch,
            "full_s": full(0.0, "unchanged"),
        },
        "changed": {
            "api_theoretical_s": theoretical,
            "api_s": fetch,
            "full_s": full(storage["objects_changed_s"], "changed"),
        },
    }
    if "audit_reads" in storage:
        # An audit makes no API call: its floor is reading what it must read.
        floors["audit"] = {"full_s": storage["audit_reads"]["s"]}
    return floors


# -- rows and the table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    scenario: str
    metric: str
    key: str
    cxbackup: float | int | None
    baseline: float | int | None
    floor_api: float | None = None
    floor_full: float | None = None

    @property
    def ratio(self) -> float | None:
        return _ratio(self.cxbackup, self.baseline)

    @property
    def floor_ratio(self) -> float | None:
        return _ratio(self.cxbackup, self.floor_full)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "metric": self.key,
            "cxbackup": _round(self.cxbackup),
            "baseline": _round(self.baseline),
            "ratio": _round(self.ratio),
            "floor_api_s": _round(self.floor_api),
            "floor_s": _round(self.floor_full),
            "floor_ratio": _round(self.floor_ratio),
        }


def _ratio(a: float | int | None, b: float | int | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _round(value: float | int | None) -> float | int | None:
    if value is None or isinstance(value, int):
        return value
    return round(value, 4)


def build_rows(scenarios: list[dict[str, Any]], floors: dict[str, dict[str, float]]) -> list[Row]:
    rows = []
    for scenario in scenarios:
        cx, base = figures(scenario.get("cxbackup")), figures(scenario.get("baseline"))
        floor = floors.get(scenario.get("floor_key") or "")
        for key, metric in METRICS:
            rows.append(
                Row(
                    scenario=scenario["title"],
                    metric=metric,
                    key=key,
                    cxbackup=cx[key],
                    baseline=base[key],
                    floor_api=floor.get("api_s") if floor and key == "wall_s" else None,
                    floor_full=floor["full_s"] if floor and key == "wall_s" else None,
                )
            )
    return rows


def _cell(value: float | int | None, key: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or key in ("api_requests", "blob_requests"):
        return f"{int(value):,}"
    if key == "wall_s":
        return f"{value:.3f}"
    if key == "blob_mb_written":
        return f"{value:.3f}"
    return f"{value:.1f}"


def _times(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}x"
    if value >= 10:
        return f"{value:.1f}x"
    return f"{value:.2f}x"


HEADERS = (
    "scenario",
    "metric",
    "cxbackup",
    "baseline",
    "cx÷base",
    "floor API",
    "floor API+store",
    "cx÷floor",
)


def format_table(rows: list[Row]) -> str:
    cells = []
    previous = None
    for row in rows:
        cells.append(
            (
                row.scenario if row.scenario != previous else "",
                row.metric,
                _cell(row.cxbackup, row.key),
                _cell(row.baseline, row.key),
                _times(row.ratio),
                _cell(row.floor_api, "wall_s") if row.floor_api is not None else "",
                _cell(row.floor_full, "wall_s") if row.floor_full is not None else "",
                _times(row.floor_ratio) if row.floor_full is not None else "",
            )
        )
        previous = row.scenario
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]
    left = {0, 1}

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.ljust(widths[i]) if i in left else v.rjust(widths[i]) for i, v in enumerate(values)
        ).rstrip()

    out = [line(HEADERS), "  ".join("-" * w for w in widths)]
    previous = None
    for row, cell in zip(rows, cells, strict=True):
        if previous is not None and row.scenario != previous:
            out.append("")
        out.append(line(cell))
        previous = row.scenario
    return "\n".join(out)


# -- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    met: bool
    measured: str
    limit: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.name,
            "met": self.met,
            "measured": self.measured,
            "limit": self.limit,
        }


def _best_of(runs: list[float] | None) -> str:
    """How a best-of figure came about: "(best of 3 runs: 0.61, 0.45, 0.52 s)"."""
    if not runs or len(runs) < 2:
        return ""
    return f" (best of {len(runs)} runs: {', '.join(f'{r:.2f}' for r in runs)} s)"


def evaluate_targets(
    by_key: dict[str, dict[str, Any]],
    floors: dict[str, dict[str, float]],
    *,
    changed_expected: int,
) -> list[Target]:
    """The issue's targets, each met or missed, from the measurements."""
    targets: list[Target] = []
    first = by_key["first"]["cxbackup"]
    first_floor = floors["first"]["full_s"]
    targets.append(
        Target(
            "first backup within 1.5x of the floor (API + required writes)",
            first["wall_s"] <= FLOOR_FACTOR * first_floor,
            f"{first['wall_s']:.3f} s = {first['wall_s'] / first_floor:.2f}x "
            f"floor {first_floor:.3f} s",
            f"≤ {FLOOR_FACTOR}x",
        )
    )
    unchanged = by_key["unchanged"]["cxbackup"]
    kinds = unchanged["blob"].get("creates_by_kind", {})
    objects = unchanged["details"]["objects_written"]
    others = {k: v for k, v in kinds.items() if k not in ("snapshots", "audits", "objects")}
    targets.append(
        Target(
            "unchanged backup writes one manifest + its audit, no integration objects",
            kinds.get("snapshots", 0) == 1
            and kinds.get("audits", 0) == 1
            and kinds.get("objects", 0) == 0
            and objects == 0,
            f"{kinds.get('snapshots', 0)} manifest, {kinds.get('audits', 0)} audit, "
            f"{kinds.get('objects', 0)} integration object(s)"
            + (f"; also {_kinds(others)}" if others else ""),
            "1 manifest, 1 audit, 0 objects",
        )
    )
    unchanged_floor = floors["unchanged"]["full_s"]
    targets.append(
        Target(
            "unchanged backup within 1.5x of the floor (API + required writes)",
            unchanged["wall_s"] <= FLOOR_FACTOR * unchanged_floor,
            f"{unchanged['wall_s']:.3f} s = {unchanged['wall_s'] / unchanged_floor:.2f}x "
            f"floor {unchanged_floor:.3f} s" + _best_of(unchanged.get("runs_s")),
            f"≤ {FLOOR_FACTOR}x",
        )
    )
    changed = by_key["changed"]["cxbackup"]
    objects = changed["details"]["objects_written"]
    targets.append(
        Target(
            "backup after 1% changed writes only the changed objects",
            objects == changed_expected,
            f"{objects} integration object(s) for {changed_expected} changed",
            f"= {changed_expected}",
        )
    )
    base_bytes = by_key["changed"]["baseline"]["blob"]["bytes_written"]
    cx_bytes = changed["blob"]["bytes_written"]
    share = cx_bytes / base_bytes if base_bytes else float("inf")
    targets.append(
        Target(
            "backup after 1% changed: bytes written < 2% of the baseline's",
            share < CHANGED_BYTES_SHARE,
            f"{cx_bytes:,} B = {share:.2%} of {base_bytes:,} B",
            f"< {CHANGED_BYTES_SHARE:.0%}",
        )
    )
    audit = by_key["audit"]["cxbackup"]
    targets.append(
        Target(
            "audit of the last two snapshots under 0.5 s",
            audit["wall_s"] < AUDIT_SECONDS,
            f"{audit['wall_s']:.3f} s",
            f"< {AUDIT_SECONDS} s",
        )
    )
    diff = by_key["audit"]["baseline"]
    deepdiff_s = diff["details"]["deepdiff_s"]
    speedup = deepdiff_s / audit["wall_s"] if audit["wall_s"] else float("inf")
    targets.append(
        Target(
            "audit ≥ 10x faster than the baseline's diff (DeepDiff alone, downloads excluded)",
            speedup >= AUDIT_SPEEDUP,
            f"{speedup:,.1f}x (DeepDiff {deepdiff_s:.3f} s; with downloads "
            f"{diff['wall_s'] / audit['wall_s']:,.1f}x)",
            f"≥ {AUDIT_SPEEDUP:.0f}x",
        )
    )
    targets.append(
        Target(
            f"peak RSS of the first backup ({first['details']['integrations']:,} integrations) "
            "under 300 MB",
            first["peak_rss_mb"] < PEAK_RSS_MB,
            f"{first['peak_rss_mb']:.1f} MB",
            f"< {PEAK_RSS_MB:.0f} MB",
        )
    )
    return targets


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind} document(s)" for kind, n in sorted(counts.items()))


def format_targets(targets: list[Target]) -> str:
    lines = []
    for target in targets:
        mark = "MET   " if target.met else "MISSED"
        lines.append(f"  [{mark}] {target.name}: {target.measured} (target {target.limit})")
    return "\n".join(lines)
