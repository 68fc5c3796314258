"""The naive per-copy fine-tuning loop: the baseline the grouped learner (:class:`crowd.train.FullFineTune`)
is measured against (``benchmarks/bench_train.py`` on the CPU, part b of ``benchmarks/device`` on a GPU).

It is the loop one writes first: one model after another, ``model(...).loss.backward()``, AdamW, no
grouping, no length bucketing (each batch cut to its longest row). Not used by ``crowd certify``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from crowd.train.common import autocast, load_model
from crowd.train.data import CopyData
from crowd.train.models import set_training


def naive_fit_predict(
    model_name: str,
    copies: Sequence[CopyData],
    epochs: int,
    dtype: str,
    device: torch.device,
    batch_size: int = 32,
    lr: float = 5e-5,
) -> np.ndarray:
    """Fine-tune a fresh ``model_name`` on each copy in turn; its test predictions, ``[len(copies), n_test]``.

    Copy ``j`` is seeded with ``j`` (head initialisation and shuffles); ``dtype = "bf16"`` runs under bf16
    autocast on CUDA (fp32 elsewhere, see :func:`crowd.train.common.autocast`).
    """
    votes = []
    for j, copy in enumerate(copies):
        torch.manual_seed(j)
        model = set_training(load_model(model_name, 2, device), True)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        ids, mask = torch.from_numpy(copy.train_ids).long(), torch.from_numpy(copy.train_mask).long()
        labels = torch.from_numpy(copy.train_labels).long()
        shuffle = torch.Generator().manual_seed(j)
        for _ in range(epochs):
            for rows in torch.randperm(len(ids), generator=shuffle).split(batch_size):
                width = int(mask[rows].sum(1).max())
                with autocast(device, dtype):
                    loss = model(
                        input_ids=ids[rows, :width].to(device),
                        attention_mask=mask[rows, :width].to(device),
                        labels=labels[rows].to(device),
                    ).loss
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        votes.append(predict_copy(model, copy, device, dtype))
    return np.stack(votes)


def predict_copy(
    model, copy: CopyData, device: torch.device, dtype: str, batch_size: int = 256
) -> np.ndarray:
    """``model``'s predicted labels for ``copy``'s test rows, in batches of about ``batch_size``."""
    set_training(model, False)
    out = []
    with torch.no_grad(), autocast(device, dtype):
        for rows in np.array_split(np.arange(copy.n_test), max(1, copy.n_test // batch_size)):
            ids = torch.from_numpy(copy.test_ids[rows]).long().to(device)
            mask = torch.from_numpy(copy.test_mask[rows]).long().to(device)
            out.append(model(input_ids=ids, attention_mask=mask).logits.argmax(-1).cpu().numpy())
    return np.concatenate(out)
