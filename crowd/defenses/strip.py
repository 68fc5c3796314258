"""STRIP for text (Gao et al., "Design and Evaluation of a Multi-Domain Trojan Detection Method on
Deep Neural Networks", IEEE TDSC 2021; arXiv:1911.10312).

A trigger dominates the victim's decision, so a triggered input stays confidently
in the target class when much of it is overwritten, while a clean input's
prediction becomes uncertain. For each input, ``repeat`` perturbed copies are made:
a clean held-out text (the donor) is drawn at random and ``m = floor(swap_ratio * #words)``
distinct word positions are overwritten, the ``i``-th chosen position with the donor's
``i``-th highest TF-IDF word, as in OpenBackdoor's ``STRIPDefender.perturb`` and the
RAP authors' STRIP code (``strip_vita.py``). When ``m`` exceeds the donor's number of
content words, both continue down the donor's TF-IDF row into words of score 0, i.e.
other words of the held-out vocabulary; here those come in alphabetical order (a
stable sort of that row; OpenBackdoor's unstable ``argsort`` leaves their order to
numpy). The statistic is the mean entropy (bits) of the victim's output over the
copies, and inputs whose entropy is below a threshold are flagged. The threshold is
the entropy that flags a fraction ``frr`` of the clean held-out texts.

Departures from OpenBackdoor's ``STRIPDefender``: it lays the perturbed copies out
text by text but reshapes the entropies as ``(repeat, n)``, so each "mean" mixes
different texts; here the array is ``(n, repeat)`` averaged over copies, as the
paper means. Swap positions are drawn without replacement (OpenBackdoor may pick
a position twice; the RAP authors' code draws without replacement), every random
draw comes from a seeded generator, and the
TF-IDF is our own (smooth idf, raw counts, no normalisation, a small English
stop-word list) so scikit-learn is not needed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crowd.defenses.base import InputDetector, check_frr
from crowd.seeding import rng

if TYPE_CHECKING:
    from crowd.victim import Victim

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"(?u)\b\w\w+\b")


def tfidf_top_words(texts: Sequence[str]) -> list[list[str]]:
    """For each text, its distinct content words sorted by TF-IDF (highest first)."""
    docs = [[w for w in _WORD.findall(t.lower()) if w not in STOP_WORDS] for t in texts]
    df = Counter(w for doc in docs for w in set(doc))
    n = len(docs)
    ranked = []
    for doc in docs:
        tf = Counter(doc)
        score = {w: c * (math.log((1 + n) / (1 + df[w])) + 1.0) for w, c in tf.items()}
        ranked.append(sorted(score, key=lambda w: (-score[w], w)))
    return ranked


@dataclass(frozen=True)
class StripSettings:
    """``[defense] name = "strip"``: ``repeat`` perturbed copies per text, each overwriting a fraction
    ``swap_ratio`` of its words; the threshold flags a fraction ``frr`` of the clean held-out texts; ``seed``
    (default: the run's) seeds the donors and positions."""

    repeat: int = 5
    swap_ratio: float = 0.5
    frr: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        if self.repeat < 1 or not 0.0 < self.swap_ratio <= 1.0:
            raise ValueError(
                f"strip: repeat must be >= 1 and swap_ratio in (0, 1], got {self.repeat}, {self.swap_ratio}"
            )
        check_frr(self.frr)


class STRIP(StripSettings, InputDetector):
    """Flag inputs whose predictions stay low-entropy under strong word replacement."""

    name: ClassVar[str] = "strip"
    paper_note: ClassVar[str] = (
        "entropy averaged per text; donor words in TF-IDF order; rejected inputs count as errors "
        "/ failed attacks"
    )

    def _prepare(self, clean_texts: list[str], victim: Victim, clean_labels=None) -> list[str]:
        pools = [words for words in tfidf_top_words(clean_texts) if words]
        if not pools:
            raise ValueError("STRIP needs clean texts with at least one content word")
        self.pools_ = pools
        self.vocabulary_ = sorted({w for words in pools for w in words})
        return clean_texts

    def replacements(self, pool: list[str], m: int) -> list[str]:
        """The donor's first ``m`` words by TF-IDF, continued by other vocabulary words (alphabetical)."""
        if m <= len(pool):
            return pool[:m]
        own = set(pool)
        filler = (w for w in self.vocabulary_ if w not in own)
        return pool + [next(filler, pool[-1]) for _ in range(m - len(pool))]

    def perturb(self, text: str, generator: np.random.Generator) -> str:
        """``text`` with ``floor(swap_ratio * #words)`` distinct positions overwritten, the ``i``-th by the donor's ``i``-th word."""
        words = text.split()
        m = int(len(words) * self.swap_ratio)
        if m == 0:
            return text
        pool = self.pools_[int(generator.integers(len(self.pools_)))]
        positions = generator.choice(len(words), size=m, replace=False)
        for position, word in zip(positions, self.replacements(pool, m)):
            words[position] = word
        return " ".join(words)

    def statistic(self, texts: Sequence[str]) -> np.ndarray:
        """Mean prediction entropy in bits over ``repeat`` perturbed copies of each text."""
        if not hasattr(self, "pools_"):
            raise RuntimeError("strip: call fit(clean_texts, victim) first")
        generator = rng(self.seed, "strip-perturb")
        copies = [self.perturb(t, generator) for t in texts for _ in range(self.repeat)]
        probs = np.clip(self.victim_.predict_proba(copies), 1e-12, 1.0)
        entropy = -(probs * np.log2(probs)).sum(axis=1)
        return entropy.reshape(len(texts), self.repeat).mean(axis=1)
