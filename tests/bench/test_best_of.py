"""The benchmark's best-of figures: the fastest run is kept, and every run is shown."""

from __future__ import annotations

from bench.report import _best_of
from bench.run import _fastest


def test_the_fastest_run_is_kept_with_every_run_time():
    runs = [
        {"wall_s": 0.61, "details": "first"},
        {"wall_s": 0.45, "details": "second"},
        {"wall_s": 0.52, "details": "third"},
    ]

    assert _fastest(runs) == {"wall_s": 0.45, "details": "second", "runs_s": [0.61, 0.45, 0.52]}


def test_a_best_of_figure_names_every_run():
    assert _best_of([0.61, 0.45, 0.52]) == " (best of 3 runs: 0.61, 0.45, 0.52 s)"


def test_a_single_run_is_not_called_a_best_of():
    assert _best_of([0.45]) == ""
    assert _best_of(None) == ""
