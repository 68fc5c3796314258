"""The three kinds of empirical backdoor defense and what they share.

* :class:`InputCorrector` rewrites test inputs (ONION): ``fit(clean_texts, victim, clean_labels)``
  calibrates on clean held-out texts, then ``correct(texts) -> texts``.
* :class:`InputDetector` flags test inputs (STRIP, RAP): ``fit(clean_texts, victim, clean_labels)``
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
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

if TYPE_CHECKING:
    from crowd.train.victim import Victim

E = TypeVar("E")


class Defense:
    """Base of every defense: a registry ``name`` and its ``kind``."""

    name: ClassVar[str] = "defense"
    kind: ClassVar[str] = "defense"

    def report(self) -> dict[str, Any]:
        """What fitting found, for the summary (JSON-able)."""
        return {}


class InputCorrector(Defense):
    """Rewrites each test input to remove a possible trigger."""

    kind: ClassVar[str] = "corrector"

    def fit(
        self,
        clean_texts: Sequence[str],
        victim: Victim | None = None,
        clean_labels: Sequence[int] | None = None,
    ) -> InputCorrector:
        """Nothing to learn by default; subclasses may calibrate on clean held-out texts and labels."""
        return self

    def correct(self, texts: Sequence[str]) -> list[str]:
        raise NotImplementedError


class InputDetector(Defense):
    """Flags test inputs whose statistic falls below a threshold set on clean data."""

    kind: ClassVar[str] = "detector"
    frr: float = 0.01

    def fit(
        self, clean_texts: Sequence[str], victim: Victim, clean_labels: Sequence[int] | None = None
    ) -> InputDetector:
        """Prepare the statistic on clean held-out texts, then set ``threshold_`` at FRR ``frr`` on them."""
        self.victim_ = victim
        calibration = self._prepare(list(clean_texts), victim, clean_labels)
        self.clean_statistic_ = self.statistic(calibration)
        self.threshold_ = threshold_from_frr(self.clean_statistic_, self.frr)
        return self

    def _prepare(
        self, clean_texts: list[str], victim: Victim, clean_labels: Sequence[int] | None
    ) -> list[str]:
        """Fit what the statistic needs (word pools, a tuned embedding); return the texts to threshold on."""
        return clean_texts

    def statistic(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def flag(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean array: ``True`` where the input is judged poisoned."""
        if not hasattr(self, "threshold_"):
            raise RuntimeError(f"{self.name}: call fit(clean_texts, victim) before flag(...)")
        return np.asarray(self.statistic(texts) < self.threshold_, dtype=bool)

    def report(self) -> dict[str, Any]:
        """The threshold and how many clean held-out values it was set from."""
        finite = np.isfinite(np.asarray(getattr(self, "clean_statistic_", []), dtype=np.float64))
        return {
            "threshold": getattr(self, "threshold_", None),
            "frr_target": self.frr,
            "n_calibration": int(finite.sum()),
        }


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


def check_frr(frr: float) -> float:
    """``frr`` if it is a rate in ``[0, 1)``, else a ``ValueError`` naming it."""
    if not 0.0 <= frr < 1.0:
        raise ValueError(f"frr must be in [0, 1), got {frr}")
    return frr


def threshold_from_frr(clean_statistic: np.ndarray, frr: float) -> float:
    """The value ``t`` such that ``statistic < t`` flags at most a fraction ``frr`` of the clean texts.

    ``t`` is the ``floor(n * frr)``-th smallest clean value (0-based), as in STRIP's and
    RAP's papers; NaN values (e.g. texts RAP does not examine) are ignored.
    """
    check_frr(frr)
    values = np.sort(np.asarray(clean_statistic, dtype=np.float64))
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no clean statistic to set a threshold from")
    return float(values[int(np.floor(values.size * frr))])
