"""The three kinds of empirical backdoor defense and what they share.

* :class:`InputCorrector` rewrites test inputs (ONION): ``correct(texts) -> texts``.
* :class:`InputDetector` flags test inputs (STRIP, RAP): ``fit(clean_texts, victim)``
  computes a statistic on clean held-out texts and sets ``threshold_`` so that a
  fraction ``frr`` of them would be flagged; ``flag(texts)`` is then
  ``statistic(texts) < threshold_`` (low statistic = suspicious, for both STRIP's
  entropy and RAP's probability drop).
* :class:`TrainingFilter` flags training samples (BKI): ``fit(train_texts, victim)``
  on the poisoned training set with the victim trained on it, then ``keep_mask``
  or ``filter`` removes suspicious samples before retraining.

Parameters are stored by ``__init__``; whatever fitting learns lives in attributes
ending in ``_`` (scikit-learn's convention).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

import numpy as np

if TYPE_CHECKING:
    from crowd.train.victim import Victim

E = TypeVar("E")


class Defense:
    """Base of every defense: a registry ``name`` and its ``kind``."""

    name: ClassVar[str] = "defense"
    kind: ClassVar[str] = "defense"


class InputCorrector(Defense):
    """Rewrites each test input to remove a possible trigger."""

    kind: ClassVar[str] = "corrector"

    def fit(self, clean_texts: Sequence[str], victim: Victim | None = None) -> InputCorrector:
        """Nothing to learn by default; subclasses may calibrate on clean texts."""
        return self

    def correct(self, texts: Sequence[str]) -> list[str]:
        raise NotImplementedError


class InputDetector(Defense):
    """Flags test inputs whose statistic falls below a threshold set on clean data."""

    kind: ClassVar[str] = "detector"
    frr: float = 0.01

    def fit(self, clean_texts: Sequence[str], victim: Victim) -> InputDetector:
        self.victim_ = victim
        self._prepare(clean_texts, victim)
        self.clean_statistic_ = self.statistic(clean_texts)
        self.threshold_ = threshold_from_frr(self.clean_statistic_, self.frr)
        return self

    def _prepare(self, clean_texts: Sequence[str], victim: Victim) -> None:
        """Fit whatever the statistic needs (word pools, a tuned embedding) before thresholding."""

    def statistic(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def flag(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean array: ``True`` where the input is judged poisoned."""
        if not hasattr(self, "threshold_"):
            raise RuntimeError(f"{self.name}: call fit(clean_texts, victim) before flag(...)")
        return np.asarray(self.statistic(texts) < self.threshold_, dtype=bool)


class TrainingFilter(Defense):
    """Flags poisoned training samples so the victim can be retrained without them."""

    kind: ClassVar[str] = "filter"

    def fit(self, train_texts: Sequence[str], victim: Victim) -> TrainingFilter:
        raise NotImplementedError

    def keep_mask(self, train_texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def filter(self, train_examples: Sequence[E], victim: Victim) -> list[E]:
        """Fit on the examples' ``.text`` and return the examples that are kept."""
        texts = [e.text for e in train_examples]
        keep = self.fit(texts, victim).keep_mask(texts)
        return [e for e, k in zip(train_examples, keep) if k]


def threshold_from_frr(clean_statistic: np.ndarray, frr: float) -> float:
    """The value ``t`` such that ``statistic < t`` flags at most a fraction ``frr`` of the clean texts.

    ``t`` is the ``floor(n * frr)``-th smallest clean value (0-based), as in STRIP's and
    RAP's papers; NaN values (e.g. texts RAP does not examine) are ignored.
    """
    if not 0.0 <= frr < 1.0:
        raise ValueError(f"frr must be in [0, 1), got {frr}")
    values = np.sort(np.asarray(clean_statistic, dtype=np.float64))
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no clean statistic to set a threshold from")
    return float(values[int(np.floor(values.size * frr))])
