"""Word-level representation shared by the noise, the attack budgets and training.

Texts are split into words on whitespace (the corpora are PTB-tokenised or
tweet text; normalisation such as lower-casing is an explicit step of
:mod:`crowd.data`, not done here). A :class:`WordCorpus` stores a whole corpus as
one flat array of word ids into a vocabulary plus offsets (CSR), so that noise is
applied to every word of every text with one vectorised operation.

Fixed-length representation (used by keep-β noise and the ℓ0 budget): each text
becomes ``length`` coordinates, its first ``length`` word ids followed by
``PAD`` (-1) up to ``length``. Inserting a word shifts every later word, so it
changes several coordinates; this is the unit Lee et al.'s certificate counts.

Word groups (TextGuard's partition, :mod:`crowd.methods.textguard`): :func:`word_group` puts a word type in
one of ``m`` md5 groups and :func:`touched_groups` says which groups a text pair differs in; the method and
the attack budget (:mod:`crowd.attacks.budget`) share this one rule.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

PAD = -1
# The longest text a corpus row may hold: every learner reads only its first max_length tokens (64 to 256 by
# default, 512 at most for a BERT-size encoder: a few thousand characters), so a row far longer is almost
# surely a broken file (an unclosed quote swallowing the rows after it). ``crowd predict`` has the same limit.
MAX_TEXT_CHARS = 100_000


def split_words(text: str) -> list[str]:
    """The words of ``text``: whitespace-separated tokens."""
    return text.split()


def abbreviated(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut to about ``limit`` characters with its length said, for a message quoting a value."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[: limit - 10]!r}... ({len(text):,} characters)"


def text_length_problem(text: str) -> str | None:
    """Why ``text`` is too long for a corpus row (over :data:`MAX_TEXT_CHARS`), or ``None``."""
    if len(text) <= MAX_TEXT_CHARS:
        return None
    return (
        f"text of {len(text):,} characters is over the limit of {MAX_TEXT_CHARS:,}: the models read only their "
        "first max_length tokens (a few thousand characters at most); is a quote left open?"
    )


def word_group(word: str, m: int) -> int:
    """TextGuard's group of a word type: ``md5(lowercase(word))`` as an integer, modulo ``m``."""
    return _md5_int(word.lower()) % m


@functools.lru_cache(maxsize=1 << 18)
def _md5_int(word: str) -> int:
    return int(hashlib.md5(word.encode("utf-8")).hexdigest(), 16)


def joined_words(words: list[str], order: str) -> str:
    """``words`` joined by spaces, in text order (``order = "keep"``) or sorted by their lower-cased form."""
    if order == "sorted":
        words = sorted(words, key=lambda w: (w.lower(), w))
    return " ".join(words)


def touched_groups(pairs: Iterable[tuple[str, str]], m: int, order: str) -> set[int]:
    """Groups whose sub-text differs in at least one ``(reference, poisoned)`` text pair."""
    touched: set[int] = set()
    for before, after in pairs:
        if before == after:
            continue
        sides = [[(w, word_group(w, m)) for w in split_words(text)] for text in (before, after)]
        for g in {g for side in sides for _, g in side} - touched:
            a, b = ([w for w, h in side if h == g] for side in sides)
            if joined_words(a, order) != joined_words(b, order):
                touched.add(g)
    return touched


@dataclass(frozen=True, eq=False)
class WordCorpus:
    """Texts as word ids: text ``i`` is ``vocab[ids[offsets[i]:offsets[i+1]]]``.

    ``ids`` is int32, ``offsets`` int64 of length ``n_texts + 1``. Instances are
    immutable; noise returns a new corpus sharing ``vocab`` and ``offsets``.
    """

    vocab: tuple[str, ...]
    ids: np.ndarray
    offsets: np.ndarray
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or len(self.offsets) == 0 or self.offsets[0] != 0:
            raise ValueError("offsets must be a 1-d array starting at 0")
        if self.offsets[-1] != len(self.ids):
            raise ValueError(f"offsets end at {self.offsets[-1]} but there are {len(self.ids)} ids")
        if not self._index:
            self._index.update({w: i for i, w in enumerate(self.vocab)})

    @classmethod
    def from_texts(cls, texts: Iterable[str], vocab: Sequence[str] = ()) -> WordCorpus:
        """Encode ``texts``; words missing from ``vocab`` are appended to it in order of appearance."""
        words = list(vocab)
        index = {w: i for i, w in enumerate(words)}
        if len(index) != len(words):
            raise ValueError("vocab contains duplicate words")
        ids: list[int] = []
        offsets = [0]
        for text in texts:
            for w in split_words(text):
                i = index.get(w)
                if i is None:
                    i = index[w] = len(words)
                    words.append(w)
                ids.append(i)
            offsets.append(len(ids))
        return cls(tuple(words), np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def word_id(self, word: str) -> int:
        return self._index[word]

    def words(self, i: int) -> list[str]:
        return [self.vocab[j] for j in self.ids[self.offsets[i] : self.offsets[i + 1]]]

    def text(self, i: int) -> str:
        return " ".join(self.words(i))

    def texts(self) -> list[str]:
        vocab = np.asarray(self.vocab, dtype=object)
        flat = vocab[self.ids] if len(self.ids) else np.asarray([], dtype=object)
        return [" ".join(flat[a:b]) for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def with_ids(self, ids: np.ndarray) -> WordCorpus:
        """Same texts' layout (offsets, vocab) with new word ids, e.g. after noise."""
        ids = np.asarray(ids, dtype=np.int32)
        if ids.shape != self.ids.shape:
            raise ValueError(f"expected {self.ids.shape} ids, got {ids.shape}")
        return WordCorpus(self.vocab, ids, self.offsets, dict(self._index))

    def subset(self, indices: Sequence[int] | np.ndarray) -> WordCorpus:
        """The texts at ``indices`` (same vocab)."""
        indices = np.asarray(indices, dtype=np.int64)
        starts, ends = self.offsets[indices], self.offsets[indices + 1]
        parts = [self.ids[a:b] for a, b in zip(starts, ends)]
        ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        offsets = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
        return WordCorpus(self.vocab, ids.astype(np.int32), offsets, dict(self._index))

    def to_fixed_length(self, length: int, values: np.ndarray | None = None, fill: int = PAD) -> np.ndarray:
        """An ``(n_texts, length)`` int64 matrix: word ids (or ``values[id]``, one value per vocabulary
        entry), truncated, padded with ``fill`` (:data:`PAD`)."""
        if length < 1:
            raise ValueError("length must be positive")
        out = np.full((len(self), length), fill, dtype=np.int64)
        lengths = np.minimum(self.lengths, length)
        rows = np.repeat(np.arange(len(self)), lengths)
        cols = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        src = np.repeat(self.offsets[:-1], lengths) + cols
        out[rows, cols] = self.ids[src] if values is None else values[self.ids[src]]
        return out

    @classmethod
    def from_fixed_length(cls, matrix: np.ndarray, vocab: Sequence[str]) -> WordCorpus:
        """Inverse of :meth:`to_fixed_length`: every non-PAD coordinate is a word, in order."""
        matrix = np.asarray(matrix)
        keep = matrix != PAD
        offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
        return cls(tuple(vocab), matrix[keep].astype(np.int32), offsets)
