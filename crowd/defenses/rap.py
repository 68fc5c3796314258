"""RAP: robustness-aware perturbations (Yang et al., "RAP: Robustness-Aware Perturbations for
Defending against Backdoor Attacks on NLP Models", EMNLP 2021; arXiv:2110.07831).

A backdoored model is far more robust on triggered inputs than on clean ones. RAP
inserts a rare word (the *RAP word*) at the start of an input and tunes only that
word's embedding, on clean held-out texts whose true label is the protected
(target) class and that the victim classifies as such, so that inserting it
lowers the target-class probability by an amount inside ``prob_range`` (default a
drop between 0.1 and 0.3). At test time an input predicted as the target class is
flagged when its probability drop is below a threshold that flags a fraction
``frr`` of the same clean held-out texts; a triggered input barely moves. Inputs
predicted as another class get the statistic NaN and are never flagged (a
backdoor that did not fire needs no rejection).

Following the paper and its released code (``lancopku/RAP``, ``rap_defense.py``):
the step follows ``G``, the running sum of every gradient so far (the released
code never zeroes the gradient, "to get faster convergence", as Embedding
Poisoning does), then the vector is rescaled to its original norm; tuning runs
over the texts in one seeded shuffled order for ``epochs`` passes.

The released step is ``v <- v - lr * G`` (``step="released"``, their lr 1e-2).
As ``G`` grows with every update, the word moves about ``lr * |g| * t**2 / 2``
after ``t`` updates: the released setting assumes the authors' held-out sets,
about 450 protected texts (14 updates an epoch, 70 in all); on 100 calibration
texts (20 updates in all) the word moves about twelve times less and the target
probability barely changes (Table 2's "tuning barely moved" rows), and on a
full-size MiniLM victim the undecayed sum oscillates. The default step is
therefore normalised, ``v <- v - lr * |v0| * G / |G|`` (the released direction,
a step of ``lr`` times the word's norm whatever the victim's gradient scale), for
at least ``min_steps`` updates (default 70, the released setting on SST-2;
epochs repeat as needed). When the threshold is still not positive (the tuned
word does not lower the protected probability of a fraction ``frr`` or more of
the clean texts; the released ``evaluate_rap_performance.py`` says to retrain
with a larger ``scale`` then), fitting raises :class:`RAPStalled` rather than
flagging with a word that cannot separate triggered inputs.

Departures, each documented in ``docs/defenses.md``: the victim runs in eval mode
while tuning (the released code's ``train()`` call leaves dropout on, so its
tuning is stochastic); the default RAP word is ``mb``, not ``cf`` (OpenBackdoor's
default RAP word is one of the BadNets triggers, so tuning it rewrites the
backdoor trigger itself); the victim's embedding matrix is never modified: the
tuned vector is substituted for the RAP word's embedding in the forward pass, so
CACC and ASR are measured on the untouched victim; the threshold is the
``floor(n * frr)``-th smallest clean value (the released code interpolates
``np.nanpercentile``); the normalised step and ``min_steps``. OpenBackdoor's ``RAPDefender`` (FAR close to 1 on SST-2,
its issue #24) tunes on every dev text and keeps OpenBackdoor's ``cf``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crowd.defenses.base import InputDetector, check_frr
from crowd.seeding import torch_seed

if TYPE_CHECKING:
    from crowd.victim import Victim


def _torch():
    """torch, imported when RAP runs: the defenses registry (configs, tables) is read without it."""
    import torch  # lazy: the defenses registry is light; RAP's gradients need torch only when it runs

    return torch


class RAPStalled(ValueError):
    """Tuning did not make the RAP word lower the protected probability of clean texts (a setting that
    does not suit the victim: ``crowd defend`` reports it as an error, a benchmark cell as an error row)."""


@dataclass(frozen=True)
class RapSettings:
    """``[defense] name = "rap"``: the word ``rap_word`` tuned to lower the probability of ``target_label``
    (default: the attack's target) by an amount in ``prob_range`` (upper, lower; ``scale`` weighs the upper
    side), over ``epochs`` passes of ``batch_size`` texts and at least ``min_steps`` updates of rate ``lr``
    (``step``: ``"normalized"`` or ``"released"``), in an order drawn with ``seed`` (default: the run's); the
    threshold flags a fraction ``frr`` of the clean held-out texts."""

    rap_word: str = "mb"
    target_label: int = 1
    prob_range: tuple[float, float] = (-0.1, -0.3)
    scale: float = 1.0
    epochs: int = 5
    lr: float = 0.1
    batch_size: int = 32
    frr: float = 0.01
    seed: int = 0
    min_steps: int = 70
    step: str = "normalized"

    def __post_init__(self) -> None:
        prob_range = tuple(float(x) for x in self.prob_range)
        if len(prob_range) != 2 or not 0.0 >= prob_range[0] > prob_range[1] >= -1.0:
            raise ValueError(
                f"rap: prob_range is the (upper, lower) change of the target probability, "
                f"0 >= upper > lower >= -1, e.g. (-0.1, -0.3); got {prob_range}"
            )
        # a list or ints given in Python: a tuple of floats
        object.__setattr__(self, "prob_range", prob_range)
        if (
            self.epochs < 1
            or self.batch_size < 1
            or self.lr <= 0
            or self.scale < 0
            or self.target_label < 0
            or self.min_steps < 0
        ):
            raise ValueError(
                "rap: epochs, batch_size >= 1, lr > 0, scale >= 0, target_label >= 0, min_steps >= 0"
            )
        if self.step not in ("normalized", "released"):
            raise ValueError(f"rap: step must be 'normalized' or 'released', got {self.step!r}")
        if len(self.rap_word.split()) != 1:
            raise ValueError(f"rap: rap_word must be one word, got {self.rap_word!r}")
        check_frr(self.frr)


class RAP(RapSettings, InputDetector):
    """Flag target-class inputs whose prediction survives the tuned RAP word."""

    name: ClassVar[str] = "rap"
    paper_note: ClassVar[str] = (
        "normalised steps along the accumulated gradient (the released code's direction), ≥ 70 "
        "updates, on the protected dev texts the victim classifies correctly; a tuning that "
        "stalls is an error row; rejected inputs count as errors / failed attacks"
    )

    def _prepare(self, clean_texts: list[str], victim: Victim, clean_labels=None) -> list[str]:
        """Tune the RAP word on the clean texts of the protected label that the victim predicts as such
        (correctly classified); they also set the threshold."""
        if clean_labels is None or len(clean_labels) != len(clean_texts):
            raise ValueError("rap: fit needs the labels of the clean texts (it tunes on the protected label)")
        ids = victim.tokenizer_(self.rap_word, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise ValueError(f"rap_word {self.rap_word!r} must be a single token of the victim's tokenizer")
        self.token_id_ = int(ids[0])
        protected = [t for t, y in zip(clean_texts, clean_labels) if int(y) == self.target_label]
        if not protected:
            raise ValueError(f"rap: no clean text has the protected label {self.target_label}")
        probs = victim.predict_proba(protected)
        correct = [t for t, p in zip(protected, probs) if int(p.argmax()) == self.target_label]
        if not correct:
            raise ValueError(f"rap: the victim classifies no clean text of label {self.target_label} as it")
        self.n_protected_, self.n_tuned_ = len(protected), len(correct)
        self._tune(correct, victim)
        return correct

    def _tune(self, protected: list[str], victim: Victim) -> None:
        torch = _torch()
        row = victim.word_embeddings.weight[self.token_id_].detach().float().clone()
        self.norm_ = float(row.norm())
        self.embedding_ = row
        base = torch.as_tensor(victim.predict_proba(protected)[:, self.target_label], dtype=torch.float32)
        generator = torch.Generator().manual_seed(torch_seed(self.seed, "rap-shuffle"))
        order = torch.randperm(len(protected), generator=generator)
        gradient_sum = torch.zeros_like(row)
        self.losses_ = []
        self.steps_per_epoch_ = -(-len(protected) // self.batch_size)
        self.epochs_run_ = max(self.epochs, -(-self.min_steps // self.steps_per_epoch_))
        for _ in range(self.epochs_run_):
            for start in range(0, len(protected), self.batch_size):
                idx = order[start : start + self.batch_size]
                loss, grad = self._loss_and_grad([protected[i] for i in idx], base[idx])
                gradient_sum += grad
                size = float(gradient_sum.norm())
                if self.step == "normalized" and size > 0:  # a step of lr times the word's norm
                    move = gradient_sum * (self.lr * self.norm_ / size)
                else:
                    move = self.lr * gradient_sum
                with torch.no_grad():
                    vector = self.embedding_ - move
                    self.embedding_ = vector * (self.norm_ / vector.norm())
                self.losses_.append(loss)

    def fit(self, clean_texts, victim, clean_labels=None) -> RAP:
        """Tune, threshold, then raise :class:`RAPStalled` if the threshold is not positive."""
        super().fit(clean_texts, victim, clean_labels)
        self.drop_median_ = float(np.nanmedian(self.clean_statistic_))
        if not self.threshold_ > 0:
            first, last = (
                np.mean(self.losses_[: self.steps_per_epoch_]),
                np.mean(self.losses_[-self.steps_per_epoch_ :]),
            )
            # "stalled" when the word moved most texts by under half the wanted drop, else it moved most but
            # not all of them (e.g. scale 3 on SST-2 at frr 0.01: median drop 0.17, threshold -0.007)
            what = "stalled" if self.drop_median_ < -self.prob_range[0] / 2 else "left too many texts unmoved"
            raise RAPStalled(
                f"rap: tuning {what}: the tuned word does not lower the protected probability of "
                f"{self.frr:.1%} or more of the {len(self.clean_statistic_)} clean calibration texts "
                f"(threshold {self.threshold_:.4f} <= 0, median drop {self.drop_median_:.4f}) after "
                f"{len(self.losses_)} updates at lr {self.lr:g} (loss {first:.4f} -> {last:.4f}); flags "
                f"from this word would not separate triggered inputs: raise lr, min_steps or scale"
            )
        return self

    def _loss_and_grad(self, texts: list[str], base_prob):
        """The RAP loss on ``texts`` and its gradient with respect to the RAP word's vector."""
        torch = _torch()
        vector = self.embedding_.detach().clone().requires_grad_(True)
        rap_prob = self._target_prob(self._insert(texts), vector)
        diff = rap_prob - base_prob.to(rap_prob.device)
        upper, lower = self.prob_range
        loss = self.scale * torch.relu(diff - upper).mean() + torch.relu(lower - diff).mean()
        (grad,) = torch.autograd.grad(loss, vector)
        return float(loss.detach()), grad.detach().to(self.embedding_.device)

    def report(self) -> dict[str, object]:
        """Threshold, the texts tuned on, the updates made, tuning losses and the clean median drop."""
        out = dict(super().report())
        steps = getattr(self, "steps_per_epoch_", 0)
        if steps:
            first, last = np.mean(self.losses_[:steps]), np.mean(self.losses_[-steps:])
            out.update(
                loss_first_epoch=float(first),
                loss_last_epoch=float(last),
                updates=len(self.losses_),
                epochs_run=self.epochs_run_,
                n_protected=self.n_protected_,
                n_tuned=self.n_tuned_,
            )
        if hasattr(self, "drop_median_"):
            out["clean_drop_median"] = self.drop_median_
        return out

    def _insert(self, texts: Sequence[str]) -> list[str]:
        return [f"{self.rap_word} {t}" for t in texts]

    def _target_prob(self, texts: Sequence[str], vector):
        """Target-class probability with ``vector`` in place of the RAP word's embedding (differentiable)."""
        torch = _torch()
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
        torch = _torch()
        if not hasattr(self, "embedding_"):
            raise RuntimeError("rap: call fit(clean_texts, victim) first")
        probs = self.victim_.predict_proba(texts)
        out = np.full(len(texts), np.nan)
        examined = np.flatnonzero(probs.argmax(axis=1) == self.target_label)
        with torch.inference_mode():
            for start in range(0, len(examined), self.victim_.config.inference_batch_size):
                idx = examined[start : start + self.victim_.config.inference_batch_size]
                rap = self._target_prob(self._insert([texts[i] for i in idx]), self.embedding_)
                out[idx] = probs[idx, self.target_label] - rap.float().cpu().numpy()
        return out
