"""Training the base classifiers of the smoothed classifier: one model per noisy copy of the training set.

* :class:`WordPieceEncoder`: word corpora to BERT inputs without re-tokenising each copy.
* :class:`StaticEncoder`: word corpora to rows of a static word-vector table.
* :class:`CopyData`: one noisy copy handed to a learner; :class:`FitRequest`: a group of them, what a learner trains.
* Learners :class:`FullFineTune` (grouped full fine-tuning), :class:`HeadOnly` (frozen encoder,
  batched linear heads, on-disk feature cache) and :class:`StaticBag` (mean of static word
  vectors, batched linear heads, no encoder) and :class:`BagOfWords` (TF-IDF n-grams, a
  scikit-learn logistic regression per copy) and :class:`Ensemble` (``bow+head``: their mean
  probabilities); each returns test logits.
* :func:`run_votes`: all copies, votes stored per copy, resume, ``torch.distributed`` sharding.

See docs/training.md. This package imports without torch: its light names (data, encoders, learner
settings, the feature cache, the vote store) are imported here; the runner's names (``run_votes``,
``local_device``, ``fingerprint_of``) import :mod:`crowd.train.runner` (its progress bars) on first use. The runner
imports torch only for a torch learner, a CUDA/MPS device or ``torchrun`` (:mod:`crowd.train.devices`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crowd.train.bow_encoder import HashedWordEncoder
from crowd.train.data import CopyData, FitRequest, Learner, TrainingInputError
from crowd.train.encode import WordPieceEncoder
from crowd.train.feature_cache import CacheStats, FeatureCache, cache_stats
from crowd.train.pair_encoder import PairEncoder
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
from crowd.train.votes import VoteStore, VoteStoreMismatch

RUNNER = ("fingerprint_of", "local_device", "run_votes")  # names of crowd.train.runner (tqdm)

__all__ = [
    "LEARNERS",
    "BagOfWords",
    "CacheStats",
    "CopyData",
    "Ensemble",
    "FeatureCache",
    "FitRequest",
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
    from crowd.train.runner import fingerprint_of, local_device, run_votes


def __getattr__(name: str):
    if name not in RUNNER:
        raise AttributeError(f"module 'crowd.train' has no attribute {name!r}")
    from crowd.train import runner  # lazy: configs read crowd.train's settings without the runner's tqdm

    return getattr(runner, name)
