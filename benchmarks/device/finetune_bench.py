"""Part b: grouped full fine-tuning (``crowd.train.FullFineTune``) against the naive per-copy loop.

Same copies (CROWD noise on clean SST-2, train and test noised as ``crowd certify`` does), same lr (5e-5), one
epoch. ``naive``: the loop one writes first, one model after another, batch 32, AdamW, fp32 and then bf16
autocast (CUDA only; crowd runs bf16 settings in fp32 on a CPU). ``grouped``: K copies stepping together under
``torch.vmap``, per-copy batch 8 (CROWD's) and 32. Timed from model load to test predictions, after an untimed
warm-up of both paths. Rate: training texts x epochs per second; accuracy: mean over copies of each copy's
accuracy on its own noisy test copy against the clean labels.
"""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import torch

from benchmarks.device.common import append_row, crowd_copies, sync
from benchmarks.device.scales import Scale
from benchmarks.naive import naive_fit_predict
from crowd.train import CopyData, FullFineTune
from crowd.train.data import FitRequest


def grouped(model_name: str, copies, scale: Scale, batch: int, dtype: str, dev) -> tuple[np.ndarray, list]:
    """:class:`crowd.train.FullFineTune`, all copies in one group; returns votes and vmap warnings."""
    learner = FullFineTune(
        epochs=scale.ft_epochs,
        batch_size=batch,
        dtype=dtype,
        copies_per_group=len(copies),
        max_length=scale.max_length,
        lr=5e-5,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logits = learner.fit_predict(FitRequest(model_name, copies, list(range(len(copies))), 0, str(dev), 2))
    notes = {str(w.message)[:300] for w in caught if re.search("vmap|batching rule", str(w.message))}
    return logits.argmax(-1), sorted(notes)


def warm_up(model_name: str, copies, scale: Scale, dev) -> None:
    """Untimed: first kernels, allocator and library start-up of both paths, on 64 texts of two copies."""
    small = [
        CopyData(c.train_ids[:64], c.train_mask[:64], c.train_labels[:64], c.test_ids[:64], c.test_mask[:64])
        for c in copies[:2]
    ]
    for dtype in ("fp32", "bf16"):
        naive_fit_predict(model_name, small[:1], 1, dtype, dev)
    grouped(model_name, small, scale, 8, "bf16", dev)


def finetune(scale: Scale, model: str, graph: str | None, rows: str) -> None:
    """Part b: naive (fp32 and bf16 autocast) then grouped (per-copy batch 8 and 32), one row each."""
    dev = torch.device(scale.device)
    start = time.perf_counter()
    copies, test_y = crowd_copies(scale, model, graph, scale.ft_copies)
    print(f"finetune: {len(copies)} CROWD copies in {time.perf_counter() - start:.1f} s", flush=True)
    warm_up(model, copies, scale, dev)
    common = {"model": model, "n_train": copies[0].n_train, "n_test": len(test_y), "epochs": scale.ft_epochs}
    common["autocast_bf16"] = dev.type == "cuda"  # crowd runs bf16 settings in fp32 on a CPU
    naive: dict[str, dict] = {}
    for name, run in _finetune_runs(model, copies, scale, dev):
        start = time.perf_counter()
        votes, notes = run()
        sync(dev)
        seconds, per_copy = time.perf_counter() - start, copies[0].n_train * scale.ft_epochs
        row = {"part": "b", "name": name, **common, **measure(votes, test_y, seconds, per_copy, scale)}
        row["vmap_warnings"] = notes
        for ref, base in naive.items():
            row[f"ratio_vs_{ref}"] = round(row["examples_per_s"] / base["examples_per_s"], 2)
            gap = row["accuracy_same_copies"] - base["accuracy_same_copies"]
            row[f"accuracy_points_vs_{ref}"] = round(100 * gap, 2)
        if name.startswith("naive"):
            naive[name] = row
        append_row(rows, row)


def measure(votes: np.ndarray, labels: np.ndarray, seconds: float, per_copy: int, scale: Scale) -> dict:
    """Rate (training texts x epochs / s) and accuracies: over all copies, and over the copies the naive loop
    trains too (``accuracy_same_copies``: the same noisy data, so the comparison at equal accuracy)."""
    correct = votes == labels[None, :]
    return {
        "copies": len(votes),
        "seconds": round(seconds, 2),
        "examples_per_s": round(len(votes) * per_copy / seconds, 1),
        "mean_copy_accuracy": round(float(correct.mean()), 4),
        "accuracy_same_copies": round(float(correct[: scale.ft_naive_copies].mean()), 4),
    }


def _finetune_runs(model: str, copies, scale: Scale, dev):
    naive = copies[: scale.ft_naive_copies]
    k = len(copies)
    yield "naive_b32_fp32", lambda: (naive_fit_predict(model, naive, scale.ft_epochs, "fp32", dev), [])
    yield "naive_b32_bf16", lambda: (naive_fit_predict(model, naive, scale.ft_epochs, "bf16", dev), [])
    yield f"grouped_k{k}_b8_bf16", lambda: grouped(model, copies, scale, 8, "bf16", dev)
    yield f"grouped_k{k}_b32_bf16", lambda: grouped(model, copies, scale, 32, "bf16", dev)
