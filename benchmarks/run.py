"""Run a benchmark table or figure: cells -> rows.jsonl (resuming) -> Markdown table and PNG plots.

    python benchmarks/run.py benchmarks/configs/table3.toml --out benchmarks/results/table3 --scale cpu
    python benchmarks/run.py benchmarks/configs/table2.toml --out ... --scale full --max-cells 10
    python benchmarks/run.py CONFIG --out DIR --render-only

``--set`` overrides the benchmark config (e.g. ``--set 'datasets=["sst2"]'``);
``--certify`` / ``--defend`` override every certify / defend cell
(e.g. ``--certify n_copies=50``, ``--defend victim.epochs=1``). See docs/benchmarks.md.
A config error (missing file, unknown key, bad value, mistyped override) is one line on stderr, exit 2,
before any cell runs.
"""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", help="benchmark config (benchmarks/configs/*.toml)")
    parser.add_argument("--out", required=True, help="results folder (rows.jsonl, <name>.md, PNGs, runs/)")
    parser.add_argument("--scale", default="smoke", choices=("smoke", "cpu", "full"))
    parser.add_argument("--set", dest="bench", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--certify", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--defend", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--retry-errors", action="store_true", help="re-run cells whose row is an error")
    parser.add_argument("--max-cells", type=int, default=None, help="execute at most this many cells")
    parser.add_argument("--render-only", action="store_true", help="execute nothing; render the rows")
    parser.add_argument("--progress", action="store_true", help="progress bars while training copies")
    return parser


def check_config(args: argparse.Namespace) -> None:
    """Load the benchmark config and check the cell overrides' keys; raises ``ConfigError``."""
    from crowd.bench.spec import load_bench_config
    from crowd.certify_config import CertifyConfig
    from crowd.config import check_keys
    from crowd.defend import DefendConfig

    load_bench_config(args.config, args.bench)
    check_keys(CertifyConfig, args.certify, "--certify")
    check_keys(DefendConfig, args.defend, "--defend")


def main(argv: list[str] | None = None) -> int:
    from crowd.bench.runner import run_benchmark
    from crowd.config import ConfigError

    args = _parser().parse_args(argv)
    try:
        check_config(args)
        run = run_benchmark(
            args.config,
            args.out,
            args.scale,
            args.bench,
            args.certify,
            args.defend,
            retry_errors=args.retry_errors,
            max_cells=0 if args.render_only else args.max_cells,
            progress=args.progress,
        )
    except ConfigError as e:
        print(f"benchmarks/run.py: error: {e}", file=sys.stderr)
        return 2
    errors = sum(r.get("status") == "error" for r in run.rows)
    print(
        f"{run.config.name}: {run.executed} cells executed, {run.skipped} skipped (done), "
        f"{len(run.cells) - len(run.rows)} pending, {errors} error rows -> {run.out}/{run.config.name}.md"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
