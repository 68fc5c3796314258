"""Partial fine-tuning per copy: the top ``trainable_layers`` layers (+ pooler, head) of one model per copy.

The technique of the empirical defenses' victim (:mod:`crowd.train.partial`, ``Victim(trainable_layers=k)``),
applied to the certified methods' models: the embeddings and the lower ``L - k`` transformer layers of a
BERT-style encoder stay frozen, so their output is a function of the input row alone (eval mode, no dropout);
it is computed once per distinct training row of a copy (:class:`crowd.train.partial.StateCache`, keyed by the
row's attended token ids) and every epoch trains the top ``k`` layers, the pooler and a fresh head from these
states (:func:`crowd.train.partial.layer_range`). Copies are trained ONE AT A TIME on the one loaded model, whose
trainable part is reset to the pretrained weights before each copy.

A fitted model (:meth:`PartialFineTuneTrainer.fit`) is what its copy trained: the top layers', pooler's and
head's tensors, float32, named as in the model (``bert.encoder.layer.5.…``, ``bert.pooler.…``,
``classifier.…``), and :data:`FROZEN_DIGEST`, the sha256 of the frozen part it was trained on (about 15 MB for
MiniLM with 2 trainable layers). :meth:`~PartialFineTuneTrainer.predict` needs no training rows: it loads the
pretrained model ``model_name``, refuses a state whose names, shapes or frozen digest do not match, and puts
the trained tensors in.

Independence (THEORY.md §3): copy ``j``'s model is a function of the pretrained weights, its own training rows
and ``(seed, j)`` alone:

* its head is drawn by :func:`crowd.train.common.init_head` from ``torch_seed(seed, "init", j)``, its
  shuffles are :func:`crowd.train.common.permutations` (``rng(seed, "shuffle", j, epoch)``), its dropout
  comes from torch's generator seeded with ``torch_seed(seed, "dropout", j)`` at the start of its training,
  its AdamW state and learning-rate schedule are its own;
* the frozen states it trains from are computed from its own distinct training rows (never its test rows), in
  batches of up to ``inference_batch_size`` rows of one width (no padding), so they depend on which of ITS
  rows share a batch, never on another copy's (a row's last bits change with the rows batched beside it:
  measured on MiniLM's frozen part, CPU, 16 of 800 rows differed between batches of 4 and 64 rows of equal
  width and the row alone); they are not shared between copies;
* every training batch holds rows of copy ``j`` only, padded to the longest of them;
* its loss is the mean over the batch of ``w_i · loss_i`` with its own ``train_weights`` (1 where absent).

So copy ``j`` trained alone or inside any group gives bit-identical logits on the CPU (tested); on CUDA
nothing another copy chooses reaches it either, up to the run-to-run noise of non-deterministic kernels.

Prediction: a row's logits are a function of that row alone. Its attended tokens (cut at ``max_length``) go
through the frozen part, then the trained top, in batches of rows of its own width
(:func:`crowd.train.frozen.row_batches`): on the CPU exactly ``CPU_ROWS`` rows per forward, filled up with
copies of a row, on one thread, no padding, so a row gets the same bits alone or beside any rows (tested).
A row's frozen states are computed once per ``predict`` call and reused by every model it predicts (the same
bits whichever batch computed them, on the CPU). On CUDA rows are batched for speed by width rounded up to 8,
so a row's last bits may move with the rows beside it, in the batch that first computed its frozen states
too (docs/training.md, "Independence of the models").

Memory: one copy's training states at a time, on the CPU in fp32 (about 250 MB for SST-2's 6,920 training
texts at ``max_length = 64`` under MiniLM); ``predict`` drops the rows' states it keeps, between two models,
once they exceed :data:`PREDICT_STATE_BYTES` (recomputing them gives the same bits on the CPU).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from crowd.seeding import torch_seed
from crowd.train.common import (
    adamw,
    autocast,
    head_parameter_names,
    init_head,
    load_model,
    permutations,
    seeded_global_rng,
    split_decay,
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
)
from crowd.train.frozen import row_batches, row_threads
from crowd.train.models import set_training
from crowd.train.partial import StateCache, encoder_layers, freeze_bottom, layer_range
from crowd.train.settings import PartialFineTune

FROZEN_DIGEST = "frozen_part_sha256"
"""State entry: ``(32,)`` uint8 sha256 of the frozen parameters' names and float32 bytes."""
PREDICT_STATE_BYTES = 2**30  # predict starts a new frozen-state cache beyond this (recomputing: same bits)


class PartialFineTuneTrainer(PartialFineTune):
    """The implementation of :class:`crowd.train.settings.PartialFineTune` (built from its settings)."""

    def fit(self, request: FitRequest, progress: Progress = None) -> list[ModelState]:
        """One partially fine-tuned model per copy, from its training rows only (see the module docstring).

        ``progress(done, total)``: per copy, its frozen states, then its epochs."""
        copies, indices, seed, num_labels = request.copies, request.indices, request.seed, request.num_labels
        check_copies(copies, indices, num_labels)
        report = progress or (lambda done, total: None)
        steps = 1 + self.epochs
        dev = torch.device(request.device)
        model = set_training(load_model(request.model_name, num_labels, dev), False)
        cut = self._freeze(model)
        pretrained = _Pretrained(model)
        digest = frozen_digest(model)
        out = []
        for c, (j, copy) in enumerate(zip(indices, copies)):
            pretrained.restore(seed, j)

            def step(done: int, base: int = c * steps) -> None:
                report(base + done, len(copies) * steps)

            self._fit_copy(model, cut, copy, seed, j, dev, step)
            out.append(pretrained.state() | {FROZEN_DIGEST: digest})
        return out

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
        model, cut, trained, digest = self._pretrained(model_name, num_labels, dev)
        out = np.empty((len(states), n, num_labels), dtype=np.float32)
        cache = StateCache()
        for k, (state, x) in enumerate(zip(states, inputs)):
            put_state(trained, state, digest, model_name)
            keys = self._keys(x.ids, x.mask)
            if cache.nbytes > PREDICT_STATE_BYTES:
                cache = StateCache()
            rows = cache.rows(cut, keys, lambda new: self._frozen_states(model, cut, new, dev))
            lengths = np.array([len(key) // 8 for key in keys], dtype=np.int64)  # int64 ids
            with torch.inference_mode(), layer_range(model, cut, None, from_states=True), row_threads(dev):
                for batch, fed, _ in row_batches(lengths, self.max_length, dev, self.inference_batch_size):
                    hidden, mask = cache.batch(rows[torch.from_numpy(fed)], dev)
                    with autocast(dev, self.dtype):
                        logits = model(inputs_embeds=hidden, attention_mask=mask).logits
                    out[k, batch] = logits.float().cpu().numpy()[: len(batch)]
        return out

    def _pretrained(self, model_name: str, num_labels: int, dev: torch.device):
        """``(model, cut, trainable tensors, frozen digest)``, loaded once per trainer (a kept classifier asks again
        on every call); every prediction first puts its state's tensors in (:func:`put_state`)."""
        key = (str(model_name), num_labels, str(dev))
        if getattr(self, "_loaded", (None,))[0] != key:
            model = set_training(load_model(model_name, num_labels, dev), False)
            cut = self._freeze(model)
            trained = {name: p for name, p in model.named_parameters() if p.requires_grad}
            self._loaded = (key, (model, cut, trained, frozen_digest(model)))
        return self._loaded[1]

    def _fit_copy(
        self,
        model,
        cut: int,
        copy: CopyData,
        seed: int,
        j: int,
        device: torch.device,
        step: Callable[[int], None],
    ) -> None:
        """Train copy ``j``'s top in place: the frozen states of its distinct training rows, then its epochs."""
        keys = self._keys(copy.train_ids, copy.train_mask)
        cache = StateCache()  # this copy's rows only (see the module docstring)
        rows = cache.rows(cut, keys, lambda new: self._bottom(model, cut, new, device))
        step(1)
        with layer_range(model, cut, None, from_states=True):
            self._train(model, cache, rows, copy, seed, j, device, lambda e: step(1 + e))

    def _freeze(self, model) -> int:
        """Freeze the embeddings and the lower layers; the first trained layer."""
        layers = len(encoder_layers(model))
        if self.trainable_layers > layers:
            raise TrainingInputError(
                f"partial.trainable_layers = {self.trainable_layers} exceeds the model's {layers} layers"
            )
        return freeze_bottom(model, self.trainable_layers)

    def _keys(self, ids: np.ndarray, mask: np.ndarray) -> list[bytes]:
        """Each row's attended int64 token ids (cut at ``max_length``) as bytes: the row's identity in the state
        cache, and what the model reads of it."""
        keys = []
        cut = self.max_length
        for row, on in zip(np.asarray(ids, dtype=np.int64)[:, :cut], np.asarray(mask)[:, :cut] != 0):
            if not on.any():
                raise TrainingInputError("a row with no attended token (an empty mask) cannot be encoded")
            keys.append(row[on].tobytes())
        return keys

    def _bottom(self, model, cut: int, keys: list[bytes], device: torch.device) -> list[torch.Tensor]:
        """Training: states ``[length, hidden]`` entering layer ``cut`` of each row (eval mode), in batches of up
        to ``inference_batch_size`` rows of one width (no padding), by width, then in the copy's row order."""
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

    def _frozen_states(self, model, cut: int, keys: list[bytes], device: torch.device) -> list[torch.Tensor]:
        """Prediction: states ``[length, hidden]`` entering layer ``cut`` of each row, each a function of its row
        alone on the CPU (:func:`crowd.train.frozen.row_batches`: fixed-shape batches, one thread)."""
        lengths = np.array([len(k) // 8 for k in keys], dtype=np.int64)
        ids = np.zeros((len(keys), self.max_length), dtype=np.int64)
        for i, key in enumerate(keys):
            ids[i, : lengths[i]] = np.frombuffer(key, dtype=np.int64)
        out: list[torch.Tensor] = [torch.empty(0)] * len(keys)
        positions = np.arange(self.max_length)
        with torch.inference_mode(), layer_range(model, 0, cut, from_states=False), row_threads(device):
            for batch, fed, width in row_batches(lengths, self.max_length, device, self.inference_batch_size):
                x = torch.from_numpy(ids[fed, :width]).to(device)
                mask = torch.from_numpy((positions[:width] < lengths[fed, None]).astype(np.int64)).to(device)
                with autocast(device, self.dtype):
                    hidden = model.base_model(input_ids=x, attention_mask=mask).last_hidden_state
                states = hidden.float().cpu()
                for row, i in enumerate(batch):
                    out[i] = states[row, : lengths[i]].clone()
        return out

    def _train(self, model, cache, rows, copy, seed, j, device, epoch_done) -> None:
        """AdamW over the trainable parameters (1-d ones undecayed), clipped, linear schedule."""
        trained = [p for p in model.parameters() if p.requires_grad]
        n = copy.n_train
        steps = -(-n // self.batch_size)
        optimizer, scheduler = adamw(
            *split_decay(trained), self.lr, self.weight_decay, self.epochs * steps, self.warmup
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

    def state(self) -> ModelState:
        """The trainable tensors as they are now: float32 contiguous arrays, by parameter name."""
        return {
            n: np.ascontiguousarray(p.detach().float().cpu().numpy().copy()) for n, p in self.params.items()
        }


def frozen_digest(model) -> np.ndarray:
    """``(32,)`` uint8 sha256 over the frozen parameters' names and float32 bytes, in the model's order."""
    sha = hashlib.sha256()
    for name, p in model.named_parameters():
        if not p.requires_grad:
            sha.update(name.encode())
            sha.update(np.ascontiguousarray(p.detach().float().cpu().numpy()).tobytes())
    return np.frombuffer(sha.digest(), dtype=np.uint8).copy()


def put_state(
    trained: dict[str, torch.nn.Parameter], state: ModelState, digest: np.ndarray, model_name: str
) -> None:
    """Copy a fitted state into the model's trainable parameters; refuse one of another shape or frozen part."""
    names = set(state) - {FROZEN_DIGEST}
    if names != set(trained):
        missing, extra = sorted(set(trained) - names), sorted(names - set(trained))
        raise TrainingInputError(
            f"the state does not fit {model_name!r} with trainable_layers: missing {missing[:3]}, "
            f"unexpected {extra[:3]}"
        )
    if not np.array_equal(np.asarray(state.get(FROZEN_DIGEST, ())), digest):
        raise TrainingInputError(f"the state was trained on another frozen part than {model_name!r}'s")
    with torch.no_grad():
        for name, param in trained.items():
            value = np.asarray(state[name])
            if value.shape != tuple(param.shape):
                raise TrainingInputError(
                    f"state {name} has shape {value.shape}, the model {tuple(param.shape)}"
                )
            param.copy_(torch.from_numpy(value.astype(np.float32, copy=False)))


def check_copies(copies: Sequence[CopyData], indices: Sequence[int], num_labels: int) -> None:
    """Raise :class:`TrainingInputError` unless each copy can be trained; copies may differ in size."""
    if len(copies) == 0 or len(copies) != len(indices):
        raise TrainingInputError(f"got {len(copies)} copies for {len(indices)} copy indices")
    for j, copy in zip(indices, copies):
        check_group([copy], [j], num_labels)
