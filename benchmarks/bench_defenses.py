"""Benchmark: each defense on SST-2 BadNets with a MiniLM victim; one JSON row per defense.

    python benchmarks/bench_defenses.py --out bench_defenses.jsonl            # full scale (GPU)
    python benchmarks/bench_defenses.py --max-train 300 --max-test 100 --max-dev 100 --epochs 1  # CPU smoke

Each row names the hardware, the scale and the wall time of the whole run (victim
training included, and BKI's retraining); tables are rendered from the rows.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from inspect import signature

from crowd.defenses import DEFENSES
from crowd.pipelines.defend import (
    DefendAttackConfig,
    DefendConfig,
    DefendDataConfig,
    DefenseConfig,
    run_defend,
)
from crowd.report import hardware
from crowd.victim import VictimConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defenses", default="strip,rap,bki,onion")
    parser.add_argument("--max-train", type=int, default=0)
    parser.add_argument("--max-dev", type=int, default=0)
    parser.add_argument("--max-test", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", default="bench_defenses.jsonl")
    args = parser.parse_args(argv)
    base = DefendConfig(
        data=DefendDataConfig("sst2", args.data_root, args.max_train, args.max_dev, args.max_test),
        attack=DefendAttackConfig("badnets", 0.1, 1, "dirty"),
        victim=VictimConfig(model="minilm", epochs=args.epochs, device=args.device),
    )
    with open(args.out, "a", encoding="utf-8") as f:
        for name in args.defenses.split(","):
            # a defense that runs its own model (ONION's LM) runs it on the victim's device
            params = {"device": args.device} if "device" in signature(DEFENSES[name]).parameters else {}
            config = replace(base, defense=DefenseConfig(name, params))
            start = time.perf_counter()
            summary = run_defend(config)
            row = {
                "defense": name,
                "hardware": hardware(),
                "wall_s": time.perf_counter() - start,
                "epochs": args.epochs,
                "n_train": summary["n_train"],
                "n_test_clean": summary["n_test_clean"],
                "undefended": summary["undefended"],
                "defended": summary["defended"],
                "timings": summary["timings"],
            }
            f.write(json.dumps(row, sort_keys=True) + "\n")
            f.flush()
            print(json.dumps(row, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
