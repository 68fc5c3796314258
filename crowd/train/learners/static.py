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

Kept models: :meth:`StaticBagTrainer.fit` returns each copy's classifier as named float32 arrays, ``w0``
``(d, h)``, ``b0`` ``(h,)`` and, with a hidden layer, ``w1`` ``(h, C)``, ``b1`` ``(C,)`` (``h = C`` without
one); the vectors are not stored (a fixed table named by ``vectors``). :meth:`StaticBagTrainer.predict` bags
its input rows as in training and applies each layer to every row by itself
(:func:`crowd.train.common.linear_rows`), so on the CPU a text's logits are the same bits whatever rows are
predicted beside it (``tests/test_keep_learners.py``); they differ from a batched matmul's in the last bits
only. ``fit_predict`` is ``predict`` after ``fit`` (:class:`crowd.train.settings.StaticBag`).

Plug-in: encode copies with :class:`crowd.train.static_vectors.StaticEncoder` (``StaticBag.encoder()``)
and pass the learner to :func:`crowd.train.run_votes`; ``model_name`` is ignored (the vectors are
named by ``vectors``). This module imports torch; configs holding a :class:`StaticBag` are read without it
(:mod:`crowd.train.settings`, which names this trainer as a string).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from crowd.train.common import adamw, init_head, linear_rows, one_thread, permutations
from crowd.train.data import (
    FitRequest,
    ModelInputs,
    ModelState,
    Progress,
    TrainingInputError,
    check_group,
    check_inputs,
    row_weights,
)
from crowd.train.settings import StaticBag
from crowd.train.static_vectors import FIRST_WORD, load_table


class StaticBagTrainer(StaticBag):
    """The implementation of :class:`crowd.train.settings.StaticBag` (built from its settings).

    Runs on one CPU thread (:func:`crowd.train.common.one_thread`): measured, 10 copies of SST-2 in 57 s with
    2 threads beside another job, 7.5 s with 1."""

    def fit(self, request: FitRequest, progress: Progress = None) -> list[ModelState]:
        """One classifier per copy, trained on its training rows (the ``K`` classifiers at once)."""
        copies, indices, seed, num_labels = request.copies, request.indices, request.seed, request.num_labels
        check_group(copies, indices, num_labels)
        dev = torch.device(request.device)
        with one_thread():
            table = self.table(dev)
            for j, c in zip(indices, copies):
                self.check_ids(table, c.train_ids, f"copy {j}")
            train_x = torch.stack([self.bag(table, c.train_ids, c.train_mask) for c in copies])
            labels = torch.from_numpy(np.stack([c.train_labels for c in copies]).astype(np.int64)).to(dev)
            weights = torch.from_numpy(row_weights(copies)).to(dev)
            params = self.train_heads(train_x, labels, indices, seed, num_labels, weights)
        arrays = [p.float().cpu().numpy() for p in params]
        names = [f"{kind}{layer}" for layer in range(len(params) // 2) for kind in ("w", "b")]
        if progress is not None:
            progress(1, 1)
        return [{name: a[k].copy() for name, a in zip(names, arrays)} for k in range(len(copies))]

    def predict(
        self,
        model_name: str,
        states: Sequence[ModelState],
        inputs: Sequence[ModelInputs],
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Logits ``(len(states), n, num_labels)`` float32 of each classifier on its inputs' bags."""
        check_inputs(states, inputs)
        with one_thread():
            table = self.table(torch.device(device))
            out = []
            for k, (state, x) in enumerate(zip(states, inputs)):
                self.check_state(state, table.shape[1], num_labels, k)
                self.check_ids(table, x.ids, f"model {k}")
                out.append(self.forward_rows(state, self.bag(table, x.ids, x.mask).float().cpu().numpy()))
        return np.stack(out)

    def table(self, device: torch.device) -> torch.Tensor:
        """The word-vector table ``vectors`` on ``device``."""
        return torch.from_numpy(np.array(load_table(self.vectors).matrix)).to(device)

    def check_ids(self, table: torch.Tensor, ids: np.ndarray, what: str) -> None:
        if ids.size and (ids.min() < 0 or ids.max() >= len(table)):
            raise ValueError(f"{what}: ids outside the {len(table)}-row table of {self.vectors!r}")

    def check_state(self, state: ModelState, dim: int, num_labels: int, k: int) -> None:
        """Raise :class:`TrainingInputError` unless ``state`` is a classifier of these settings."""
        want = {"w0": 2, "b0": 1} | ({"w1": 2, "b1": 1} if self.hidden else {})
        if set(state) != set(want) or any(state[n].ndim != d for n, d in want.items()):
            shapes = {n: a.shape for n, a in state.items()}
            raise TrainingInputError(f"model {k}: {shapes} is not a classifier with hidden = {self.hidden}")
        last = state["w1" if self.hidden else "w0"]
        if state["w0"].shape[0] != dim or last.shape[1] != num_labels:
            raise TrainingInputError(
                f"model {k}: a classifier from {state['w0'].shape[0]}-d vectors to {last.shape[1]} classes, "
                f"not from the {dim}-d vectors of {self.vectors!r} to {num_labels}"
            )

    @staticmethod
    def forward_rows(state: ModelState, x: np.ndarray) -> np.ndarray:
        """``(n, C)`` float32 logits of one classifier ``state`` on bags ``x (n, d)``, each row by itself."""
        h = linear_rows(x, state["w0"], state["b0"])
        if "w1" in state:
            h = linear_rows(np.maximum(h, 0), state["w1"], state["b1"])
        return h

    def bag(self, table, ids: np.ndarray, mask: np.ndarray):
        """``[n, d]`` mean (or sum) of the vectors of each row's known words (``embedding_bag``: each row
        summed by itself, whatever the other rows)."""
        if len(ids) == 0:
            return table.new_zeros(0, table.shape[1])
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
        steps = math.ceil(n / self.batch_size)
        optimizer, scheduler = adamw(
            params[0::2], params[1::2], self.lr, self.weight_decay, self.epochs * steps, self.warmup
        )
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
