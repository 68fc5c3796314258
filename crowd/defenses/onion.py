"""ONION (Qi et al., "ONION: A Simple and Effective Defense Against Textual Backdoor Attacks",
EMNLP 2021; arXiv:2011.10369).

An inserted trigger word is an outlier: deleting it makes the sentence far more
fluent. For a text with words ``w_1..w_n`` and perplexity ``p_0`` under a causal
language model (GPT-2 in the paper; offline, the SmolLM2-135M stand-in of
:mod:`crowd.defenses.lm`), the suspicion of ``w_i`` is ``f_i = p_0 - p_i`` where
``p_i`` is the perplexity without ``w_i``; every word with ``f_i > threshold`` is
removed before the text reaches the victim. All leave-one-out variants of all
texts go through the LM in length-sorted batches.

Departures from OpenBackdoor's ``ONIONDefender``: its GPT-2 scorer pads with EOS
and averages the loss over the padding too, so a variant's perplexity depends on
the longest text in its batch; here padding is masked out. A start token is
prepended so the first word is scored. Texts of one word are returned unchanged
(OpenBackdoor drops them from its output, misaligning texts and labels). Words are
removed when ``f_i > threshold`` (the paper), not ``>=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crowd.defenses.base import InputCorrector
from crowd.defenses.bki import deletion_variants

if TYPE_CHECKING:
    from crowd.defenses.lm import CausalLM


class ONION(InputCorrector):
    """Remove words whose deletion lowers the language-model perplexity by more than ``threshold``."""

    name: ClassVar[str] = "onion"

    def __init__(
        self,
        lm: str = "smollm2",
        threshold: float = 0.0,
        device: str = "auto",
        batch_size: int = 64,
        max_length: int = 96,
        chunk_size: int = 512,
    ) -> None:
        self.lm = lm
        self.threshold = threshold
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.chunk_size = chunk_size

    def fit(self, clean_texts: Sequence[str] = (), victim: object = None) -> ONION:
        """Load the language model (ONION learns nothing from data; the threshold is a parameter)."""
        from crowd.defenses.lm import CausalLM

        self.lm_ = CausalLM(self.lm, self.device, self.batch_size, self.max_length).load()
        return self

    def use_lm(self, lm: CausalLM) -> ONION:
        """Use an already loaded language model (tests, or several runs sharing one LM)."""
        self.lm_ = lm
        return self

    def suspicion(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, ``f_i = p_0 - p_i`` for each whitespace word ``i``."""
        if not hasattr(self, "lm_"):
            self.fit()
        out: list[np.ndarray] = []
        for start in range(0, len(texts), self.chunk_size):
            variants = [deletion_variants(t) for t in texts[start : start + self.chunk_size]]
            ppl = self.lm_.perplexity([v for group in variants for v in group])
            offset = 0
            for group in variants:
                block = ppl[offset : offset + len(group)]
                offset += len(group)
                out.append(block[0] - block[1:])
        return out

    def correct(self, texts: Sequence[str]) -> list[str]:
        texts = list(texts)
        corrected = []
        for text, score in zip(texts, self.suspicion(texts)):
            words = text.split()
            if len(words) <= 1:
                corrected.append(text)
                continue
            corrected.append(" ".join(w for w, s in zip(words, score) if not s > self.threshold))
        return corrected
