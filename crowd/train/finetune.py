"""Full fine-tuning of a group of copies at once: K models that step together.

Each copy is an independent fine-tuning run with CROWD's per-copy
hyperparameters (batch 8, lr 5e-5, AdamW), but the ``K`` copies of a group are
computed as one model with stacked parameters (``[K, ...]``) through
``torch.func.functional_call`` under ``torch.vmap``: every step the GPU sees
``K x batch_size`` sequences (e.g. 64 x 8 = 512), the regime where an H100 runs
at ~12x the throughput of batch 32. AdamW is elementwise, so one optimizer over
the stacked tensors is exactly K independent AdamW runs; gradient clipping is
done per copy (each copy's own global norm), the learning-rate schedule is shared
(all copies take the same number of steps).

What a copy's model depends on: the pretrained weights, its head
initialisation ``torch_seed(seed, "init", j)``, its shuffles
``rng(seed, "shuffle", j, epoch)``, and dropout, which comes from torch's global
generator seeded with ``torch_seed(seed, "dropout", first index of the group)``
and drawn for the whole group at once. Dropout masks therefore depend on the
group's composition; groups are fixed blocks of copy indices (see
``crowd.train.runner``), so a resumed or sharded run rebuilds the same groups and,
on the CPU, the same votes bit for bit. On a GPU, atomics in some backward
kernels make training reproducible only up to floating-point noise.

If ``vmap`` fails on a model (data-dependent Python control flow in its
forward), the learner warns and falls back to ``grouping="loop"``: the same
stacked parameters and optimizer, one forward per copy.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from crowd.seeding import torch_seed
from crowd.train.common import (
    autocast,
    head_parameter_names,
    init_head,
    length_batches,
    linear_schedule,
    load_model,
    permutations,
    seeded_global_rng,
    to_device,
)
from crowd.train.data import CopyData, check_group, pad_width
from crowd.train.settings import FullFineTune


class FullFineTuneTrainer(FullFineTune):
    """The implementation of :class:`crowd.train.settings.FullFineTune` (built from its settings)."""

    def fit_predict(
        self,
        model_name: str,
        copies: Sequence[CopyData],
        indices: Sequence[int],
        seed: int,
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Test logits ``(len(copies), n_test, num_labels)`` float32, one fine-tuned model per copy."""
        check_group(copies, indices, num_labels)
        dev = torch.device(device)
        model = load_model(model_name, num_labels, dev)
        group = _Group(model, indices, seed, self.grouping)
        pad = int(getattr(model.config, "pad_token_id", 0) or 0)
        train_ids = pad_width([c.train_ids[:, : self.max_length] for c in copies], pad)
        train_mask = pad_width([c.train_mask[:, : self.max_length] for c in copies], 0)
        labels = np.stack([c.train_labels for c in copies]).astype(np.int64)
        with seeded_global_rng(dev, torch_seed(seed, "dropout", indices[0])):
            self._train(group, train_ids, train_mask, labels, indices, seed, dev)
        test_ids = pad_width([c.test_ids[:, : self.max_length] for c in copies], pad)
        test_mask = pad_width([c.test_mask[:, : self.max_length] for c in copies], 0)
        return self._predict(group, test_ids, test_mask, dev)

    def _train(
        self,
        group: _Group,
        ids: np.ndarray,
        mask: np.ndarray,
        labels: np.ndarray,
        indices: Sequence[int],
        seed: int,
        device: torch.device,
    ) -> None:
        k, n, _ = ids.shape
        steps = math.ceil(n / self.batch_size)
        optimizer = group.optimizer(self.lr, self.weight_decay, device)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, linear_schedule(self.epochs * steps, self.warmup)
        )
        perms = permutations(seed, indices, self.epochs, n)
        row = np.arange(k)[:, None]
        group.base.train()
        for epoch in range(self.epochs):
            for step in range(steps):
                idx = perms[:, epoch, step * self.batch_size : (step + 1) * self.batch_size]
                ids_t, mask_t = to_device(ids[row, idx], mask[row, idx], device)
                y = torch.from_numpy(labels[row, idx]).to(device)
                with autocast(device, self.dtype):
                    logits = group.logits(ids_t, mask_t)
                loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none")
                optimizer.zero_grad(set_to_none=True)
                loss.view(k, -1).mean(dim=1).sum().backward()
                if self.max_grad_norm is not None:
                    group.clip_per_copy(self.max_grad_norm)
                optimizer.step()
                scheduler.step()

    def _predict(self, group: _Group, ids: np.ndarray, mask: np.ndarray, device: torch.device) -> np.ndarray:
        k, n, _ = ids.shape
        out = None
        group.base.eval()
        with torch.no_grad(), autocast(device, self.dtype):
            for rows in length_batches(mask.sum(axis=2).max(axis=0), self.inference_batch_size):
                ids_t, mask_t = to_device(ids[:, rows], mask[:, rows], device)
                logits = group.logits(ids_t, mask_t).float().cpu().numpy()
                if out is None:
                    out = np.empty((k, n, logits.shape[-1]), dtype=np.float32)
                out[:, rows] = logits
        return out


class _Group:
    """``K`` copies of one architecture as stacked parameters ``{name: [K, ...]}`` and a functional forward."""

    def __init__(self, model: torch.nn.Module, indices: Sequence[int], seed: int, grouping: str) -> None:
        k = len(indices)
        head = set(head_parameter_names(model))
        std = float(getattr(model.config, "initializer_range", 0.02))
        shapes = {n: p.shape for n, p in model.named_parameters() if n in head}
        inits = [init_head(shapes, std, seed, j) for j in indices]
        self.params: dict[str, torch.Tensor] = {}
        for name, p in model.named_parameters():
            if name in head:
                stacked = torch.stack([i[name] for i in inits]).to(p.device)
            else:
                stacked = p.detach().unsqueeze(0).expand(k, *p.shape).clone()
            self.params[name] = stacked.requires_grad_()
        self.buffers = {n: b for n, b in model.named_buffers()}
        self.base = model.to("meta")
        self.grouping = grouping

    def _one(self, params: dict[str, torch.Tensor], ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # a ready 4-d boolean mask skips transformers' data-dependent mask checks (not vmappable)
        mask4 = mask[:, None, None, :].bool()
        kwargs = {"input_ids": ids, "attention_mask": mask4}
        return functional_call(self.base, (params, self.buffers), (), kwargs).logits

    def logits(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[K, B, C]`` logits of copy k on rows ``ids[k]``."""
        if self.grouping == "vmap":
            try:
                return torch.vmap(self._one, randomness="different")(self.params, ids, mask)
            except torch.OutOfMemoryError:
                raise
            except RuntimeError as e:  # vmap-incompatible forward: same maths, one copy at a time
                warnings.warn(f"vmap failed on this model ({e}); training copies one at a time", stacklevel=2)
                self.grouping = "loop"
        outs = [
            self._one({n: p[k] for n, p in self.params.items()}, ids[k], mask[k]) for k in range(len(ids))
        ]
        return torch.stack(outs)

    def optimizer(self, lr: float, weight_decay: float, device: torch.device) -> torch.optim.Optimizer:
        """AdamW over the stacked tensors; biases and norm weights (1-d per copy) are not decayed."""
        decay = [p for p in self.params.values() if p.ndim > 2]
        rest = [p for p in self.params.values() if p.ndim <= 2]
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=lr, fused=device.type == "cuda")

    def clip_per_copy(self, max_norm: float) -> None:
        """Scale each copy's gradient to global norm at most ``max_norm`` (``clip_grad_norm_`` per copy)."""
        grads = [p.grad for p in self.params.values() if p.grad is not None]
        squares = torch.stack([g.float().pow(2).flatten(1).sum(dim=1) for g in grads]).sum(dim=0)
        coef = (max_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *([1] * (g.ndim - 1))).to(g.dtype))
