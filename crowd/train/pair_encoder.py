"""Two encoders side by side, for a learner that trains two models per copy (:mod:`crowd.train.learners.ensemble`).

A :class:`~crowd.train.data.CopyData` carries one id matrix; :class:`PairEncoder` puts the first encoder's
fixed-width matrix to the left of the second's, so a learner can cut every copy at one known column.
Methods that only call ``encode`` (word partitions, DPA, SAFER, CROWD) work unchanged; keep-beta token
noise (``wang``) needs one coordinate space and is refused with a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crowd.text import WordCorpus

_NO_COORDINATES = (
    "the bow+head learner has no single token-coordinate space (hashed word ids and word pieces side by "
    "side), so keep-beta token noise (method wang) cannot perturb its inputs: use learner bow or head"
)


class PairEncoder:
    """Two encoders side by side: ``encode(corpus)`` is ``([ids_1 | ids_2], [mask_1 | mask_2])``.

    The first encoder pads every row to its ``max_length`` (:class:`~crowd.train.bow_encoder.HashedWordEncoder`
    and :class:`~crowd.train.encode.WordPieceEncoder` both do), so the second encoding starts at column
    ``split_at = first.max_length`` in every matrix. Ids are int64, masks int32.
    """

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second
        self.split_at = int(first.max_length)
        self.max_length = self.split_at + int(second.max_length)

    def encode(self, corpus: WordCorpus) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, mask)`` of width ``first.max_length + second.max_length``."""
        (a, a_mask), (b, b_mask) = self.first.encode(corpus), self.second.encode(corpus)
        if a.shape[1] != self.split_at:
            raise ValueError(
                f"the first encoder gave {a.shape[1]} columns, expected its max_length {self.split_at}"
            )
        ids = np.concatenate([a.astype(np.int64), b.astype(np.int64)], axis=1)
        mask = np.concatenate([a_mask, b_mask], axis=1).astype(np.int32)
        return ids, mask

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Encode plain texts (split into words on whitespace)."""
        return self.encode(WordCorpus.from_texts(texts))

    @property
    def vocab_size(self) -> int:
        raise ValueError(_NO_COORDINATES)

    @property
    def content_length(self) -> int:
        raise ValueError(_NO_COORDINATES)

    def content(self, corpus: WordCorpus) -> np.ndarray:
        raise ValueError(_NO_COORDINATES)

    def from_content(self, content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise ValueError(_NO_COORDINATES)
