"""Benchmarks: configs of tables and figures, a resumable runner writing result rows, rendering from rows.

``run_benchmark(config_path, out, scale)`` runs the unfinished cells of a
benchmark config into ``out/rows.jsonl`` and renders ``out/<name>.md`` and PNG
plots from the rows. See docs/benchmarks.md.
"""

from __future__ import annotations

from crowd.bench.runner import BenchRun, read_rows, run_benchmark
from crowd.bench.spec import AttackSpec, BenchConfig, Cell, ScaleSpec, cells, load_bench_config

__all__ = [
    "AttackSpec",
    "BenchConfig",
    "BenchRun",
    "Cell",
    "ScaleSpec",
    "cells",
    "load_bench_config",
    "read_rows",
    "run_benchmark",
]
