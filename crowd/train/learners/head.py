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

Features come from :class:`crowd.train.frozen.FrozenFeatures`: the rows asked for at once (a group's
training rows in ``fit``, the models' inputs in ``predict``) are de-duplicated, each distinct row is encoded
once by the frozen encoder (on the CPU in fixed-shape batches, so as if alone; on CUDA in batches of equal
attended width, bf16), and with ``feature_cache=True`` (default) it is
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
(tested bit for bit, ``tests/test_independence.py``).

Kept models: :meth:`HeadOnlyTrainer.fit` trains the heads on the copies' training rows alone and returns
each as named arrays, ``weight`` ``(H, C)`` and ``bias`` ``(C,)`` float32 (the encoder is not stored: it is
``model_name``, frozen). :meth:`HeadOnlyTrainer.predict` encodes its input rows as above and applies each
saved head to every row by itself (:func:`linear_rows`), so on the CPU a text's logits are the same bits
whatever rows are predicted beside it (``tests/test_keep_learners.py``). ``fit_predict`` is ``predict`` after
``fit`` (:class:`crowd.train.settings.HeadOnly`); its logits differ from a batched matmul's in the last bits
only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cached_property

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
    concat_rows,
    row_weights,
)
from crowd.train.feature_cache import FeatureCache
from crowd.train.frozen import FrozenFeatures
from crowd.train.settings import HeadOnly


class HeadOnlyTrainer(HeadOnly):
    """The implementation of :class:`crowd.train.settings.HeadOnly` (built from its settings).

    A fitted model (:meth:`fit`) is its head, ``weight`` ``(H, C)`` and ``bias`` ``(C,)`` float32;
    :meth:`predict` applies it to the frozen encoder's features of any rows, each row by itself."""

    def fit(self, request: FitRequest, progress: Progress = None) -> list[ModelState]:
        """One head per copy, trained on its training rows' features (the ``K`` heads at once).

        ``progress(done, total)`` (the runner's models bar, inside a group): rows encoded, then training
        epochs."""
        copies, indices, num_labels = request.copies, request.indices, request.num_labels
        check_group(copies, indices, num_labels)
        report = progress or (lambda done, total: None)
        dev = torch.device(request.device)
        frozen = self.frozen(request.model_name, num_labels, dev)
        frozen.on_batch = lambda done, n: report(done, n + self.epochs)
        try:
            unique, rows = self.features(frozen, [(c.train_ids, c.train_mask) for c in copies])
        finally:
            frozen.on_batch = None
        train_x = torch.from_numpy(np.stack([unique[r] for r in rows])).to(dev)
        labels = torch.from_numpy(np.stack([c.train_labels for c in copies]).astype(np.int64)).to(dev)
        weights = torch.from_numpy(row_weights(copies)).to(dev)
        with one_thread():  # small batched matmuls: threads only spin
            weight, bias = self.train_heads(
                train_x, labels, indices, request.seed, num_labels, report, weights
            )
        weight, bias = weight.float().cpu().numpy(), bias.float().cpu().numpy()
        return [{"weight": w.copy(), "bias": b.copy()} for w, b in zip(weight, bias)]

    def predict(
        self,
        model_name: str,
        states: Sequence[ModelState],
        inputs: Sequence[ModelInputs],
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Logits ``(len(states), n, num_labels)`` float32 of each head on its inputs' features."""
        n = check_inputs(states, inputs)
        for k, state in enumerate(states):
            if state["weight"].ndim != 2 or state["weight"].shape[1] != num_labels:
                raise TrainingInputError(
                    f"model {k}: head weight {state['weight'].shape} is not (hidden, {num_labels})"
                )
        if n == 0:
            return np.zeros((len(states), 0, num_labels), dtype=np.float32)
        frozen = self.frozen(model_name, num_labels, torch.device(device))
        unique, rows = self.features(frozen, [(x.ids, x.mask) for x in inputs])
        return np.stack([linear_rows(unique[r], s["weight"], s["bias"]) for s, r in zip(states, rows)])

    @cached_property
    def _frozen(self) -> dict[tuple[str, int, str], FrozenFeatures]:
        return {}

    def frozen(self, model_name: str, num_labels: int, device: torch.device) -> FrozenFeatures:
        """The frozen encoder's features for these settings, made once per trainer and device, so that
        ``predict`` after ``fit`` loads the encoder once."""
        key = (str(model_name), num_labels, str(device))
        if key not in self._frozen:
            cache = FeatureCache() if self.feature_cache else None
            self._frozen[key] = FrozenFeatures(
                model_name,
                num_labels,
                device,
                self.pooling,
                self.dtype,
                self.max_length,
                self.inference_batch_size,
                cache,
            )
        return self._frozen[key]

    def features(
        self, frozen: FrozenFeatures, parts: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Features of every ``(ids, mask)`` in ``parts``: ``(distinct rows, H)`` float32 and, per part, the
        index of each of its rows among them (each distinct row is encoded once)."""
        # PAD id irrelevant: masked; rows compared as their attended ids and their mask
        ids = concat_rows([p[0] for p in parts], 0)[:, : self.max_length]
        mask = concat_rows([p[1] for p in parts], 0)[:, : self.max_length]
        # Noise leaves many texts unchanged across copies: encode each distinct row once.
        rows = np.concatenate([ids * (mask != 0), mask != 0], axis=1)
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        unique = frozen(ids[first], mask[first])
        bounds = np.cumsum([len(p[0]) for p in parts])[:-1]
        return unique, np.split(inverse.reshape(-1), bounds)

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
        steps = math.ceil(n / self.batch_size)
        optimizer, scheduler = adamw(
            [weight], [bias], self.lr, self.weight_decay, self.epochs * steps, self.warmup
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
