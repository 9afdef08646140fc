"""What every command shares: output (human or ``--json``), store selection, the Runtime."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from shared.settings import StorageSettings, load_settings, load_storage_settings
from shared.wiring import Runtime

DEFAULT_STORE = ".cxbackup"


class CommandError(Exception):
    """A command cannot do what was asked; the message says why and what to do."""


class Console:
    """Human output on stdout, progress and errors on stderr; ``--json`` prints one document."""

    def __init__(
        self, *, json_mode: bool = False, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.json_mode = json_mode
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def line(self, text: str = "") -> None:
        if not self.json_mode:
            print(text, file=self.out)

    def progress(self, text: str) -> None:
        if not self.json_mode:
            print(f"… {text}", file=self.err, flush=True)

    def document(self, document: Any) -> None:
        """Print ``document`` as JSON (in ``--json`` mode only)."""
        if self.json_mode:
            print(json.dumps(document, indent=2, ensure_ascii=False, default=str), file=self.out)

    def error(self, text: str) -> None:
        if self.json_mode:
            print(json.dumps({"error": text}), file=self.out)
        print(f"cxbackup: error: {text}", file=self.err)


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="FOLDER|blob",
        help=(
            "where snapshots live: a local folder (default: $CXBACKUP_STORE or ./.cxbackup), "
            "or 'blob' for Azure Blob storage from BACKUP_STORAGE_CONNECTION_STRING or "
            "BACKUP_STORAGE_ACCOUNT_URL and BACKUP_CONTAINER"
        ),
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")


def storage_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> StorageSettings:
    choice = getattr(args, "store", None) or env.get("CXBACKUP_STORE") or DEFAULT_STORE
    if choice == "blob":
        blob_env = {k: v for k, v in env.items() if k != "BACKUP_LOCAL_PATH"}
        return load_storage_settings(blob_env)
    path = Path(choice).expanduser()
    if path.exists() and not path.is_dir():
        raise CommandError(f"--store {choice}: exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return StorageSettings(local_path=str(path.resolve()))


def runtime_from_args(
    args: argparse.Namespace, *, need_connxio: bool, env: Mapping[str, str] | None = None
) -> Runtime:
    env = os.environ if env is None else env
    settings = load_settings(env, storage=storage_from_args(args, env), need_connxio=need_connxio)
    return Runtime.from_settings(settings)
