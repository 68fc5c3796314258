"""RAP: robustness-aware perturbations (Yang et al., "RAP: Robustness-Aware Perturbations for
Defending against Backdoor Attacks on NLP Models", EMNLP 2021; arXiv:2110.07831).

A backdoored model is far more robust on triggered inputs than on clean ones. RAP
inserts a rare word (the *RAP word*) at the start of an input and tunes only that
word's embedding, on clean held-out texts the victim assigns to the protected
(target) class, so that inserting it lowers the target-class probability by an
amount inside ``prob_range`` (default a drop between 0.1 and 0.3). At test time
an input predicted as the target class is flagged when its probability drop is
below a threshold that flags a fraction ``frr`` of the clean held-out texts; a
triggered input barely moves. Inputs predicted as another class get the statistic
NaN and are never flagged (a backdoor that did not fire needs no rejection).

Departures from OpenBackdoor's ``RAPDefender`` (which reports FAR close to 1 on
SST-2, OpenBackdoor issue #24), following the paper and its released code:
gradients are cleared after every step (OpenBackdoor never zeroes them, so each
update uses the running sum of all past gradients); the step is Adam's (lr 1e-2)
rather than ``lr * gradient``: on a confident victim (p ≈ 0.99) the gradient is
about 1e-5 and a plain step leaves the embedding where it was, which is how
OpenBackdoor users ended up changing the learning rate; the vector is projected
back to its original norm after each step, as in the paper's code; the embedding is tuned only on
clean texts of the protected class, as in the paper (OpenBackdoor uses every dev
text); the default RAP word is ``mb`` (OpenBackdoor's default ``cf`` is one of the
BadNets triggers, so tuning it rewrites the backdoor trigger itself); and the
victim's embedding matrix is never modified: the tuned vector is substituted for
the RAP word's embedding in the forward pass, so CACC and ASR are measured on the
untouched victim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crowd.defenses.base import InputDetector
from crowd.seeding import torch_seed

if TYPE_CHECKING:
    from crowd.train.victim import Victim


class RAP(InputDetector):
    """Flag target-class inputs whose prediction survives the tuned RAP word."""

    name: ClassVar[str] = "rap"

    def __init__(
        self,
        rap_word: str = "mb",
        target_label: int = 1,
        prob_range: tuple[float, float] = (-0.1, -0.3),
        scale: float = 1.0,
        epochs: int = 5,
        lr: float = 1e-2,
        batch_size: int = 32,
        frr: float = 0.01,
        seed: int = 0,
    ) -> None:
        if not prob_range[0] > prob_range[1]:
            raise ValueError(
                "prob_range is (upper, lower) change of the target probability, e.g. (-0.1, -0.3)"
            )
        self.rap_word = rap_word
        self.target_label = target_label
        self.prob_range = tuple(prob_range)
        self.scale = scale
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.frr = frr
        self.seed = seed

    def _prepare(self, clean_texts: Sequence[str], victim: Victim) -> None:
        import torch

        ids = victim.tokenizer_(self.rap_word, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise ValueError(f"rap_word {self.rap_word!r} must be a single token of the victim's tokenizer")
        self.token_id_ = int(ids[0])
        row = victim.word_embeddings.weight[self.token_id_].detach().float().clone()
        self.norm_ = float(row.norm())
        self.embedding_ = row
        protected = [t for t, y in zip(clean_texts, victim.predict(clean_texts)) if y == self.target_label]
        if not protected:
            raise ValueError("RAP: the victim assigns no clean text to the target class")
        base = torch.as_tensor(victim.predict_proba(protected)[:, self.target_label], dtype=torch.float32)
        generator = torch.Generator().manual_seed(torch_seed(self.seed, "rap-shuffle"))
        self.embedding_.requires_grad_(True)
        optimizer = torch.optim.Adam([self.embedding_], lr=self.lr)
        self.losses_ = []
        for _ in range(self.epochs):
            order = torch.randperm(len(protected), generator=generator)
            for start in range(0, len(protected), self.batch_size):
                idx = order[start : start + self.batch_size]
                self.losses_.append(self._step([protected[i] for i in idx], base[idx], optimizer))
        self.embedding_ = self.embedding_.detach()

    def _step(self, texts: list[str], base_prob, optimizer) -> float:
        import torch

        rap_prob = self._target_prob(self._insert(texts), self.embedding_)
        diff = rap_prob - base_prob.to(rap_prob.device)
        upper, lower = self.prob_range
        loss = self.scale * torch.relu(diff - upper).mean() + torch.relu(lower - diff).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            self.embedding_.mul_(self.norm_ / self.embedding_.norm())
        return float(loss.detach())

    def _insert(self, texts: Sequence[str]) -> list[str]:
        return [f"{self.rap_word} {t}" for t in texts]

    def _target_prob(self, texts: Sequence[str], vector):
        """Target-class probability with ``vector`` in place of the RAP word's embedding (differentiable)."""
        import torch

        victim = self.victim_
        batch = victim.encode(texts)
        embeds = victim.word_embeddings(batch["input_ids"]).detach().float()
        mask = (batch["input_ids"] == self.token_id_).unsqueeze(-1)
        embeds = torch.where(mask, vector.to(embeds.device, embeds.dtype), embeds)
        logits = victim.logits_from_embeddings(
            embeds.to(victim.word_embeddings.weight.dtype), batch["attention_mask"]
        )
        return torch.softmax(logits, dim=-1)[:, self.target_label]

    def statistic(self, texts: Sequence[str]) -> np.ndarray:
        """Drop of the target probability when the tuned RAP word is inserted; NaN where the prediction is not the target."""
        import torch

        if not hasattr(self, "embedding_"):
            raise RuntimeError("rap: call fit(clean_texts, victim) first")
        probs = self.victim_.predict_proba(texts)
        out = np.full(len(texts), np.nan)
        examined = np.flatnonzero(probs.argmax(axis=1) == self.target_label)
        with torch.inference_mode():
            for start in range(0, len(examined), self.victim_.config.eval_batch_size):
                idx = examined[start : start + self.victim_.config.eval_batch_size]
                rap = self._target_prob(self._insert([texts[i] for i in idx]), self.embedding_)
                out[idx] = probs[idx, self.target_label] - rap.float().cpu().numpy()
        return out
