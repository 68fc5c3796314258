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

Features come from :class:`crowd.train.frozen.FrozenFeatures`: the rows of a group of copies
(train and test) are de-duplicated, each distinct row is encoded once by the frozen encoder (alone
on the CPU; on CUDA in batches of equal attended width, bf16), and with ``feature_cache=True`` (default) it is
read from / written to the on-disk :mod:`crowd.train.feature_cache`, shared by copies, groups,
methods and later runs (location ``$CROWD_FEATURE_CACHE`` or ``crowd.paths.cache_dir() /
"features"``; ``crowd.train.feature_cache.cache_stats()`` gives its hit rate and size). When every
row is cached the encoder is not even loaded. Then the ``K`` heads of the group are trained as one
batched operation (weights ``[K, H, C]``, ``torch.baddbmm``) with AdamW, each copy on its own
shuffles ``rng(seed, "shuffle", j, epoch)`` and its own initial weights
``torch_seed(seed, "init", j)``; a copy's loss is the mean over its batch of ``w_i · loss_i`` with its own
``train_weights`` (1 where absent). Dropout is not applied to the features (frozen encoder in eval
mode, deterministic features). On the CPU a row's features do not depend on the rows encoded beside
it (:mod:`crowd.train.frozen`), and a copy's head does not depend on the other heads of its group
(tested bit for bit, ``tests/test_independence.py``). ``fit_predict`` returns the heads' logits on
the test rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from crowd.train.common import init_head, linear_schedule, one_thread, permutations
from crowd.train.data import CopyData, check_group, concat_rows, row_weights
from crowd.train.feature_cache import FeatureCache
from crowd.train.frozen import FrozenFeatures
from crowd.train.settings import HeadOnly


class HeadOnlyTrainer(HeadOnly):
    """The implementation of :class:`crowd.train.settings.HeadOnly` (built from its settings)."""

    def fit_predict(
        self,
        model_name: str,
        copies: Sequence[CopyData],
        indices: Sequence[int],
        seed: int,
        device: str,
        num_labels: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Test logits ``(len(copies), n_test, num_labels)`` float32, one head per copy.

        ``progress(done, total)`` (the runner's models bar, inside a group): rows encoded, then training epochs."""
        check_group(copies, indices, num_labels)
        report = progress or (lambda done, total: None)
        dev = torch.device(device)
        frozen = FrozenFeatures(
            model_name,
            num_labels,
            dev,
            self.pooling,
            self.dtype,
            self.max_length,
            self.inference_batch_size,
            FeatureCache() if self.feature_cache else None,
        )
        frozen.on_batch = lambda done, n: report(done, n + self.epochs)
        train_x, test_x = self.features(frozen, copies, dev)
        labels = torch.from_numpy(np.stack([c.train_labels for c in copies]).astype(np.int64)).to(dev)
        weights = torch.from_numpy(row_weights(copies)).to(dev)
        with one_thread():  # small batched matmuls: threads only spin
            weight, bias = self.train_heads(train_x, labels, indices, seed, num_labels, report, weights)
        with torch.no_grad():
            logits = torch.baddbmm(bias.unsqueeze(1), test_x, weight)
        return logits.float().cpu().numpy()

    def features(
        self, frozen: FrozenFeatures, copies: Sequence[CopyData], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of every copy's train and test texts: ``[K, n_train, H]``, ``[K, n_test, H]``."""
        k, n_train, n_test = len(copies), copies[0].n_train, copies[0].n_test
        # rows: every copy's training texts, then every copy's test texts (PAD id irrelevant: masked)
        ids = concat_rows([c.train_ids for c in copies] + [c.test_ids for c in copies], 0)
        mask = concat_rows([c.train_mask for c in copies] + [c.test_mask for c in copies], 0)
        flat_ids, flat_mask = ids[:, : self.max_length], mask[:, : self.max_length]
        # Noise leaves many texts unchanged across copies: encode each distinct row once.
        rows = np.concatenate([flat_ids * (flat_mask != 0), flat_mask != 0], axis=1)
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        feats = torch.from_numpy(frozen(flat_ids[first], flat_mask[first])).to(device)
        feats = feats[torch.from_numpy(inverse.reshape(-1)).to(device)]
        train = feats[: k * n_train].view(k, n_train, -1)
        test = feats[k * n_train :].view(k, n_test, -1)
        return train, test

    def train_heads(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        indices: Sequence[int],
        seed: int,
        num_labels: int,
        report: Callable[[int, int], None] | None = None,
        weights: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Train ``K`` linear heads on features ``x [K, n, H]``, labels ``y [K, n]`` and loss weights
        ``weights [K, n]`` (``None``: all 1) at once."""
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
        w = torch.ones(k, n, device=x.device) if weights is None else weights
        for epoch in range(self.epochs):
            if report is not None:
                report(epoch, self.epochs)
            for step in range(steps):
                idx = perms[:, epoch, step * self.batch_size : (step + 1) * self.batch_size]
                logits = torch.baddbmm(bias.unsqueeze(1), x[row, idx], weight)
                loss = F.cross_entropy(
                    logits.reshape(-1, num_labels), y[row, idx].reshape(-1), reduction="none"
                )
                optimizer.zero_grad(set_to_none=True)
                (w[row, idx] * loss.view(k, -1)).mean(dim=1).sum().backward()
                optimizer.step()
                scheduler.step()
        if report is not None:
            report(self.epochs, self.epochs)
        return weight.detach(), bias.detach()
