"""``cxbackup simulator``: run the Connxio simulator, to try cxbackup without an account."""

from __future__ import annotations

import argparse
import sys

from shared.cli.common import CommandError, Console, add_json_option
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
    add_json_option(parser)
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
    try:
        sim.start()
    except OSError as error:
        raise CommandError(
            f"cannot listen on port {args.port} ({error.strerror}); choose another with --port"
        ) from None
    try:
        settings = describe_settings(sim)
        console.document({"baseUrl": sim.base_url, "settings": settings})
        console.line(f"Connxio simulator listening at {sim.base_url}")
        console.line("Point cxbackup at it (bash):")
        for name, value in settings.items():
            console.line(f"  export {name}='{value}'")
        console.line("Then: cxbackup backup   (Ctrl-C here stops the simulator)")
        sys.stdout.flush()  # the settings must reach a pipe before serving blocks
        sim.serve_forever()
    finally:
        sim.stop()
    return 0
