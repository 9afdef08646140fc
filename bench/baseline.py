"""The afternoon script, measured: ``python -m bench.baseline KIND --endpoints F``.

What a competent engineer would write without cxbackup, and nothing cleverer:

- ``backup``: one token, then for each subscription in turn ``GET /v2/integrations`` with its
  key, ``response.json()``, and ``upload_blob("<timestamp>/<subscription>.json",
  json.dumps(configs))`` to the same Azurite with azure-storage-blob. Sequential, no reuse of
  earlier snapshots: every snapshot writes everything.
- ``diff``: download the two snapshots' files, ``json.loads`` them, and
  ``DeepDiff(old, new, ignore_order=True)`` over ``{subscription: [configs]}``.
- ``restore``: download a snapshot's files, ``GET /v2/integrations`` per subscription, compare
  each stored config with the live one (server-managed fields left out, else every config
  "differs"), and ``POST /v2/integrations`` each one that differs, one after the other.

It counts its own Blob calls and bytes (there is no backend to wrap) and reports the same
figures as ``bench.scenario``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from azure.storage.blob import ContainerClient

from bench.common import Endpoints, api_headers, current_rss_mb, emit
from shared.connxio import MEDIA_TYPE

SERVER_MANAGED = (
    "_etag",
    "cosmosEntityName",
    "createdBy",
    "createdAtUtc",
    "updatedBy",
    "updatedAtUtc",
)


class BlobCounter:
    """The script's own tally of Blob requests and bytes."""

    def __init__(self) -> None:
        self.by_op: dict[str, int] = {}
        self.bytes_written = 0
        self.bytes_read = 0

    def count(self, op: str) -> None:
        self.by_op[op] = self.by_op.get(op, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": sum(self.by_op.values()),
            "by_op": dict(sorted(self.by_op.items())),
            "bytes_written": self.bytes_written,
            "bytes_read": self.bytes_read,
            "objects_created": self.by_op.get("create", 0),
        }


def _token(http: httpx.Client, endpoints: Endpoints) -> str:
    response = http.post(endpoints.token_url, data=endpoints.token_form())
    response.raise_for_status()
    return response.json()["access_token"]


def backup(endpoints: Endpoints, container: ContainerClient, blobs: BlobCounter) -> dict[str, Any]:
    prefix = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    integrations = 0
    with httpx.Client(timeout=60) as http:
        token = _token(http, endpoints)
        for subscription_id, key in endpoints.api_keys.items():
            response = http.get(
                f"{endpoints.base_url}/v2/integrations", headers=api_headers(token, key)
            )
            response.raise_for_status()
            configs = response.json()
            integrations += len(configs)
            body = json.dumps(configs).encode("utf-8")
            container.upload_blob(f"{prefix}/{subscription_id}.json", body, overwrite=True)
            blobs.count("create")
            blobs.bytes_written += len(body)
    return {"snapshot": prefix, "integrations": integrations}


def _download(
    container: ContainerClient, prefix: str, blobs: BlobCounter
) -> dict[str, list[dict[str, Any]]]:
    names = list(container.list_blob_names(name_starts_with=f"{prefix}/"))
    blobs.count("list")
    snapshot = {}
    for name in names:
        data = container.download_blob(name).readall()
        blobs.count("read")
        blobs.bytes_read += len(data)
        snapshot[name.split("/", 1)[1].removesuffix(".json")] = json.loads(data)
    return snapshot


def diff(
    endpoints: Endpoints, container: ContainerClient, blobs: BlobCounter, old: str, new: str
) -> dict[str, Any]:
    from deepdiff import DeepDiff  # imported here: only the diff needs it

    started = time.perf_counter()
    before = _download(container, old, blobs)
    after = _download(container, new, blobs)
    loaded = time.perf_counter()
    result = DeepDiff(before, after, ignore_order=True)
    diffed = time.perf_counter()
    kinds = {kind: len(items) for kind, items in result.items()}
    return {
        "download_s": round(loaded - started, 4),
        "deepdiff_s": round(diffed - loaded, 4),
        "difference_kinds": kinds,
    }


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in SERVER_MANAGED}


def restore(
    endpoints: Endpoints, container: ContainerClient, blobs: BlobCounter, snapshot: str
) -> dict[str, Any]:
    started = time.perf_counter()
    stored = _download(container, snapshot, blobs)
    to_send: list[tuple[str, dict[str, Any]]] = []
    with httpx.Client(timeout=60) as http:
        token = _token(http, endpoints)
        for subscription_id, configs in stored.items():
            key = endpoints.api_keys[subscription_id]
            response = http.get(
                f"{endpoints.base_url}/v2/integrations", headers=api_headers(token, key)
            )
            response.raise_for_status()
            live = {c["id"]: _comparable(c) for c in response.json()}
            to_send += [(key, c) for c in configs if live.get(c["id"]) != _comparable(c)]
        planned = time.perf_counter()
        for key, config in to_send:
            response = http.post(
                f"{endpoints.base_url}/v2/integrations",
                headers={**api_headers(token, key), "Content-Type": MEDIA_TYPE},
                content=json.dumps(config).encode("utf-8"),
            )
            response.raise_for_status()
    applied = time.perf_counter()
    return {
        "plan_s": round(planned - started, 4),
        "apply_s": round(applied - planned, 4),
        "plan_api_requests": 1 + len(stored),  # its own count: the token, one GET each
        "apply_api_requests": len(to_send),
        "sent": len(to_send),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("kind", choices=("backup", "diff", "restore"))
    parser.add_argument("--endpoints", required=True)
    parser.add_argument("--old", help="diff: the older snapshot's prefix")
    parser.add_argument("--new", help="diff: the newer snapshot's prefix")
    parser.add_argument("--snapshot", help="restore: the snapshot's prefix")
    args = parser.parse_args(argv)
    endpoints = Endpoints.load(args.endpoints)
    container = ContainerClient.from_connection_string(
        endpoints.connection_string, endpoints.baseline_container
    )
    if not container.exists():  # setup, not measured
        container.create_container()
    blobs = BlobCounter()
    rss_before = current_rss_mb()
    started = time.perf_counter()
    if args.kind == "backup":
        details = backup(endpoints, container, blobs)
    elif args.kind == "diff":
        if not args.old or not args.new:
            parser.error("diff needs --old and --new")
        details = diff(endpoints, container, blobs, args.old, args.new)
    else:
        if not args.snapshot:
            parser.error("restore needs --snapshot")
        details = restore(endpoints, container, blobs, args.snapshot)
    wall = time.perf_counter() - started
    emit(
        {
            "kind": args.kind,
            "wall_s": round(wall, 4),
            "blob": blobs.snapshot(),
            "rss_before_mb": rss_before,
            "details": details,
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
