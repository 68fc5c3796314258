"""SAFER's uniform synonym substitution (Ye, Gong, Liu, ACL 2020; THEORY §2(b)).

Each word becomes a uniform draw from its perturbation set. The ``tv`` certificate uses the uniform TV
``1 − |S_w ∩ S_v| / max(|S_w|, |S_v|)`` (SAFER's ``/|S_w|`` is the TV only when ``|S_w| ≥ |S_v|``).
Guarantee: with probability ``≥ 1 − α`` over the sampled copies, the smoothed prediction is unchanged
by up to ``r`` synonym substitutions in the training texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from crowd.methods.base import TEST_NOISE
from crowd.methods.synonym import SynonymSmoothing
from crowd.noise import SaferNoise


@dataclass(frozen=True)
class Safer(SynonymSmoothing):
    """``[method] name = "safer"``: ``graph``, ``noise_test`` (see :class:`SynonymSmoothing`)."""

    name: ClassVar[str] = "safer"
    paper_note: ClassVar[str] = (
        "uniform substitution; exact TV between uniform draws (SAFER's overlap formula is unsound when sets differ)"
    )

    def noise(self, graph, progress: bool = False):

        return SaferNoise(graph)

    def votes_identity(self, graph) -> dict:
        return {"graph": graph.content_hash(), **TEST_NOISE}
