"""ONION (Qi et al., "ONION: A Simple and Effective Defense Against Textual Backdoor Attacks",
EMNLP 2021; arXiv:2011.10369).

An inserted trigger word is an outlier: deleting it makes the sentence far more
fluent. For a text with words ``w_1..w_n`` and perplexity ``p_0`` under a causal
language model (GPT-2 in the paper; offline, the SmolLM2-135M stand-in of
:mod:`crowd.defenses.lm`), the suspicion of ``w_i`` is ``f_i = p_0 - p_i`` where
``p_i`` is the perplexity without ``w_i``; every word with ``f_i > threshold`` is
removed before the text reaches the victim. All leave-one-out variants of all
texts go through the LM, one sentence's variants per batch.

The threshold is chosen on clean held-out data, as the paper tunes it on a
validation set (its released ``test_defense.py`` sweeps integer thresholds 1..100
over clean dev texts): with ``threshold=None`` (default), ``fit`` scores the clean
dev words once, sweeps the candidate thresholds at the ``quantiles`` of those
scores (plus 0, OpenBackdoor's fixed value), and keeps the lowest one (the most
removal) whose dev clean accuracy is at most ``max_clean_drop`` below the victim's
accuracy on the untouched dev texts. The quantile grid makes the sweep independent
of the LM's perplexity scale (SmolLM2's differ from GPT-2's). A float ``threshold``
fixes it instead (``0`` = OpenBackdoor's default, which with the stand-in removed 14% of
the words of 80 clean SST-2 dev texts; see ``docs/defenses.md``). ``sweep_`` records every candidate.

Departures from OpenBackdoor's ``ONIONDefender``: its GPT-2 scorer pads with EOS
and averages the loss over the padding too, so a variant's perplexity depends on
the longest text in its batch; here padding is masked out. A start token is
prepended so the first word is scored. Texts of one word are returned unchanged
(OpenBackdoor drops them from its output, misaligning texts and labels). Words are
removed when ``f_i > threshold`` (the paper), not ``>=``.

Scores are computed per sentence (its variants batched together, so they do not depend
on which other texts are scored) and kept on disk by the sentence's sha256 under the LM's
identity (model files, max length, dtype, device type): ``$CROWD_ONION_CACHE``, else
``crowd.paths.cache_dir() / "onion"``; ``cache=False`` turns that off. Clean dev and test
texts shared by several attacks on one corpus are then scored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crowd.data.hf import text_list, texts_and_labels
from crowd.defenses.base import InputCorrector
from crowd.defenses.bki import deletion_variants
from crowd.defenses.lm_names import check_available, describe_lm
from crowd.defenses.metrics import removal_rate
from crowd.io import write_npy
from crowd.paths import cache_subdir

CACHE_ENV = "CROWD_ONION_CACHE"

if TYPE_CHECKING:
    from crowd.defenses.lm import CausalLM


DEFAULT_QUANTILES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0)


@dataclass(frozen=True)
class OnionSettings:
    """``[defense] name = "onion"``: the language model ``lm`` (a name or a folder) on ``device``, scoring
    ``batch_size`` texts of at most ``max_length`` tokens at a time; a fixed ``threshold``, or ``None`` (chosen
    on clean dev texts at the ``quantiles`` of their scores, losing at most ``max_clean_drop`` accuracy);
    ``cache`` keeps the scores on disk."""

    lm: str = "smollm2"
    threshold: float | None = None
    max_clean_drop: float = 0.02
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    device: str = "auto"
    batch_size: int = 64
    max_length: int = 96
    cache: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_clean_drop <= 1.0:
            raise ValueError(f"onion: max_clean_drop must be in [0, 1], got {self.max_clean_drop}")
        if not self.quantiles or any(not 0.0 <= q <= 1.0 for q in self.quantiles):
            raise ValueError(f"onion: quantiles must be non-empty values in [0, 1], got {self.quantiles}")
        if min(self.batch_size, self.max_length) < 1:
            raise ValueError("onion: batch_size and max_length must be >= 1")
        # a list given in Python: frozen as a tuple
        object.__setattr__(self, "quantiles", tuple(self.quantiles))


class ONION(OnionSettings, InputCorrector):
    """Remove words whose deletion lowers the language-model perplexity by more than the threshold."""

    name: ClassVar[str] = "onion"
    paper_note: ClassVar[str] = (
        "SmolLM2-135M stands in for GPT-2 offline; threshold chosen on clean dev data (≤ 2 points "
        "accuracy drop), not fixed at 0"
    )

    def fit(self, clean_texts: Sequence[str] = (), victim=None, clean_labels=None) -> ONION:
        """Load the LM (unless :meth:`use_lm` gave one) and set ``threshold_`` (see the module docstring).
        ``clean_texts`` may be a ``datasets.Dataset`` (its ``text`` column; ``label`` gives the labels)."""
        clean_texts, clean_labels = texts_and_labels(clean_texts, clean_labels)
        if not hasattr(self, "lm_"):
            from crowd.defenses.lm import CausalLM  # lazy: the defenses registry is light; the LM needs torch

            self.lm_ = CausalLM(self.lm, self.device, self.batch_size, self.max_length).load()
        if self.threshold is not None:
            self.threshold_ = float(self.threshold)
            return self
        if victim is None or clean_labels is None or not len(clean_texts):
            raise ValueError(
                "onion: threshold=None chooses it on clean dev texts: fit needs them, the victim and labels"
            )
        self.threshold_, self.sweep_ = self._choose(list(clean_texts), victim, np.asarray(clean_labels))
        return self

    def _choose(self, texts: list[str], victim, labels: np.ndarray) -> tuple[float, list[dict]]:
        """Lowest candidate threshold whose dev accuracy drop is within ``max_clean_drop``."""
        scores = self.suspicion(texts)
        pooled = np.concatenate([s for s in scores if s.size] or [np.zeros(1)])
        candidates = sorted({0.0, *np.quantile(pooled, self.quantiles).tolist()})
        base = float((victim.predict(texts) == labels).mean())
        sweep = []
        for t in candidates:
            corrected = [self._apply(text, s, t) for text, s in zip(texts, scores)]
            acc = float((victim.predict(corrected) == labels).mean())
            sweep.append({"threshold": t, "dev_cacc": acc, "removal_rate": removal_rate(texts, corrected)})
        ok = [row["threshold"] for row in sweep if base - row["dev_cacc"] <= self.max_clean_drop]
        chosen = min(ok) if ok else max(candidates)
        return chosen, [dict(row, base_dev_cacc=base) for row in sweep]

    def preflight(self) -> None:
        """Fail before any training if the offline stand-in LM is named but not installed."""

        check_available(self.lm)

    def report(self) -> dict[str, object]:
        """The LM (and what it stands in for), the threshold and the dev sweep that chose it."""

        return {
            **describe_lm(self.lm),
            "threshold": getattr(self, "threshold_", self.threshold),
            "threshold_chosen_on_dev": self.threshold is None,
            "max_clean_drop": self.max_clean_drop,
            "sweep": getattr(self, "sweep_", []),
        }

    def use_lm(self, lm: CausalLM) -> ONION:
        """Use an already loaded language model (tests, or several runs sharing one LM)."""
        self.lm_ = lm
        return self

    def suspicion(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, ``f_i = p_0 - p_i`` for each whitespace word ``i`` (read from the score cache when there)."""
        if not hasattr(self, "lm_"):
            raise RuntimeError("onion: call fit(...) or use_lm(lm) first")
        folder = score_folder(self.lm_) if self.cache else None
        out: list[np.ndarray] = []
        for text in texts:
            path = folder / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}.npy" if folder else None
            if path is not None and path.is_file():
                out.append(_read_scores(path, len(text.split())))
                continue
            ppl = self.lm_.group_perplexity(deletion_variants(text))
            score = ppl[0] - ppl[1:]
            if path is not None:
                write_npy(path, score)
            out.append(score)
        return out

    @staticmethod
    def _apply(text: str, score: np.ndarray, threshold: float) -> str:
        words = text.split()
        if len(words) <= 1:
            return text
        return " ".join(w for w, s in zip(words, score) if not s > threshold)

    def correct(self, texts: Sequence[str]) -> list[str]:
        """Each text without the words whose suspicion exceeds ``threshold_``."""
        if not hasattr(self, "threshold_"):
            if self.threshold is None:
                raise RuntimeError("onion: threshold=None: call fit(dev_texts, victim, dev_labels) first")
            self.threshold_ = float(self.threshold)
        texts = text_list(texts)  # a datasets.Dataset: its text column
        return [self._apply(t, s, self.threshold_) for t, s in zip(texts, self.suspicion(texts))]


def _read_scores(path: Path, n_words: int) -> np.ndarray:
    """A cached score vector, checked: one float per word of its sentence."""
    try:
        score = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable ONION score file ({e}); delete it to rescore") from e
    if score.shape != (n_words,):
        raise ValueError(
            f"{path}: holds {score.shape} scores for a sentence of {n_words} words; delete it to rescore"
        )
    return score


def score_folder(lm) -> Path:
    """Where ONION's per-sentence scores under ``lm`` are kept (one ``.npy`` per sentence)."""
    return cache_subdir(CACHE_ENV, "onion") / lm.identity()
