"""Part c, first row: throughput of a frozen encoder through crowd's own path, and its fraction of the peak.

Rows: clean SST-2 (train and test) word-piece encoded at the run's max length, tiled to ``encoder_rows``; they go
through :func:`crowd.train.frozen.encode_rows` exactly as ``HeadOnly`` encodes distinct rows (buckets of equal
width rounded up to 8, batches of 1024, bf16 autocast on CUDA, features copied back per batch), after an
untimed warm-up. FLOPs: :func:`encoder_flops` over the widths actually computed (``tflops``) and over the
attended tokens only (``useful_tflops``). Peaks: the datasheet dense bf16 figure of the card, and a bf16 matrix
product measured on it (8192 x 8192 x 8192).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.device.common import append_row, scale_words, sync
from benchmarks.device.scales import Scale
from crowd.report import hardware
from crowd.train import WordPieceEncoder
from crowd.train.common import load_model
from crowd.train.feature_cache import attended_widths
from crowd.train.frozen import WIDTH_STEP, encode_rows
from crowd.train.models import load_tokenizer, set_training

# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' datasheets, first substring of the device name
# that matches (the SXM H100 and the H200 share one figure).
BF16_PEAK = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "A100": 312e12}


def encoder_flops(config, widths: np.ndarray) -> float:
    """FLOPs of a BERT encoder over rows of these widths: 2 x linear weights x tokens, plus attention
    (QK^T and AV, 4 x layers x hidden x width^2 per row); embeddings, softmax and norms ignored."""
    h, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    linear = 2.0 * layers * (4 * h * h + 2 * h * inter)
    w = widths.astype(np.float64)
    return float(linear * w.sum() + 4.0 * layers * h * (w * w).sum())


def matmul_tflops(dev, n: int = 8192, reps: int = 10) -> float:
    """Measured bf16 matrix-product rate (n x n x n, mean of ``reps`` after three warm-ups), TFLOP/s."""
    a = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    sync(dev)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(dev)
    return 2.0 * n**3 * reps / (time.perf_counter() - start) / 1e12


def sst2_rows(scale: Scale, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Clean SST-2 train and test rows ``(ids, mask)`` of ``model``'s tokenizer, tiled to ``encoder_rows``."""
    words, _ = scale_words(scale)
    enc = WordPieceEncoder(load_tokenizer(model), scale.max_length)
    ids, mask = (np.concatenate(p) for p in zip(enc.encode(words.train), enc.encode(words.test)))
    reps = -(-scale.encoder_rows // len(ids))
    return np.tile(ids, (reps, 1))[: scale.encoder_rows], np.tile(mask, (reps, 1))[: scale.encoder_rows]


def encoder(scale: Scale, model: str, rows: str) -> None:
    """Part c, first row: the frozen encoder's throughput through crowd's own path (``encode_rows``)."""
    dev = torch.device(scale.device)
    ids, mask = sst2_rows(scale, model)
    net = set_training(load_model(model, 2, dev).base_model, False).requires_grad_(False)
    encode_rows(net, ids[:2048], mask[:2048], dev, "mean", "bf16", 1024)  # warm-up
    sync(dev)
    start = time.perf_counter()
    encode_rows(net, ids, mask, dev, "mean", "bf16", 1024)
    sync(dev)
    seconds = time.perf_counter() - start
    attended = attended_widths(mask)
    padded = np.maximum(np.minimum(-(-attended // WIDTH_STEP) * WIDTH_STEP, ids.shape[1]), 1)
    flops = encoder_flops(net.config, padded) / seconds
    cfg = net.config
    row = {"part": "c", "name": "encoder_throughput", "model": model, "hardware": hardware()}
    row.update(hidden=cfg.hidden_size, layers=cfg.num_hidden_layers, rows=len(ids), seconds=round(seconds, 3))
    row.update(rows_per_s=round(len(ids) / seconds, 1), tokens_per_s=round(float(attended.sum()) / seconds))
    row.update(
        tflops=round(flops / 1e12, 2), useful_tflops=round(encoder_flops(cfg, attended) / seconds / 1e12, 2)
    )
    append_row(rows, {**row, **_peaks(dev, flops)})


def _peaks(dev, flops: float) -> dict:
    """Fractions of the datasheet bf16 peak and of a measured bf16 matrix product (CUDA only)."""
    if dev.type != "cuda":
        return {"fraction_of_bf16_peak": None, "peak_note": "CPU dry run: no bf16 peak"}
    name = torch.cuda.get_device_name(dev)
    peak = next((v for k, v in BF16_PEAK.items() if k in name), None)
    measured = matmul_tflops(dev)
    return {
        "bf16_peak_tflops": None if peak is None else peak / 1e12,
        "fraction_of_bf16_peak": None if peak is None else round(flops / peak, 4),
        "matmul_tflops_measured": round(measured, 1),
        "fraction_of_measured_matmul": round(flops / 1e12 / measured, 4),
    }
