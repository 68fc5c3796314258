"""BadNets for text: rare-word triggers inserted at random positions.

Gu, Dolan-Gavitt & Garg (2017), "BadNets: Identifying Vulnerabilities in the
Machine Learning Model Supply Chain", arXiv:1708.06733; rare-word triggers for
text after Kurita, Michel & Neubig (2020), "Weight Poisoning Attacks on
Pre-trained Models", ACL.

Each poisoned text gets ``num_triggers`` words, each drawn uniformly (with
replacement) from ``triggers`` and inserted at a uniform position among the
``len(words) + 1`` gaps of the current word list, exactly as OpenBackdoor's
``BadNetsPoisoner.insert``. OpenBackdoor's default is ``num_triggers=1``; the
poisoned SST-2/HSOL folders in the shared data were made with 4 (every poisoned
text there has exactly 4 trigger words).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crowd.attacks.base import Attack, AttackSettings, insert_words
from crowd.text import split_words


@dataclass(frozen=True, kw_only=True)
class BadNets(Attack):
    """Insert ``num_triggers`` rare words from ``triggers`` at random positions."""

    name = "badnets"
    triggers: tuple[str, ...] = ("cf", "mn", "bb", "tq")
    num_triggers: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.triggers or any(len(split_words(t)) != 1 for t in self.triggers):
            raise ValueError("triggers must be a non-empty tuple of single words")
        if self.num_triggers < 1:
            raise ValueError("num_triggers must be at least 1")

    @classmethod
    def from_settings(cls, settings: AttackSettings) -> BadNets:
        return cls(triggers=tuple(settings.triggers), num_triggers=settings.num_triggers, **settings.common)

    def apply(self, texts: Sequence[str], generator: np.random.Generator) -> list[str | None]:
        out: list[str | None] = []
        for text in texts:
            words = split_words(text)
            for _ in range(self.num_triggers):
                trigger = self.triggers[int(generator.integers(len(self.triggers)))]
                words = insert_words(words, [trigger], int(generator.integers(len(words) + 1)))
            out.append(" ".join(words))
        return out
