"""``cxbackup``: the command-line face of the same core the Function App runs.

Each command lives in its own module and registers itself with ``register(subparsers)``; this
module builds the parser, runs the chosen command, and turns errors into one clear line on stderr
and a nonzero exit code (never a stack trace, unless ``--debug``).

Exit codes: 0 success; 1 error; 2 bad usage; 3 done, but partial (a backup with skipped or
failed subscriptions, a restore with failed items, a verify that found problems).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from shared.cli import audit, backup, demo, maintenance, restore, simulator, snapshots
from shared.cli.common import CommandError, Console
from shared.errors import CxBackupError

COMMAND_MODULES = (backup, snapshots, audit, restore, maintenance, simulator, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxbackup",
        description="Backup, change audit and restore for Connxio integrations.",
        epilog="Settings come from environment variables; see README 'Settings'.",
    )
    parser.add_argument("--debug", action="store_true", help="show debug logs and tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    console = Console(json_mode=getattr(args, "json", False))
    try:
        result = args.handler(args, console)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except (CxBackupError, CommandError) as error:
        console.error(str(error))
        return 1
    except Exception as error:
        if args.debug:
            raise
        console.error(f"unexpected {type(error).__name__}; run again with --debug for details")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
