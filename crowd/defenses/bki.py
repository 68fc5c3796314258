"""BKI: backdoor keyword identification (Chen and Dai, "Mitigating Backdoor Attacks in LSTM-based
Text Classification Systems by Backdoor Keyword Identification", Neurocomputing 2021;
arXiv:2007.12070).

A victim trained on the poisoned training set relies on the trigger words, so
deleting one changes its internal representation far more than deleting an
ordinary word. For each training text and each word ``w`` we measure
``||h(x) - h(x without w)||_inf`` on the victim's final-layer ``[CLS]`` vector,
keep the ``top_per_sample`` most influential words of the text, and score each
word over the whole set by ``mean influence * log10(count)`` (a word that is
influential in many texts). The highest-scoring words are the backdoor keywords;
every training text that contains one is removed, and the victim is retrained on
the rest (the pipeline in :mod:`crowd.pipelines.defend` does the retraining).

Departure from OpenBackdoor's ``BKIDefender``: it keeps only the single top word,
so a BadNets attack with several trigger words (``cf mn bb tq``) is mostly left in
place. Here the keywords are the top ``k <= num_keywords`` words, ``k`` chosen at the
largest ratio between consecutive scores (the trigger words stand apart from the
ordinary influential words), following the paper's set of keywords. Texts
are removed when they contain a keyword (the paper), not only when the keyword is
among that text's own top words (OpenBackdoor).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crowd.defenses.base import TrainingFilter

if TYPE_CHECKING:
    from crowd.train.victim import Victim


def deletion_variants(text: str) -> list[str]:
    """``text`` followed by ``text`` with each word deleted in turn (words split on whitespace)."""
    words = text.split()
    return [" ".join(words)] + [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]


def largest_gap(scores: Sequence[float]) -> int:
    """``k`` maximising ``scores[k-1] / scores[k]`` over descending ``scores`` (all of them if one is 0)."""
    values = np.maximum(np.asarray(scores, dtype=np.float64), 0.0)
    if values.size <= 1:
        return int(values.size)
    ratios = [values[k - 1] / values[k] if values[k] > 0 else np.inf for k in range(1, values.size)]
    return int(np.argmax(ratios)) + 1


class BKI(TrainingFilter):
    """Identify trigger keywords from the victim's [CLS] changes and drop the texts containing them."""

    name: ClassVar[str] = "bki"

    def __init__(self, top_per_sample: int = 5, num_keywords: int = 5, chunk_size: int = 1024) -> None:
        if top_per_sample < 1 or num_keywords < 1:
            raise ValueError("top_per_sample and num_keywords must be >= 1")
        self.top_per_sample = top_per_sample
        self.num_keywords = num_keywords
        self.chunk_size = chunk_size

    def influences(self, texts: Sequence[str], victim: Victim) -> list[np.ndarray]:
        """Per text, the inf-norm change of the [CLS] vector when each of its words is deleted."""
        out: list[np.ndarray] = []
        for start in range(0, len(texts), self.chunk_size):
            chunk = texts[start : start + self.chunk_size]
            variants = [deletion_variants(t) for t in chunk]
            flat = victim.cls_embeddings([v for group in variants for v in group])
            offset = 0
            for group in variants:
                block = flat[offset : offset + len(group)]
                offset += len(group)
                out.append(np.abs(block[1:] - block[0]).max(axis=1) if len(group) > 1 else np.zeros(0))
        return out

    def fit(self, train_texts: Sequence[str], victim: Victim) -> BKI:
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for text, delta in zip(train_texts, self.influences(list(train_texts), victim)):
            words = text.split()
            for i in np.argsort(-delta, kind="stable")[: self.top_per_sample]:
                totals[words[i]] = totals.get(words[i], 0.0) + float(delta[i])
                counts[words[i]] = counts.get(words[i], 0) + 1
        self.scores_ = {w: totals[w] / counts[w] * float(np.log10(counts[w])) for w in totals}
        ranked = sorted(self.scores_, key=lambda w: (-self.scores_[w], w))
        self.keywords_ = tuple(
            ranked[: largest_gap([self.scores_[w] for w in ranked[: self.num_keywords + 1]])]
        )
        return self

    def keep_mask(self, train_texts: Sequence[str]) -> np.ndarray:
        """``True`` for texts containing none of the identified keywords."""
        if not hasattr(self, "keywords_"):
            raise RuntimeError("bki: call fit(train_texts, victim) first")
        keywords = set(self.keywords_)
        return np.array([keywords.isdisjoint(t.split()) for t in train_texts], dtype=bool)
