"""Time the frozen encoder's CPU batching: one row per forward against fixed-shape batches, same process.

Run: ``python benchmarks/bench_frozen_batches.py [--rows 512] [--out rows.jsonl]``. Real SST-2 sub-texts (the
words of md5 group 0 of 9, word-partition style; ``$CROWD_DATA``), MiniLM, mean pooling, one thread. The row
records both throughputs, their ratio, and whether the two ways gave the same bits for every row (the fixed
batches of :func:`crowd.train.frozen.encode_rows` are meant to leave a row's features unchanged).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from crowd.data.datasets import load_dataset
from crowd.methods.textguard import sub_corpus, word_group
from crowd.text import WordCorpus
from crowd.train.common import load_model
from crowd.train.encode import WordPieceEncoder
from crowd.train.frozen import CPU_ROWS, encode_rows
from crowd.train.models import load_tokenizer, minilm_path, set_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--out", default="benchmarks/results/bench_frozen_batches_cpu.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = load_dataset("sst2", "train")[: args.rows]
    words = WordCorpus.from_texts([e.text for e in train])
    groups = np.array([word_group(w, 9) for w in words.vocab])
    ids, mask = WordPieceEncoder(load_tokenizer(minilm_path()), 64).encode(
        sub_corpus(words, groups, 0, "keep")
    )
    keep = mask.sum(axis=1) > 2  # sub-texts with at least one word piece
    ids, mask = ids[keep], mask[keep]
    encoder = set_training(load_model(minilm_path(), 2, torch.device("cpu")).base_model, False)
    cpu = torch.device("cpu")
    start = time.perf_counter()
    batched = encode_rows(encoder, ids, mask, cpu, "mean", "fp32", 64)
    batched_s = time.perf_counter() - start
    start = time.perf_counter()
    alone = np.concatenate(
        [
            encode_rows(encoder, ids[i : i + 1], mask[i : i + 1], cpu, "mean", "fp32", 64)
            for i in range(len(ids))
        ]
    )
    alone_s = time.perf_counter() - start
    row = {
        "bench": "frozen_batches",
        "rows": int(len(ids)),
        "batch_rows": CPU_ROWS,
        "rows_per_s_fixed_batches": round(len(ids) / batched_s, 1),
        "rows_per_s_one_row": round(len(ids) / alone_s, 1),
        "speedup": round(alone_s / batched_s, 2),
        "identical_bits": bool(np.array_equal(batched, alone)),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} thread",
    }
    print(json.dumps(row))
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
