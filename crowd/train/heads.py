"""Head-only learner: a frozen encoder, one linear classifier head trained per noisy copy.

CROWD (Sun, Sen, Ruan) reports a variant where "only the top layer is
fine-tuned": the pretrained encoder is frozen and only the classification layer
is trained. Here the top layer is a linear map from a feature vector to logits,
as in ``BertForSequenceClassification`` (dropout + ``Linear`` over the pooled
output). Features (``pooling``):

* ``"pooler"`` (default): the model's pooler output, ``tanh(W h_[CLS])``, the
  exact input of BERT's classification layer. Models without a pooler (RoBERTa's
  sequence-classification checkpoints, DistilBERT) raise: use another pooling.
* ``"cls"``: the last hidden state at ``[CLS]``.
* ``"mean"``: the attention-masked mean of the last hidden states (how
  sentence-transformers such as all-MiniLM-L6-v2 were trained).

Noise changes the texts, so features are computed per copy. The GPU path: all
texts of a group of copies (train and test) are sorted by length and run through
the encoder in large bf16 batches, trimmed to the longest text in each batch;
features live on the device only for one group (memory bounded by
``copies_per_group``). Then the ``K`` heads of the group are trained as one
batched operation (weights ``[K, H, C]``, ``torch.baddbmm``) with AdamW, each copy
on its own shuffles ``rng(seed, "shuffle", j, epoch)`` and its own initial
weights ``torch_seed(seed, "init", j)``. Dropout is not applied to the features
(frozen encoder in eval mode, deterministic features).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from crowd.train.common import (
    autocast,
    check_positive,
    init_head,
    length_batches,
    linear_schedule,
    load_model,
    permutations,
)
from crowd.train.common import to_device as rows_to_device
from crowd.train.data import CopyData, TrainingInputError, check_group, concat_rows


@dataclass(frozen=True)
class HeadOnly:
    """Frozen encoder, a linear head per copy. Defaults: see docs/training.md.

    ``lr``/``batch_size``/``epochs`` default to a linear-probe setting (AdamW,
    lr 1e-3, batch 32, 10 epochs): CROWD's fine-tuning values (lr 5e-5, batch 8)
    barely move a freshly initialised head; set them explicitly to reproduce
    CROWD exactly.
    """

    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.0
    warmup: float = 0.0
    max_length: int = 128
    dtype: Literal["bf16", "fp32"] = "bf16"
    copies_per_group: int = 128
    pooling: Literal["pooler", "cls", "mean"] = "pooler"
    inference_batch_size: int = 1024
    init_std: float = 0.02

    def __post_init__(self) -> None:
        check_positive(
            self, ("epochs", "batch_size", "copies_per_group", "inference_batch_size", "max_length")
        )

    def fit_predict(
        self,
        model_name: str,
        copies: Sequence[CopyData],
        indices: Sequence[int],
        seed: int,
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Predicted test labels ``(len(copies), n_test)`` int32, one head per copy."""
        check_group(copies, indices, num_labels)
        dev = torch.device(device)
        encoder = load_model(model_name, num_labels, dev).base_model.eval().requires_grad_(False)
        train_x, test_x = self.features(encoder, copies, dev)
        del encoder
        labels = torch.from_numpy(np.stack([c.train_labels for c in copies]).astype(np.int64)).to(dev)
        weight, bias = self.train_heads(train_x, labels, indices, seed, num_labels)
        with torch.no_grad():
            logits = torch.baddbmm(bias.unsqueeze(1), test_x, weight)
        return logits.argmax(-1).to(torch.int32).cpu().numpy()

    def features(
        self, encoder: torch.nn.Module, copies: Sequence[CopyData], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of every copy's train and test texts: ``[K, n_train, H]``, ``[K, n_test, H]``."""
        k, n_train, n_test = len(copies), copies[0].n_train, copies[0].n_test
        pad = int(getattr(encoder.config, "pad_token_id", 0) or 0)
        # rows: every copy's training texts, then every copy's test texts
        ids = concat_rows([c.train_ids for c in copies] + [c.test_ids for c in copies], pad)
        mask = concat_rows([c.train_mask for c in copies] + [c.test_mask for c in copies], 0)
        flat_ids, flat_mask = ids[:, : self.max_length], mask[:, : self.max_length]
        # Noise leaves many texts unchanged across copies: encode each distinct row once.
        rows = np.concatenate([flat_ids * (flat_mask != 0), flat_mask], axis=1)
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        feats = self._encode_rows(encoder, flat_ids[first], flat_mask[first], device)
        feats = feats[torch.from_numpy(inverse.reshape(-1)).to(device)]
        train = feats[: k * n_train].view(k, n_train, -1)
        test = feats[k * n_train :].view(k, n_test, -1)
        return train, test

    def _encode_rows(
        self, encoder: torch.nn.Module, ids: np.ndarray, mask: np.ndarray, device: torch.device
    ) -> torch.Tensor:
        out = torch.empty(len(ids), encoder.config.hidden_size, device=device)
        with torch.no_grad(), autocast(device, self.dtype):
            for rows in length_batches(mask.sum(axis=1), self.inference_batch_size):
                ids_t, mask_t = rows_to_device(ids[rows], mask[rows], device)
                output = encoder(input_ids=ids_t, attention_mask=mask_t)
                out[torch.from_numpy(rows).to(device)] = _pool(output, mask_t, self.pooling).float()
        return out

    def train_heads(
        self, x: torch.Tensor, y: torch.Tensor, indices: Sequence[int], seed: int, num_labels: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Train ``K`` linear heads on features ``x [K, n, H]`` and labels ``y [K, n]`` at once."""
        k, n, hidden = x.shape
        shapes = {"weight": torch.Size([hidden, num_labels]), "bias": torch.Size([num_labels])}
        inits = [init_head(shapes, self.init_std, seed, j) for j in indices]
        weight = torch.stack([i["weight"] for i in inits]).to(x.device).requires_grad_()
        bias = torch.stack([i["bias"] for i in inits]).to(x.device).requires_grad_()
        groups = [
            {"params": [weight], "weight_decay": self.weight_decay},
            {"params": [bias], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=self.lr)
        steps = math.ceil(n / self.batch_size)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, linear_schedule(self.epochs * steps, self.warmup)
        )
        perms = torch.from_numpy(permutations(seed, indices, self.epochs, n)).to(x.device)
        row = torch.arange(k, device=x.device)[:, None]
        for epoch in range(self.epochs):
            for step in range(steps):
                idx = perms[:, epoch, step * self.batch_size : (step + 1) * self.batch_size]
                logits = torch.baddbmm(bias.unsqueeze(1), x[row, idx], weight)
                loss = F.cross_entropy(
                    logits.reshape(-1, num_labels), y[row, idx].reshape(-1), reduction="none"
                )
                optimizer.zero_grad(set_to_none=True)
                loss.view(k, -1).mean(dim=1).sum().backward()
                optimizer.step()
                scheduler.step()
        return weight.detach(), bias.detach()


def _pool(output, mask: torch.Tensor, pooling: str) -> torch.Tensor:
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
