"""Benchmark: synonym-noise word draws per second, vectorised sampler vs a per-word Python loop.

Builds a synthetic graph (``--words`` rows, set sizes 2..9, similarities in [0.8, 1]) and a corpus whose
every word is in the graph, so every position is a real draw. The same run times (1) the literal released
procedure in a Python loop (fit Beta, draw, argmax per word) on a sample of words and (2)
``CrowdNoise.perturb`` / ``SaferNoise.perturb`` on the whole corpus, and writes one JSON row to
``benchmarks/results/``. Usage: ``python benchmarks/bench_noise.py [--positions N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from crowd.noise import CrowdNoise, SaferNoise
from crowd.noise.beta import sample_beta_argmax
from crowd.report import cpu_model
from crowd.text import WordCorpus
from synonyms.graph import SynonymGraph


def synthetic_graph(n_words: int, rng: np.random.Generator) -> SynonymGraph:
    sizes = rng.integers(2, 10, n_words)
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    indices = np.concatenate([[i, *rng.choice(n_words, m - 1, replace=False)] for i, m in enumerate(sizes)])
    sims = rng.uniform(0.8, 1.0, indptr[-1])
    sims[indptr[:-1]] = 1.0
    for i in range(n_words):  # the word itself must not reappear among its candidates
        row = indices[indptr[i] + 1 : indptr[i + 1]]
        row[row == i] = (i + 1) % n_words
    return SynonymGraph([f"w{i}" for i in range(n_words)], indptr, indices, sims)


def loop_draws_per_s(graph: SynonymGraph, words: list[str], rng: np.random.Generator) -> float:
    """The released code's shape: per word, look up the set, fit the Beta, draw, argmax."""
    start = time.perf_counter()
    out = []
    for w in words:
        cands, sims = graph.neighbors(w), np.array(graph.similarities(w))
        out.append(cands[int(sample_beta_argmax(sims, rng, 1)[0])])
    return len(words) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2000, help="graph rows (= corpus vocabulary)")
    parser.add_argument("--positions", type=int, default=20_000_000, help="words in the corpus")
    parser.add_argument("--loop-words", type=int, default=20_000, help="words timed in the Python loop")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    graph = synthetic_graph(args.words, rng)
    ids = rng.integers(0, args.words, args.positions).astype(np.int32)
    offsets = np.arange(0, args.positions + 1, 20, dtype=np.int64)
    offsets[-1] = args.positions
    corpus = WordCorpus(graph.words, ids, offsets)
    row = {"cpu": cpu_model(), "cores": os.cpu_count(), "positions": args.positions, "graph_rows": args.words}
    row["loop_draws_per_s"] = loop_draws_per_s(graph, [graph.words[i] for i in ids[: args.loop_words]], rng)
    for noise in (CrowdNoise(graph), SaferNoise(graph)):
        t0 = time.perf_counter()
        noise.perturb(WordCorpus(graph.words, ids[:10], np.array([0, 10])), rng)  # π + vocab tables
        row[f"{noise.name}_prepare_s"] = time.perf_counter() - t0
        times = []
        for j in range(3):
            t0 = time.perf_counter()
            noise.perturb(corpus, np.random.default_rng(j))
            times.append(time.perf_counter() - t0)
        row[f"{noise.name}_draws_per_s"] = args.positions / min(times)
        row[f"{noise.name}_speedup_vs_loop"] = row[f"{noise.name}_draws_per_s"] / row["loop_draws_per_s"]
    print(json.dumps(row, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"noise_{stamp}.json").write_text(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
