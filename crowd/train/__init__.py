"""Training the base classifiers of the smoothed classifier: one model per noisy copy of the training set.

* :class:`WordPieceEncoder`: word corpora to BERT inputs without re-tokenising each copy.
* :class:`StaticEncoder`: word corpora to rows of a static word-vector table.
* :class:`CopyData`: one noisy copy handed to a learner.
* Learners :class:`FullFineTune` (grouped full fine-tuning), :class:`HeadOnly` (frozen encoder,
  batched linear heads, on-disk feature cache) and :class:`StaticBag` (mean of static word
  vectors, batched linear heads, no encoder) and :class:`BagOfWords` (TF-IDF n-grams, a
  scikit-learn logistic regression per copy) and :class:`Ensemble` (``bow+head``: their mean
  probabilities); each returns test logits.
* :func:`run_votes`: all copies, votes stored per copy, resume, ``torch.distributed`` sharding.

See docs/training.md. Names are imported on first use, so ``import crowd.train.static`` (or
reading a config) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_WHERE = {
    "CopyData": "crowd.train.data",
    "Learner": "crowd.train.data",
    "TrainingInputError": "crowd.train.data",
    "WordPieceEncoder": "crowd.train.encode",
    "StaticEncoder": "crowd.train.static_vectors",
    "HashedWordEncoder": "crowd.train.bow_encoder",
    "BagOfWords": "crowd.train.settings",
    "Ensemble": "crowd.train.settings",
    "PairEncoder": "crowd.train.pair_encoder",
    "FullFineTune": "crowd.train.settings",
    "PartialFineTune": "crowd.train.settings",
    "HeadOnly": "crowd.train.settings",
    "StaticBag": "crowd.train.settings",
    "LEARNERS": "crowd.train.settings",
    "CacheStats": "crowd.train.feature_cache",
    "FeatureCache": "crowd.train.feature_cache",
    "cache_stats": "crowd.train.feature_cache",
    "VoteStore": "crowd.train.runner",
    "VoteStoreMismatch": "crowd.train.runner",
    "fingerprint_of": "crowd.train.runner",
    "local_device": "crowd.train.runner",
    "run_votes": "crowd.train.runner",
}

__all__ = [
    "LEARNERS",
    "BagOfWords",
    "CacheStats",
    "CopyData",
    "Ensemble",
    "FeatureCache",
    "FullFineTune",
    "HashedWordEncoder",
    "HeadOnly",
    "Learner",
    "PairEncoder",
    "PartialFineTune",
    "StaticBag",
    "StaticEncoder",
    "TrainingInputError",
    "VoteStore",
    "VoteStoreMismatch",
    "WordPieceEncoder",
    "cache_stats",
    "fingerprint_of",
    "local_device",
    "run_votes",
]

if TYPE_CHECKING:
    from crowd.train.bow_encoder import HashedWordEncoder
    from crowd.train.data import CopyData, Learner, TrainingInputError
    from crowd.train.encode import WordPieceEncoder
    from crowd.train.feature_cache import CacheStats, FeatureCache, cache_stats
    from crowd.train.pair_encoder import PairEncoder
    from crowd.train.runner import VoteStore, VoteStoreMismatch, fingerprint_of, local_device, run_votes
    from crowd.train.settings import (
        LEARNERS,
        BagOfWords,
        Ensemble,
        FullFineTune,
        HeadOnly,
        PartialFineTune,
        StaticBag,
    )
    from crowd.train.static_vectors import StaticEncoder


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'crowd.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
