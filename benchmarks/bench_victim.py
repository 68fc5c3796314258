"""The undefended victim on a CPU: partial fine-tuning (``trainable_layers``) against full fine-tuning.

Parts (``--part``; each writes one row to ``--out``, replacing an earlier row with the same part,
dataset and victim settings):

* ``compare``: on a seeded subsample of ``--n-train`` poisoned training texts, the partial victim
  (``--trainable-layers``) and full fine-tuning (``trainable_layers = 0``) with otherwise the same
  settings, trained one after the other in this process: wall-time ratio, CACC/ASR/base rate of both.
* ``full``: one victim on the FULL training set of ``--dataset`` (dev/test subsampled by
  ``--max-test``): CACC, ASR, base rate, wall time of the fit (and of the frozen part's states),
  the states' memory and the peak resident memory.

The machine may be shared: each victim's row also has its process CPU time and the 1-minute load
average before and after its fit, so a wall time inflated by other tenants can be recognised.

Corpus: ``crowd defend``'s (:func:`crowd.pipelines.defend.load_corpus`), BadNets dirty label
(OpenBackdoor style), poison rate 0.1, one trigger word per text drawn from ``cf mn bb tq``,
target label 1; CACC on clean test texts, ASR on triggered non-target test texts, base rate on
clean non-target test texts (THEORY §4).

    OMP_NUM_THREADS=2 python benchmarks/bench_victim.py --part full --dataset sst2 \\
        --out benchmarks/results/bench_victim_cpu.jsonl

Full fine-tuning with the best epoch on dev, as OpenBackdoor's trainer selects (its lr 2e-5; 3
epochs, not its 5, for the CPU budget), stored for ``crowd defend`` to load:

    OMP_NUM_THREADS=2 python benchmarks/bench_victim.py --part full --dataset sst2 --trainable-layers 0 \\
        --select best --lr 2e-5 --max-dev 0 --store
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import time
from dataclasses import asdict

import torch

from crowd.defenses.metrics import attack_metrics
from crowd.io import upsert_jsonl
from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.defend import DefendConfig, labels, load_corpus, texts
from crowd.report import cpu_model
from crowd.victim import Victim, VictimConfig, VictimStore


def corpus(dataset: str, max_train: int, max_test: int, seed: int, max_dev: int = 16):
    data = DataConfig(dataset, max_train=max_train, max_dev=max_dev, max_test=max_test)
    attack = AttackConfig("badnets", poison_rate=0.1, target_label=1, num_triggers=1)
    return load_corpus(DefendConfig(data=data, attack=attack, seed=seed))


def measure(config: VictimConfig, data, seed: int, store: VictimStore | None = None) -> dict:
    """Train one victim on ``data.train``; its wall time, metrics and memory (``select = "best"``:
    the dev scores of its epochs and the epoch kept)."""
    start, cpu, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    victim = Victim(config).fit(texts(data.train), labels(data.train), seed=seed, store=store, dev=data)
    if getattr(victim, "from_store_", False):
        raise SystemExit("the victim came from the store: a time would not be a training time")
    fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    clean = victim.predict(texts(data.test_clean))
    metrics = attack_metrics(clean, labels(data.test_clean), victim.predict(texts(data.test_poison)), 1)
    cache = victim.state_cache
    return {
        "trainable_layers": config.trainable_layers,
        "fit_s": round(fit_s, 1),
        "fit_cpu_s": round(fit_cpu_s, 1),  # process CPU time summed over threads
        "load_avg_1min": [round(load, 2), round(os.getloadavg()[0], 2)],  # before and after the fit
        "states_s": round(getattr(victim, "states_s_", 0.0), 1),
        "state_mb": round(cache.nbytes / 2**20, 1) if cache is not None else 0.0,
        "predict_s": round(time.perf_counter() - start, 1),
        "cacc": round(metrics["cacc"], 4),
        "asr": round(metrics["asr"], 4),
        "base_rate": round(metrics["base_rate"], 4),
        **(
            {"epoch_kept": victim.epoch_, "dev_scores": victim.epoch_scores_}
            if config.select == "best"
            else {}
        ),
    }


def victim_config(args, trainable_layers: int) -> VictimConfig:
    return VictimConfig(
        epochs=args.epochs,
        lr=args.lr,
        warmup_epochs=args.warmup_epochs,
        batch_size=args.batch_size,
        max_length=args.max_length,
        device="cpu",
        trainable_layers=trainable_layers,
        select=args.select,
    )


def run(args) -> dict:
    data = corpus(
        args.dataset, args.n_train if args.part == "compare" else 0, args.max_test, args.seed, args.max_dev
    )
    partial = victim_config(args, args.trainable_layers)
    row = {
        "part": args.part,
        "dataset": args.dataset,
        "date": datetime.date.today().isoformat(),
        "hardware": f"CPU {cpu_model()}, {torch.get_num_threads()} threads (shared machine)",
        "victim": asdict(partial),
        "attack": "badnets dirty label, rate 0.1, 1 trigger word from cf mn bb tq, target 1",
        "n_train": len(data.train),
        "n_poison_train": len(data.poisoned_indices),
        "n_test_clean": len(data.test_clean),
        "n_test_poison": len(data.test_poison),
        "seed": args.seed,
    }
    # "full" part: the result is named by the victim's training, partial or full fine-tuning
    name = "partial" if args.trainable_layers or args.part == "compare" else "full"
    row[name] = measure(partial, data, args.seed, VictimStore() if args.store else None)
    if args.part == "compare":
        row["full"] = measure(victim_config(args, 0), data, args.seed)
        row["fit_time_ratio_full_over_partial"] = round(row["full"]["fit_s"] / row["partial"]["fit_s"], 2)
    row["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["compare", "full"], required=True)
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--n-train", type=int, default=1000, help="compare: training subsample")
    parser.add_argument("--max-test", type=int, default=500, help="clean test subsample (0 = all)")
    parser.add_argument(
        "--max-dev", type=int, default=16, help="dev subsample (0 = all; select best scores on it)"
    )
    parser.add_argument("--trainable-layers", type=int, default=2, help="0 = full fine-tuning")
    parser.add_argument("--select", choices=["last", "best"], default="last", help="the epoch kept")
    parser.add_argument(
        "--store", action="store_true", help="store the trained victim (crowd defend then loads it)"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup-epochs", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/bench_victim_cpu.jsonl")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    row = run(args)
    upsert_jsonl(args.out, row, key=("part", "dataset", "n_train", "victim"))
    print(row["hardware"])
    for name in ("partial", "full"):
        if name in row:
            print(f"{args.dataset} {name}: {row[name]}")
    if "fit_time_ratio_full_over_partial" in row:
        print(f"fit time, full / partial: {row['fit_time_ratio_full_over_partial']}x")


if __name__ == "__main__":
    main()
