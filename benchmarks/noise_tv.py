"""Why synonym smoothing of the training set certifies no radius: the per-word total variation of the noise.

The TV certificate (docs/certify.md) must hold for a substitution at ANY training position, so radius 1 needs
``p_lower - p_runner_up > 2 * Δ_1`` with ``Δ_1`` the largest per-word TV among the training words. This prints,
for CROWD's beta-weighted and SAFER's uniform noise over the default graph, that largest value and the spread of
the per-word TV over the training positions a substitution can touch, and writes one JSON row.

    python benchmarks/noise_tv.py --dataset sst2 --out benchmarks/results/noise_tv.jsonl
"""

from __future__ import annotations

import argparse

import numpy as np

from crowd.data.datasets import load_dataset
from crowd.io import upsert_jsonl
from crowd.methods.synonym import position_tv
from crowd.noise import CrowdNoise, SaferNoise
from crowd.noise.synonym_graph import default_graph
from crowd.paths import cache_dir
from crowd.text import WordCorpus


def tv_stats(noise, corpus: WordCorpus) -> dict:
    """Largest per-word TV, and quantiles over the covered training positions (words with a synonym)."""
    tv = position_tv(noise, corpus)
    positions = tv[tv > 0]
    return {
        "max_tv": round(float(tv.max()), 4),
        "covered_positions": int(positions.size),
        "positions": int(corpus.ids.size),
        "median_tv": round(float(np.median(positions)), 4),
        "share_tv_at_least_half": round(float((positions >= 0.5).mean()), 4),
        "radius_1_possible": bool(2 * tv.max() < 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--out", required=True, help="JSON Lines file; the dataset's row is replaced")
    args = parser.parse_args(argv)
    graph = default_graph(progress=True)
    corpus = WordCorpus.from_texts([e.text for e in load_dataset(args.dataset, "train")])
    row = {"dataset": args.dataset, "graph": repr(graph)}
    for name, noise in (("crowd", CrowdNoise(graph, cache_dir() / "noise")), ("safer", SaferNoise(graph))):
        row[name] = tv_stats(noise, corpus)
        s = row[name]
        print(
            f"{args.dataset} {name}: largest per-word TV {s['max_tv']:.3f} (radius 1 needs < 0.5); over the "
            f"{s['covered_positions']} training positions with a synonym: median {s['median_tv']:.3f}, "
            f"{100 * s['share_tv_at_least_half']:.1f}% at least 0.5"
        )
    upsert_jsonl(args.out, row, key=("dataset",))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
