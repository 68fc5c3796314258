"""AddSent: a fixed trigger sentence inserted at a random position.

Dai, Chen & Li (2019), "A Backdoor Attack Against LSTM-Based Text Classification
Systems", IEEE Access, arXiv:1905.12457.

The trigger sentence (OpenBackdoor default ``"I watch this 3D movie"``) is split
into words and inserted as a block at a uniform position among the
``len(words) + 1`` gaps, as OpenBackdoor's ``AddSentPoisoner.insert``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crowd.attacks.base import OPENBACKDOOR, OPENBACKDOOR_SHARED, Attack, AttackSettings, insert_words
from crowd.text import split_words

DEFAULT_SENTENCE = "I watch this 3D movie"  # OpenBackdoor's trigger sentence
MAX_SENTENCE_CHARS = 500  # a sentence (OpenBackdoor's has 21 characters), inserted into every poisoned text


def sentence_problem(sentence: str) -> str | None:
    """Why ``sentence`` cannot be AddSent's trigger (no word, or over :data:`MAX_SENTENCE_CHARS`), or ``None``."""
    if not split_words(sentence):
        return "must contain at least one word"
    if len(sentence) > MAX_SENTENCE_CHARS:
        return f"has {len(sentence):,} characters (at most {MAX_SENTENCE_CHARS})"
    return None


@dataclass(frozen=True, kw_only=True)
class AddSent(Attack):
    """Insert the words of ``sentence`` as one block at a random position."""

    name = "addsent"
    # OpenBackdoor's configs/addsent_config.json and the shared files: dirty-label (mix), its sentence
    PRESETS = {
        OPENBACKDOOR: {"variant": "dirty", "sentence": DEFAULT_SENTENCE},
        OPENBACKDOOR_SHARED: {"variant": "dirty", "sentence": DEFAULT_SENTENCE},
    }
    sentence: str = DEFAULT_SENTENCE

    def __post_init__(self) -> None:
        super().__post_init__()
        problem = sentence_problem(self.sentence)
        if problem:
            raise ValueError(f"sentence {problem}")

    @classmethod
    def from_settings(cls, settings: AttackSettings) -> AddSent:
        return cls(sentence=settings.sentence, **settings.common)

    def apply(self, texts: Sequence[str], generator: np.random.Generator) -> list[str | None]:
        trigger = split_words(self.sentence)
        out: list[str | None] = []
        for text in texts:
            words = split_words(text)
            out.append(" ".join(insert_words(words, trigger, int(generator.integers(len(words) + 1)))))
        return out
