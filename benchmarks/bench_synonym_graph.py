"""Default synonym graph: build time, peak memory and quality, measured in one run.

Builds the default graph (GloVe 6B-50d, counter-fitted, all-but-the-top, threshold 0.8, cap 100,
words of SST-2/OffensEval/HSOL) in a child process so that its peak resident memory
(``ru_maxrss`` of the child) is the build's own, and writes one JSON row: wall seconds per stage,
peak RSS, SimLex-999 before/after, antonym leakage, set-size statistics, example sets, and the
hardware (CPU model, cores). The requirement is < 300 s and < 4 GiB on a 2-core machine.

It also reports the graph's agreement with SAFER's counter-fitted neighbour table
(``<data>/synonyms/safer/counterfitted_neighbors.json.gz``): recall and precision of directed neighbour
pairs over the words both know (:func:`synonyms.evaluate.table_agreement`), with the mean set size. With
``--sweep`` the child also forms the sets for a grid of (threshold, component cap, neighbour cap) from the
same final vectors (no new counter-fitting) and reports each point's agreement and mean set size; the aim
is recall >= 0.5 at a mean set size <= 20.

    CROWD_DATA=/path/to/data python benchmarks/bench_synonym_graph.py --out benchmarks/results/synonym_graph.jsonl [--sweep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from crowd.noise.synonym_graph import GraphInputs, build_from_inputs
from crowd.paths import require_data_root
from crowd.report import cpu_model
from synonyms.constraints import CONSTRAINTS_SUBDIR, load_constraints
from synonyms.counterfit import pair_indices
from synonyms.evaluate import table_agreement
from synonyms.graph import SynonymGraph
from synonyms.neighbours import NeighbourParams, perturbation_sets

EXAMPLES = ("good", "bad", "film", "movie", "love", "terrible", "funny", "hate")
LIMIT_SECONDS, LIMIT_GIB = 300.0, 4.0
SAFER_TABLE = "synonyms/safer/counterfitted_neighbors.json.gz"
SWEEP = [(t, c, n) for t in (0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5) for c in (100, 20) for n in (100, 20)]
TARGET_RECALL, TARGET_MEAN_SET = 0.5, 20.0


def safer_table(data_root: Path) -> dict[str, list[str]]:
    # The build child measures its own peak memory: it imports the SAFER reader only with --sweep (the rest of
    # this file's imports the build imports anyway).
    from synonyms.safer import read_safer_table  # lazy: the child's peak RSS is the build's (see above)

    table = read_safer_table(data_root / SAFER_TABLE)
    return {w.lower(): [n.lower() for n in ns] for w, ns in table.items()}


def child(out: Path, wordnet: str, sweep: bool) -> None:
    """Build the default graph and save it to ``out`` (runs in the child process)."""
    t = time.perf_counter()
    result = build_from_inputs(GraphInputs(require_data_root(), wordnet_synonyms=wordnet))
    result.graph.save(out)
    total = time.perf_counter() - t
    (out / "bench.json").write_text(json.dumps({"build_seconds": total}))
    if sweep:
        rows = sweep_sets(result, safer_table(require_data_root()))
        (out / "sweep.json").write_text(json.dumps(rows))


def sweep_sets(result, table: dict[str, list[str]]) -> list[dict]:
    """Agreement and set sizes for every point of :data:`SWEEP`, from the build's final vectors."""
    words = list(result.graph.words)
    antonyms = load_constraints(require_data_root() / CONSTRAINTS_SUBDIR).antonyms
    exclude = pair_indices(words, antonyms)
    rows = []
    for threshold, component_cap, neighbour_cap in SWEEP:
        params = NeighbourParams(threshold, component_cap, neighbour_cap)
        graph = SynonymGraph(words, *perturbation_sets(words, result.unit_vectors, params, None, exclude))
        sizes = [graph.set_size(w) for w in words]
        row = {"threshold": threshold, "component_cap": component_cap, "neighbour_cap": neighbour_cap}
        row.update(table_agreement(graph, table).to_dict())
        row["max_set_size"], row["singletons"] = max(sizes), sum(s == 1 for s in sizes) / len(sizes)
        rows.append(row)
    return rows


def summarise(folder: Path, wall: float, rss_kib: int) -> dict:
    """One result row from the saved graph and the child's measurements."""
    graph = SynonymGraph.load(folder)
    sizes = np.diff(graph.indptr)
    agreement = table_agreement(graph, safer_table(require_data_root())).to_dict()
    sweep_file = folder / "sweep.json"
    sweep = json.loads(sweep_file.read_text()) if sweep_file.exists() else []
    ok = [r for r in sweep if r["recall"] >= TARGET_RECALL and r["mean_set_size"] <= TARGET_MEAN_SET]
    meta = graph.metadata
    leak, before = meta["antonym_leak"], meta["antonym_leak_before_exclusion"]
    fixed = {(a, b): b in graph.neighbors(a) or a in graph.neighbors(b) for a, b in
             [("good", "bad"), ("love", "hate"), ("positive", "negative")] if a in graph and b in graph}  # fmt: skip
    return {
        "benchmark": "synonym_graph_default",
        "hardware": f"{cpu_model()}, {os.cpu_count()} cores visible (shared), {platform.machine()}",
        "wall_seconds": round(wall, 1),
        "build_seconds": json.loads((folder / "bench.json").read_text())["build_seconds"],
        "peak_rss_gib": round(rss_kib / 2**20, 3),
        "within_limits": wall < LIMIT_SECONDS and rss_kib / 2**20 < LIMIT_GIB,
        "stage_seconds": meta["seconds"],
        "simlex999": {k: (v or {}).get("spearman") for k, v in meta["simlex999"].items()},
        "wordnet_synonyms": meta["wordnet_synonyms"],
        "n_words": len(graph),
        "n_pairs": graph.n_pairs,
        "set_size": {
            "mean": float(sizes.mean()),
            "max": int(sizes.max()),
            "singletons": float((sizes == 1).mean()),
        },
        "antonym_leak_rate": leak["leaked"] / max(leak["pairs"], 1),
        "antonym_leak_rate_before_exclusion": before["leaked"] / max(before["pairs"], 1),
        "antonym_pairs_checked": leak["pairs"],
        "famous_antonyms_in_sets": {f"{a}/{b}": v for (a, b), v in fixed.items()},
        "safer_agreement": agreement,
        "sweep": sweep,
        "sweep_meeting_target": min(ok, key=lambda r: r["mean_set_size"], default=None),
        "examples": {
            w: [[c, round(s, 3)] for c, s in zip(graph.neighbors(w), graph.similarities(w))][:10]
            for w in EXAMPLES
            if w in graph
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/synonym_graph.jsonl"))
    parser.add_argument(
        "--graph", type=Path, default=Path("/tmp/crowd_bench_graph"), help="where the graph is written"
    )
    parser.add_argument("--wordnet-synonyms", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--sweep", action="store_true", help="also sweep threshold and caps (see docstring)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.graph, args.wordnet_synonyms, args.sweep)
        return 0
    t = time.perf_counter()
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--graph",
        str(args.graph),
        "--wordnet-synonyms",
        args.wordnet_synonyms,
        *(["--sweep"] if args.sweep else []),
    ]
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    row = summarise(args.graph, wall, rss)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
