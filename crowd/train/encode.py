"""Word-piece encoding of whole corpora without re-running the tokenizer per noisy copy.

BERT's fast tokenizer normalises character by character and its pre-tokenizer
splits on whitespace (then punctuation) before WordPiece runs, so tokenising a
text equals concatenating the tokenisation of its whitespace-separated words.
:class:`WordPieceEncoder` therefore tokenises each vocabulary word once, keeps a
word -> word-pieces table, and assembles every text of a :class:`WordCorpus`
with vectorised numpy gathers: a noisy copy (same vocabulary, new word ids) costs
a few array operations, not a tokenizer pass. Tokenizers whose pre-tokenizer is
not a whitespace split (byte-level BPE, SentencePiece) fall back to the tokenizer.

Two layers:

* ``content(corpus)``: an ``(n, max_length - 2)`` int32 matrix of word-piece ids
  without ``[CLS]``/``[SEP]``, truncated and padded with the tokenizer's PAD id.
  This is the fixed-length coordinate representation keep-β token noise perturbs.
* ``from_content(content)``: model inputs ``(input_ids, attention_mask)`` of
  width ``max_length``: the non-PAD ids of each row in order (PAD coordinates are
  dropped, so a coordinate noised into PAD deletes that token), wrapped in
  ``[CLS] ... [SEP]`` and padded.

``encode(corpus) == from_content(content(corpus))`` equals
``tokenizer(texts, truncation=True, max_length=max_length, padding="max_length")``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crowd.text import WordCorpus

_SPLITTING_PRE_TOKENIZERS = ("BertPreTokenizer", "WhitespaceSplit", "Whitespace")
_PROBE = (
    "It's a well-made , funny film -- really ! (Naïve? No.) 3.5/5 stars; cf mn",
    "Héllo   wörld... don't `` stop '' ... -lrb- ok -rrb- 東京 e-mail@x.com",
)


def is_whitespace_splittable(tokenizer) -> bool:
    """Whether the tokenizer's pre-tokenizer splits on whitespace first (BERT-style word pieces)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or backend.pre_tokenizer is None:
        return False
    return type(backend.pre_tokenizer).__name__ in _SPLITTING_PRE_TOKENIZERS or any(
        name + "(" in repr(backend.pre_tokenizer) for name in _SPLITTING_PRE_TOKENIZERS
    )


class WordPieceEncoder:
    """Encode :class:`WordCorpus` objects to ``(input_ids, attention_mask)`` int32 matrices.

    ``max_length`` counts ``[CLS]`` and ``[SEP]`` (as the tokenizer's ``max_length``
    does). ``per_word=None`` decides from the tokenizer (whitespace-splitting
    pre-tokenizer and agreement on probe sentences); ``True``/``False`` forces it.
    """

    def __init__(self, tokenizer, max_length: int, per_word: bool | None = None) -> None:
        if max_length < 3:
            raise ValueError(f"max_length must be at least 3 ([CLS] token [SEP]), got {max_length}")
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.content_length = max_length - 2
        self.cls_id = _special_id(tokenizer, "cls_token_id", "bos_token_id")
        self.sep_id = _special_id(tokenizer, "sep_token_id", "eos_token_id")
        self.pad_id = _special_id(tokenizer, "pad_token_id", "pad_token_id")
        self._pieces: dict[str, np.ndarray] = {}
        self._table_vocab: tuple[str, ...] | None = None
        self._table: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int32), np.zeros(1, np.int64))
        if per_word is None:
            per_word = is_whitespace_splittable(tokenizer) and self._probe_agrees()
        self.per_word = per_word

    @property
    def vocab_size(self) -> int:
        """Number of token ids (``len(tokenizer)``): the domain size of a content coordinate."""
        return len(self.tokenizer)

    def _probe_agrees(self) -> bool:
        corpus = WordCorpus.from_texts(_PROBE)
        return bool(np.array_equal(self._content_per_word(corpus), self._content_tokenizer(corpus)))

    def word_pieces(self, vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """CSR table: word ``i`` of ``vocab`` is ``flat[offsets[i]:offsets[i+1]]`` (cached per vocab)."""
        vocab = tuple(vocab)
        if self._table_vocab is vocab:
            return self._table
        missing = [w for w in dict.fromkeys(vocab) if w not in self._pieces]
        if missing:
            encoded = self.tokenizer(missing, add_special_tokens=False)["input_ids"]
            for word, ids in zip(missing, encoded):
                self._pieces[word] = np.asarray(ids, dtype=np.int32)
        parts = [self._pieces[w] for w in vocab]
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        flat = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        self._table_vocab = vocab
        self._table = (flat.astype(np.int32), np.concatenate([[0], np.cumsum(lengths)]))
        return self._table

    def content(self, corpus: WordCorpus) -> np.ndarray:
        """``(n, max_length - 2)`` int32 word-piece ids without special tokens, PAD-padded."""
        if self.per_word:
            return self._content_per_word(corpus)
        return self._content_tokenizer(corpus)

    def _content_per_word(self, corpus: WordCorpus) -> np.ndarray:
        flat, offsets = self.word_pieces(corpus.vocab)
        word_lengths = np.diff(offsets)[corpus.ids]
        word_starts = np.concatenate([[0], np.cumsum(word_lengths)])
        total = int(word_starts[-1])
        src = np.repeat(offsets[corpus.ids], word_lengths) + (
            np.arange(total) - np.repeat(word_starts[:-1], word_lengths)
        )
        pieces = flat[src]
        text_starts = word_starts[corpus.offsets]
        return self._rows(pieces, np.diff(text_starts), text_starts[:-1])

    def _content_tokenizer(self, corpus: WordCorpus) -> np.ndarray:
        encoded = self.tokenizer(corpus.texts(), add_special_tokens=False)["input_ids"]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        pieces = np.fromiter((i for e in encoded for i in e), dtype=np.int32, count=int(lengths.sum()))
        return self._rows(pieces, lengths, np.concatenate([[0], np.cumsum(lengths)[:-1]]))

    def _rows(self, pieces: np.ndarray, lengths: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Place each text's pieces in a PAD-filled row, truncated to ``content_length``."""
        n = len(lengths)
        out = np.full((n, self.content_length), self.pad_id, dtype=np.int32)
        kept = np.minimum(lengths, self.content_length)
        rows = np.repeat(np.arange(n), kept)
        cols = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
        out[rows, cols] = pieces[np.repeat(starts, kept) + cols]
        return out

    def from_content(self, content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs from a (possibly noised) content matrix: compact non-PAD ids, add CLS/SEP."""
        content = np.asarray(content)
        if content.ndim != 2 or content.shape[1] > self.content_length:
            raise ValueError(
                f"content must be (n, <= {self.content_length}) for max_length {self.max_length}, "
                f"got shape {content.shape}"
            )
        n = content.shape[0]
        keep = content != self.pad_id
        lengths = keep.sum(axis=1)
        ids = np.full((n, self.max_length), self.pad_id, dtype=np.int32)
        ids[:, 0] = self.cls_id
        rows, _ = np.nonzero(keep)
        cols = np.cumsum(keep, axis=1)[keep]  # 1 + position among kept ids
        ids[rows, cols] = content[keep]
        ids[np.arange(n), lengths + 1] = self.sep_id
        mask = (np.arange(self.max_length)[None, :] < (lengths + 2)[:, None]).astype(np.int32)
        return ids, mask

    def encode(self, corpus: WordCorpus) -> tuple[np.ndarray, np.ndarray]:
        """``(input_ids, attention_mask)``, each ``(n, max_length)`` int32."""
        return self.from_content(self.content(corpus))

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Encode plain texts (split into words on whitespace)."""
        return self.encode(WordCorpus.from_texts(texts))


def _special_id(tokenizer, name: str, fallback: str) -> int:
    value = getattr(tokenizer, name, None)
    if value is None:
        value = getattr(tokenizer, fallback, None)
    if value is None:
        raise ValueError(f"tokenizer {type(tokenizer).__name__} has no {name} (nor {fallback})")
    return int(value)
