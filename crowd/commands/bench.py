"""``crowd bench CONFIG --out DIR [--scale smoke|cpu|full]``: a benchmark table or figure, resumable."""

from __future__ import annotations

import argparse

from crowd.bench.spec import load_bench_config
from crowd.config import check_keys
from crowd.pipelines.config import CertifyConfig

HELP = (
    "Run the cells of a benchmark config (benchmarks/configs/*.toml) into DIR/rows.jsonl, resuming "
    "finished cells, then render DIR/<name>.md and its plots. DIR must be new, empty or crowd bench's own results."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="benchmark config (benchmarks/configs/*.toml)")
    parser.add_argument("--out", required=True, help="results folder (rows.jsonl, <name>.md, PNGs, runs/)")
    parser.add_argument("--scale", default="smoke", choices=("smoke", "cpu", "full"))
    parser.add_argument("--set", dest="bench", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--certify", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--defend", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--retry-errors", action="store_true", help="re-run cells whose row is an error")
    parser.add_argument(
        "--rerun-unverified",
        action="store_true",
        help="re-run cells whose row predates code versions (rendered 'not verified against today's code')",
    )
    parser.add_argument(
        "--max-cells", type=int, default=None, help="execute at most this many cells (0 or more)"
    )
    parser.add_argument("--render-only", action="store_true", help="execute nothing; render the rows")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars inside the cells (the per-cell lines stay)",
    )
    # The old spelling (bars were off by default): accepted, and changes nothing now that they are on.
    parser.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)


def check_config(args: argparse.Namespace) -> None:
    """Load the benchmark config and check the cell overrides' keys and ``--max-cells`` before any cell runs
    (the out folder and an empty cell selection are checked by :func:`crowd.bench.runner.run_benchmark`)."""
    from crowd.pipelines.defend import DefendConfig  # lazy: `crowd bench --help` must not import torch

    if args.max_cells is not None and args.max_cells < 0:
        raise ValueError(
            f"--max-cells {args.max_cells}: must be 0 or more (0 renders the rows and runs no cell)"
        )
    load_bench_config(args.config, args.bench)
    check_keys(CertifyConfig, args.certify, "--certify")
    check_keys(DefendConfig, args.defend, "--defend")


def run(args: argparse.Namespace) -> int:
    from crowd.bench.runner import run_benchmark  # lazy: `crowd bench --help` must not import torch

    check_config(args)
    run = run_benchmark(
        args.config,
        args.out,
        args.scale,
        args.bench,
        args.certify,
        args.defend,
        retry_errors=args.retry_errors,
        rerun_unverified=args.rerun_unverified,
        max_cells=0 if args.render_only else args.max_cells,
        progress=not args.no_progress,
    )
    errors = sum(r.get("status") == "error" for r in run.rows)
    print(
        f"{run.config.name}: {run.executed} cells executed, {run.skipped} skipped (done), "
        f"{len(run.cells) - len(run.rows)} pending, {errors} error rows -> {run.out}/{run.config.name}.md"
    )
    return 0
