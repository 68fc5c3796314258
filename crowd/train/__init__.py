"""Training the base classifiers of the smoothed classifier: one model per noisy copy of the training set.

* :class:`WordPieceEncoder`: word corpora to BERT inputs without re-tokenising each copy.
* :class:`CopyData`: one noisy copy handed to a learner.
* Learners :class:`FullFineTune` (grouped full fine-tuning) and :class:`HeadOnly`
  (frozen encoder, batched linear heads).
* :func:`run_votes`: all copies, votes stored per copy, resume, ``torch.distributed`` sharding.

See docs/training.md. Importing this package imports torch but does nothing else.
"""

from crowd.train.data import CopyData, Learner, TrainingInputError
from crowd.train.encode import WordPieceEncoder
from crowd.train.finetune import FullFineTune
from crowd.train.heads import HeadOnly
from crowd.train.runner import VoteStore, VoteStoreMismatch, fingerprint_of, local_device, run_votes

__all__ = [
    "CopyData",
    "FullFineTune",
    "HeadOnly",
    "Learner",
    "TrainingInputError",
    "VoteStore",
    "VoteStoreMismatch",
    "WordPieceEncoder",
    "fingerprint_of",
    "local_device",
    "run_votes",
]
