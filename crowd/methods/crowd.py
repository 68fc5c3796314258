"""CROWD's beta-weighted synonym substitution (Sun, Sen, Ruan; THEORY §2(c)).

For word ``w`` with candidates ``S_w`` and cosine similarities ``s_j``, draw ``u_j ~ Beta(a, b)`` fitted by
moments to the similarities and substitute ``argmax_j u_j s_j``. The induced distribution ``π_w`` is computed
exactly by quadrature and cached, and the ``tv`` certificate uses the per-position TV of ``π`` itself (never
SAFER's uniform formula). Guarantee: with probability ``≥ 1 − α`` over the ``N`` sampled copies, the
smoothed prediction is unchanged by up to ``r`` synonym substitutions in the training texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from crowd.methods.base import TEST_NOISE
from crowd.methods.synonym import SynonymSmoothing
from crowd.noise import CrowdNoise
from crowd.paths import cache_dir


@dataclass(frozen=True)
class Crowd(SynonymSmoothing):
    """``[method] name = "crowd"``: ``graph``, ``noise_test`` (see :class:`SynonymSmoothing`)."""

    name: ClassVar[str] = "crowd"
    paper_note: ClassVar[str] = (
        "CACC of the smoothed classifier, abstentions wrong; the paper's 'certified accuracy' is a point estimate "
        "+ 0.01 margin, at most our confident accuracy; ours at the attack budget uses the TV bound of the "
        "sampled noise, which cannot cover inserted words or label flips"
    )

    def noise(self, graph, progress: bool = False):

        return CrowdNoise(graph, cache_dir() / "noise", progress=progress)

    def votes_identity(self, graph) -> dict:

        return {"graph": graph.content_hash(), "distributions": CrowdNoise.cache_version, **TEST_NOISE}
