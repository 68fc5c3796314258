"""The ``bow+head`` learner: a sparse and a dense model per copy, their probabilities averaged.

Each copy trains two models on the same training rows, labels and ``train_weights``: the TF-IDF
logistic regression of :mod:`crowd.train.bow` (``[bow]`` settings) and the frozen-encoder linear head of
:mod:`crowd.train.heads` (``[head]`` settings). The copy's output is the mean of their class
probabilities ``p = (softmax(bow) + softmax(head)) / 2``, returned as logits ``log(max(p, 1e-30))``
(float32, finite), so the vote is the class of highest mean probability and a run-off reads the mean.

Inputs: one :class:`CopyData` holds one id matrix, so :class:`~crowd.train.pair_encoder.PairEncoder`
lays the two encodings side by side, ``[bow.max_length hashed word ids | head.max_length word pieces]``
(masks alike); the trainer cuts every copy at column ``bow.max_length`` into one copy per member.

Independence (THEORY §3): model ``j`` is a function of its copy and ``(seed, j)`` because each member is
(each member's own tests, and ``tests/test_train_ensemble.py`` for the pair), and the average of two
such functions is one too. Nothing crosses between the members or between copies.

Methods: word partitions (textguard), DPA, SAFER and CROWD only call ``encoder.encode`` and work
unchanged. Keep-β token noise (``wang``) perturbs the coordinates of one encoder's ``content``; the two
encoders' coordinates have different domains, so the pair encoder refuses it with a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from crowd.train.data import CopyData, TrainingInputError
from crowd.train.settings import Ensemble

PROBABILITY_FLOOR = 1e-30
"""Mean probabilities are clipped here before the log, so every logit is finite (about -69)."""


class EnsembleTrainer(Ensemble):
    """The implementation of :class:`crowd.train.settings.Ensemble` (built from its settings)."""

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
        """Test logits ``(len(copies), n_test, num_labels)`` float32: log of the members' mean probabilities.

        ``progress(done, total)``: the heads' steps (encoding, epochs), then one step per bag-of-words model.
        """
        if len(copies) == 0 or len(copies) != len(indices):
            raise TrainingInputError(f"got {len(copies)} copies for {len(indices)} copy indices")
        parts = [self.split(copy, j) for j, copy in zip(indices, copies)]
        report = progress or (lambda done, total: None)
        k, head_steps = len(copies), [0]

        def head_step(done: int, total: int) -> None:
            head_steps[0] = total
            report(done, total + k)

        head = self.head.fit_predict(
            model_name, [p[1] for p in parts], indices, seed, device, num_labels, head_step
        )
        bow = self.bow.fit_predict(
            model_name,
            [p[0] for p in parts],
            indices,
            seed,
            device,
            num_labels,
            lambda done, total: report(head_steps[0] + done, head_steps[0] + total),
        )
        return mean_probability_logits(bow, head)

    def split(self, copy: CopyData, j: int) -> tuple[CopyData, CopyData]:
        """``(bow copy, head copy)``: ``copy`` cut at column ``bow.max_length`` (labels, weights, abstain kept)."""
        cut, width = self.bow.max_length, self.bow.max_length + self.head.max_length
        for name in ("train", "test"):
            got = getattr(copy, f"{name}_ids").shape[1]
            if got != width:
                raise TrainingInputError(
                    f"copy {j}: {name}_ids has {got} columns; the bow+head learner reads {width}: "
                    f"bow.max_length = {cut} hashed word ids, then head.max_length = {self.head.max_length} "
                    "word pieces (its encoder, crowd.train.pair_encoder.PairEncoder)"
                )

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


def mean_probability_logits(*logits: np.ndarray) -> np.ndarray:
    """``log(max(mean_i softmax(logits_i), PROBABILITY_FLOOR))`` over the last axis, float32 (computed in float64)."""
    total = 0.0
    for scores in logits:
        z = np.asarray(scores, dtype=np.float64)
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        total = total + z / z.sum(axis=-1, keepdims=True)
    mean = total / len(logits)
    return np.log(np.maximum(mean, PROBABILITY_FLOOR)).astype(np.float32)
