"""Training throughput: naive one-copy-at-a-time baseline vs grouped full fine-tuning vs head-only.

One script, one run, ratios measured in that run:

* ``naive``: copies one after another, a standard loop (``model(**batch).loss.backward()``,
  AdamW), batch 32, fp32.
* ``grouped``: :class:`crowd.train.FullFineTune`, K copies stepping together (vmap), per-copy
  batch 8 (CROWD) and 32, bf16 on a GPU (fp32 on a CPU, where bf16 autocast is not faster).
* ``head_only``: :class:`crowd.train.HeadOnly`, N copies, wall time from noisy copies to votes.

On a GPU: a bert-base-sized random ``BertForSequenceClassification(BertConfig())`` for timing
and MiniLM for accuracy, SST-2 (``$CROWD_DATA``) at full size. On a CPU: a small random BERT, a
reduced scale, and the accuracy comparison on the same model. Noise is the toy uniform word
substitution of :mod:`crowd.testing.toy_task` (flip 0.05), a stand-in for :mod:`crowd.noise`.

    python benchmarks/bench_train.py --out benchmarks/results/bench_train_cpu.jsonl
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig, BertConfig, BertForSequenceClassification

from benchmarks.naive import naive_fit_predict
from crowd.io import write_jsonl
from crowd.paths import data_root
from crowd.report import cpu_model
from crowd.testing import make_tiny_bert
from crowd.testing.toy_task import KeywordTask, copy_maker, keyword_task
from crowd.text import WordCorpus
from crowd.train import CopyData, FullFineTune, HeadOnly, WordPieceEncoder
from crowd.train.data import FitRequest
from crowd.train.models import load_tokenizer


@dataclass(frozen=True)
class Scale:
    n_train: int
    n_test: int
    copies: int
    group: int
    epochs: int
    head_copies: int
    max_length: int
    naive_copies: int


GPU = Scale(
    n_train=6920, n_test=1821, copies=32, group=32, epochs=1, head_copies=1000, max_length=64, naive_copies=2
)
CPU = Scale(
    n_train=256, n_test=128, copies=4, group=4, epochs=1, head_copies=40, max_length=48, naive_copies=2
)


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {cpu_model()}, {torch.get_num_threads()} threads"


def sst2_task(root: Path | None, n_train: int, n_test: int) -> KeywordTask | None:
    if root is None or not (root / "sst2/clean_hiddenkiller/train.tsv").exists():
        return None

    def read(name: str, n: int) -> tuple[list[str], np.ndarray]:
        lines = (root / f"sst2/clean_hiddenkiller/{name}.tsv").read_text(encoding="utf-8").splitlines()[1:]
        rows = [line.rstrip("\r").rsplit("\t", 1) for line in lines][:n]
        return [r[0] for r in rows], np.asarray([int(r[1]) for r in rows])

    train_texts, train_y = read("train", n_train)
    test_texts, test_y = read("test", n_test)
    corpus = WordCorpus.from_texts(train_texts + test_texts)
    train, test = (
        corpus.subset(np.arange(len(train_texts))),
        corpus.subset(np.arange(len(train_texts), len(corpus))),
    )
    return KeywordTask(train, train_y, test, test_y)


def timed(fn) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def row(name: str, seconds: float, examples: int, votes: np.ndarray, labels: np.ndarray, **extra) -> dict:
    acc = float((votes == labels[None, :]).mean())
    return {
        "name": name,
        "seconds": round(seconds, 3),
        "examples_per_s": round(examples / seconds, 1),
        "mean_copy_accuracy": round(acc, 4),
        **extra,
    }


def finetune_rows(model_dir: str, copies: list[CopyData], s: Scale, dev: torch.device, labels) -> list[dict]:
    per_copy = copies[0].n_train * s.epochs
    seconds, votes = timed(
        lambda: naive_fit_predict(model_dir, copies[: s.naive_copies], s.epochs, "fp32", dev)
    )
    rows = [row("naive_b32_fp32", seconds, s.naive_copies * per_copy, votes, labels)]
    examples = len(copies) * per_copy
    dtype = "bf16" if dev.type == "cuda" else "fp32"
    for batch in (8, 32):
        learner = FullFineTune(
            epochs=s.epochs,
            batch_size=batch,
            dtype=dtype,
            copies_per_group=s.group,
            max_length=s.max_length,
            lr=5e-5,
        )
        seconds, votes = timed(
            lambda learner=learner: learner.fit_predict(
                FitRequest(model_dir, copies, list(range(len(copies))), 0, str(dev), 2)
            ).argmax(-1)
        )
        rows.append(row(f"grouped_k{s.group}_b{batch}_{dtype}", seconds, examples, votes, labels))
    for r in rows[1:]:
        r["ratio_vs_naive"] = round(r["examples_per_s"] / rows[0]["examples_per_s"], 2)
    return rows


def head_rows(model_dir: str, make_copy, s: Scale, dev: torch.device, labels) -> list[dict]:
    learner = HeadOnly(
        dtype="bf16" if dev.type == "cuda" else "fp32",
        max_length=s.max_length,
        copies_per_group=min(128, s.head_copies),
    )
    start, votes, tokens = time.perf_counter(), [], 0
    for g in range(math.ceil(s.head_copies / learner.copies_per_group)):
        idx = list(
            range(g * learner.copies_per_group, min((g + 1) * learner.copies_per_group, s.head_copies))
        )
        group = [make_copy(j) for j in idx]
        tokens += sum(int(c.train_mask.sum() + c.test_mask.sum()) for c in group)
        votes.append(learner.fit_predict(FitRequest(model_dir, group, idx, 0, str(dev), 2)).argmax(-1))
    seconds = time.perf_counter() - start
    votes = np.concatenate(votes)
    texts = s.head_copies * (len(labels) + s.n_train)
    majority = (votes.mean(axis=0) > 0.5).astype(int)
    return [
        row(
            f"head_only_n{s.head_copies}",
            seconds,
            texts,
            votes,
            labels,
            smoothed_accuracy=round(float((majority == labels).mean()), 4),
            **peak_fraction(model_dir, tokens, seconds, dev),
        )
    ]


# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' datasheets, by substring of the device name.
BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def peak_fraction(model_dir: str, tokens: int, seconds: float, dev: torch.device) -> dict:
    """Encoder FLOP/s of the head-only run (2 x non-embedding parameters x tokens, attention ignored)
    and its fraction of the card's bf16 peak. Distinct texts are encoded once, so this counts the work a
    run without de-duplication would do: an upper bound on the arithmetic actually performed."""
    cfg = AutoConfig.from_pretrained(model_dir)
    h, layers, inter = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size
    params = layers * (4 * h * h + 2 * h * inter)
    flops = 2.0 * params * tokens / seconds
    out = {"tokens": tokens, "encoder_tflops_per_s": round(flops / 1e12, 3)}
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else ""
    peak = next((v for k, v in BF16_PEAK.items() if k in name), None)
    if peak is not None:
        out["fraction_of_bf16_peak"] = round(flops / peak, 4)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="benchmarks/results/bench_train.jsonl")
    args = parser.parse_args(argv)
    dev = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    s = GPU if dev.type == "cuda" else CPU
    with tempfile.TemporaryDirectory() as tmp:
        if dev.type == "cuda":
            timing_dir = str(Path(tmp) / "bert_base")
            BertForSequenceClassification(BertConfig()).save_pretrained(timing_dir)
            load_tokenizer("minilm").save_pretrained(timing_dir)
        else:
            timing_dir = str(make_tiny_bert(Path(tmp) / "small", hidden_size=64, num_layers=2, num_heads=2))
        task = sst2_task(data_root(), s.n_train, s.n_test) or keyword_task(s.n_train, s.n_test, 0)
        encoder = WordPieceEncoder(load_tokenizer(timing_dir), s.max_length)
        make_copy = copy_maker(task, encoder, 0.05, 0)
        copies = [make_copy(j) for j in range(s.copies)]
        rows = finetune_rows(timing_dir, copies, s, dev, task.test_labels)
        rows += head_rows(timing_dir, make_copy, s, dev, task.test_labels)
        if dev.type == "cuda":
            rows += [
                {**r, "name": "minilm_" + r["name"]}
                for r in finetune_rows("minilm", copies, s, dev, task.test_labels)
            ]
    for r in rows:
        r.update(hardware=hardware(dev), scale=s.__dict__, torch=torch.__version__)
        print({k: v for k, v in r.items() if k not in ("scale",)})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out, rows)


if __name__ == "__main__":
    main()
