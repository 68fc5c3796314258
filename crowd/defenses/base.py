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

Each kind knows how it is evaluated (``crowd defend``): ``evaluate(victim, corpus, summary,
target_label=..., seed=...)`` returns the per-text rows and the defended metrics, and adds what the defense
found to ``summary`` under its ``kind``. It is handed what it needs (the fitted victim, whose ``config`` a
retraining defense reuses; the attack's target label; the run's seed), never a pipeline's config. Each defense
also carries ``paper_note``: how its numbers are defined differently from its paper's, for the benchmark tables.

A defense's settings are a frozen dataclass (``StripSettings`` ...) checked in ``__post_init__``; the defense
class subclasses it, so ``STRIP(frr=0.05)`` takes them as keywords and ``strip.frr`` reads them, and a setting
cannot be changed after construction. :meth:`Defense.from_table` builds one from a ``[defense] params`` table
(an unknown key or a bad value is a :class:`crowd.config.ConfigError` naming it). Whatever fitting learns lives
in attributes ending in ``_`` (scikit-learn's convention), which the frozen settings leave free.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from crowd.config import from_dict
from crowd.data.hf import is_dataset, text_list, texts_and_labels
from crowd.defenses.evaluation import calibration_set, labels, test_rows, texts
from crowd.defenses.metrics import attack_metrics, detector_metrics, removal_rate

if TYPE_CHECKING:
    from crowd.data import Corpus
    from crowd.victim import Victim, VictimStore

Rows = list[dict[str, Any]]

E = TypeVar("E")
D = TypeVar("D", bound="Defense")


class Defense:
    """Base of every defense: a registry ``name``, its ``kind`` and its ``paper_note``."""

    name: ClassVar[str] = "defense"
    kind: ClassVar[str] = "defense"
    paper_note: ClassVar[str] = ""  # how our numbers are defined differently from the paper's

    @classmethod
    def from_table(
        cls: type[D],
        table: Mapping[str, Any],
        where: str = "defense.params",
        *,
        seed: int = 0,
        target_label: int | None = None,
    ) -> D:
        """The defense a ``[defense] params`` table describes, its settings checked (names, types, ranges).

        A setting named ``seed`` takes the run's ``seed`` and one named ``target_label`` (RAP's protected
        label) the attack's ``target_label`` unless the table gives them. Every error is a
        :class:`crowd.config.ConfigError` that names ``where`` and the key.
        """
        if not dataclasses.is_dataclass(cls):
            raise TypeError(
                f"{cls.__name__}: a defense subclasses its settings, a frozen dataclass (docs/extending.md)"
            )
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        params = dict(table)
        if "seed" in names:
            params.setdefault("seed", seed)
        if "target_label" in names and target_label is not None:
            params.setdefault("target_label", target_label)
        return from_dict(cls, params, where)

    def preflight(self) -> None:
        """Fail now, before any training, if something the defense will need is missing (nothing by default)."""

    def report(self) -> dict[str, Any]:
        """What fitting found, for the summary (JSON-able)."""
        return {}

    def evaluate(
        self,
        victim: Victim,
        corpus: Corpus,
        summary: dict,
        *,
        target_label: int,
        seed: int,
        store: VictimStore | None = None,
    ) -> tuple[Rows, dict[str, Any]]:
        """Run against the fitted ``victim`` on the poisoned ``corpus``; the per-text rows and the defended metrics.

        ``target_label`` is the attack's target (ASR counts predictions of it), ``seed`` the run's seed (a
        defense that retrains the victim trains it with this seed, ``victim.config`` and ``store``); what the
        defense found goes into ``summary``.
        """
        raise NotImplementedError

    def _calibrate(self, victim: Victim, corpus: Corpus, summary: dict) -> None:
        """Fit on the clean dev texts not also in the clean test set; report under ``summary[kind]``."""
        dev_texts, dev_labels, overlap = calibration_set(corpus)
        self.fit(dev_texts, victim, dev_labels)
        summary[self.kind] = self.report()
        summary.update(n_dev_calibration=len(dev_texts), dev_removed_in_test=overlap)
        summary.setdefault("warnings", []).extend(summary[self.kind].pop("warnings", []))


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

    def evaluate(
        self,
        victim: Victim,
        corpus: Corpus,
        summary: dict,
        *,
        target_label: int,
        seed: int,
        store: VictimStore | None = None,
    ) -> tuple[Rows, dict[str, Any]]:
        """Calibrate on clean dev texts, correct the test texts; metrics add the fraction of words removed."""
        self._calibrate(victim, corpus, summary)
        clean, poison = texts(corpus.test_clean), texts(corpus.test_poison)
        clean2, poison2 = self.correct(clean), self.correct(poison)
        cp, pp = victim.predict(clean2), victim.predict(poison2)
        metrics = attack_metrics(cp, labels(corpus.test_clean), pp, target_label)
        metrics.update(
            removal_rate_clean=removal_rate(clean, clean2), removal_rate_poison=removal_rate(poison, poison2)
        )
        return test_rows(clean2, poison2, cp, pp, corpus), metrics


class InputDetector(Defense):
    """Flags test inputs whose statistic falls below a threshold set on clean data."""

    kind: ClassVar[str] = "detector"
    frr: float = 0.01

    def fit(
        self, clean_texts: Sequence[str], victim: Victim, clean_labels: Sequence[int] | None = None
    ) -> InputDetector:
        """Prepare the statistic on clean held-out texts, then set ``threshold_`` at FRR ``frr`` on them.

        ``clean_texts`` may be a ``datasets.Dataset`` (its ``text`` column; ``label`` gives the labels)."""
        clean_texts, clean_labels = texts_and_labels(clean_texts, clean_labels)
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
        """Boolean array: ``True`` where the input is judged poisoned (``texts``: or a ``Dataset``)."""
        if not hasattr(self, "threshold_"):
            raise RuntimeError(f"{self.name}: call fit(clean_texts, victim) before flag(...)")
        return np.asarray(self.statistic(text_list(texts)) < self.threshold_, dtype=bool)

    def evaluate(
        self,
        victim: Victim,
        corpus: Corpus,
        summary: dict,
        *,
        target_label: int,
        seed: int,
        store: VictimStore | None = None,
    ) -> tuple[Rows, dict[str, Any]]:
        """Calibrate on clean dev texts, flag the test texts; a flagged text is rejected (FRR, FAR added)."""
        self._calibrate(victim, corpus, summary)
        clean, poison = texts(corpus.test_clean), texts(corpus.test_poison)
        cf, pf = self.flag(clean), self.flag(poison)
        cp, pp = victim.predict(clean), victim.predict(poison)
        metrics = attack_metrics(cp, labels(corpus.test_clean), pp, target_label, cf, pf)
        metrics.update(detector_metrics(cf, pf), threshold=self.threshold_)
        return test_rows(clean, poison, cp, pp, corpus, cf, pf), metrics

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

    def filter(self, train_examples: Sequence[E], victim: Victim, text_column: str = "text") -> list[E]:
        """Fit on the examples' ``.text`` and return the examples that are kept; a ``datasets.Dataset``
        (its ``text_column``) gives the ``Dataset`` of the rows that are kept."""
        if is_dataset(train_examples):
            texts = text_list(train_examples, text_column, "train_examples")
            keep = self.fit(texts, victim).keep_mask(texts)
            return train_examples.select(np.flatnonzero(keep).tolist())
        texts = [e.text for e in train_examples]
        keep = self.fit(texts, victim).keep_mask(texts)
        return [e for e, k in zip(train_examples, keep) if k]

    def evaluate(
        self,
        victim: Victim,
        corpus: Corpus,
        summary: dict,
        *,
        target_label: int,
        seed: int,
        store: VictimStore | None = None,
    ) -> tuple[Rows, dict[str, Any]]:
        """Filter the training set with the poisoned victim, retrain on what is kept, measure that victim."""
        train_texts, train_labels = texts(corpus.train), labels(corpus.train)
        keep = self.fit(train_texts, victim).keep_mask(train_texts)
        poisoned = np.array([e.poisoned for e in corpus.train], dtype=bool)
        summary["filter"] = {
            **self.report(),
            "kept": int(keep.sum()),
            "removed_poisoned": int((~keep & poisoned).sum()),
            "removed_clean": int((~keep & ~poisoned).sum()),
        }
        kept = np.flatnonzero(keep)
        # same model and settings: a partial victim (trainable_layers > 0) reuses the frozen part's states
        victim = type(victim)(victim.config, state_cache=victim.state_cache).fit(
            [train_texts[i] for i in kept],
            [train_labels[i] for i in kept],
            seed=seed,
            store=store,
            dev=corpus,
        )
        clean, poison = texts(corpus.test_clean), texts(corpus.test_poison)
        cp, pp = victim.predict(clean), victim.predict(poison)
        metrics = attack_metrics(cp, labels(corpus.test_clean), pp, target_label)
        return test_rows(clean, poison, cp, pp, corpus), metrics


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
