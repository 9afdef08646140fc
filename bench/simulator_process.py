"""The Connxio simulator in a process of its own, for the benchmark.

::

    python -m bench.simulator_process --subscriptions 20 --integrations 500 --latency 0.020

seeds the estate (deterministic: the same arguments give the same data), serves it on a free
loopback port, and prints one JSON line on stdout: the settings that point a client at it, the
shape of the data, and ``"ready": true``. Then it answers commands, one per line on stdin:

- ``stats``: one JSON line, ``{"requests": n, "by_route": {"GET /v2/integrations": k, ...}}``,
  counting every request received so far (token requests included);
- ``quit`` (or end of input): stop serving and exit.

In its own process the simulator's threads do not compete with the measured code for the GIL.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter
from typing import Any

from shared.simulator import Simulator, seed_estate

_INTEGRATION_ITEM = re.compile(r"^/v2/integrations/(?!novalidation$)[^/]+$")


def route_of(method: str, path: str) -> str:
    """``GET /v2/integrations/{id}`` rather than one route per id."""
    if _INTEGRATION_ITEM.match(path):
        path = "/v2/integrations/{id}"
    return f"{method} {path}"


def _stats(sim: Simulator) -> dict[str, Any]:
    requests = sim.requests
    by_route = Counter(route_of(r.method, r.path) for r in requests)
    return {"requests": len(requests), "by_route": dict(sorted(by_route.items()))}


def _describe_data(integrations: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    sizes = [
        len(json.dumps(c, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        for configs in integrations.values()
        for c in configs
    ]
    subs = [len(c.get("subIntegrations") or []) for cs in integrations.values() for c in cs]
    if not sizes:
        return {"integration_count": 0}
    return {
        "integration_count": len(sizes),
        "total_json_bytes": sum(sizes),
        "integration_bytes_min": min(sizes),
        "integration_bytes_mean": round(statistics.fmean(sizes)),
        "integration_bytes_max": max(sizes),
        "sub_integrations_mean": round(statistics.fmean(subs), 2),
        "sub_integrations_max": max(subs),
        "with_several_sub_integrations": sum(1 for n in subs if n > 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulator_process")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--subscriptions", type=int, required=True)
    parser.add_argument("--integrations", type=int, required=True, help="per subscription")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-sub-integrations", type=int, default=3)
    args = parser.parse_args(argv)

    data = seed_estate(
        subscriptions=args.subscriptions,
        integrations_per_subscription=args.integrations,
        seed=args.seed,
        sub_integrations=(1, max(1, args.max_sub_integrations)),
    )
    description = _describe_data(data.integrations)
    sim = Simulator(data, port=args.port, latency=args.latency)
    sim.start()
    try:
        settings = {
            "ready": True,
            "base_url": sim.base_url,
            "token_url": sim.token_url,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "scope": sim.scope,
            "api_keys": sim.api_keys,
            "subscriptions": args.subscriptions,
            "integrations_per_subscription": args.integrations,
            "latency_s": args.latency,
            "seed": args.seed,
            "data": description,
        }
        print(json.dumps(settings), flush=True)
        del data  # the estate holds what it needs
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                print(json.dumps(_stats(sim)), flush=True)
            elif command == "quit":
                break
            elif command:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
