"""Pooled features of a frozen encoder for distinct input rows, computed one way and optionally cached.

Poolings (``pooling``), as in :class:`crowd.train.HeadOnly`:

* ``"pooler"``: the model's pooler output ``tanh(W h_[CLS])``, the exact input of BERT's
  classification layer; models without a pooler raise.
* ``"cls"``: the last hidden state at ``[CLS]``.
* ``"mean"``: the attention-masked mean of the last hidden states.

A row's features must be a function of the row alone (THEORY.md §3, independence). On the CPU
rows are encoded on one thread in batches of exactly :data:`CPU_ROWS` rows of the same attended
width (the last batch of a width filled up with copies of its first row), so every forward has
the same shape whatever the other rows are, and no row is padded. Batching is otherwise not
neutral there: a row's fp32 features got other last bits in a batch of 1-3 rows than of 5 or
more, and with 2 threads by its position in the batch (MKL, tiny BERT and MiniLM), and padding
changes the last bits too; with fixed-shape batches on one thread a row's features were
bit-identical at every position and beside any companions (tested; 200 of 200 trials on MiniLM,
mean and pooler pooling; the same bits as one row per forward for 430 of 430 SST-2 sub-texts), and
11.5x faster than one row per forward on those sub-texts (``benchmarks/bench_frozen_batches.py``). On CUDA rows are batched for speed, in buckets of attended width rounded up
to a multiple of :data:`WIDTH_STEP` (8), each row padded to exactly its bucket's width (a row's
width is its own; its batch is not), so there a row's features may change in the last bits with
the rows beside it (docs/training.md, "Independence of the models"). With a
:class:`FeatureCache`, rows already stored are read back instead of encoded, and the encoder is
loaded only if some row is missing.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from huggingface_hub import snapshot_download

from crowd.train.common import autocast, load_model, one_thread
from crowd.train.data import TrainingInputError
from crowd.train.feature_cache import (
    FeatureCache,
    attended_widths,
    model_identity,
    row_digests,
    shard_key,
)
from crowd.train.models import resolve_model, set_training

WIDTH_STEP = 8
CPU_ROWS = 16  # rows per forward on the CPU, always (a short batch is filled up): one shape for every row


def pool(output, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """``[B, H]`` features from a model output (see the module docstring)."""
    if pooling == "pooler":
        pooled = getattr(output, "pooler_output", None)
        if pooled is None:
            raise TrainingInputError("this model has no pooler: use pooling='cls' or 'mean'")
        return pooled
    hidden = output.last_hidden_state
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


def row_batches(
    widths: np.ndarray, limit: int, device: torch.device, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Rows in batches of one attended width, in input order within a width: ``(rows, fed, width)``.

    ``widths`` are the rows' attended widths (at most ``limit``). On the CPU every batch feeds exactly
    :data:`CPU_ROWS` rows, ``fed``: ``rows`` filled up with copies of ``rows[0]``, cut at ``width``, the rows' own
    width; elsewhere ``fed`` is ``rows`` (up to ``batch_size``) and ``width`` their width rounded up to a
    multiple of :data:`WIDTH_STEP` (at most ``limit``). Run the forwards inside :func:`row_threads`; keep the
    first ``len(rows)`` outputs. Shared by :func:`encode_rows` and the fine-tuning learners' ``predict``."""
    cpu = device.type == "cpu"
    step, size = (1, CPU_ROWS) if cpu else (WIDTH_STEP, batch_size)
    widths = np.minimum(-(-np.asarray(widths, dtype=np.int64) // step) * step, limit)
    order = np.argsort(widths, kind="stable")
    for bucket in np.split(order, np.flatnonzero(np.diff(widths[order])) + 1):
        width = max(int(widths[bucket[0]]), 1) if len(bucket) else 1
        for start in range(0, len(bucket), size):
            rows = bucket[start : start + size]
            yield rows, np.concatenate([rows, np.repeat(rows[:1], size - len(rows))]) if cpu else rows, width


def row_threads(device: torch.device) -> contextlib.AbstractContextManager:
    """One CPU thread for the forwards of :func:`row_batches` on the CPU (a row's bits moved with its position
    in the batch on 2 threads); nothing elsewhere."""
    return one_thread() if device.type == "cpu" else contextlib.nullcontext()


def encode_rows(
    encoder: torch.nn.Module,
    ids: np.ndarray,
    mask: np.ndarray,
    device: torch.device,
    pooling: str,
    dtype: str,
    batch_size: int,
    on_batch: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """``(n, H)`` float32 features. On the CPU fixed batches of :data:`CPU_ROWS` rows of one attended width; elsewhere
    batches of ``batch_size`` rows of equal attended width rounded up to a multiple of :data:`WIDTH_STEP`,
    in input order within a bucket (:func:`row_batches`; see the module docstring).

    ``on_batch(done, n)`` is called with the rows encoded so far, about every ``batch_size`` rows (progress)."""
    out = np.empty((len(ids), encoder.config.hidden_size), dtype=np.float32)
    done = reported = 0
    with torch.no_grad(), autocast(device, dtype), row_threads(device):
        for rows, fed, width in row_batches(attended_widths(mask), ids.shape[1], device, batch_size):
            ids_t = torch.from_numpy(np.ascontiguousarray(ids[fed, :width], dtype=np.int64)).to(device)
            mask_t = torch.from_numpy(np.ascontiguousarray(mask[fed, :width], dtype=np.int64)).to(device)
            output = encoder(input_ids=ids_t, attention_mask=mask_t)
            out[rows] = pool(output, mask_t, pooling).float().cpu().numpy()[: len(rows)]
            done += len(rows)
            if on_batch is not None and (done - reported >= batch_size or done == len(ids)):
                on_batch(done, len(ids))
                reported = done
    return out


def effective_dtype(dtype: str, device: torch.device) -> str:
    """What the encoder really computes in: bf16 autocast runs on CUDA only (``autocast``)."""
    return "bf16" if dtype == "bf16" and device.type == "cuda" else "fp32"


def local_model_dir(model_name: str) -> Path | None:
    """The model's local directory (alias, path, or a hub name already in the local hub cache)."""

    resolved = Path(resolve_model(model_name))
    if resolved.is_dir():
        return resolved
    try:
        return Path(snapshot_download(str(model_name), local_files_only=True))
    except Exception:  # not downloaded, no hub client, offline: no identity, no cache
        return None


class FrozenFeatures:
    """Features of distinct rows for one (model, pooling, dtype, device); ``cache=None`` disables caching.

    The cache shard (``key``) is named by the dtype the encoder really computes in and the device type."""

    def __init__(
        self,
        model_name: str,
        num_labels: int,
        device: torch.device,
        pooling: str,
        dtype: str,
        max_length: int,
        batch_size: int,
        cache: FeatureCache | None,
    ) -> None:
        self.model_name, self.num_labels, self.device = model_name, num_labels, device
        self.pooling, self.dtype, self.batch_size = pooling, dtype, batch_size
        self.cache, self.key = cache, None
        self.on_batch: Callable[[int, int], None] | None = None
        self._encoder: torch.nn.Module | None = None
        if cache is not None:
            folder = local_model_dir(model_name)
            if folder is None:
                warnings.warn(
                    f"model {model_name!r} has no local directory: features not cached", stacklevel=2
                )
            else:
                identity = model_identity(folder)
                computed = effective_dtype(dtype, device)
                self.key = shard_key(identity, pooling, max_length, computed, device.type)

    def encoder(self) -> torch.nn.Module:
        if self._encoder is None:
            model = load_model(self.model_name, self.num_labels, self.device)
            self._encoder = set_training(model.base_model, False).requires_grad_(False)
        return self._encoder

    def compute(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Encode rows now (no cache); ``self.on_batch(done, n)`` reports progress when set."""
        return encode_rows(
            self.encoder(), ids, mask, self.device, self.pooling, self.dtype, self.batch_size, self.on_batch
        )

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``(n, H)`` float32 features of distinct rows ``(ids, mask)``, from the cache where present."""
        if self.cache is None or self.key is None:
            return self.compute(ids, mask)
        digests = row_digests(ids, mask)
        return self.cache.features(self.key, digests, lambda sel: self.compute(ids[sel], mask[sel]))
