"""Partial fine-tuning per copy: the top ``trainable_layers`` layers (+ pooler, head) of one model per copy.

The technique of the empirical defenses' victim (:mod:`crowd.train.partial`, ``Victim(trainable_layers=k)``),
applied to the certified methods' models: the embeddings and the lower ``L - k`` transformer layers of a
BERT-style encoder stay frozen, so their output is a function of the input row alone (eval mode, no dropout);
it is computed once per distinct row of a copy (:class:`crowd.train.partial.StateCache`, keyed by the row's
attended token ids) and every epoch trains the top ``k`` layers, the pooler and a fresh head from these states
(:func:`crowd.train.partial.layer_range`). Copies are trained ONE AT A TIME on the one loaded model, whose
trainable part is reset to the pretrained weights before each copy.

Independence (THEORY.md §3): copy ``j``'s model is a function of the pretrained weights, its own rows and
``(seed, j)`` alone:

* its head is drawn by :func:`crowd.train.common.init_head` from ``torch_seed(seed, "init", j)``, its
  shuffles are :func:`crowd.train.common.permutations` (``rng(seed, "shuffle", j, epoch)``), its dropout
  comes from torch's generator seeded with ``torch_seed(seed, "dropout", j)`` at the start of its training,
  its AdamW state and learning-rate schedule are its own;
* its frozen states are computed from its own distinct rows, in batches of rows of one width (no padding),
  so they depend on which of ITS rows share a batch, never on another copy's. States are not shared
  between copies: a row's last bits change with the rows batched beside it (measured on MiniLM's frozen
  part, CPU: 16 of 800 rows differed between batches of 4 and 64 rows of equal width and the row alone),
  so sharing would need rows encoded alone (twice as slow, measured) or in fixed-shape batches on one
  thread (:mod:`crowd.train.frozen`); little would be gained: the word groups of TextGuard and DPA's
  partitions reach the learner one copy per call, and smoothing noise changes almost every row;
* every training and test batch holds rows of copy ``j`` only, padded to the longest of them;
* its loss is the mean over the batch of ``w_i · loss_i`` with its own ``train_weights`` (1 where absent).

So copy ``j`` trained alone or inside any group gives bit-identical logits on the CPU (tested); on CUDA
nothing another copy chooses reaches it either, up to the run-to-run noise of non-deterministic kernels.

Memory: one copy's states at a time, on the CPU in fp32 (about 250 MB for SST-2's 6,920 training texts at
``max_length = 64`` under MiniLM).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

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
)
from crowd.train.data import CopyData, TrainingInputError, check_group
from crowd.train.models import set_training
from crowd.train.partial import StateCache, encoder_layers, freeze_bottom, layer_range
from crowd.train.settings import PartialFineTune


class PartialFineTuneTrainer(PartialFineTune):
    """The implementation of :class:`crowd.train.settings.PartialFineTune` (built from its settings)."""

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
        """Test logits ``(len(copies), n_test, num_labels)`` float32, one partially fine-tuned model per copy.

        ``progress(done, total)``: per copy, its frozen states, then its epochs."""
        check_copies(copies, indices, num_labels)
        report = progress or (lambda done, total: None)
        steps = 1 + self.epochs
        dev = torch.device(device)
        model = set_training(load_model(model_name, num_labels, dev), False)
        cut = self._freeze(model)
        pretrained = _Pretrained(model)
        out = np.empty((len(copies), copies[0].n_test, num_labels), dtype=np.float32)
        for c, (j, copy) in enumerate(zip(indices, copies)):
            pretrained.restore(seed, j)

            def step(done: int, base: int = c * steps) -> None:
                report(base + done, len(copies) * steps)

            out[c] = self._fit_copy(model, cut, copy, seed, j, dev, step)
        return out

    def _fit_copy(
        self,
        model,
        cut: int,
        copy: CopyData,
        seed: int,
        j: int,
        device: torch.device,
        step: Callable[[int], None],
    ) -> np.ndarray:
        """Copy ``j``'s test logits: the frozen states of its distinct rows, then its top trained from them."""
        keys = self._keys(copy)
        cache = StateCache()  # this copy's rows only (see the module docstring)
        rows = cache.rows(cut, keys, lambda new: self._bottom(model, cut, new, device))
        step(1)
        widths = np.array([len(k) // 8 for k in keys[copy.n_train :]])  # int64 ids
        with layer_range(model, cut, None, from_states=True):
            self._train(model, cache, rows[: copy.n_train], copy, seed, j, device, lambda e: step(1 + e))
            return self._predict(model, cache, rows[copy.n_train :], widths, device)

    def _freeze(self, model) -> int:
        """Freeze the embeddings and the lower layers; the first trained layer."""
        layers = len(encoder_layers(model))
        if self.trainable_layers > layers:
            raise TrainingInputError(
                f"partial.trainable_layers = {self.trainable_layers} exceeds the model's {layers} layers"
            )
        return freeze_bottom(model, self.trainable_layers)

    def _keys(self, copy: CopyData) -> list[bytes]:
        """Each train, then test row's attended int64 token ids (cut at ``max_length``) as bytes: the row's
        identity in the state cache."""
        keys = []
        for ids, mask in ((copy.train_ids, copy.train_mask), (copy.test_ids, copy.test_mask)):
            cut = self.max_length
            for row, on in zip(np.asarray(ids, dtype=np.int64)[:, :cut], np.asarray(mask)[:, :cut] != 0):
                if not on.any():
                    raise TrainingInputError("a row with no attended token (an empty mask) cannot be encoded")
                keys.append(row[on].tobytes())
        return keys

    def _bottom(self, model, cut: int, keys: list[bytes], device: torch.device) -> list[torch.Tensor]:
        """States ``[length, hidden]`` entering layer ``cut`` of each row (eval mode), in batches of up to
        ``inference_batch_size`` rows of one width (no padding), by width, then in the copy's row order."""
        ids = [np.frombuffer(k, dtype=np.int64) for k in keys]
        size = self.inference_batch_size
        lengths = np.array([len(i) for i in ids])
        out: list[torch.Tensor] = [torch.empty(0)] * len(ids)
        with torch.inference_mode(), layer_range(model, 0, cut, from_states=False):
            for width in np.unique(lengths):
                same = np.flatnonzero(lengths == width)
                for batch in np.array_split(same, -(-len(same) // size)):
                    x = torch.from_numpy(np.stack([ids[i] for i in batch])).to(device)
                    with autocast(device, self.dtype):
                        hidden = model.base_model(input_ids=x, attention_mask=torch.ones_like(x))
                    states = hidden.last_hidden_state.float().cpu()
                    for row, i in enumerate(batch):
                        out[i] = states[row].clone()
        return out

    def _train(self, model, cache, rows, copy, seed, j, device, epoch_done) -> None:
        """AdamW over the trainable parameters (1-d ones undecayed), clipped, linear schedule."""
        trained = [p for p in model.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in trained if p.ndim >= 2], "weight_decay": self.weight_decay},
            {"params": [p for p in trained if p.ndim < 2], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=self.lr)
        n = copy.n_train
        steps = -(-n // self.batch_size)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, linear_schedule(self.epochs * steps, self.warmup)
        )
        perms = torch.from_numpy(permutations(seed, [j], self.epochs, n)[0])
        labels = torch.as_tensor(np.asarray(copy.train_labels, dtype=np.int64)).to(device)
        w = copy.train_weights
        weights = torch.as_tensor(np.ones(n, np.float32) if w is None else w.astype(np.float32)).to(device)
        set_training(model, True)
        with seeded_global_rng(device, torch_seed(seed, "dropout", j)):
            for epoch in range(self.epochs):
                for step in range(steps):
                    idx = perms[epoch, step * self.batch_size : (step + 1) * self.batch_size]
                    hidden, mask = cache.batch(rows[idx], device)
                    with autocast(device, self.dtype):
                        logits = model(inputs_embeds=hidden, attention_mask=mask).logits
                    idx = idx.to(device)
                    loss = F.cross_entropy(logits.float(), labels[idx], reduction="none")
                    optimizer.zero_grad(set_to_none=True)
                    (weights[idx] * loss).mean().backward()
                    if self.max_grad_norm is not None:
                        torch.nn.utils.clip_grad_norm_(trained, self.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                epoch_done(epoch + 1)
        set_training(model, False)

    def _predict(
        self, model, cache: StateCache, rows: torch.Tensor, widths: np.ndarray, device: torch.device
    ) -> np.ndarray:
        """Logits of the copy's test rows, in batches of its own rows of similar width."""
        out = np.empty((len(rows), model.config.num_labels), dtype=np.float32)
        with torch.inference_mode():
            for idx in length_batches(widths, self.inference_batch_size):
                hidden, mask = cache.batch(rows[torch.from_numpy(idx)], device)
                with autocast(device, self.dtype):
                    logits = model(inputs_embeds=hidden, attention_mask=mask).logits
                out[idx] = logits.float().cpu().numpy()
        return out


class _Pretrained:
    """The trainable parameters as loaded (top layers, pooler, head), restored before each copy trains."""

    def __init__(self, model) -> None:
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.values = {n: p.detach().clone() for n, p in self.params.items()}
        self.head = set(head_parameter_names(model))
        self.std = float(getattr(model.config, "initializer_range", 0.02))

    def restore(self, seed: int, j: int) -> None:
        """Pretrained top layers and pooler; copy ``j``'s fresh head (N(0, ``initializer_range``), zero bias)."""
        fresh = init_head({n: self.params[n].shape for n in self.head}, self.std, seed, j)
        with torch.no_grad():
            for name, param in self.params.items():
                param.copy_(fresh[name] if name in self.head else self.values[name])


def check_copies(copies: Sequence[CopyData], indices: Sequence[int], num_labels: int) -> None:
    """Raise :class:`TrainingInputError` unless each copy can be trained; training sets may differ in size,
    test sets may not (the logits are one array)."""
    if len(copies) == 0 or len(copies) != len(indices):
        raise TrainingInputError(f"got {len(copies)} copies for {len(indices)} copy indices")
    for j, copy in zip(indices, copies):
        check_group([copy], [j], num_labels)
        if copy.n_test != copies[0].n_test:
            raise TrainingInputError(
                f"copy {j} has {copy.n_test} test texts, copy {indices[0]} has {copies[0].n_test}"
            )
