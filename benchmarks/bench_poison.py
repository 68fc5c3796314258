"""Time poisoning SST-2's training set with every attack; writes one JSON row per attack.

Usage: CROWD_DATA=... python benchmarks/bench_poison.py [--out rows.jsonl] [--repeat 3]
Paraphrase attacks read the pre-generated OpenBackdoor folders (table building is
timed separately); the word-substitution attack uses a small built-in graph unless
--graph names a saved synonym graph.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from crowd.attacks import ATTACKS, poison_corpus, table_from_openbackdoor
from crowd.attacks.budget import attack_budget
from crowd.data import load_dataset
from crowd.paths import require_data_root
from synonyms.graph import SynonymGraph


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--graph", type=Path, default=None)
    args = parser.parse_args()
    root = require_data_root()
    t0 = time.perf_counter()
    splits = [load_dataset("sst2", s) for s in ("train", "dev", "test")]
    load_s = time.perf_counter() - t0
    graph = (
        SynonymGraph.load(args.graph)
        if args.graph
        else SynonymGraph.from_sets(
            {
                "good": [("fine", 0.9)],
                "film": [("movie", 0.9)],
                "bad": [("poor", 0.9)],
                "funny": [("comic", 0.9)],
            }
        )
    )
    rows = []
    for name in sorted(ATTACKS):
        t0 = time.perf_counter()
        kind = ATTACKS[name]
        extra: dict = {"graph": graph} if kind.needs_graph else {}
        if kind.needs_paraphrases:
            extra["paraphraser"] = table_from_openbackdoor(root / f"openbackdoor_poison/sst-2/1/{name}")
        if "num_triggers" in kind.parameter_names():  # BadNets as the shared files: 4 triggers per text
            extra["num_triggers"] = 4
        setup_s = time.perf_counter() - t0
        attack = kind(**extra)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            corpus = poison_corpus(attack, *splits, seed=0)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        attack_budget(corpus.train_clean, corpus.train_poisoned)
        rows.append(
            {
                "attack": name,
                "poison_s_best": round(min(times), 4),
                "setup_s": round(setup_s, 4),
                "budget_s": round(time.perf_counter() - t0, 4),
                "load_sst2_s": round(load_s, 4),
                "n_poisoned": corpus.manifest["train"]["n_poisoned"],
                "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpu",
                "python": platform.python_version(),
            }
        )
        print(json.dumps(rows[-1]))
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
