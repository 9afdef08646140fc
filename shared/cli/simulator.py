"""``cxbackup simulator``: run the Connxio simulator, to try cxbackup without an account."""

from __future__ import annotations

import argparse
import json

from shared.cli.common import CommandError, Console
from shared.simulator import Simulator, describe_settings, seed_estate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulator",
        help="run a local Connxio API simulator with seeded data",
        description=(
            "Serve a simulated Connxio Management API on loopback until Ctrl-C, and print the "
            "settings that point cxbackup at it."
        ),
    )
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    parser.add_argument("--subscriptions", type=int, default=3, help="seeded subscriptions")
    parser.add_argument("--integrations", type=int, default=5, help="integrations each")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the data")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, console: Console) -> int:
    if not 0 <= args.port <= 65535:
        raise CommandError("--port must be between 0 and 65535")
    if args.subscriptions < 1 or args.integrations < 0 or args.latency < 0:
        raise CommandError("--subscriptions must be ≥ 1, --integrations and --latency ≥ 0")
    data = seed_estate(
        subscriptions=args.subscriptions,
        integrations_per_subscription=args.integrations,
        seed=args.seed,
    )
    sim = Simulator(data, port=args.port, latency=args.latency)
    sim.start()
    try:
        console.line(f"Connxio simulator listening at {sim.base_url}")
        console.line("Point cxbackup at it (bash):")
        for name, value in describe_settings(sim).items():
            console.line(f"  export {name}='{value}'")
        console.line("Then: cxbackup backup   (Ctrl-C here stops the simulator)")
        console.line(json.dumps({"ready": True}) if console.json_mode else "")
        sim.serve_forever()
    finally:
        sim.stop()
    return 0
