"""The README's benchmark summaries, rendered from the committed rows (``crowd.bench.summary``).

Each summary sits in the README between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``, where NAME is a
config in ``benchmarks/configs`` whose rows are in ``benchmarks/results/NAME/rows.jsonl`` (cpu scale).

    python benchmarks/readme_tables.py            # print every summary
    python benchmarks/readme_tables.py --write    # replace the README's blocks with them
    python benchmarks/readme_tables.py --check    # exit 1 when a README block, or a figure its prose
                                                  # quotes (benchmarks/readme_claims.py), differs from the rows
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from benchmarks.readme_claims import CLAIMS, current
from benchmarks.readme_claims import check as check_claims
from crowd.bench.render import LAYOUTS
from crowd.bench.runner import read_rows
from crowd.io import read_jsonl

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- bench:(\w+) -->\n)(.*?)(<!-- /bench:\2 -->)", re.S)


def summary(name: str, scale: str = "cpu") -> str:
    """The summary of ``benchmarks/results/NAME`` (only the rows of the config's current cells)."""
    if name == "commands":  # measured by benchmarks/bench_commands.py, not a bench config
        return commands_summary(read_rows(ROOT / "benchmarks" / "results" / "commands"))
    if name == "classifier":  # measured by benchmarks/bench_classifier.py
        return classifier_summary(read_jsonl(ROOT / "benchmarks" / "results" / "bench_classifier_cpu.jsonl"))
    config, grid, rows = current(name, scale)
    return LAYOUTS[config.layout].summary(grid, rows)


COMMAND_ORDER = ("install", "main", "crowd", "tests")


def commands_summary(rows: list[dict]) -> str:
    """The README's table of command times (``benchmarks/bench_commands.py``): wall and CPU seconds."""
    by_id = {r["cell_id"]: r for r in rows}
    lines = [
        "| command | wall time | CPU time | measured |",
        "|---|---|---|---|",
    ]
    for name in COMMAND_ORDER:
        if name in by_id:
            r = by_id[name]
            lines.append(
                f"| {r['label']} | {_duration(r['wall_s'])} | {_duration(r['cpu_s'])} | {r['date']}, "
                f"{r['hardware']}, load {r['load_1min_at_start']:.1f} at start |"
            )
    return "\n".join(lines) + "\n"


CLASSIFIER_ORDER = ("main", "dpa-50", "crowd-static-1000", "textguard-partial-9")


def classifier_summary(rows: list[dict]) -> str:
    """The README's table of kept classifiers (``benchmarks/bench_classifier.py``): size, load, throughput."""
    at = {(r["classifier"], r["threads"], r["batch"]): r for r in rows}
    lines = [
        "| classifier | models | folder | load | texts/s, batch 1,000 (1 / 2 threads) | texts/s, one text a call "
        "(1 / 2 threads) | `crowd predict`, cold |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in CLASSIFIER_ORDER:
        if (name, 1, 1000) not in at:
            continue
        one, two, single, single2 = (
            at[(name, 1, 1000)],
            at.get((name, 2, 1000)),
            at.get((name, 1, 1)),
            at.get((name, 2, 1)),
        )
        cold = f"{single['predict_cold_s']:.2f} s" if single and "predict_cold_s" in single else "—"
        lines.append(
            f"| {name} ({one['method']}, {one['learner']}) | {one['models']:,} | {_size(one['folder_bytes'])} | "
            f"{one['load_s']:.2f} s | {rate(one)} / {rate(two)} | {rate(single)} / {rate(single2)} | {cold} |"
        )
    first = next(iter(at.values()), None)
    if first:
        lines.append(
            f"\nMeasured {first['date']}, {first['hardware']} (`python benchmarks/bench_classifier.py`)."
        )
    return "\n".join(lines) + "\n"


def rate(row: dict | None) -> str:
    if row is None:
        return "—"
    return f"{row['texts_per_s']:,.0f}" if row["texts_per_s"] >= 10 else f"{row['texts_per_s']:.1f}"


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n / 2**10:,.0f} KiB"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def rewrite(text: str) -> str:
    """``text`` with every bench block replaced by its current summary."""
    return BLOCK.sub(lambda m: m.group(1) + summary(m.group(2)) + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the README's blocks")
    action.add_argument("--check", action="store_true", help="exit 1 if a README block is out of date")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    args = parser.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    names = [m.group(2) for m in BLOCK.finditer(text)]
    if args.write or args.check:
        new = rewrite(text)
        if args.check:
            stale = [
                n
                for n, a, b in zip(names, BLOCK.finditer(text), BLOCK.finditer(new))
                if a.group(3) != b.group(3)
            ]
            if stale:
                print(
                    f"{readme}: out of date with the rows: {', '.join(stale)} (run {Path(__file__).name} --write)"
                )
                return 1
            wrong = check_claims(text)
            if wrong:
                print(f"{readme}: prose figures that differ from the rows (benchmarks/readme_claims.py):")
                print("\n".join(f"  {w}" for w in wrong))
                return 1
            print(f"{readme}: {len(names)} summaries and {len(CLAIMS)} quoted figures match the rows")
            return 0
        readme.write_text(new, encoding="utf-8")
        print(f"{readme}: rewrote {', '.join(names)}")
        return 0
    for m in BLOCK.finditer(text):
        print(f"## {m.group(2)}\n\n{summary(m.group(2))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
