"""The undefended victim: a fine-tuned Hugging Face sequence classifier and its tokenizer.

What every empirical defense needs from the model it protects: ``fit`` on
(possibly poisoned) training texts, class probabilities, the final-layer
``[CLS]`` representation (BKI) and the input word-embedding matrix, with a
forward pass from embeddings (RAP). Training follows OpenBackdoor's base trainer
(``openbackdoor/trainers/trainer.py``): AdamW, lr 2e-5, weight decay 0, batch 32,
gradient clipping at 1.0, and a linear schedule warmed up over ``warmup_epochs``
whose decay is laid out over ``warmup_epochs + epochs`` epochs, as OpenBackdoor
does. ``select`` picks the model kept: ``"last"`` (the default) keeps the last epoch's;
``"best"`` keeps the epoch with the highest mean of clean dev accuracy and poisoned dev
accuracy (the ASR on triggered dev texts), as OpenBackdoor's trainer selects its checkpoint
(``evaluate_classification``: the mean of the main metric over the dev sets, first best kept).
``"best"`` is the attacker's protocol (it looks at poisoned dev data); it needs the corpus's dev
splits. On CUDA, forward passes run under bf16 autocast (``dtype = "bf16"``, the default). The device is resolved when fitting,
never at import.

``trainable_layers = k > 0`` trains only the top ``k`` transformer layers, the pooler
and the head, from hidden states of the frozen lower part computed once per distinct
text (:mod:`crowd.train.partial`); a few times cheaper per epoch on a CPU, and what
the benchmark's ``cpu`` scale uses (docs/defenses.md, "The victim").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from tqdm.auto import tqdm

from crowd.seeding import torch_seed
from crowd.train.common import adamw, autocast, length_batches, resolve_device, seeded_global_rng
from crowd.train.fine_tuning import DTYPES, FineTuning, keep_field_order
from crowd.train.models import load_classifier, load_tokenizer, resolve_model, set_training
from crowd.train.partial import StateCache, freeze_bottom, layer_range
from crowd.victim.store import victim_key

if TYPE_CHECKING:
    from crowd.data import Corpus
    from crowd.victim.store import VictimStore


SELECT = ("last", "best")


VICTIM_RENAMED = {
    "bf16": 'renamed to dtype: write dtype = "fp32" for bf16 = false (dtype = "bf16", the default, for true)',
    "eval_batch_size": "renamed to inference_batch_size (the same rows per forward pass when nothing is trained)",
}


@keep_field_order(
    "model",
    "num_labels",
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "warmup_epochs",
    "max_grad_norm",
    "max_length",
    "inference_batch_size",
    "device",
    "dtype",
    "trainable_layers",
    "select",
)
@dataclass(frozen=True)
class VictimConfig(FineTuning):
    """How the victim is built and trained. ``device = "auto"`` means CUDA when available, else CPU.

    The fine-tuning settings (``epochs``, ``lr``, ``batch_size``, ``weight_decay``, ``max_grad_norm``,
    ``max_length``, ``dtype``, ``inference_batch_size``) are the learners' (:class:`crowd.train.fine_tuning.FineTuning`)
    with OpenBackdoor's defaults; the warm-up is ``warmup_epochs``, a count of epochs (module docstring), not the
    learners' fraction of the steps. ``trainable_layers``: 0 fine-tunes the whole model; ``k > 0`` freezes the
    embeddings and all transformer layers but the top ``k`` (see :mod:`crowd.train.partial`). ``select``: the
    epoch kept, ``"last"`` or ``"best"`` on the dev splits (module docstring). A ``[victim]`` table holding an old
    key (``bf16``, ``eval_batch_size``) is refused with what to write instead (:data:`VICTIM_RENAMED`).
    """

    REFUSED_KEYS: ClassVar[dict[str, str]] = VICTIM_RENAMED

    model: str = "minilm"
    num_labels: int = 2
    epochs: int = 5
    batch_size: int = 32
    lr: float = 2e-5
    warmup_epochs: int = 3
    max_grad_norm: float = 1.0
    device: str = "auto"
    trainable_layers: int = 0
    select: str = "last"

    def __post_init__(self) -> None:
        if self.select not in SELECT:
            raise ValueError(f"select must be one of {', '.join(SELECT)}, got {self.select!r}")
        if self.epochs < 0 or self.warmup_epochs < 0:
            raise ValueError("epochs and warmup_epochs must be >= 0")
        if self.batch_size < 1 or self.inference_batch_size < 1 or self.max_length < 2:
            raise ValueError("batch sizes must be >= 1 and max_length >= 2")
        if self.trainable_layers < 0:
            raise ValueError(
                f"trainable_layers must be >= 0 (0 = full fine-tuning), got {self.trainable_layers}"
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")


class Victim:
    """A sequence classifier to attack and defend.

    >>> victim = Victim(VictimConfig(model="minilm")).fit(texts, labels, seed=0)  # doctest: +SKIP
    >>> victim.predict(["a gripping film"])  # doctest: +SKIP
    """

    def __init__(
        self, config: VictimConfig, state_cache: StateCache | None = None, progress: bool = False
    ) -> None:
        self.config = config
        self.progress = (
            progress  # a bar over training steps on stderr, epoch by epoch (not part of the model)
        )
        self.state_cache = state_cache  # frozen-part states (trainable_layers > 0); made by fit if None
        self.model_ = None
        self.tokenizer_ = None
        self.device_ = None

    # -- building and training ---------------------------------------------------------------------
    def load(self) -> Victim:
        """Load the pretrained model with a fresh classification head (no training)."""
        self.device_ = resolve_device(self.config.device)
        self.tokenizer_ = load_tokenizer(self.config.model)
        self.model_ = load_classifier(self.config.model, self.config.num_labels, dtype=torch.float32)
        self.model_.to(self.device_)
        set_training(self.model_, False)
        return self

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        seed: int,
        store: VictimStore | None = None,
        dev: Corpus | None = None,
    ) -> Victim:
        """Fine-tune from the pretrained weights on ``texts``/``labels``; the head, shuffling and dropout
        depend on ``seed`` (torch's global generator is seeded inside and restored after).

        With a ``store`` (:class:`crowd.victim.store.VictimStore`), a victim trained before on the
        same config, model files, texts, labels and seed is loaded instead of trained (``from_store_``),
        and a newly trained one is stored. ``dev``: the corpus whose ``dev_clean`` and ``dev_poison``
        score the epochs when ``config.select == "best"`` (ignored for ``"last"``); the scores are kept
        in ``epoch_scores_`` and the epoch kept in ``epoch_`` (1-based; from a fresh fit only).
        """
        if len(texts) != len(labels) or not texts:
            raise ValueError("fit needs as many labels as texts, and at least one text")
        self.dev_ = _dev_sets(dev) if self.config.select == "best" else None
        key = None
        if store is not None:
            key = victim_key(self.config, texts, labels, seed, self.dev_)
        with seeded_global_rng(resolve_device(self.config.device), torch_seed(seed, "victim-init")):
            self.load()  # the new head is drawn from the seeded global generator
            self.from_store_ = key is not None and store.load(key, self)
            if self.from_store_:
                if self.config.trainable_layers:  # the same trainable parameters as a trained victim
                    freeze_bottom(self.model_, self.config.trainable_layers)
            elif self.config.trainable_layers:
                self._fit_top(list(texts), labels, seed)
            else:  # full fine-tuning: tokenise each batch
                dev_texts = self.dev_[0] if self.dev_ else []
                self._train(
                    lambda idx: self.model_(**self.encode([texts[i] for i in idx])).logits,
                    labels,
                    seed,
                    lambda idx: self.model_(**self.encode([dev_texts[i] for i in idx])).logits,
                )
        set_training(self.model_, False)
        if key is not None and not self.from_store_:
            store.save(key, self)
        return self

    def _fit_top(self, texts: list[str], labels: Sequence[int], seed: int) -> None:
        """Freeze the bottom, compute (or reuse) its states per distinct text, train the top from them."""
        cut = freeze_bottom(self.model_, self.config.trainable_layers)
        if self.state_cache is None:
            self.state_cache = StateCache()
        cache = self.state_cache
        cfg = self.config
        key = (resolve_model(cfg.model), cfg.max_length, cut, str(self.device_), cfg.dtype)
        start = time.perf_counter()
        rows = cache.rows(key, texts, lambda missing: self._bottom_states(missing, cut))
        self.states_s_ = time.perf_counter() - start  # seconds spent on the frozen part (0 when all cached)

        dev_rows = (
            cache.rows(key, self.dev_[0], lambda missing: self._bottom_states(missing, cut))
            if self.dev_
            else None
        )

        def logits(idx, rows=rows):
            hidden, mask = cache.batch(rows[idx], self.device_)
            return self.model_(inputs_embeds=hidden, attention_mask=mask).logits

        with layer_range(self.model_, cut, None, from_states=True):
            self._train(logits, labels, seed, lambda idx: logits(idx, dev_rows))

    def _bottom_states(self, texts: list[str], cut: int) -> list:
        """Hidden states entering layer ``cut``, one ``[tokens, hidden]`` fp32 CPU tensor per text (eval mode)."""
        ids = self.tokenizer_(texts, truncation=True, max_length=self.config.max_length)["input_ids"]
        out: list = [None] * len(texts)
        with torch.inference_mode(), layer_range(self.model_, 0, cut, from_states=False):
            for idx in length_batches([len(i) for i in ids], self.config.inference_batch_size):
                batch = self.encode([texts[i] for i in idx])
                with self._autocast():
                    hidden = self.model_.base_model(**batch).last_hidden_state.float().cpu()
                for row, i in enumerate(idx):
                    out[i] = hidden[row, : len(ids[i])].clone()
        return out

    def _train(self, logits_of: Callable, labels: Sequence[int], seed: int, dev_logits_of: Callable) -> None:
        """The training loop: ``logits_of(batch indices)`` gives the batch's logits under the current weights;
        with ``select = "best"``, ``dev_logits_of(indices into the dev texts)`` scores each epoch and the
        trainable parameters of the best one are restored at the end."""
        n, cfg = len(labels), self.config
        generator = torch.Generator().manual_seed(torch_seed(seed, "victim-shuffle"))
        labels_t = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        optimizer, scheduler = self._optimizer(n)
        params = [p for p in self.model_.parameters() if p.requires_grad]
        set_training(self.model_, True)
        bar = _epoch_bar(cfg.epochs, -(-n // cfg.batch_size), self.progress)
        best, self.epoch_scores_, self.epoch_ = None, [], cfg.epochs
        for epoch in range(cfg.epochs):
            bar.set_description(f"victim epoch {epoch + 1}/{cfg.epochs}")
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                with self._autocast():
                    logits = logits_of(idx)
                loss = torch.nn.functional.cross_entropy(logits.float(), labels_t[idx].to(self.device_))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                bar.update(1)
            if self.dev_:
                best = self._score_epoch(dev_logits_of, best)
        bar.close()
        if self.dev_ and best is not None:
            with torch.no_grad():
                for name, p in self.model_.named_parameters():
                    if name in best[1]:
                        p.copy_(best[1][name])
            set_training(self.model_, True)

    def _score_epoch(self, dev_logits_of: Callable, best):
        """Score the epoch just trained on the dev sets (mean of clean accuracy and ASR); returns the
        best ``(score, trainable parameters on CPU)`` so far (the first best kept on ties)."""
        dev_texts, dev_labels, n_clean = self.dev_
        set_training(self.model_, False)
        correct = np.zeros(len(dev_texts), dtype=bool)
        with torch.inference_mode():
            for start in range(0, len(dev_texts), self.config.inference_batch_size):
                idx = list(range(start, min(start + self.config.inference_batch_size, len(dev_texts))))
                with self._autocast():
                    pred = dev_logits_of(idx).float().argmax(dim=-1).cpu().numpy()
                correct[idx] = pred == dev_labels[idx]
        set_training(self.model_, True)
        score = float(np.mean([correct[:n_clean].mean(), correct[n_clean:].mean()]))
        self.epoch_scores_ = [*getattr(self, "epoch_scores_", []), round(score, 6)]
        if best is not None and score <= best[0]:
            return best
        self.epoch_ = len(self.epoch_scores_)
        params = {n: p.detach().cpu().clone() for n, p in self.model_.named_parameters() if p.requires_grad}
        return score, params

    def _optimizer(self, n: int):
        """AdamW over the trainable parameters (biases and LayerNorm weights undecayed) and the
        OpenBackdoor schedule: warm-up over ``warmup_epochs``, decay laid out over ``warmup_epochs + epochs``."""
        cfg = self.config
        named = [(name, p) for name, p in self.model_.named_parameters() if p.requires_grad]
        steps = -(-n // cfg.batch_size)
        return adamw(
            [p for name, p in named if not _no_decay(name)],
            [p for name, p in named if _no_decay(name)],
            cfg.lr,
            cfg.weight_decay,
            max(1, (cfg.warmup_epochs + cfg.epochs) * steps),
            warmup_steps=cfg.warmup_epochs * steps,
            zero_first=True,
        )

    # -- inference ---------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]):
        """Tokenised, padded, truncated batch on the victim's device."""
        self._check_loaded()
        batch = self.tokenizer_(
            list(texts), padding=True, truncation=True, max_length=self.config.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device_) for k, v in batch.items() if k in ("input_ids", "attention_mask")}

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), num_labels)``, float64."""
        return self._batched(texts, lambda batch: torch.softmax(self._logits(batch).float(), dim=-1))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(texts).argmax(axis=1) if len(texts) else np.zeros(0, dtype=np.int64)

    def cls_embeddings(self, texts: Sequence[str]) -> np.ndarray:
        """Final-layer hidden state at ``[CLS]`` (position 0), shape ``(len(texts), hidden)``."""

        def run(batch):
            out = self.model_.base_model(**batch)
            return out.last_hidden_state[:, 0, :].float()

        return self._batched(texts, run)

    @property
    def word_embeddings(self):
        """The input word-embedding module (``nn.Embedding``, rows indexed by token id)."""
        self._check_loaded()
        return self.model_.get_input_embeddings()

    def logits_from_embeddings(self, inputs_embeds, attention_mask):
        """Logits from given input embeddings (gradients flow; used by RAP)."""
        with self._autocast():
            return self.model_(inputs_embeds=inputs_embeds, attention_mask=attention_mask).logits.float()

    def _logits(self, batch):
        with self._autocast():
            return self.model_(**batch).logits

    def _batched(self, texts: Sequence[str], run) -> np.ndarray:
        self._check_loaded()
        texts = list(texts)
        results: list[np.ndarray | None] = [None] * len(texts)
        with torch.inference_mode():
            for idx in length_batches([len(t) for t in texts], self.config.inference_batch_size):
                out = run(self.encode([texts[i] for i in idx])).cpu().numpy().astype(np.float64)
                for row, i in zip(out, idx):
                    results[i] = row
        return np.stack(results) if results else np.zeros((0, 0))

    def _autocast(self):
        return autocast(self.device_, self.config.dtype)

    def _check_loaded(self) -> None:
        if self.model_ is None:
            raise RuntimeError("the victim has no model yet: call fit(...) or load() first")


def _dev_sets(corpus: Corpus | None) -> tuple[list[str], np.ndarray, int]:
    """Clean then triggered dev texts, their labels (the target for triggered ones) and the clean count."""
    if corpus is None or not corpus.dev_clean or not corpus.dev_poison:
        raise ValueError(
            'victim.select = "best" needs clean and triggered dev texts (the corpus\'s dev split, '
            'with an attack); use select = "last" otherwise'
        )
    rows = list(corpus.dev_clean) + list(corpus.dev_poison)
    return [e.text for e in rows], np.array([e.label for e in rows]), len(corpus.dev_clean)


def _no_decay(name: str) -> bool:
    return "bias" in name or "LayerNorm.weight" in name


def _epoch_bar(epochs: int, steps: int, enabled: bool):
    """A bar over all training batches (rate and ETA in batches), its description naming the epoch."""
    return tqdm(total=epochs * steps, unit="batch", disable=not enabled, desc="victim", dynamic_ncols=True)
