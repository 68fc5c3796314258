"""A fast learner for synonym noise: a bag of static word vectors and a small classifier per copy.

In the spirit of fastText (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification"):
a text is the mean (or sum) of its words' vectors, followed by a linear classifier (``hidden = 0``)
or one ReLU hidden layer. Unlike fastText the word vectors are not trained: they are a fixed table
(raw GloVe 6B 50-d by default, see :mod:`crowd.train.static_vectors`), so a noisy copy's features
are one gather and a segment sum (``torch.nn.functional.embedding_bag``), with no encoder, however
many words the noise changed. UNK and PAD rows are left out of the mean; a text without a known
word has the zero vector.

Training is HeadOnly's: the ``K`` classifiers of a group are stacked tensors (``[K, d, C]``) trained
together with ``torch.baddbmm`` and AdamW (elementwise, hence exactly ``K`` independent runs); copy
``j`` starts from ``torch_seed(seed, "init", j)`` and visits its examples in the order
``rng(seed, "shuffle", j, epoch)``, so a copy's classifier does not depend on its group (on the CPU bit
for bit, ``tests/test_independence.py``). A copy's loss is the mean over its batch of ``w_i · loss_i``
with its own ``train_weights`` (1 where absent). No dropout.

Plug-in: encode copies with :class:`crowd.train.static_vectors.StaticEncoder` (``StaticBag.encoder()``)
and pass the learner to :func:`crowd.train.run_votes`; ``model_name`` is ignored (the vectors are
named by ``vectors``). ``fit_predict`` returns test logits. This module imports torch; configs holding a
:class:`StaticBag` are read without it (:mod:`crowd.train.settings`), and ``import crowd.train.static``
names this trainer without importing torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from crowd.train.common import init_head, linear_schedule, one_thread, permutations
from crowd.train.data import CopyData, check_group, row_weights
from crowd.train.settings import StaticBag
from crowd.train.static_vectors import FIRST_WORD, load_table


class StaticBagTrainer(StaticBag):
    """The implementation of :class:`crowd.train.settings.StaticBag` (built from its settings)."""

    def fit_predict(
        self,
        model_name: str,
        copies: Sequence[CopyData],
        indices: Sequence[int],
        seed: int,
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Test logits ``(len(copies), n_test, num_labels)`` float32, one classifier per copy.

        Runs on one CPU thread (:func:`crowd.train.common.one_thread`): measured, 10 copies of SST-2 in 57 s
        with 2 threads beside another job, 7.5 s with 1.
        """
        with one_thread():
            return self._fit_predict(copies, indices, seed, device, num_labels)

    def _fit_predict(self, copies, indices, seed: int, device: str, num_labels: int) -> np.ndarray:
        check_group(copies, indices, num_labels)
        dev = torch.device(device)
        table = torch.from_numpy(np.array(load_table(self.vectors).matrix)).to(dev)
        for j, c in zip(indices, copies):
            for ids in (c.train_ids, c.test_ids):
                if ids.size and (ids.min() < 0 or ids.max() >= len(table)):
                    raise ValueError(f"copy {j}: ids outside the {len(table)}-row table of {self.vectors!r}")
        train_x = torch.stack([self.bag(table, c.train_ids, c.train_mask) for c in copies])
        test_x = torch.stack([self.bag(table, c.test_ids, c.test_mask) for c in copies])
        labels = torch.from_numpy(np.stack([c.train_labels for c in copies]).astype(np.int64)).to(dev)
        weights = torch.from_numpy(row_weights(copies)).to(dev)
        params = self.train_heads(train_x, labels, indices, seed, num_labels, weights)
        with torch.no_grad():
            return self.forward(params, test_x).float().cpu().numpy()

    def bag(self, table, ids: np.ndarray, mask: np.ndarray):
        """``[n, d]`` mean (or sum) of the vectors of each row's known words (``embedding_bag``)."""
        ids = np.asarray(ids)[:, : self.max_length]
        known = (np.asarray(mask)[:, : self.max_length] != 0) & (ids >= FIRST_WORD)
        counts = known.sum(axis=1)
        flat = torch.from_numpy(ids[known].astype(np.int64)).to(table.device)
        offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64))
        out = F.embedding_bag(flat, table, offsets.to(table.device), mode="sum")
        if self.pooling == "mean":
            out = out / torch.from_numpy(np.maximum(counts, 1)).to(out).unsqueeze(1)
        return out

    def init(self, indices: Sequence[int], seed: int, dim: int, num_labels: int, device) -> list:
        """Stacked initial parameters ``[W1, b1, (W2, b2)]`` of the copies ``indices``."""
        sizes = [dim, self.hidden, num_labels] if self.hidden else [dim, num_labels]
        shapes = {}
        for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes[f"w{layer}"], shapes[f"b{layer}"] = torch.Size([a, b]), torch.Size([b])
        inits = [init_head(shapes, self.init_std, seed, j) for j in indices]
        return [torch.stack([i[name] for i in inits]).to(device).requires_grad_() for name in shapes]

    @staticmethod
    def forward(params: list, x):
        """``[K, B, C]`` logits of stacked classifiers ``params`` on features ``x [K, B, d]``."""
        h = torch.baddbmm(params[1].unsqueeze(1), x, params[0])
        if len(params) == 4:
            h = torch.baddbmm(params[3].unsqueeze(1), torch.relu(h), params[2])
        return h

    def train_heads(self, x, y, indices: Sequence[int], seed: int, num_labels: int, weights=None) -> list:
        """Train ``K`` classifiers on features ``x [K, n, d]``, labels ``y [K, n]`` and loss weights
        ``weights [K, n]`` (``None``: all 1) at once."""
        k, n, dim = x.shape
        params = self.init(indices, seed, dim, num_labels, x.device)
        groups = [
            {"params": params[0::2], "weight_decay": self.weight_decay},
            {"params": params[1::2], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=self.lr)
        steps = math.ceil(n / self.batch_size)
        schedule = linear_schedule(self.epochs * steps, self.warmup)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        perms = torch.from_numpy(permutations(seed, indices, self.epochs, n)).to(x.device)
        row = torch.arange(k, device=x.device)[:, None]
        w = torch.ones(k, n, device=x.device) if weights is None else weights
        for epoch in range(self.epochs):
            # one gather per epoch (each copy's examples in its own order), then contiguous batches
            order = perms[:, epoch]
            x_epoch, y_epoch, w_epoch = x[row, order], y[row, order], w[row, order]
            for step in range(steps):
                batch = slice(step * self.batch_size, (step + 1) * self.batch_size)
                logits = self.forward(params, x_epoch[:, batch])
                loss = F.cross_entropy(
                    logits.reshape(-1, num_labels), y_epoch[:, batch].reshape(-1), reduction="none"
                )
                optimizer.zero_grad(set_to_none=True)
                (w_epoch[:, batch] * loss.view(k, -1)).mean(dim=1).sum().backward()
                optimizer.step()
                scheduler.step()
        return [p.detach() for p in params]
