"""Word corpora to stable hashed word ids, the inputs of the bag-of-words learner (no torch, no scikit-learn).

A word's id is a fixed function of the word alone: the first 8 bytes of ``blake2b(lowercase(word))``,
little-endian, reduced to 62 bits (:func:`word_id`). The same word has the same id in every corpus, every
noisy copy and every world, whatever else the corpus holds, so a model's features never depend on words it
did not see. ``0`` is PAD (a word whose hash is 0 takes id 1; a collision either way has probability about
``2**-62`` per pair of words).

:class:`HashedWordEncoder` has :class:`crowd.train.static_vectors.StaticEncoder`'s interface:
``content(corpus)`` is an ``(n, max_length)`` int64 matrix of word ids (truncated, PAD-padded) and
``from_content`` compacts each row's non-PAD ids to the left and returns ``(ids, mask)``. A coordinate's
domain is ``vocab_size = 2**62`` (keep-β noise draws replacement ids from it: almost surely words no
model has seen, so a replaced word acts as deleted). Each vocabulary entry is hashed once per vocabulary
object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from crowd.text import WordCorpus

PAD_ID = 0
ID_BITS = 62
ID_SPACE = 2**ID_BITS


def word_id(word: str) -> int:
    """The id of ``word``: 62 bits of ``blake2b`` of the lower-cased word, never :data:`PAD_ID`."""
    digest = hashlib.blake2b(word.lower().encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % ID_SPACE or 1


class HashedWordEncoder:
    """Encode :class:`WordCorpus` objects to ``(ids, mask)`` int64 matrices of hashed word ids."""

    pad_id = PAD_ID
    vocab_size = ID_SPACE

    def __init__(self, max_length: int = 256) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be positive, got {max_length}")
        self.max_length = max_length
        self.content_length = max_length
        self._vocab: tuple[str, ...] | None = None
        self._ids = np.zeros(0, np.int64)

    def vocab_ids(self, vocab: Sequence[str]) -> np.ndarray:
        """Id of each word of ``vocab`` (cached for the last vocabulary object)."""
        if self._vocab is not vocab:
            self._ids = np.fromiter((word_id(w) for w in vocab), dtype=np.int64, count=len(vocab))
            self._vocab = vocab if isinstance(vocab, tuple) else tuple(vocab)
        return self._ids

    def content(self, corpus: WordCorpus) -> np.ndarray:
        """``(n, max_length)`` int64 word ids, one per word, truncated and PAD-padded."""
        return corpus.to_fixed_length(self.max_length, self.vocab_ids(corpus.vocab), PAD_ID)

    def from_content(self, content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, mask)`` of width ``max_length``: each row's non-PAD ids moved to the left, in order."""
        content = np.asarray(content)
        if content.ndim != 2 or content.shape[1] > self.max_length:
            raise ValueError(f"content must be (n, <= {self.max_length}), got shape {content.shape}")
        if content.size and (content.min() < 0 or content.max() >= ID_SPACE):
            raise ValueError(f"content ids must lie in 0..2**{ID_BITS} - 1")
        keep = content != PAD_ID
        ids = np.full((content.shape[0], self.max_length), PAD_ID, dtype=np.int64)
        rows, _ = np.nonzero(keep)
        ids[rows, np.cumsum(keep, axis=1)[keep] - 1] = content[keep]
        return ids, (ids != PAD_ID).astype(np.int32)

    def encode(self, corpus: WordCorpus) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, mask)``: ``(n, max_length)`` int64 word ids and int32 mask (1 on words)."""
        return self.from_content(self.content(corpus))

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Encode plain texts (split into words on whitespace)."""
        return self.encode(WordCorpus.from_texts(texts))
