"""Benchmarks: configs of tables and figures, a resumable runner writing result rows, rendering from rows.

``run_benchmark(config_path, out, scale)`` runs the unfinished cells of a
benchmark config into ``out/rows.jsonl`` and renders ``out/<name>.md`` and PNG
plots from the rows. See docs/benchmarks.md.

This package imports without torch (configs are read and tables rendered from rows without it); the
runner's names (``run_benchmark``, ``read_rows``, ``BenchRun``) import :mod:`crowd.bench.runner`, which
trains models, on first use.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from crowd.bench.spec import AttackSpec, BenchConfig, Cell, ScaleSpec, cells, load_bench_config

RUNNER = ("BenchRun", "read_rows", "run_benchmark")  # names of crowd.bench.runner (torch)

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

if TYPE_CHECKING:
    from crowd.bench.runner import BenchRun, read_rows, run_benchmark


def __getattr__(name: str):
    if name not in RUNNER:
        raise AttributeError(f"module 'crowd.bench' has no attribute {name!r}")
    from crowd.bench import runner  # lazy: benchmark configs and tables are read without torch

    return getattr(runner, name)


class _Package(types.ModuleType):
    """``crowd.bench.cells`` stays :func:`crowd.bench.spec.cells` when the runner imports the submodule of the
    same name (an import binds a submodule to its package's attribute)."""

    def __setattr__(self, name: str, value) -> None:
        if not (name == "cells" and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
