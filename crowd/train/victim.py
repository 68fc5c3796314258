"""The undefended victim: a fine-tuned Hugging Face sequence classifier and its tokenizer.

What every empirical defense needs from the model it protects: ``fit`` on
(possibly poisoned) training texts, class probabilities, the final-layer
``[CLS]`` representation (BKI) and the input word-embedding matrix, with a
forward pass from embeddings (RAP). Training follows OpenBackdoor's base trainer
(``openbackdoor/trainers/trainer.py``): AdamW, lr 2e-5, weight decay 0, batch 32,
gradient clipping at 1.0, and a linear schedule warmed up over ``warmup_epochs``
whose decay is laid out over ``warmup_epochs + epochs`` epochs, as OpenBackdoor
does. Departure: the last epoch's model is kept (OpenBackdoor keeps the best one
on poisoned dev data, which the defender should not see). On CUDA, forward passes
run under bf16 autocast. The device is resolved when fitting, never at import.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from crowd.seeding import torch_seed
from crowd.train.models import load_classifier, load_tokenizer


@dataclass(frozen=True)
class VictimConfig:
    """How the victim is built and trained. ``device = "auto"`` means CUDA when available, else CPU."""

    model: str = "minilm"
    num_labels: int = 2
    epochs: int = 5
    batch_size: int = 32
    lr: float = 2e-5
    weight_decay: float = 0.0
    warmup_epochs: int = 3
    max_grad_norm: float = 1.0
    max_length: int = 128
    eval_batch_size: int = 256
    device: str = "auto"
    bf16: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.warmup_epochs < 0:
            raise ValueError("epochs and warmup_epochs must be >= 0")
        if self.batch_size < 1 or self.eval_batch_size < 1 or self.max_length < 2:
            raise ValueError("batch sizes must be >= 1 and max_length >= 2")


def resolve_device(name: str):
    """``"auto"`` → CUDA if available else CPU; anything else is passed to ``torch.device``."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Indices in batches of similar length (longest first), so padding is small."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class Victim:
    """A sequence classifier to attack and defend.

    >>> victim = Victim(VictimConfig(model="minilm")).fit(texts, labels, seed=0)  # doctest: +SKIP
    >>> victim.predict(["a gripping film"])  # doctest: +SKIP
    """

    def __init__(self, config: VictimConfig) -> None:
        self.config = config
        self.model_ = None
        self.tokenizer_ = None
        self.device_ = None

    # -- building and training ---------------------------------------------------------------------
    def load(self) -> Victim:
        """Load the pretrained model with a fresh classification head (no training)."""
        import torch

        self.device_ = resolve_device(self.config.device)
        self.tokenizer_ = load_tokenizer(self.config.model)
        self.model_ = load_classifier(self.config.model, self.config.num_labels, dtype=torch.float32)
        self.model_.to(self.device_)
        self.model_.eval()
        return self

    def fit(self, texts: Sequence[str], labels: Sequence[int], seed: int) -> Victim:
        """Fine-tune from the pretrained weights on ``texts``/``labels``; shuffling and the head depend on ``seed``."""
        import torch

        if len(texts) != len(labels) or not texts:
            raise ValueError("fit needs as many labels as texts, and at least one text")
        torch.manual_seed(torch_seed(seed, "victim-init"))  # the new head's initialisation
        self.load()
        generator = torch.Generator().manual_seed(torch_seed(seed, "victim-shuffle"))
        labels_t = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        optimizer, scheduler = self._optimizer(len(texts))
        self.model_.train()
        for _ in range(self.config.epochs):
            order = torch.randperm(len(texts), generator=generator)
            for start in range(0, len(texts), self.config.batch_size):
                idx = order[start : start + self.config.batch_size]
                self._train_step([texts[i] for i in idx], labels_t[idx], optimizer, scheduler)
        self.model_.eval()
        return self

    def _optimizer(self, n: int):
        import torch
        from transformers import get_linear_schedule_with_warmup

        cfg = self.config
        decay = [p for name, p in self.model_.named_parameters() if not _no_decay(name)]
        no_decay = [p for name, p in self.model_.named_parameters() if _no_decay(name)]
        groups = [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
        steps = -(-n // cfg.batch_size)
        scheduler = get_linear_schedule_with_warmup(
            optimizer, cfg.warmup_epochs * steps, max(1, (cfg.warmup_epochs + cfg.epochs) * steps)
        )
        return optimizer, scheduler

    def _train_step(self, texts: list[str], labels, optimizer, scheduler) -> float:
        import torch

        batch = self.encode(texts)
        with self._autocast():
            logits = self.model_(**batch).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), labels.to(self.device_))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model_.parameters(), self.config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        return float(loss.detach())

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
        import torch

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
        import torch

        self._check_loaded()
        texts = list(texts)
        results: list[np.ndarray | None] = [None] * len(texts)
        with torch.inference_mode():
            for idx in length_batches([len(t) for t in texts], self.config.eval_batch_size):
                out = run(self.encode([texts[i] for i in idx])).cpu().numpy().astype(np.float64)
                for row, i in zip(out, idx):
                    results[i] = row
        return np.stack(results) if results else np.zeros((0, 0))

    def _autocast(self):
        import contextlib

        import torch

        if self.device_ is not None and self.device_.type == "cuda" and self.config.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _check_loaded(self) -> None:
        if self.model_ is None:
            raise RuntimeError("the victim has no model yet: call fit(...) or load() first")


def _no_decay(name: str) -> bool:
    return "bias" in name or "LayerNorm.weight" in name
