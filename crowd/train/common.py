"""Helpers shared by the learners: model loading, devices, batches, seeds, schedules."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from crowd.seeding import rng, torch_seed
from crowd.train.data import TrainingInputError
from crowd.train.models import load_classifier


def load_model(model_name: str | os.PathLike[str], num_labels: int, device: torch.device):
    """The model in fp32 on ``device`` with a ``num_labels``-way head (:func:`crowd.train.models.load_classifier`)."""
    return load_classifier(model_name, num_labels, dtype=torch.float32, device=device)


def resolve_device(name: str | torch.device) -> torch.device:
    """``"auto"`` → CUDA when available, else the CPU; anything else is passed to ``torch.device``."""
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def head_parameter_names(model) -> list[str]:
    """Names of the task-head parameters: everything outside ``model.base_model``."""
    prefix = model.base_model_prefix + "."
    return [n for n, _ in model.named_parameters() if not n.startswith(prefix)]


def init_head(shapes: dict[str, torch.Size], std: float, seed: int, index: int) -> dict[str, torch.Tensor]:
    """Fresh head tensors for copy ``index``: N(0, std) matrices, zero biases, unit 1-d weights.

    Drawn on the CPU from ``torch_seed(seed, "init", index)`` so they do not
    depend on the device or on the other copies of the group.
    """
    gen = torch.Generator().manual_seed(torch_seed(seed, "init", index))
    out = {}
    for name, shape in shapes.items():
        if len(shape) >= 2:
            out[name] = torch.randn(shape, generator=gen) * std
        elif name.endswith("weight"):
            out[name] = torch.ones(shape)
        else:
            out[name] = torch.zeros(shape)
    return out


def permutations(seed: int, indices: Sequence[int], epochs: int, n: int) -> np.ndarray:
    """``(K, epochs, n)`` shuffles; copy ``j``'s epoch ``e`` is ``rng(seed, "shuffle", j, e)``."""
    return np.stack(
        [np.stack([rng(seed, "shuffle", j, e).permutation(n) for e in range(epochs)]) for j in indices]
    )


def autocast(device: torch.device, dtype: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on a CUDA ``device`` for ``dtype == "bf16"``; fp32 otherwise.

    On the CPU bf16 autocast is skipped: without native bf16 units it is much slower
    (measured: MiniLM inference 65 sentences/s in fp32 vs 8 in bf16 autocast on a
    2-core AMD EPYC).
    """
    if dtype == "fp32" or device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def length_batches(lengths: Sequence[int] | np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Row indices in batches of similar length (longest first, ties in index order), to minimise padding."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def to_device(
    ids: np.ndarray, mask: np.ndarray, device: torch.device, trim: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows ``(..., L)`` to ``device`` as int64, trimmed after the last attended column (``trim``).

    The trimmed width depends on every row given: pass the rows of one copy only, never a group's
    (a copy's padding, hence the last bits of its results, would depend on the other copies' texts).
    """
    width = ids.shape[-1]
    if trim:
        attended = np.flatnonzero(mask.reshape(-1, width).any(axis=0)) if mask.size else []
        width = int(attended[-1]) + 1 if len(attended) else 1
    ids_t = torch.from_numpy(np.ascontiguousarray(ids[..., :width], dtype=np.int64))
    mask_t = torch.from_numpy(np.ascontiguousarray(mask[..., :width], dtype=np.int64))
    pin = device.type == "cuda"
    if pin:
        ids_t, mask_t = ids_t.pin_memory(), mask_t.pin_memory()
    return ids_t.to(device, non_blocking=pin), mask_t.to(device, non_blocking=pin)


def fixed_width(matrices: Sequence[np.ndarray], width: int, fill: int) -> np.ndarray:
    """Stack equal-height ``(n, L_k)`` matrices into ``(K, n, width)``: cut at ``width``, right-padded with ``fill``.

    Unlike :func:`crowd.train.data.pad_width`, the width is not chosen by the matrices (by any copy's data).
    """
    out = np.full((len(matrices), matrices[0].shape[0], width), fill, dtype=matrices[0].dtype)
    for k, m in enumerate(matrices):
        out[k, :, : min(width, m.shape[1])] = m[:, :width]
    return out


def linear_schedule(
    total_steps: int, warmup: float = 0.0, *, warmup_steps: int | None = None, zero_first: bool = False
) -> Callable[[int], float]:
    """Multiplier for step ``s``: linear warm-up, then linear decay reaching 0 at ``total_steps``.

    The warm-up lasts ``warmup_steps`` steps, or ``round(warmup * total_steps)`` when
    ``warmup_steps`` is not given; warm-up step ``s`` has factor ``(s + 1) / warm-up``, or
    ``s / warm-up`` with ``zero_first`` (transformers' ``get_linear_schedule_with_warmup``,
    used by OpenBackdoor, whose first step has learning rate 0). Decay: ``(total - s) / (total - warm-up)``.
    Training may stop before ``total_steps`` (OpenBackdoor lays the decay over more epochs than it runs).
    """
    warm = int(round(warmup * total_steps)) if warmup_steps is None else int(warmup_steps)
    first = 0 if zero_first else 1

    def factor(step: int) -> float:
        if step < warm:
            return (step + first) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return factor


def adamw(
    decayed: Sequence[torch.Tensor],
    undecayed: Sequence[torch.Tensor],
    lr: float,
    weight_decay: float,
    total_steps: int,
    warmup: float = 0.0,
    *,
    warmup_steps: int | None = None,
    zero_first: bool = False,
    fused: bool | None = None,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW and its :func:`linear_schedule` (stepped once per optimiser step), the one optimiser of every learner
    and of the victim: two parameter groups, ``decayed`` (``weight_decay``) then ``undecayed`` (0: biases and
    norm weights), learning rate ``lr``; ``fused`` as ``torch.optim.AdamW``'s (``None``: torch's default)."""
    groups = [
        {"params": list(decayed), "weight_decay": weight_decay},
        {"params": list(undecayed), "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=lr, fused=fused)
    factor = linear_schedule(total_steps, warmup, warmup_steps=warmup_steps, zero_first=zero_first)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def split_decay(params: Sequence[torch.Tensor], leading: int = 0) -> tuple[list, list]:
    """``(decayed, undecayed)`` for :func:`adamw`: matrices, and the 1-d tensors (biases, norm weights), a tensor's
    first ``leading`` dimensions not counted (1 for a group's stacked ``[K, ...]`` copies)."""
    return [p for p in params if p.ndim - leading >= 2], [p for p in params if p.ndim - leading < 2]


@contextlib.contextmanager
def seeded_global_rng(device: torch.device, seed: int) -> Iterator[None]:
    """Seed torch's global RNG (used by dropout) inside, restoring the caller's state after."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run small tensor operations (linear heads) on one CPU thread, restoring the thread count after.

    Their kernels are too small to gain from intra-op threads, and on a shared CPU the spinning threads
    made head training about 7x slower (crowd.train.learners.static, measured beside another job on 2 cores).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def linear_rows(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``x @ weight + bias`` in float32, ``(n, d) -> (n, C)``, each row computed by itself.

    A matmul's last bits can change with the number of rows and a row's place among them (blocking, kernels),
    so the products are added up one input column at a time, in order, with elementwise operations only:
    ``out[i] = ((x[i, 0] w[0] + x[i, 1] w[1]) + ...) + b``, the same bits beside any other rows."""
    columns = np.ascontiguousarray(np.asarray(x, dtype=np.float32).T)  # (d, n): column k is row k
    weight = np.asarray(weight, dtype=np.float32)
    if columns.shape[0] != weight.shape[0]:
        raise TrainingInputError(f"features of width {columns.shape[0]} for a weight of shape {weight.shape}")
    out = columns[0][:, None] * weight[0]
    for k in range(1, len(weight)):
        out += columns[k][:, None] * weight[k]
    return out + np.asarray(bias, dtype=np.float32)
