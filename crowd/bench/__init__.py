"""Benchmarks: configs of tables and figures, a resumable runner writing result rows, rendering from rows.

``run_benchmark(config_path, out, scale)`` runs the unfinished cells of a
benchmark config into ``out/rows.jsonl`` and renders ``out/<name>.md`` and PNG
plots from the rows. See docs/benchmarks.md.

This package imports without torch (configs are read and tables rendered from rows without it); the
runner's names (``run_benchmark``, ``read_rows``, ``BenchRun``) import :mod:`crowd.bench.runner`, which
trains models, on first use. ``crowd.bench.cells`` is the module that computes a cell's row; the grid of a
config is :func:`crowd.bench.spec.cells`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crowd.bench.grid import AttackSpec, Cell
from crowd.bench.spec import BenchConfig, ScaleSpec, load_bench_config

RUNNER = ("BenchRun", "read_rows", "run_benchmark")  # names of crowd.bench.runner (torch)

__all__ = [
    "AttackSpec",
    "BenchConfig",
    "BenchRun",
    "Cell",
    "ScaleSpec",
    "load_bench_config",
    "read_rows",
    "run_benchmark",
]

if TYPE_CHECKING:
    from crowd.bench.runner import BenchRun, read_rows, run_benchmark


def __getattr__(name: str):
    if name not in RUNNER:
        raise AttributeError(f"module 'crowd.bench' has no attribute {name!r}")
    from crowd.bench import runner  # lazy: benchmark configs and tables are read without torch

    return getattr(runner, name)
