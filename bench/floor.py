"""The floor: the least time the API's latency, our concurrency bound and the required Blob
writes allow. ``python -m bench.floor --endpoints F --snapshots first=ID,unchanged=ID,...``

Measured in the same run, against the same simulator and Azurite, by code that does nothing
but the unavoidable I/O (see bench/README.md for how the floors are combined):

- **API fetch**: a fresh ``httpx.AsyncClient`` gets a token, lists the subscriptions, then reads
  every subscription's ``GET /v2/integrations`` with at most C requests in flight, reading the
  bytes and parsing nothing. Reported: the time until the first integration list is in (the
  earliest moment any object could be written) and until the last one is; the best of
  ``--reps`` runs.
- **Object writes**: the canonical bytes of the fetched configs (prepared untimed), written as
  ``objects/<h>/<hash>.json`` through ``BlobBackend.create`` from W threads into a scratch
  container (of a fresh Azurite when the orchestrator started one for the floor): all N of
  them (what a first backup must write), and the k of a 1% change.
- **Tail**: each measured snapshot's real manifest record, then its real audit (read untimed
  from the run's container), written one after the other, as a backup must after its last
  object. (A changed subscription's entry list is written beside its objects; the floor does
  not write those lists at all, which only makes it lower.)
- **Audit reads**: the least an audit of two snapshots must read: both manifest records, the
  entry lists of subscriptions whose list differs, then the objects whose hashes differ
  between them, from W threads, in the run's container.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.common import WRITE_CONCURRENCY, Endpoints, api_headers, emit
from shared.core.canonical import canonical_bytes
from shared.errors import ObjectNotFoundError
from shared.store import codec
from shared.store.blob import BlobBackend


async def _fetch_once(endpoints: Endpoints) -> tuple[dict[str, float], list[bytes]]:
    """One bare fetch of the estate; (timings, the raw integration-list bodies)."""
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    keys = list(endpoints.api_keys.items())
    bodies: list[bytes] = []
    first_done: float | None = None
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        response = await http.post(endpoints.token_url, data=endpoints.token_form())
        response.raise_for_status()
        token = response.json()["access_token"]
        token_done = time.perf_counter()

        response = await http.get(
            f"{endpoints.base_url}/v2/subscriptions", headers=api_headers(token, keys[0][1])
        )
        response.raise_for_status()
        discovered = time.perf_counter()
        slots = asyncio.Semaphore(endpoints.concurrency)

        async def one(key: str) -> None:
            nonlocal first_done
            async with slots:
                answer = await http.get(
                    f"{endpoints.base_url}/v2/integrations", headers=api_headers(token, key)
                )
                answer.raise_for_status()
                bodies.append(answer.content)
                if first_done is None:
                    first_done = time.perf_counter()

        await asyncio.gather(*(one(key) for _, key in keys))
        finished = time.perf_counter()
    timings = {
        "token_s": token_done - started,
        "discovery_s": discovered - token_done,
        "first_list_s": (first_done or finished) - started,
        "fetch_s": finished - started,
    }
    return timings, bodies


def measure_api(endpoints: Endpoints, reps: int) -> tuple[dict[str, Any], list[bytes]]:
    runs = []
    bodies: list[bytes] = []
    for _ in range(reps):
        timings, bodies = asyncio.run(_fetch_once(endpoints))
        runs.append(timings)
    best = min(runs, key=lambda r: r["fetch_s"])
    return {
        "fetch_s": round(best["fetch_s"], 4),
        "first_list_s": round(min(r["first_list_s"] for r in runs), 4),
        "token_s": round(min(r["token_s"] for r in runs), 4),
        "discovery_s": round(min(r["discovery_s"] for r in runs), 4),
        "bytes_fetched": sum(len(b) for b in bodies),
        "reps": [{k: round(v, 4) for k, v in r.items()} for r in runs],
    }, bodies


def _object_name(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"objects/{digest[:2]}/{digest}.json"


def _write_all(backend: BlobBackend, pool: ThreadPoolExecutor, blobs: list[bytes]) -> float:
    """Write canonical ``blobs`` in their stored (compressed) form; encoding is not timed."""
    named = [(_object_name(b), codec.encode(b)) for b in blobs]  # not storage work
    started = time.perf_counter()
    list(pool.map(lambda pair: backend.create(*pair), named))
    return time.perf_counter() - started


def _salted(blobs: list[bytes], salt: int) -> list[bytes]:
    """New content (so new names) of practically the same sizes: a few bytes appended."""
    tail = f" {salt}".encode()
    return [b + tail for b in blobs]


def measure_storage(
    endpoints: Endpoints,
    bodies: list[bytes],
    snapshots: dict[str, str],
    changed: int,
    reps: int,
) -> dict[str, Any]:
    configs = [c for body in bodies for c in json.loads(body)]
    blobs = [canonical_bytes(c) for c in configs]  # what is hashed; written encoded
    run_store = BlobBackend.from_connection_string(endpoints.connection_string, endpoints.container)
    scratch = BlobBackend.from_connection_string(
        endpoints.floor_connection_string or endpoints.connection_string,
        endpoints.floor_container,
    )
    scratch.ensure_container()
    result: dict[str, Any] = {"write_concurrency": WRITE_CONCURRENCY}
    with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
        # Warm the connection pool the way a long-lived process would have it warm.
        _write_all(scratch, pool, [f"warm-{i}".encode() for i in range(WRITE_CONCURRENCY)])
        all_reps = reps if len(blobs) <= 2000 else 1
        result["objects_all_count"] = len(blobs)
        result["objects_all_bytes"] = sum(len(b) for b in blobs)  # canonical, not stored
        result["objects_all_s"] = round(
            min(_write_all(scratch, pool, _salted(blobs, 1000 + r)) for r in range(all_reps)), 4
        )
        k = min(changed, len(blobs))
        result["objects_changed_count"] = k
        result["objects_changed_s"] = round(
            min(_write_all(scratch, pool, _salted(blobs[:k], 2000 + r)) for r in range(reps)), 4
        )
    tails: dict[str, Any] = {}
    for label, snapshot_id in snapshots.items():
        manifest = run_store.read(f"snapshots/{snapshot_id}.json")
        try:
            audit = run_store.read(f"audits/{snapshot_id}.json")
        except ObjectNotFoundError:
            audit = b""
        times = []
        for r in range(reps):
            started = time.perf_counter()
            scratch.create(f"tail/{label}-{r}/manifest.json", manifest)
            if audit:
                scratch.create(f"tail/{label}-{r}/audit.json", audit)
            times.append(time.perf_counter() - started)
        tails[label] = {
            "tail_s": round(min(times), 4),
            "manifest_bytes": len(manifest),
            "audit_bytes": len(audit),
        }
    result["tails"] = tails
    return result


def _entries_by_subscription(
    store: BlobBackend, pool: ThreadPoolExecutor, records: list[dict[str, Any]]
) -> tuple[list[str], list[dict[str, dict[str, str]]]]:
    """The entry lists an audit must read (those of subscriptions whose list differs), and per
    record, per subscription, its entries' hashes by id (only those subscriptions)."""
    old, new = records
    before = {s["subscription_id"]: s["entries_sha256"] for s in old["subscriptions"]}
    changed = {
        s["subscription_id"]: (before[s["subscription_id"]], s["entries_sha256"])
        for s in new["subscriptions"]
        if before.get(s["subscription_id"], s["entries_sha256"]) != s["entries_sha256"]
    }
    digests = sorted({d for pair in changed.values() for d in pair})
    names = [f"entries/{d[:2]}/{d}.json" for d in digests]
    bodies = pool.map(lambda name: json.loads(codec.decode(store.read(name))), names)
    lists = dict(zip(digests, bodies, strict=True))
    sides = [
        {
            sid: {e["id"]: e["hash"] for e in lists[pair[side]]["integrations"]}
            for sid, pair in changed.items()
        }
        for side in (0, 1)
    ]
    return names, sides


def measure_audit_reads(
    endpoints: Endpoints, old_id: str, new_id: str, reps: int
) -> dict[str, Any]:
    store = BlobBackend.from_connection_string(endpoints.connection_string, endpoints.container)
    names = [f"snapshots/{old_id}.json", f"snapshots/{new_id}.json"]
    records = [json.loads(codec.decode(store.read(name))) for name in names]
    with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
        list_names, (old, new) = _entries_by_subscription(store, pool, records)
    differing: set[str] = set()
    for sid, hashes in new.items():
        for integration_id, digest in hashes.items():
            previous = old[sid].get(integration_id)
            if previous is not None and previous != digest:
                differing.update((previous, digest))
    objects = [f"objects/{h[:2]}/{h}.json" for h in sorted(differing)]
    times = []
    with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
        for _ in range(reps):
            started = time.perf_counter()
            # The records, then the entry lists of changed subscriptions, then what differs.
            list(pool.map(store.read, names))
            list(pool.map(store.read, list_names))
            list(pool.map(store.read, objects))
            times.append(time.perf_counter() - started)
    reads = len(names) + len(list_names) + len(objects)
    return {"reads": reads, "objects": len(objects), "s": round(min(times), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--endpoints", required=True)
    parser.add_argument(
        "--snapshots", default="", help="label=snapshot_id,... whose manifest+audit to rewrite"
    )
    parser.add_argument("--changed", type=int, default=0, help="objects of the 1%% change")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--audit", help="OLD_ID,NEW_ID: the audited pair, for its read floor")
    args = parser.parse_args(argv)
    endpoints = Endpoints.load(args.endpoints)
    snapshots = dict(pair.split("=", 1) for pair in args.snapshots.split(",") if pair)
    api, bodies = measure_api(endpoints, args.reps)
    subscriptions = len(endpoints.api_keys)
    rounds = math.ceil(subscriptions / endpoints.concurrency)
    api["rounds"] = rounds
    api["requests_on_critical_path"] = 2 + rounds
    storage = measure_storage(endpoints, bodies, snapshots, args.changed, args.reps)
    if args.audit:
        old_id, new_id = args.audit.split(",", 1)
        storage["audit_reads"] = measure_audit_reads(endpoints, old_id, new_id, args.reps)
    emit({"api": api, "storage": storage})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
