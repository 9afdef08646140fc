"""One cxbackup measurement in a fresh process: ``python -m bench.scenario KIND --endpoints F``.

Kinds (each calls the same ``shared.app`` entry point the CLI and the Function App call):

- ``backup``: ``take_backup`` (the snapshot, then its audit against the previous one, stored);
- ``audit``: ``audit`` of the two latest snapshots;
- ``plan``: ``plan_restore`` of the latest snapshot (every subscription), stored;
- ``apply``: ``apply_restore`` of a stored plan (safety snapshot, upserts, verification);
- ``edit``: not a measurement but setup: change integrations live through the real API
  (``ConnxioClient.upsert_integration``), the way a user or a pipeline would.

The store is the run's Azurite container through ``BlobBackend``, wrapped in ``CountingBackend``;
the wall time is taken around the entry point only (interpreter start, imports and
``warm_up_process`` excluded: once-per-process work that a warm Function host has done already).
Peak RSS is this process's ``ru_maxrss``, imports included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from typing import Any

import httpx

from bench.common import Endpoints, current_rss_mb, emit
from bench.counting import CountingBackend
from shared import app
from shared.clock import SystemClock
from shared.connxio import ClientCredentials, ConnxioClient, RetryPolicy
from shared.connxio.client import default_tls_context
from shared.core.manifest import Trigger
from shared.services.restore import PlanRequest
from shared.settings import ConnxioSettings, Settings, StorageSettings
from shared.store.blob import BlobBackend
from shared.store.repository import SnapshotRepository
from shared.wiring import Runtime


def build_runtime(endpoints: Endpoints) -> tuple[Runtime, CountingBackend]:
    """A Runtime like ``Runtime.from_settings`` builds, with a counting Blob backend."""
    connxio = ConnxioSettings(
        base_url=endpoints.base_url,
        token_url=endpoints.token_url,
        client_id=endpoints.client_id,
        client_secret=endpoints.client_secret,
        scope=endpoints.scope,
        api_keys=dict(endpoints.api_keys),
        concurrency=endpoints.concurrency,
    )
    storage = StorageSettings(
        container=endpoints.container, connection_string=endpoints.connection_string
    )
    blob = BlobBackend.from_connection_string(endpoints.connection_string, endpoints.container)
    blob.ensure_container()  # setup, not measured
    warm_up_process(blob.container_client.url)
    backend = CountingBackend(blob)
    settings = Settings(connxio=connxio, storage=storage)
    return Runtime(settings, SnapshotRepository(backend), SystemClock()), backend


def warm_up_process(url: str) -> None:
    """Once-per-process start-up, left out of the time like the imports (a warm Function host
    did it long ago; the floor makes its client before its clock starts and keeps its best of
    several runs): loading the TLS trust store, and the modules httpx imports on its first
    client and first request. The request goes to ``url`` (Azurite; any answer will do), so no
    API request is counted, and no connection or token is left for the run to reuse."""

    async def one_request() -> None:
        # Any failure is the measured run's to report: this only warms up.
        async with httpx.AsyncClient(verify=default_tls_context()) as http:
            with contextlib.suppress(httpx.HTTPError):
                await http.get(url)

    asyncio.run(one_request())


async def _backup(runtime: Runtime) -> dict[str, Any]:
    outcome = await app.take_backup(runtime, Trigger.CLI)
    result = outcome.result
    audit = outcome.audit
    return {
        "snapshot_id": outcome.manifest.snapshot_id,
        "status": outcome.manifest.status.value,
        "integrations": outcome.manifest.integration_count(),
        "objects_written": result.objects_written,
        "object_bytes_written": result.bytes_written,
        "audit": app.audit_summary(audit),
    }


async def _audit(runtime: Runtime) -> dict[str, Any]:
    audit = await app.audit(runtime, None, None)
    return {
        "from": audit.from_snapshot_id,
        "to": audit.to_snapshot_id,
        "summary": audit.summary.model_dump(),
    }


async def _plan(runtime: Runtime) -> dict[str, Any]:
    plan = await app.plan_restore(runtime, PlanRequest(snapshot="latest", requested_by="bench"))
    return {
        "plan_id": plan.plan_id,
        "snapshot_id": plan.snapshot_id,
        "counts": plan.counts.model_dump(),
    }


async def _apply(runtime: Runtime, plan_id: str, snapshot_id: str) -> dict[str, Any]:
    report = await app.apply_restore(
        runtime, plan_id=plan_id, confirm_snapshot_id=snapshot_id, requested_by="bench"
    )
    return {
        "run_id": report.run_id,
        "outcome": report.outcome,
        "counts": report.counts.model_dump(),
        "pre_restore_snapshot_id": report.pre_restore_snapshot_id,
    }


async def edit_live(
    endpoints: Endpoints, *, count: int, seed: int, tag: str, concurrency: int = 8
) -> dict[str, Any]:
    """Change ``count`` integrations live through the API: GET each subscription, then POST
    the chosen configs back with an edited description and retry count. The choice depends
    only on ``seed`` and the estate, so the same seed picks the same integrations."""
    credentials = ClientCredentials(
        token_url=endpoints.token_url,
        client_id=endpoints.client_id,
        client_secret=endpoints.client_secret,
        scope=endpoints.scope,
    )
    async with ConnxioClient(
        base_url=endpoints.base_url, credentials=credentials, retry=RetryPolicy()
    ) as client:
        keys = dict(sorted(endpoints.api_keys.items()))
        live: list[tuple[str, dict[str, Any]]] = []
        for subscription_id, key in keys.items():
            live += [(subscription_id, c) for c in await client.list_integrations(key)]
        live.sort(key=lambda pair: (pair[0], pair[1]["id"]))
        chosen = random.Random(seed).sample(live, min(count, len(live)))
        slots = asyncio.Semaphore(concurrency)

        async def edit(subscription_id: str, config: dict[str, Any]) -> None:
            config = dict(config)
            config["description"] = f"{config.get('description') or ''} [edited: {tag}]"
            retry = dict(config.get("retryOptions") or {})
            retry["numberOfRetries"] = (int(retry.get("numberOfRetries") or 0) + 1) % 10
            config["retryOptions"] = retry
            async with slots:
                await client.upsert_integration(keys[subscription_id], config)

        await asyncio.gather(*(edit(sid, c) for sid, c in chosen))
    return {"edited": len(chosen), "ids": sorted(c["id"] for _, c in chosen)}


def _profiled(measured: Any, path: str) -> Any:
    """Run ``measured`` under pyinstrument (event-loop thread, async-aware) and save the text
    report; the wall time it returns then includes the profiler's overhead."""
    from pyinstrument import Profiler  # a dev dependency, needed only here

    profiler = Profiler(interval=0.001, async_mode="enabled")

    async def run() -> Any:
        profiler.start()
        try:
            return await measured()
        finally:
            profiler.stop()

    result = asyncio.run(run())
    with open(path, "w", encoding="utf-8") as report:
        report.write(profiler.output_text(unicode=True, color=False, show_all=False))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scenario")
    parser.add_argument("kind", choices=("backup", "audit", "plan", "apply", "edit"))
    parser.add_argument("--endpoints", required=True, help="the run's endpoints JSON file")
    parser.add_argument("--plan-id", help="apply: the stored plan")
    parser.add_argument("--snapshot-id", help="apply: the plan's snapshot (the confirmation)")
    parser.add_argument("--count", type=int, default=100, help="edit: integrations to change")
    parser.add_argument("--seed", type=int, default=1, help="edit: which integrations")
    parser.add_argument("--tag", default="bench", help="edit: text added to the description")
    parser.add_argument("--profile", help="write a pyinstrument profile of the run to this file")
    args = parser.parse_args(argv)
    endpoints = Endpoints.load(args.endpoints)

    if args.kind == "edit":
        started = time.perf_counter()
        result = asyncio.run(edit_live(endpoints, count=args.count, seed=args.seed, tag=args.tag))
        result["wall_s"] = round(time.perf_counter() - started, 4)
        emit(result)
        return 0

    runtime, backend = build_runtime(endpoints)
    backend.reset()  # ensure_container is setup, not part of the measurement
    rss_before = current_rss_mb()

    async def measured() -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        if args.kind == "backup":
            details = await _backup(runtime)
        elif args.kind == "audit":
            details = await _audit(runtime)
        elif args.kind == "plan":
            details = await _plan(runtime)
        else:
            if not args.plan_id or not args.snapshot_id:
                parser.error("apply needs --plan-id and --snapshot-id")
            details = await _apply(runtime, args.plan_id, args.snapshot_id)
        return details, time.perf_counter() - started

    if args.profile:
        details, wall = _profiled(measured, args.profile)
    else:
        details, wall = asyncio.run(measured())
    runtime.repository.close()
    emit(
        {
            "kind": args.kind,
            "wall_s": round(wall, 4),
            "blob": backend.snapshot(),
            "rss_before_mb": rss_before,
            "details": details,
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
