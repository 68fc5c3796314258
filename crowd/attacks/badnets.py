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

from crowd.attacks.base import OPENBACKDOOR, OPENBACKDOOR_SHARED, Attack, AttackSettings, insert_words
from crowd.text import abbreviated, split_words

DEFAULT_TRIGGERS = ("cf", "mn", "bb", "tq")  # OpenBackdoor's trigger words
MAX_TRIGGERS = 100  # trigger words per poisoned text: far beyond the 4 of the shared files
MAX_TRIGGER_CHARS = 50  # one word (the longest dictionary words have about 45 letters)


def trigger_problem(trigger: str) -> str | None:
    """What makes ``trigger`` no trigger word (``"is empty"``, ``"is 2 words"``, ...), or ``None``."""
    words = split_words(trigger)
    if not words:
        return "is empty" if not trigger else "is only white space"
    if len(words) > 1:
        return f"is {len(words)} words"
    if len(trigger) > MAX_TRIGGER_CHARS:
        return f"is over the limit of {MAX_TRIGGER_CHARS} characters"
    if trigger != words[0]:
        return "has white space around it"
    return None


def check_triggers(triggers: Sequence[str], example: str) -> None:
    """Raise ``ValueError`` for the first item of ``triggers`` that is not one word; ``example`` shows a list."""
    for i, trigger in enumerate(triggers):
        problem = trigger_problem(trigger)
        if problem:
            raise ValueError(
                f"triggers[{i}] {abbreviated(trigger)} {problem}: each trigger is one word, e.g. {example}"
            )


def num_triggers_problem(num_triggers: int, note: str = "") -> str | None:
    """Why ``num_triggers`` is out of range (1..:data:`MAX_TRIGGERS`), or ``None``; ``note`` ends the bracket."""
    if 1 <= num_triggers <= MAX_TRIGGERS:
        return None
    return f"must be in 1..{MAX_TRIGGERS} (trigger words inserted per poisoned text{note})"


@dataclass(frozen=True, kw_only=True)
class BadNets(Attack):
    """Insert ``num_triggers`` rare words from ``triggers`` at random positions."""

    name = "badnets"
    # OpenBackdoor's configs/badnets_config.json: clean-label (label_consistency), one word per text; the
    # shared OpenBackdoor-format files: clean-label, 4 words per text
    PRESETS = {
        OPENBACKDOOR: {"variant": "clean", "num_triggers": 1, "triggers": DEFAULT_TRIGGERS},
        OPENBACKDOOR_SHARED: {"variant": "clean", "num_triggers": 4, "triggers": DEFAULT_TRIGGERS},
    }
    triggers: tuple[str, ...] = DEFAULT_TRIGGERS
    num_triggers: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.triggers:
            raise ValueError('triggers must hold at least one word, e.g. ("cf", "mn")')
        check_triggers(self.triggers, '("cf", "mn")')
        problem = num_triggers_problem(self.num_triggers)
        if problem:
            raise ValueError(f"num_triggers {problem}, got {self.num_triggers:,}")

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
