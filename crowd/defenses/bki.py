"""BKI: backdoor keyword identification (Chen and Dai, "Mitigating Backdoor Attacks in LSTM-based
Text Classification Systems by Backdoor Keyword Identification", Neurocomputing 2021;
arXiv:2007.12070).

A victim trained on the poisoned training set relies on the trigger words, so
deleting one changes its internal representation far more than deleting an
ordinary word. For each training text and each word ``w`` we measure
``||h(x) - h(x without w)||_inf`` on the victim's final-layer ``[CLS]`` vector,
keep the ``top_per_sample`` most influential words of the text, and score each
word over the whole set by ``mean influence * log10(count)`` (a word that is
influential in many texts). The highest-scoring words are the backdoor keywords.
A training text is removed when one of the keywords is among *its own*
``top_per_sample`` words (OpenBackdoor's ``BKIDefender`` rule), and the victim is
retrained on the rest (the pipeline in :mod:`crowd.pipelines.defend` does the retraining).

Departures from OpenBackdoor, each documented in ``docs/defenses.md``:

* OpenBackdoor keeps only the single top word, so a BadNets attack drawing its
  trigger from ``cf mn bb tq`` keeps three quarters of its poisoned texts. Here
  the keywords are the top ``k <= num_keywords`` words, ``k`` chosen at the
  largest ratio between consecutive scores (the trigger words stand apart from
  the ordinary influential words), following the paper's set of keywords.
* A word found in more than ``max_doc_freq`` of the training texts (default 0.3)
  is never a keyword: a ubiquitous token such as OffensEval's ``@USER`` is
  influential in most texts and would otherwise take most of the training set
  with it, while a trigger in more than 30% of the texts is beyond the poison
  rates BKI (and our benchmark) considers. The excluded words are reported
  (``excluded_``).
* ``sample_size = n > 0`` (optional; 0, the default, scores every text) finds the
  keywords from a seeded random sample of ``n`` training texts, then scores only
  the texts that contain a keyword: a text without one cannot have it among its
  own top words, so the removal rule is applied exactly, to every text, at the
  cost of ``n`` + (texts with a keyword) scored texts instead of all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crowd.data.hf import text_list
from crowd.defenses.base import TrainingFilter
from crowd.seeding import rng

if TYPE_CHECKING:
    from crowd.victim import Victim


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


@dataclass(frozen=True)
class BkiSettings:
    """``[defense] name = "bki"``: the ``top_per_sample`` most influential words of each text, at most
    ``num_keywords`` keywords, none in more than a fraction ``max_doc_freq`` of the texts; ``chunk_size`` texts'
    deletion variants per victim call; ``sample_size`` texts (0 = all) find the keywords, drawn with ``seed``
    (default: the run's)."""

    top_per_sample: int = 5
    num_keywords: int = 5
    max_doc_freq: float = 0.3
    chunk_size: int = 1024
    sample_size: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.top_per_sample < 1 or self.num_keywords < 1 or self.chunk_size < 1:
            raise ValueError("bki: top_per_sample, num_keywords and chunk_size must be >= 1")
        if self.sample_size < 0:
            raise ValueError(f"bki: sample_size must be >= 0 (0 = score every text), got {self.sample_size}")
        if not 0.0 < self.max_doc_freq <= 1.0:
            raise ValueError(f"bki: max_doc_freq must be in (0, 1], got {self.max_doc_freq}")


class BKI(BkiSettings, TrainingFilter):
    """Identify trigger keywords from the victim's [CLS] changes and drop the texts they dominate."""

    name: ClassVar[str] = "bki"
    paper_note: ClassVar[str] = (
        "keywords = top words by score gap (≤ 5, not OpenBackdoor's 1), document frequency ≤ 30%; "
        "a text is removed when a keyword is among its own top words; victim retrained; cpu "
        "scale: keywords from a 2,000-text sample, every text holding one scored"
    )

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
        """Score words over ``train_texts`` (or a sample of them, ``sample_size``); sets ``keywords_``,
        ``scores_``, ``doc_freq_``, ``top_words_`` (``None`` for a text that was not scored) and ``scored_``."""
        texts = text_list(train_texts)  # a datasets.Dataset: its text column
        sampled = self.sample_size and self.sample_size < len(texts)
        if sampled:
            order = rng(self.seed, "bki-sample").permutation(len(texts))[: self.sample_size]
            first = sorted(int(i) for i in order)
        else:
            first = list(range(len(texts)))
        top: dict[int, frozenset] = {}
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for i, words, ranked, delta in self._top_words(texts, first, victim):
            top[i] = frozenset(words[j] for j in ranked)
            for j in ranked:
                totals[words[j]] = totals.get(words[j], 0.0) + float(delta[j])
                counts[words[j]] = counts.get(words[j], 0) + 1
        self.fitted_texts_ = tuple(texts)
        self.scores_ = {w: totals[w] / counts[w] * float(np.log10(counts[w])) for w in totals}
        self.doc_freq_ = document_frequency(texts, self.scores_)
        ranked_words = sorted(self.scores_, key=lambda w: (-self.scores_[w], w))
        common = {w for w in ranked_words if self.doc_freq_[w] > self.max_doc_freq}
        self.excluded_ = tuple(w for w in ranked_words[: self.num_keywords] if w in common)
        candidates = [w for w in ranked_words if w not in common][: self.num_keywords + 1]
        self.keywords_ = tuple(candidates[: largest_gap([self.scores_[w] for w in candidates])])
        if sampled:  # the removal rule needs the top words of every text holding a keyword
            keywords = set(self.keywords_)
            rest = [
                i for i in range(len(texts)) if i not in top and not keywords.isdisjoint(texts[i].split())
            ]
            for i, words, ranked, _ in self._top_words(texts, rest, victim):
                top[i] = frozenset(words[j] for j in ranked)
        self.scored_ = len(top)
        self.top_words_ = [top.get(i) for i in range(len(texts))]
        return self

    def _top_words(self, texts: list[str], indices: list[int], victim: Victim):
        """Per scored text: its index, words, the positions of its ``top_per_sample`` most influential
        words, and every word's influence."""
        for i, delta in zip(indices, self.influences([texts[i] for i in indices], victim)):
            yield i, texts[i].split(), np.argsort(-delta, kind="stable")[: self.top_per_sample], delta

    def keep_mask(self, train_texts: Sequence[str]) -> np.ndarray:
        """``False`` for the fitted texts that have a keyword among their own top words."""
        if not hasattr(self, "keywords_"):
            raise RuntimeError("bki: call fit(train_texts, victim) first")
        if tuple(text_list(train_texts)) != self.fitted_texts_:
            raise ValueError(
                "bki: keep_mask needs the texts BKI was fitted on (their top words are per text)"
            )
        keywords = set(self.keywords_)
        return np.array([top is None or keywords.isdisjoint(top) for top in self.top_words_], dtype=bool)

    def report(self) -> dict[str, object]:
        """Keywords with their scores and document frequencies, and the frequent words left out."""
        return {
            "keywords": list(self.keywords_),
            "keyword_scores": [round(self.scores_[w], 6) for w in self.keywords_],
            "keyword_doc_freq": [round(self.doc_freq_[w], 6) for w in self.keywords_],
            "excluded_frequent": list(self.excluded_),
            "max_doc_freq": self.max_doc_freq,
            "sample_size": self.sample_size,
            "scored_texts": self.scored_,
        }


def document_frequency(texts: Sequence[str], words) -> dict[str, float]:
    """Fraction of ``texts`` whose whitespace words include each of ``words``."""
    wanted = set(words)
    counts = dict.fromkeys(wanted, 0)
    for text in texts:
        for word in wanted.intersection(text.split()):
            counts[word] += 1
    return {w: c / max(1, len(texts)) for w, c in counts.items()}
