"""CLI tests run ``cxbackup``'s ``main`` in-process, with the environment a user would set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.cli import main
from shared.simulator import Simulator, describe_settings, seed_estate


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(seed_estate(subscriptions=2, integrations_per_subscription=3, seed=3)) as sim:
        yield sim


@pytest.fixture
def cli_env(simulator, monkeypatch, tmp_path):
    """The environment of a user pointed at the simulator, with a local store."""
    for name, value in describe_settings(simulator).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CXBACKUP_STORE", str(tmp_path / "store"))
    for name in ("BACKUP_STORAGE_CONNECTION_STRING", "BACKUP_STORAGE_ACCOUNT_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "store"


@pytest.fixture
def cxbackup(capsys):
    def run(*args: str) -> Run:
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
