"""Discrete keep-β noise (Wang et al. 2020, "On Certifying Robustness against Backdoor Attacks via
Randomized Smoothing", generalising Lee et al. 2019, "Tight Certificates of Adversarial Robustness for
Randomly Smoothed Classifiers"), applied to token ids and labels (THEORY §2a).

Each coordinate keeps its value with probability ``β``, otherwise takes each of the other ``d - 1`` values
with probability ``(1 - β)/(d - 1)``.

Representation for text (:class:`WangNoise`): every text is tokenised with the model's tokenizer and laid
out as a fixed-length row of ``length`` token ids, truncated and padded with the tokenizer's PAD id (PAD is
an ordinary value of the domain, so padding positions are noised too and a noisy PAD may become a word).
The domain of a token coordinate is the whole tokenizer vocabulary, ``d = vocab_size``. The caller
excludes the positions that are not noised (``[CLS]`` and ``[SEP]``) by passing only the other columns.
The certificate counts changed coordinates in this representation: an inserted trigger word shifts every
later token, so it can change up to ``length`` coordinates. Labels are one coordinate each with
``d = n_classes`` and their own ``β``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KeepBetaNoise:
    """Keep each coordinate w.p. ``beta``, else a uniform draw from the other ``domain_size - 1`` values."""

    beta: float
    domain_size: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {self.beta}")
        if self.domain_size < 2:
            raise ValueError(f"domain_size must be at least 2, got {self.domain_size}")

    def perturb(self, matrix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A noisy copy of ``matrix`` (any shape, integer values in ``[0, domain_size)``), same dtype.

        Draws, in order, one keep-uniform per coordinate and one offset per coordinate (a fixed number of
        draws, so the same ``rng`` state always gives the same output).
        """
        x = np.asarray(matrix)
        if x.size and (x.min() < 0 or x.max() >= self.domain_size):
            raise ValueError(f"values must lie in [0, {self.domain_size})")
        keep = rng.random(x.shape) < self.beta
        offset = rng.integers(1, self.domain_size, size=x.shape)  # uniform over the other d - 1 values
        changed = (x.astype(np.int64) + offset) % self.domain_size
        return np.where(keep, x, changed).astype(x.dtype, copy=False)

    def kind(self) -> tuple[float, int]:
        """``(β, d)`` as consumed by ``crowd.certify.lee_threshold``."""
        return (self.beta, self.domain_size)


@dataclass(frozen=True)
class WangNoise:
    """Wang et al.'s noise generalised to tokens: training tokens, training labels and test tokens.

    ``length`` noised token positions per text (fixed-length representation, see the module docstring),
    ``vocab_size`` the tokenizer vocabulary (the token domain), ``n_classes`` the label domain.
    """

    token_beta: float
    label_beta: float
    test_token_beta: float
    length: int
    vocab_size: int
    n_classes: int

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError("length must be positive")
        for noise in (self.train_tokens, self.labels, self.test_tokens):
            noise.kind()  # validates β and d

    @property
    def train_tokens(self) -> KeepBetaNoise:
        return KeepBetaNoise(self.token_beta, self.vocab_size)

    @property
    def labels(self) -> KeepBetaNoise:
        return KeepBetaNoise(self.label_beta, self.n_classes)

    @property
    def test_tokens(self) -> KeepBetaNoise:
        return KeepBetaNoise(self.test_token_beta, self.vocab_size)

    def kinds(self) -> list[tuple[float, int]]:
        """``[(β, d)]`` for training tokens, training labels and test tokens, in that order."""
        return [self.train_tokens.kind(), self.labels.kind(), self.test_tokens.kind()]
