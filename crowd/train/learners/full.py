"""Full fine-tuning of a group of copies: K models, one per copy, that step together.

Each copy is an independent fine-tuning run with CROWD's per-copy hyperparameters (batch 8, lr
5e-5, AdamW); its loss is the mean over its batch of ``w_i · loss_i`` with its own
``train_weights`` (1 where absent). Gradient clipping is per copy (each copy's own global norm), the
learning-rate schedule is shared (all copies take the same number of steps).

Copy ``j``'s model depends on the pretrained weights, its head initialisation
``torch_seed(seed, "init", j)``, its shuffles ``rng(seed, "shuffle", j, epoch)``, its own data and
its dropout, and on nothing of the other copies (THEORY.md §3, independence):

* ``grouping="loop"``: each copy has its own parameter tensors; every step runs one forward and
  backward per copy, on its batch trimmed after the longest row *of its own batch*, with dropout
  from torch's generator seeded with ``torch_seed(seed, "dropout", j, step)``; clipping and AdamW
  act on its tensors alone. Copy ``j`` trained alone or in any group gives bit-identical logits
  on the CPU (``tests/test_independence.py``).
* ``grouping="vmap"`` (opt in; ``"loop"`` is the default): the ``K`` copies are one model with stacked parameters
  (``[K, ...]``) through ``torch.func.functional_call`` under ``torch.vmap``: every step the GPU
  sees ``K x batch_size`` sequences (e.g. 64 x 8 = 512), the regime where an H100 runs at ~12x the
  throughput of batch 32. AdamW is elementwise, so one optimizer over the stacked tensors is
  exactly K independent AdamW runs. Rows are padded to ``max_length``, a width no copy's data
  chooses. Inside ``vmap`` a copy cannot have its own generator, so dropout comes from one
  generator seeded with ``torch_seed(seed, "dropout", first index of the group)`` and drawn for
  the whole group at once; the draws copy ``j`` gets are fixed by the group's shape (``K``,
  ``batch_size``, ``max_length``) and ``j``'s position in it, never by the other copies' data. So
  for a fixed group (the runner's groups are fixed blocks of copy indices, see
  :mod:`crowd.train.runner`) copy ``j``'s logits do not depend on the other copies' texts, labels
  or weights (on the CPU bit for bit, tested), but they do change with ``copies_per_group``: a copy
  trained alone (a group of 1) is another model than the same copy in a block. Measured on the
  tiny test BERT (dropout 0.1, CPU, 1 epoch): every trained tensor differed (up to 6.7e-3) and test
  logits moved by up to 5.7e-3 (their spread 0.016), also for a group's first copy, whose generator
  seed is its own (``[1, 7]`` vs ``[1]``: 5.9e-4); with dropout 0, alone and in blocks gave the
  same bits.

A fitted model (:meth:`FullFineTuneTrainer.fit`) is every parameter of its copy, float32, named as in the
model (``bert.embeddings.word_embeddings.weight``, …, ``classifier.bias``): about 91 MB for MiniLM.
:meth:`~FullFineTuneTrainer.predict` needs no training rows: it loads the pretrained model ``model_name``
for its architecture and buffers, refuses a state whose names or shapes do not match it, and runs the
state's parameters. A row's logits are a function of that row alone: rows (cut at ``max_length``) run in
batches of rows of one attended width (:func:`crowd.train.frozen.row_batches`); on the CPU exactly
``CPU_ROWS`` rows per forward, filled up with copies of a row, on one thread, each row at its own width, so
a row gets the same bits alone or beside any rows (tested). On CUDA rows are batched for speed by width
rounded up to 8, so a row's last bits may move with the rows beside it (docs/training.md, "Independence of
the models"). If ``vmap`` fails on a model (data-dependent Python control flow in its forward), the
learner warns and uses ``grouping="loop"``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from crowd.seeding import torch_seed
from crowd.train.common import (
    adamw,
    autocast,
    fixed_width,
    head_parameter_names,
    init_head,
    load_model,
    permutations,
    seeded_global_rng,
    split_decay,
    to_device,
)
from crowd.train.data import (
    CopyData,
    FitRequest,
    ModelInputs,
    ModelState,
    Progress,
    TrainingInputError,
    check_group,
    check_inputs,
    row_weights,
)
from crowd.train.feature_cache import attended_widths
from crowd.train.frozen import row_batches, row_threads
from crowd.train.models import set_training
from crowd.train.settings import FullFineTune

Rows = list[tuple[np.ndarray, np.ndarray]]  # per copy: (ids, mask), each (n, L_k)


class FullFineTuneTrainer(FullFineTune):
    """The implementation of :class:`crowd.train.settings.FullFineTune` (built from its settings)."""

    def fit(self, request: FitRequest, progress: Progress = None) -> list[ModelState]:
        """One fine-tuned model per copy, from its training rows only; ``progress(epoch, epochs)`` per epoch."""
        copies, indices, seed, num_labels = request.copies, request.indices, request.seed, request.num_labels
        check_copies(copies, indices, num_labels)
        dev = torch.device(request.device)
        model = load_model(request.model_name, num_labels, dev)
        pad = int(getattr(model.config, "pad_token_id", 0) or 0)
        cut = self.max_length
        train = [(c.train_ids[:, :cut], c.train_mask[:, :cut]) for c in copies]
        group = _Group(model, indices, seed, self.grouping)
        if group.grouping == "vmap":
            group.check_vmap(fixed_width([i[:1] for i, _ in train], cut, pad), dev)
        labels = np.stack([c.train_labels for c in copies]).astype(np.int64)
        with seeded_global_rng(dev, torch_seed(seed, "dropout", indices[0])):
            self._train(group, train, labels, row_weights(copies), indices, seed, dev, pad, progress)
        return [group.state(c) for c in range(len(copies))]

    def predict(
        self,
        model_name: str,
        states: Sequence[ModelState],
        inputs: Sequence[ModelInputs],
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Logits ``(len(states), n, num_labels)`` float32 of model ``k`` on ``inputs[k]``; row ``i``'s depend
        on row ``i`` alone (bit for bit on the CPU; see the module docstring)."""
        n = check_inputs(states, inputs)
        dev = torch.device(device)
        shapes, buffers, base = self._architecture(model_name, num_labels, dev)
        out = np.empty((len(states), n, num_labels), dtype=np.float32)
        cut, size = self.max_length, self.inference_batch_size
        with torch.no_grad(), autocast(dev, self.dtype), row_threads(dev):
            for k, (state, x) in enumerate(zip(states, inputs)):
                params = state_params(state, shapes, model_name, dev)
                ids, mask = x.ids[:, :cut], x.mask[:, :cut]
                for rows, fed, width in row_batches(attended_widths(mask), ids.shape[1], dev, size):
                    batch = to_device(ids[fed, :width], mask[fed, :width], dev, trim=False)
                    logits = forward(base, params, buffers, *batch)
                    out[k, rows] = logits.float().cpu().numpy()[: len(rows)]
        return out

    def _architecture(self, model_name: str, num_labels: int, dev: torch.device):
        """``(shapes, buffers, base on meta)`` of the pretrained model, loaded once per trainer (a kept classifier
        asks again on every call); the copies' parameters come from their states."""
        key = (str(model_name), num_labels, str(dev))
        if getattr(self, "_loaded", (None,))[0] != key:
            model = set_training(load_model(model_name, num_labels, dev), False)
            shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
            self._loaded = (key, (shapes, dict(model.named_buffers()), model.to("meta")))
        return self._loaded[1]

    def _train(
        self,
        group: _Group,
        data: Rows,
        labels: np.ndarray,
        weights: np.ndarray,
        indices: Sequence[int],
        seed: int,
        device: torch.device,
        pad: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        k, n = labels.shape
        steps = math.ceil(n / self.batch_size)
        optimizer, scheduler = adamw(
            *split_decay(group.leaves(), leading=1 if group.stacked else 0),
            self.lr,
            self.weight_decay,
            self.epochs * steps,
            self.warmup,
            fused=device.type == "cuda",
        )
        perms = permutations(seed, indices, self.epochs, n)
        if group.grouping == "vmap":
            ids = fixed_width([i for i, _ in data], self.max_length, pad)
            mask = fixed_width([m for _, m in data], self.max_length, 0)
        row = np.arange(k)[:, None]
        set_training(group.base, True)
        for epoch in range(self.epochs):
            for step in range(steps):
                idx = perms[:, epoch, step * self.batch_size : (step + 1) * self.batch_size]
                optimizer.zero_grad(set_to_none=True)
                if group.grouping == "vmap":
                    batch = to_device(ids[row, idx], mask[row, idx], device, trim=False)
                    with autocast(device, self.dtype):
                        logits = group.vmap_logits(*batch)
                    _backward(logits, labels[row, idx], weights[row, idx], device)
                else:  # one copy at a time: its own widths, its own dropout seed
                    for c, j in enumerate(indices):
                        torch.manual_seed(torch_seed(seed, "dropout", j, epoch * steps + step))
                        batch = to_device(data[c][0][idx[c]], data[c][1][idx[c]], device)
                        with autocast(device, self.dtype):
                            logits = group.forward(group.params(c), *batch)
                        _backward(logits, labels[c, idx[c]], weights[c, idx[c]], device)
                if self.max_grad_norm is not None:
                    group.clip_per_copy(self.max_grad_norm)
                optimizer.step()
                scheduler.step()
            if progress is not None:
                progress(epoch + 1, self.epochs)


def _backward(logits: torch.Tensor, labels: np.ndarray, weights: np.ndarray, device: torch.device) -> None:
    """Backward of the per-copy losses, mean over the batch of ``w_i · loss_i``, summed over copies.

    ``logits [..., B, C]`` with ``labels``/``weights`` ``[..., B]`` (one copy, or a stacked group)."""
    y = torch.from_numpy(labels).to(device)
    w = torch.from_numpy(weights).to(device)
    loss = F.cross_entropy(logits.float().flatten(0, -2), y.flatten(), reduction="none").view(y.shape)
    (w * loss).mean(dim=-1).sum().backward()


class _Group:
    """``K`` copies of one architecture and a functional forward over the model (moved to ``meta``).

    ``grouping="vmap"``: stacked parameters ``{name: [K, ...]}``; ``"loop"``: one dict of tensors per copy.
    """

    def __init__(self, model: torch.nn.Module, indices: Sequence[int], seed: int, grouping: str) -> None:
        head = set(head_parameter_names(model))
        std = float(getattr(model.config, "initializer_range", 0.02))
        shapes = {n: p.shape for n, p in model.named_parameters() if n in head}
        inits = [init_head(shapes, std, seed, j) for j in indices]
        self.stacked: dict[str, torch.Tensor] = {}
        self.copies: list[dict[str, torch.Tensor]] = []
        if grouping == "vmap":
            for name, p in model.named_parameters():
                if name in head:
                    value = torch.stack([i[name] for i in inits]).to(p.device)
                else:
                    value = p.detach().unsqueeze(0).expand(len(inits), *p.shape).clone()
                self.stacked[name] = value.requires_grad_()
        else:
            for init in inits:
                own = {
                    n: init[n].to(p.device) if n in head else p.detach().clone()
                    for n, p in model.named_parameters()
                }
                self.copies.append({n: t.requires_grad_() for n, t in own.items()})
        self.buffers = {n: b for n, b in model.named_buffers()}
        self.base = model.to("meta")
        self.grouping = grouping

    def params(self, c: int) -> dict[str, torch.Tensor]:
        """Copy ``c``'s parameters (views of the stacked tensors under ``vmap``)."""
        return {n: p[c] for n, p in self.stacked.items()} if self.stacked else self.copies[c]

    def leaves(self) -> list[torch.Tensor]:
        return list(self.stacked.values()) or [p for params in self.copies for p in params.values()]

    def forward(self, params: dict[str, torch.Tensor], ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, C]`` logits of one copy's ``params`` on rows ``ids [B, L]``."""
        return forward(self.base, params, self.buffers, ids, mask)

    def state(self, c: int) -> ModelState:
        """Copy ``c``'s parameters as float32 contiguous arrays, by parameter name."""
        return {n: p.detach().float().cpu().numpy().copy() for n, p in self.params(c).items()}

    def vmap_logits(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[K, B, C]`` logits of copy k on rows ``ids[k]``, all copies in one ``vmap``."""
        return torch.vmap(self.forward, randomness="different")(self.stacked, ids, mask)

    def check_vmap(self, ids: np.ndarray, device: torch.device) -> None:
        """Try ``vmap`` on rows ``ids [K, B, L]`` (eval mode: no dropout drawn); on failure warn, go to ``loop``."""
        set_training(self.base, False)
        try:
            with torch.no_grad():
                self.vmap_logits(*to_device(ids, np.ones_like(ids), device, trim=False))
        except torch.OutOfMemoryError:
            raise
        except RuntimeError as e:  # vmap-incompatible forward: same maths, one copy at a time
            warnings.warn(f"vmap failed on this model ({e}); training copies one at a time", stacklevel=2)
            n = len(next(iter(self.stacked.values())))
            self.copies = [
                {k: p[c].detach().clone().requires_grad_() for k, p in self.stacked.items()} for c in range(n)
            ]
            self.stacked, self.grouping = {}, "loop"

    def clip_per_copy(self, max_norm: float) -> None:
        """Scale each copy's gradient to global norm at most ``max_norm`` (``clip_grad_norm_`` per copy)."""
        if not self.stacked:
            for params in self.copies:
                torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
            return
        grads = [p.grad for p in self.stacked.values() if p.grad is not None]
        squares = torch.stack([g.float().pow(2).flatten(1).sum(dim=1) for g in grads]).sum(dim=0)
        coef = (max_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *([1] * (g.ndim - 1))).to(g.dtype))


def forward(
    base: torch.nn.Module,
    params: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    ids: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """``[B, C]`` logits of the model ``base`` (on ``meta``) with ``params`` and ``buffers`` on rows ``ids [B, L]``."""
    # a ready 4-d boolean mask skips transformers' data-dependent mask checks (not vmappable)
    kwargs = {"input_ids": ids, "attention_mask": mask[:, None, None, :].bool()}
    return functional_call(base, (params, buffers), (), kwargs).logits


def state_params(
    state: ModelState, shapes: dict[str, tuple[int, ...]], model_name: str, device: torch.device
) -> dict[str, torch.Tensor]:
    """A fitted state's parameters as tensors on ``device``; refuse one whose names or shapes differ from the
    model's (``shapes``: its parameters')."""
    if set(state) != set(shapes):
        missing, extra = sorted(set(shapes) - set(state)), sorted(set(state) - set(shapes))
        raise TrainingInputError(
            f"the state does not fit {model_name!r}: missing {missing[:3]}, unexpected {extra[:3]}"
        )
    out = {}
    for name, shape in shapes.items():
        value = np.asarray(state[name])
        if value.shape != shape:
            raise TrainingInputError(f"state {name} has shape {value.shape}, the model {shape}")
        out[name] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)).to(device)
    return out


def check_copies(copies: Sequence[CopyData], indices: Sequence[int], num_labels: int) -> None:
    """Raise :class:`TrainingInputError` unless the copies can be trained together: equal training sizes (their
    test rows do not enter ``fit``)."""
    if len(copies) == 0 or len(copies) != len(indices):
        raise TrainingInputError(f"got {len(copies)} copies for {len(indices)} copy indices")
    for j, copy in zip(indices, copies):
        check_group([copy], [j], num_labels)
        if copy.n_train != copies[0].n_train:
            raise TrainingInputError(
                f"copy {j} has {copy.n_train} training texts, copy {indices[0]} has {copies[0].n_train}: "
                "copies trained together need equal sizes (use copies_per_group=1 for unequal training sets)"
            )
