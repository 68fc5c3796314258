"""Partition methods on full corpora through ``crowd certify``: cold and warm feature cache vs the per-copy path.

One process, one corpus (default SST-2: 6,920 training and 1,821 test texts, BadNets 0.1 with the trigger
``cf``), MiniLM head-only with mean pooling. For each method (word partitions with ``m`` groups, DPA with ``k``
partitions):

* ``per-copy``: the path without the feature cache (``head.feature_cache = false``: every model encodes its own
  training texts and every test text again), timed on a subsample (``--subsample`` training and a tenth as many
  test texts) and extrapolated to the full corpus by the number of texts it encodes:
  ``n_train + n_models × n_test`` (each model's training share plus the whole test set per model);
* ``cold``: the full corpus with an empty feature cache (a fresh cache folder);
* ``warm``: the same run again in a new output folder (features read from the cache, models retrained).

Prints the ratios and the peak resident memory of the process, and writes one JSON row per method to ``--out``.

    OMP_NUM_THREADS=2 python benchmarks/bench_partitions.py --out benchmarks/results/bench_partitions_cpu.jsonl
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from crowd.io import upsert_jsonl
from crowd.pipelines.certify import load_certify_config, run_certify
from crowd.report import cpu_model

METHODS = {
    "textguard-3": ['method.name="textguard"', "method.groups=3"],
    "dpa-100": ['method.name="dpa"', "method.partitions=100"],
}


def timed(overrides: list[str], out: Path) -> tuple[float, dict]:
    config = load_certify_config(None, overrides)
    start = time.perf_counter()
    report = run_certify(config, out, progress=False)
    return time.perf_counter() - start, report.summary


def encodes(summary: dict) -> int:
    """Texts the per-copy path encodes: the training set once (split over the models) and every test text per model."""
    return summary["n_train"] + summary["n_copies"] * (
        summary["n_test_clean"] + summary["n_test_poison_non_target"]
    )


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def measure(name: str, method: list[str], dataset: str, subsample: int, work: Path) -> dict:
    base = [
        f'data.dataset="{dataset}"',
        "data.max_test=0",
        'model.device="cpu"',
        'head.dtype="fp32"',
        *method,
    ]
    os.environ["CROWD_FEATURE_CACHE"] = str(work / "features")
    sub = [f"data.max_train={subsample}", f"data.max_test={subsample // 10}", "head.feature_cache=false"]
    small, s = timed([*base, *sub], work / "per_copy")
    full = ["data.max_train=0", "data.max_test=0"]
    cold, summary = timed([*base, *full], work / "cold")
    warm, again = timed([*base, *full], work / "warm")
    assert again["curve"] == summary["curve"], "a warm cache must give the same certificates"
    per_copy = small * encodes(summary) / encodes(s)
    row = {
        "method": name,
        "dataset": dataset,
        "n_train": summary["n_train"],
        "n_test": summary["n_test_clean"] + summary["n_test_poison_non_target"],
        "per_copy_s_extrapolated": round(per_copy, 1),
        "per_copy_subsample": subsample,
        "cold_s": round(cold, 1),
        "warm_s": round(warm, 1),
        "ratio_per_copy_over_cold": round(per_copy / cold, 1),
        "ratio_per_copy_over_warm": round(per_copy / warm, 1),
        "peak_rss_gib": round(peak_gib(), 2),
        "cacc": summary["cacc"],
        "certified_accuracy_at_budget": summary["certified_accuracy_at_budget"],
        "attack_budget": summary["attack_budget"],
        "hardware": f"{cpu_model()}, {os.cpu_count()} cores (shared machine)",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(
        f"{name} on {dataset} ({row['n_train']} train): per-copy path ≈ {per_copy:.0f} s (extrapolated from "
        f"{subsample}), cold {cold:.0f} s ({row['ratio_per_copy_over_cold']}x), warm {warm:.0f} s "
        f"({row['ratio_per_copy_over_warm']}x); peak memory {row['peak_rss_gib']} GiB"
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", required=True, help="JSON Lines file; rows of the measured methods are replaced"
    )
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--subsample", type=int, default=2000, help="training texts for the per-copy path")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.methods:
            row = measure(name, METHODS[name], args.dataset, args.subsample, Path(tmp) / name)
            upsert_jsonl(args.out, row, key=("method", "dataset"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
