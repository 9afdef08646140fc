"""What the benchmark's processes share: the run's endpoints, subprocess plumbing, memory.

The orchestrator writes one ``Endpoints`` JSON file per run; every measurement process reads it
(``--endpoints FILE``), does its one thing, and prints exactly one JSON line on stdout as its
last line. Human-readable chatter goes to stderr.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shared.connxio import MEDIA_TYPE

REPO_ROOT = Path(__file__).resolve().parent.parent

# The write concurrency of BackupService (its ``write_concurrency`` default) and the thread pool
# of SnapshotRepository: the floor writes at the same width.
WRITE_CONCURRENCY = 32


@dataclass(frozen=True)
class Endpoints:
    """Where the simulator and Azurite of this run are, and how to reach them."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str
    api_keys: dict[str, str] = field(repr=False)
    connection_string: str = field(repr=False)
    container: str  # cxbackup's snapshots
    baseline_container: str  # the afternoon script's files
    floor_container: str  # scratch space of the storage floor
    concurrency: int  # subscriptions read at once (BACKUP_CONCURRENCY)
    # The storage floor's own (fresh) Azurite; None: the run's Azurite, in floor_container.
    floor_connection_string: str | None = field(default=None, repr=False)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> Endpoints:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))

    def token_form(self) -> dict[str, str]:
        """The client-credentials form the bare clients (script, floor) post for a token."""
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": self.scope,
        }


def api_headers(token: str, key: str) -> dict[str, str]:
    """What every Management API request of the bare clients carries."""
    return {"Authorization": f"Bearer {token}", "Connxio-Api-Key": key, "Accept": MEDIA_TYPE}


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes
    return round(kib * scale / 1_000_000, 1)


def current_rss_mb() -> float | None:
    """This process's resident set size now, in MB (None where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1_000_000, 1)


def emit(result: dict[str, Any]) -> None:
    """Print a measurement's result: one JSON line, the last on stdout."""
    result.setdefault("peak_rss_mb", peak_rss_mb())
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


class MeasurementFailed(RuntimeError):
    """A measurement process failed; the message carries the tail of its stderr."""


def run_measurement(module: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python -m <module> <args>`` in a fresh process; return its JSON result line.

    ``elapsed_s`` (the process's whole life, interpreter start included) is added to the result.
    """
    command = [sys.executable, "-m", module, *args]
    started = time.perf_counter()
    completed = subprocess.run(
        command,
        check=False,  # the return code is checked below, with stderr in the message
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    elapsed = time.perf_counter() - started
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not lines:
        tail = "\n".join(completed.stderr.strip().splitlines()[-25:])
        raise MeasurementFailed(
            f"`python -m {module} {' '.join(args)}` failed with exit code "
            f"{completed.returncode}:\n{tail}"
        )
    try:
        result = json.loads(lines[-1])
    except ValueError:
        raise MeasurementFailed(
            f"`python -m {module}` did not end with a JSON line; it printed {lines[-1][:200]!r}"
        ) from None
    result["elapsed_s"] = round(elapsed, 3)
    return result
