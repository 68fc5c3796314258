"""Synonym graphs for word-substitution noise.

Counter-fit word vectors with synonym/antonym constraints (Mrkšić et al. 2016),
post-process them (all-but-the-top, Mu & Viswanath 2018), and build the
word → perturbation-set graph with cosine similarities that CROWD's and SAFER's
noise sample from. ``synonyms`` never imports ``crowd``. The package itself exports
only :class:`SynonymGraph` (light: numpy); the builders are imported by their full
path (:mod:`synonyms.vectors`, :mod:`synonyms.build` and :mod:`synonyms.counterfit`, which needs torch, ...).
"""

from __future__ import annotations

from synonyms.graph import SynonymGraph

__all__ = ["SynonymGraph"]
