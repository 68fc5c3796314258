"""The ``bow+head`` learner: a sparse and a dense model per copy, their probabilities averaged.

Each copy trains two models on the same training rows, labels and ``train_weights``: the TF-IDF
logistic regression of :mod:`crowd.train.learners.bow` (``[bow]`` settings) and the frozen-encoder linear head of
:mod:`crowd.train.learners.head` (``[head]`` settings). The copy's output is the mean of their class
probabilities ``p = (softmax(bow) + softmax(head)) / 2``, returned as logits ``log(max(p, 1e-30))``
(float32, finite), so the vote is the class of highest mean probability and a run-off reads the mean.

Inputs: one :class:`CopyData` holds one id matrix, so :class:`~crowd.train.pair_encoder.PairEncoder`
lays the two encodings side by side, ``[bow.max_length hashed word ids | head.max_length word pieces]``
(masks alike); the trainer cuts every copy at column ``bow.max_length`` into one copy per member.

Independence (THEORY §3): model ``j`` is a function of its copy and ``(seed, j)`` because each member is
(each member's own tests, and ``tests/test_train_ensemble.py`` for the pair), and the average of two
such functions is one too. Nothing crosses between the members or between copies.

Kept models: :meth:`EnsembleTrainer.fit` returns, per copy, the two members' states side by side, the
bag of words' arrays named ``bow.<name>`` (``bow.coef``, ``bow.words``, ...) and the head's ``head.<name>``
(``head.weight``, ``head.bias``). :meth:`EnsembleTrainer.predict` cuts its inputs at column ``bow.max_length``
as ``fit`` cuts copies, asks each member's ``predict`` and averages as above; each member's logits on a row
depend on that row alone, and so does their average (``tests/test_keep_learners.py``). ``fit_predict`` is
``predict`` after ``fit`` (:class:`crowd.train.settings.Ensemble`).

Methods: word partitions (textguard), DPA, SAFER and CROWD only call ``encoder.encode`` and work
unchanged. Keep-β token noise (``wang``) perturbs the coordinates of one encoder's ``content``; the two
encoders' coordinates have different domains, so the pair encoder refuses it with a ``ValueError``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from crowd.train.data import CopyData, FitRequest, ModelInputs, ModelState, Progress, TrainingInputError
from crowd.train.settings import Ensemble

if TYPE_CHECKING:
    from crowd.train.learners.bow import BagOfWordsTrainer
    from crowd.train.learners.head import HeadOnlyTrainer

PROBABILITY_FLOOR = 1e-30
"""Mean probabilities are clipped here before the log, so every logit is finite (about -69)."""


class EnsembleTrainer(Ensemble):
    """The implementation of :class:`crowd.train.settings.Ensemble` (built from its settings)."""

    @cached_property
    def members(self) -> tuple[BagOfWordsTrainer, HeadOnlyTrainer]:
        """The two member trainers (made once, so that ``predict`` after ``fit`` loads the encoder once)."""
        return self.bow.implementation(), self.head.implementation()

    def fit(self, request: FitRequest, progress: Progress = None) -> list[ModelState]:
        """Per copy, its bag-of-words model and its head, as one state of prefixed names.

        ``progress(done, total)``: the heads' steps (encoding, epochs), then one step per bag-of-words model.
        """
        copies, indices = request.copies, request.indices
        if len(copies) == 0 or len(copies) != len(indices):
            raise TrainingInputError(f"got {len(copies)} copies for {len(indices)} copy indices")
        parts = [self.split(copy, j) for j, copy in zip(indices, copies)]
        report = progress or (lambda done, total: None)
        k, head_steps = len(copies), [0]

        def head_step(done: int, total: int) -> None:
            head_steps[0] = total
            report(done, total + k)

        bow, head = self.members
        heads = head.fit(dataclasses.replace(request, copies=[p[1] for p in parts]), head_step)
        bows = bow.fit(
            dataclasses.replace(request, copies=[p[0] for p in parts]),
            lambda done, total: report(head_steps[0] + done, head_steps[0] + total),
        )
        return [join_states(b, h) for b, h in zip(bows, heads)]

    def predict(
        self,
        model_name: str,
        states: Sequence[ModelState],
        inputs: Sequence[ModelInputs],
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Logits ``(len(states), n, num_labels)`` float32: log of the members' mean probabilities."""
        if len(states) == 0 or len(states) != len(inputs):
            raise TrainingInputError(f"got {len(inputs)} inputs for {len(states)} models")
        cut = self.bow.max_length
        for k, x in enumerate(inputs):
            self.check_width(x.ids.shape[1], f"model {k}: ids")
        members = [split_state(s, k) for k, s in enumerate(states)]
        bow, head = self.members
        bows = bow.predict(
            model_name,
            [m[0] for m in members],
            [ModelInputs(x.ids[:, :cut], x.mask[:, :cut], x.abstain) for x in inputs],
            device,
            num_labels,
        )
        heads = head.predict(
            model_name,
            [m[1] for m in members],
            [ModelInputs(x.ids[:, cut:], x.mask[:, cut:], x.abstain) for x in inputs],
            device,
            num_labels,
        )
        return mean_probability_logits(bows, heads)

    def check_width(self, got: int, what: str) -> None:
        """Raise :class:`TrainingInputError` unless inputs have the pair encoder's ``bow + head`` columns."""
        cut, width = self.bow.max_length, self.bow.max_length + self.head.max_length
        if got != width:
            raise TrainingInputError(
                f"{what} has {got} columns; the bow+head learner reads {width}: "
                f"bow.max_length = {cut} hashed word ids, then head.max_length = {self.head.max_length} "
                "word pieces (its encoder, crowd.train.pair_encoder.PairEncoder)"
            )

    def split(self, copy: CopyData, j: int) -> tuple[CopyData, CopyData]:
        """``(bow copy, head copy)``: ``copy`` cut at column ``bow.max_length`` (labels, weights, abstain kept)."""
        cut = self.bow.max_length
        for name in ("train", "test"):
            self.check_width(getattr(copy, f"{name}_ids").shape[1], f"copy {j}: {name}_ids")

        def part(cols: slice) -> CopyData:
            return CopyData(
                copy.train_ids[:, cols],
                copy.train_mask[:, cols],
                copy.train_labels,
                copy.test_ids[:, cols],
                copy.test_mask[:, cols],
                copy.train_weights,
                copy.test_abstain,
            )

        return part(slice(None, cut)), part(slice(cut, None))


MEMBERS = ("bow", "head")
"""The members' name prefixes in an ensemble model's state, in the order of :func:`split_state`."""


def join_states(bow: ModelState, head: ModelState) -> ModelState:
    """One state of the two members' arrays, under ``bow.<name>`` and ``head.<name>``."""
    return {f"{prefix}.{name}": a for prefix, part in zip(MEMBERS, (bow, head)) for name, a in part.items()}


def split_state(state: ModelState, k: int = 0) -> tuple[ModelState, ModelState]:
    """``(bow state, head state)`` of an ensemble model's state (its prefixed names, unprefixed)."""
    parts: dict[str, ModelState] = {prefix: {} for prefix in MEMBERS}
    for name, a in state.items():
        prefix, _, rest = name.partition(".")
        if prefix not in parts or not rest:
            raise TrainingInputError(f"model {k}: array {name!r} belongs to no member ({', '.join(MEMBERS)})")
        parts[prefix][rest] = a
    if not all(parts.values()):
        raise TrainingInputError(f"model {k}: the state lacks a member (has {sorted(state)})")
    return parts["bow"], parts["head"]


def mean_probability_logits(*logits: np.ndarray) -> np.ndarray:
    """``log(max(mean_i softmax(logits_i), PROBABILITY_FLOOR))`` over the last axis, float32 (computed in float64)."""
    total = 0.0
    for scores in logits:
        z = np.asarray(scores, dtype=np.float64)
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        total = total + z / z.sum(axis=-1, keepdims=True)
    mean = total / len(logits)
    return np.log(np.maximum(mean, PROBABILITY_FLOOR)).astype(np.float32)
