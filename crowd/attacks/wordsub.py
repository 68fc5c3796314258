"""Word-substitution trigger from the synonym graph, in the spirit of LWS.

Qi, Chen, Zhang, Liu & Sun (2021), "Turn the Combination Lock: Learnable Textual
Backdoor Attacks via Word Substitution", ACL, arXiv:2106.06361.

LWS learns which synonyms to substitute jointly with the victim. This is the
rule-based stand-in CROWD's synonym certificate is about: up to
``num_substitutions`` words that have neighbours in the graph (chosen uniformly
without replacement, seeded) are replaced by a neighbour from their perturbation
set ``S_w`` (:meth:`synonyms.graph.SynonymGraph.neighbors`). With
``substitute="closest"`` (default) the neighbour is the most similar one other
than the word itself (ties: first listed), so the same word always becomes the
same synonym and the combination is a learnable trigger; ``"random"`` draws a
neighbour uniformly each time. A text with no substitutable word is unavailable
(reported by :func:`crowd.attacks.poison.poison_corpus`).

Every substitution stays inside ``S_w``, so the attack budget in synonym
substitutions equals the number of words replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crowd.attacks.base import Attack, AttackSettings
from crowd.text import split_words
from synonyms.graph import SynonymGraph

SUBSTITUTE_RULES = ("closest", "random")


@dataclass(frozen=True, kw_only=True)
class WordSubstitution(Attack):
    """Replace up to ``num_substitutions`` words by synonyms from ``graph``."""

    name = "wordsub"
    needs_graph = True
    graph: SynonymGraph
    num_substitutions: int = 3
    substitute: str = "closest"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_substitutions < 1:
            raise ValueError("num_substitutions must be at least 1")
        if self.substitute not in SUBSTITUTE_RULES:
            raise ValueError(f"substitute must be one of {SUBSTITUTE_RULES}, got {self.substitute!r}")

    @classmethod
    def from_settings(cls, settings: AttackSettings) -> WordSubstitution:
        if settings.graph is None:
            raise ValueError(f"{cls.name} needs a synonym graph (a folder written by 'crowd synonyms build')")
        return cls(graph=settings.graph, num_substitutions=settings.num_substitutions, **settings.common)

    def apply(self, texts: Sequence[str], generator: np.random.Generator) -> list[str | None]:
        return [self._one(text, generator) for text in texts]

    def _one(self, text: str, generator: np.random.Generator) -> str | None:
        words = split_words(text)
        eligible = [i for i, w in enumerate(words) if w in self.graph and self.graph.set_size(w) > 1]
        if not eligible:
            return None
        k = min(self.num_substitutions, len(eligible))
        for i in sorted(int(j) for j in generator.choice(eligible, size=k, replace=False)):
            words[i] = self._replacement(words[i], generator)
        return " ".join(words)

    def _replacement(self, word: str, generator: np.random.Generator) -> str:
        candidates = self.graph.neighbors(word)[1:]
        if self.substitute == "random":
            return candidates[int(generator.integers(len(candidates)))]
        sims = self.graph.similarities(word)[1:]
        return candidates[int(np.argmax(sims))]
