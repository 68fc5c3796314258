"""Synonym graphs for word-substitution noise.

Counter-fit word vectors with synonym/antonym constraints (Mrkšić et al. 2016),
post-process them (all-but-the-top, Mu & Viswanath 2018), and build the
word → perturbation-set graph with cosine similarities that CROWD's and SAFER's
noise sample from. ``synonyms`` never imports ``crowd``. Submodules that need
torch or gensim are imported lazily (attribute access), not by this package.
"""

from __future__ import annotations

import importlib
from typing import Any

from synonyms.graph import SynonymGraph

_LAZY = {
    "load_vectors": "synonyms.vectors",
    "VectorFileError": "synonyms.vectors",
    "Constraints": "synonyms.constraints",
    "load_constraints": "synonyms.constraints",
    "CounterFitParams": "synonyms.counterfit",
    "counter_fit": "synonyms.counterfit",
    "all_but_the_top": "synonyms.postprocess",
    "NeighbourParams": "synonyms.neighbours",
    "perturbation_sets": "synonyms.neighbours",
    "BuildParams": "synonyms.build",
    "build_graph": "synonyms.build",
    "import_safer_table": "synonyms.safer",
    "simlex_spearman": "synonyms.evaluate",
    "antonym_leak": "synonyms.evaluate",
}

__all__ = ["SynonymGraph", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synonyms' has no attribute {name!r}")
