"""Time tabulating exact keep-β ℓ0 thresholds ρ_0..ρ_R (crowd.certify.lee), one row per setting.

Run: ``python benchmarks/bench_lee.py [--max-radius 100] [--out rows.jsonl]``. Each row records the kinds,
the radius range, the cold (first) and warm (cached) time in seconds, the largest radius with ρ_r < 1 and
the machine. Render tables from the rows; never edit numbers by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from crowd.certify import lee_thresholds
from crowd.certify._exact import kind_ints, kind_logs
from crowd.certify.lee import _TABLES, normalize_kinds

SETTINGS = [
    [(0.8, 30522), (0.9, 2), (0.8, 30522)],  # BERT vocabulary tokens (train + test) and binary labels
    [(0.1, 30522), (0.9, 2)],
    [(0.0001, 30522), (0.6, 2)],  # near-uniform token noise: thresholds stay below 1 up to r = 100
    [(0.3, 2), (0.6, 2)],
    [(0.3, 5), (0.6, 2), (0.5, 3)],  # three distinct kinds (cost grows with the number of splits)
]


def bench(kinds: list[tuple[float, int]], max_radius: int) -> dict:
    _TABLES.clear()
    kind_ints.cache_clear()
    kind_logs.cache_clear()
    start = time.perf_counter()
    table = lee_thresholds(max_radius, kinds)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    lee_thresholds(max_radius, kinds)
    warm = time.perf_counter() - start
    below_one = [r for r, v in enumerate(table) if v < 1.0]
    return {
        "kinds": kinds,
        "distinct_kinds": len(normalize_kinds(kinds)),
        "max_radius": max_radius,
        "cold_s": round(cold, 4),
        "warm_s": round(warm, 6),
        "largest_radius_below_1": max(below_one),
        "rho_1": float(table[1]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-radius", type=int, default=100)
    parser.add_argument("--out", default=None, help="append JSON rows to this file")
    args = parser.parse_args(argv)
    for kinds in SETTINGS:
        radius = args.max_radius if len(normalize_kinds(kinds)) < 3 else min(args.max_radius, 30)
        row = bench(kinds, radius)
        print(json.dumps(row))
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
