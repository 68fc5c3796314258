"""Feature cache and static learner on SST-2: ratios against the per-copy path, measured in one process.

Parts (``--part``; each writes one row to ``--out``, replacing that part's previous row):

* ``a``: :class:`crowd.train.HeadOnly` (MiniLM, mean pooling) over ``k`` DPA partitions of an SST-2
  subsample (partition of a training text = ``crowd.methods.partition_of``, one partition per
  group as ``crowd certify`` runs DPA; every partition votes on the same test texts). Three runs of
  :func:`crowd.train.run_votes`: no cache (each partition encodes its training rows and the whole test
  set again: the per-copy path), cold cache, warm cache. The encode rate of the cold run extrapolates
  the three to full SST-2.
* ``b``: :class:`crowd.train.StaticBag`, ``N`` CROWD-noise copies (``crowd.noise.CrowdNoise`` over
  ``crowd.noise.synonym_graph.default_graph``, train and test texts noised) of full SST-2, wall time from
  noise to votes and peak memory; against HeadOnly/MiniLM without cache on ``--head-copies`` copies
  of the same noise, timed and extrapolated to ``N``.
* ``c``: accuracy on clean SST-2 (6,920 train, 1,821 test), ``--clean-copies`` copies of the clean
  data (different initialisations and shuffles): StaticBag vs HeadOnly/MiniLM (mean and pooler).

    OMP_NUM_THREADS=1 python benchmarks/bench_features.py --part a --out benchmarks/results/bench_features_cpu.jsonl
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from benchmarks.copies import copy_factory, sst2_words
from crowd.io import upsert_jsonl
from crowd.methods import DPA, Context
from crowd.noise.synonym import CrowdNoise
from crowd.noise.synonym_graph import default_graph
from crowd.paths import cache_dir
from crowd.report import cpu_model
from crowd.train import HeadOnly, StaticBag, WordPieceEncoder, run_votes
from crowd.train import feature_cache as fc
from crowd.train.common import load_model
from crowd.train.models import load_tokenizer

FULL_TRAIN, FULL_TEST = 6920, 1821


def timed_votes(make_copy, n: int, learner, model: str, folder: Path) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    votes = run_votes(make_copy, n, learner, model, folder, 0, "cpu", "bench_features", 2, progress=False)
    return time.perf_counter() - start, votes


def part_a(args, tmp: Path) -> dict:
    corpus, words, y_test = sst2_words(args.n_train, args.n_test)
    encoder = WordPieceEncoder(load_tokenizer("minilm"), 128)
    context = Context(corpus, words, encoder, seed=0, n_copies=args.k, max_radius=0)
    # DPA's partitions as crowd certify makes them, unweighted (the rows were measured before class weights)
    make_copy = DPA(partitions=args.k, class_weight="none").plan(context).make_copy

    os.environ[fc.CACHE_ENV] = str(tmp / "features")
    runs = {}
    for name, cached in (("no_cache", False), ("cold_cache", True), ("warm_cache", True)):
        learner = HeadOnly(dtype="fp32", pooling="mean", copies_per_group=1, feature_cache=cached)
        fc.reset_cache_stats()
        seconds, votes = timed_votes(make_copy, args.k, learner, "minilm", tmp / name)
        runs[name] = {"seconds": round(seconds, 2), "cache": fc.cache_stats().as_dict(), "votes": votes}
    same = bool(np.array_equal(runs["cold_cache"]["votes"], runs["warm_cache"]["votes"]))
    agree = float((runs["no_cache"]["votes"] == runs["cold_cache"]["votes"]).mean())
    acc = float((runs["cold_cache"]["votes"] == y_test[None]).mean())
    load_s = model_load_seconds()
    distinct = runs["cold_cache"]["cache"]["written"]
    encode_s = runs["cold_cache"]["seconds"] - runs["warm_cache"]["seconds"] - args.k * load_s
    rate = distinct / max(encode_s, 1e-9)
    return {
        "part": "a_head_only_partitions",
        "n_train": len(corpus.train),
        "n_test": len(y_test),
        "k_partitions": args.k,
        **{f"{n}_s": r["seconds"] for n, r in runs.items()},
        "cache_cold": runs["cold_cache"]["cache"],
        "cache_warm": runs["warm_cache"]["cache"],
        "ratio_no_cache_over_cold": round(runs["no_cache"]["seconds"] / runs["cold_cache"]["seconds"], 2),
        "ratio_no_cache_over_warm": round(runs["no_cache"]["seconds"] / runs["warm_cache"]["seconds"], 2),
        "cold_and_warm_votes_identical": same,
        "no_cache_vs_cold_vote_agreement": round(agree, 5),
        "mean_partition_accuracy": round(acc, 4),
        "model_load_s": round(load_s, 2),
        "encode_rows_per_s": round(rate, 1),
        "extrapolated_full_sst2": extrapolate(runs, rate, load_s, len(corpus.train), args.k),
    }


def model_load_seconds() -> float:
    """Seconds to load MiniLM once (HeadOnly loads it in every group that has a row to encode)."""
    start = time.perf_counter()
    load_model("minilm", 2, torch.device("cpu"))
    return time.perf_counter() - start


def extrapolate(runs: dict, rate: float, load_s: float, n_train: int, k_measured: int) -> dict:
    """Full SST-2 seconds: a model load per group, encoding at the measured rate, training scaled by rows."""
    train_s = runs["warm_cache"]["seconds"] * FULL_TRAIN / n_train
    out = {}
    for k in sorted({k_measured, 50, 100}):
        no_cache = k * load_s + (FULL_TRAIN + k * FULL_TEST) / rate + train_s
        cold = k * load_s + (FULL_TRAIN + FULL_TEST) / rate + train_s
        out[f"k{k}"] = {
            "no_cache_s": round(no_cache),
            "cold_s": round(cold),
            "warm_s": round(train_s),
            "ratio_no_cache_over_cold": round(no_cache / cold, 1),
            "ratio_no_cache_over_warm": round(no_cache / train_s, 1),
        }
    return out


def part_b(args, tmp: Path) -> dict:
    start = time.perf_counter()
    graph = default_graph()
    noise = CrowdNoise(graph, cache_dir() / "noise")
    _, words, y_test = sst2_words()
    noise.perturb(words.train, np.random.default_rng(0))  # prepare the sampling tables once
    setup_s = time.perf_counter() - start
    learner = StaticBag()
    make_copy = copy_factory(learner.encoder(), words, noise)
    t0 = time.perf_counter()
    [make_copy(j) for j in range(20)]
    copy_s = (time.perf_counter() - t0) / 20
    seconds, votes = timed_votes(make_copy, args.n, learner, "minilm", tmp / "static")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    row = static_row(args, setup_s, copy_s, seconds, peak, votes, y_test)
    if args.head_copies:
        head = HeadOnly(dtype="fp32", pooling="mean", copies_per_group=args.head_copies, feature_cache=False)
        wp = copy_factory(WordPieceEncoder(load_tokenizer("minilm"), 128), words, noise)
        head_s, head_votes = timed_votes(wp, args.head_copies, head, "minilm", tmp / "head")
        head_full = head_s * args.n / args.head_copies
        row.update(
            head_only_copies_measured=args.head_copies,
            head_only_s=round(head_s, 1),
            head_only_mean_copy_accuracy=round(float((head_votes == y_test[None]).mean()), 4),
            head_only_extrapolated_s=round(head_full),
            ratio_head_only_over_static=round(head_full / seconds, 1),
        )
    return {**row, "learner": asdict(learner)}


def static_row(args, setup_s, copy_s, seconds, peak, votes, y_test) -> dict:
    majority = (votes.mean(axis=0) > 0.5).astype(int)  # ties (N even) go to class 0, as np.argmax does
    return {
        "part": "b_static_bag_crowd_noise",
        "n_copies": args.n,
        "n_train": FULL_TRAIN,
        "n_test": FULL_TEST,
        "setup_s": round(setup_s, 1),
        "noise_and_encode_s_per_copy": round(copy_s, 4),
        "static_bag_s": round(seconds, 1),
        "static_bag_copies_per_s": round(args.n / seconds, 2),
        "peak_rss_gib": round(peak, 2),
        "static_mean_copy_accuracy": round(float((votes == y_test[None]).mean()), 4),
        "static_smoothed_accuracy": round(float((majority == y_test).mean()), 4),
    }


def part_c(args, tmp: Path) -> dict:
    _, words, y_test = sst2_words()
    os.environ[fc.CACHE_ENV] = str(tmp / "features")
    n, out = args.clean_copies, {"part": "c_clean_sst2_accuracy", "copies": args.clean_copies}
    wp = WordPieceEncoder(load_tokenizer("minilm"), 128)
    learners = {
        "static_bag": (StaticBag(), None),
        "static_bag_hidden256": (StaticBag(hidden=256), None),
        "head_only_minilm_mean": (HeadOnly(dtype="fp32", pooling="mean", copies_per_group=n), wp),
        "head_only_minilm_pooler": (HeadOnly(dtype="fp32", pooling="pooler", copies_per_group=n), wp),
    }
    for name, (learner, encoder) in learners.items():
        make_copy = copy_factory(encoder or learner.encoder(), words)
        seconds, votes = timed_votes(make_copy, n, learner, "minilm", tmp / name)
        copy_acc = (votes == y_test[None]).mean(axis=1)
        out[name] = {
            "seconds": round(seconds, 1),
            "mean_copy_accuracy": round(float(copy_acc.mean()), 4),
            "min_copy_accuracy": round(float(copy_acc.min()), 4),
            "majority_accuracy": round(float(((votes.mean(axis=0) > 0.5) == y_test).mean()), 4),
        }
        print(name, out[name], flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("a", "b", "c"), required=True)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=250)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--head-copies", type=int, default=2)
    parser.add_argument("--clean-copies", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/bench_features_cpu.jsonl")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    with tempfile.TemporaryDirectory() as tmp:
        row = {"a": part_a, "b": part_b, "c": part_c}[args.part](args, Path(tmp))
    row.update(hardware=f"CPU {cpu_model()}, {torch.get_num_threads()} threads (shared machine)")
    row.update(torch=torch.__version__, date=time.strftime("%Y-%m-%d"))
    print(row, flush=True)
    upsert_jsonl(args.out, row, key=("part",))


if __name__ == "__main__":
    main()
