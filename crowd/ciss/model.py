"""The CISS encoder: frozen word vectors → latent ``z``, with interval bounds over every synonym substitution.

Zhao, Ma, Wang, Wang, Li & Zhang (ICML 2022), "Certified Robustness Against Natural Language Attacks by
Causal Intervention" (CISS, released as ConvexCertify). Their ``cnnibp`` encoder rotates each word vector
with a linear layer, applies a width-3 convolution, mean-pools over the words and maps the result to a
latent vector ``z``; a text's substitutions are bounded by interval bound propagation (IBP, after Jia et al.
2019) from the box that holds every synonym's vector at each position. This module is that encoder at CPU
size (50-d GloVe instead of BERT's embeddings), written for this toolkit.

Soundness of the box. Write ``e(w)`` for the frozen vector of word ``w`` (zero for a word the table lacks).
For a text ``x = w_1 .. w_L`` every allowed ``x'`` replaces any of the ``w_i`` by a member of
``S_i = {w_i} ∪ graph.substitutes(w_i)``; it keeps the length, so the mask and the mean's divisor do not
move. The first layer's output at position ``i`` is ``W e(v) + b`` for some ``v ∈ S_i``: its box is the
minimum and maximum over the members, computed for each one (exact, as Jia et al.'s first layer over the
discrete choices; CISS bounds the input vectors instead, which is looser). After it, an affine map sends a
box with centre ``c`` and half-width ``r`` into the box with centre ``Wc + b`` and half-width ``|W| r``;
ReLU and the positive mask are monotone; the mean is affine. Hence ``z(x')`` lies in the final box
``[lo, hi]`` for every ``x'``, and ``||z(x') - z(x)||_2 <= B(x) = ||max(hi - z(x), z(x) - lo)||_2``.
Certification computes in float64 and widens the box by :data:`SLACK` (relative) so that rounding cannot
make it too small; the tests enumerate every substitution of short texts and check both claims.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from crowd.text import split_words
from crowd.train.static_vectors import PAD_ID as PAD_ROW
from crowd.train.static_vectors import VectorTable
from synonyms.graph import SynonymGraph

SLACK = 1e-9
"""Relative widening of the float64 latent box at certification (rounding of a few hundred float64
operations is below 1e-13 relative)."""


class Box(NamedTuple):
    """A value with interval bounds of the same shape: ``lo <= val <= hi`` for every allowed input."""

    val: torch.Tensor
    lo: torch.Tensor
    hi: torch.Tensor

    def map(self, fn) -> Box:
        """A monotone non-decreasing elementwise ``fn`` (ReLU, multiplication by a mask >= 0)."""
        return Box(fn(self.val), fn(self.lo), fn(self.hi))


def affine(box: Box, weight: torch.Tensor, bias: torch.Tensor, op) -> Box:
    """``op(x, weight, bias)`` (a linear or convolution map) of the box, by centre and half-width."""
    centre = (box.lo + box.hi) / 2
    half = (box.hi - box.lo) / 2
    mid = op(centre, weight, bias)
    spread = op(half, weight.abs(), None)
    return Box(op(box.val, weight, bias), mid - spread, mid + spread)


def _conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Width-preserving 1-d convolution over the word axis of ``(B, L, H)``."""
    out = F.conv1d(x.transpose(1, 2), weight, bias, padding=weight.shape[-1] // 2)
    return out.transpose(1, 2)


class CissNet(nn.Module):
    """Words → latent ``z`` ``(B, latent)`` → class logits (the classifier on ``z``).

    A word's vector is its frozen table row plus a learned offset ``delta`` for the table rows
    ``learn_rows`` (zero for every other row). Encoder (CISS ``cnnibp``): linear ``d → hidden``, ReLU, mask, convolution of width ``kernel`` (odd),
    ReLU, mask, mean over the text's words, linear ``hidden → hidden``, ReLU, linear ``hidden → latent``.
    Classifier on the (noisy) latent (CISS ``hidden_to_label``): ReLU, linear, ReLU, linear to the classes.
    Parameters are drawn from ``generator`` (Kaiming-uniform, zero biases): no global random state.
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        latent: int,
        kernel: int,
        num_labels: int,
        generator: torch.Generator,
        learn_rows: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        rows = np.unique(np.asarray([] if learn_rows is None else learn_rows, dtype=np.int64))
        self.register_buffer("learn_rows", torch.from_numpy(rows))
        self.delta = nn.Parameter(torch.zeros(len(rows), dim))
        self.word = nn.Linear(dim, hidden)
        self.conv = nn.Conv1d(hidden, hidden, kernel)
        self.fc = nn.Linear(hidden, hidden)
        self.to_latent = nn.Linear(hidden, latent)
        self.head1 = nn.Linear(latent, latent)
        self.head2 = nn.Linear(latent, num_labels)
        with torch.no_grad():
            for name, p in sorted(self.named_parameters()):
                if name == "delta":
                    continue
                if name.endswith("bias"):
                    p.zero_()
                else:
                    fan_in = p[0].numel()
                    p.uniform_(-((6 / fan_in) ** 0.5), (6 / fan_in) ** 0.5, generator=generator)

    def latent_box(self, batch: Batch, eps: float = 1.0) -> Box:
        """The latent ``z`` of each text and its box over every substitution of its words.

        The first layer is bounded exactly: ``W e(v) + b`` is computed for every member ``v`` of each synonym
        set and the box takes their minimum and maximum; the later layers by interval arithmetic.
        ``eps < 1`` shrinks the first layer's box towards the text (a training ramp only)."""
        out = F.linear(self.embed(batch.members, batch.rows), self.word.weight, self.word.bias)  # (M, hidden)
        index = batch.owner[:, None].expand_as(out)
        empty = out.new_zeros((len(batch.first), out.shape[1]))
        lo = empty.scatter_reduce(0, index, out, "amin", include_self=False)
        hi = empty.scatter_reduce(0, index, out, "amax", include_self=False)
        val = out[batch.first]
        if eps != 1.0:
            lo, hi = val - eps * (val - lo), val + eps * (hi - val)
        inv = batch.slots
        m = batch.mask.unsqueeze(-1).to(out.dtype)
        h = Box(val[inv], lo[inv], hi[inv]).map(F.relu).map(lambda t: t * m)
        c = affine(h, self.conv.weight, self.conv.bias, _conv).map(F.relu).map(lambda t: t * m)
        length = m.sum(1).clamp(min=1)  # an empty text pools to zero
        pooled = c.map(lambda t: t.sum(1) / length)
        f = affine(pooled, self.fc.weight, self.fc.bias, F.linear).map(F.relu)
        return affine(f, self.to_latent.weight, self.to_latent.bias, F.linear)

    def embed(self, vectors: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """The word vectors of table ``rows`` with their learned offsets (zero for a row not learned)."""
        if len(self.learn_rows) == 0:
            return vectors
        at = torch.searchsorted(self.learn_rows, rows).clamp(max=len(self.learn_rows) - 1)
        hit = (self.learn_rows[at] == rows).unsqueeze(-1)
        return vectors + torch.where(hit, self.delta[at], torch.zeros_like(vectors))

    def classify(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of the classifier on (noisy) latents ``z``."""
        return self.head2(F.relu(self.head1(F.relu(z))))


def latent_bound(box: Box) -> torch.Tensor:
    """``B``: the largest ``||z' - z||_2`` over the box, per text (``(B,)``)."""
    reach = torch.maximum(box.hi - box.val, box.val - box.lo).clamp(min=0)
    return torch.linalg.vector_norm(reach, dim=-1)


def widen(box: Box, slack: float = SLACK) -> Box:
    """The box widened by ``slack`` relative to its magnitude (against rounding)."""
    pad = slack * (1 + torch.maximum(box.lo.abs(), box.hi.abs()))
    return Box(box.val, box.lo - pad, box.hi + pad)


class Batch(NamedTuple):
    """Texts of a batch: ``members`` ``(M, d)`` the vectors of the synonym sets of the batch's distinct
    words, concatenated, each set the word first; ``owner`` ``(M,)`` the set (``0..U-1``) of each row and
    ``first`` ``(U,)`` the row of each set's word; ``rows`` ``(M,)`` the vector-table row of each member; ``slots`` ``(B, L)`` each position's set; ``mask``."""

    members: torch.Tensor
    rows: torch.Tensor
    owner: torch.Tensor
    first: torch.Tensor
    slots: torch.Tensor
    mask: torch.Tensor


@dataclass(frozen=True)
class Encoded:
    """Texts as word slots: ``ids`` ``(n, max_length)`` into ``members`` ``(V, S)`` (slot 0 is padding),
    each a row of table rows ``vectors`` ``(R, d)`` (row 0 zero): the word, then its substitutes, padded by
    repeating the word; ``table_rows`` ``(R,)`` the vector-table row of each; ``n_members`` per slot; ``mask`` 1 on words; ``n_substitutable`` per text."""

    ids: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    members: np.ndarray
    n_members: np.ndarray
    vectors: np.ndarray
    table_rows: np.ndarray
    n_substitutable: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def batch(self, rows: np.ndarray | Sequence[int], dtype: torch.dtype) -> Batch:
        """The texts ``rows``, trimmed to their longest text."""
        rows = np.asarray(rows)
        width = max(1, int(self.lengths[rows].max()))
        slots, inverse = np.unique(self.ids[rows, :width], return_inverse=True)
        sizes = self.n_members[slots]
        owner = np.repeat(np.arange(len(slots)), sizes)
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        within = np.arange(len(owner)) - first[owner]
        local = self.members[slots[owner], within]
        return Batch(
            torch.from_numpy(self.vectors[local]).to(dtype),
            torch.from_numpy(self.table_rows[local]),
            torch.from_numpy(owner),
            torch.from_numpy(first),
            torch.from_numpy(inverse.reshape(len(rows), width).astype(np.int64)),
            torch.from_numpy(self.mask[rows, :width]),
        )


class Lexicon:
    """Each word's synonym set ``{w} ∪ graph.substitutes(w)`` as rows of the vector table.

    A word is looked up in ``table`` as :class:`~crowd.train.static_vectors.VectorTable` does (as written,
    then lower-cased); a word it lacks has the zero vector, for the text and for every substitution alike.
    """

    def __init__(self, table: VectorTable, graph: SynonymGraph) -> None:
        self.table, self.graph = table, graph
        self._sets: dict[str, tuple[int, ...]] = {}

    def synonym_rows(self, word: str) -> tuple[int, ...]:
        """Table rows of ``word`` and of each of its substitutes (remembered)."""
        if word not in self._sets:
            subs = self.graph.substitutes(word)
            bad = next((s for s in subs if len(split_words(s)) != 1), None)
            if bad is not None:
                raise ValueError(
                    f"synonym graph: substitute {bad!r} of {word!r} is not one word; a substitution must "
                    "keep the text's words aligned (IBP bounds one position per word)"
                )
            self._sets[word] = tuple(self.table.row(w) for w in (word, *subs))
        return self._sets[word]

    def encode(self, texts: Sequence[str], max_length: int) -> Encoded:
        """``texts`` split into words (whitespace), truncated to ``max_length`` words for the model (the
        words beyond cannot move ``z``, so they are covered too and count as substitutable)."""
        words = [split_words(t) for t in texts]
        vocab: dict[str, int] = {}
        for ws in words:
            for w in ws:
                vocab.setdefault(w, len(vocab) + 1)
        sets = [(PAD_ROW,)] + [self.synonym_rows(w) for w in vocab]
        local = {PAD_ROW: 0}
        for rows in sets:
            for r in rows:
                local.setdefault(r, len(local))
        depth = max(len(rows) for rows in sets)
        members = np.array(
            [[local[r] for r in rows] + [local[rows[0]]] * (depth - len(rows)) for rows in sets]
        )
        vectors = self.table.matrix[list(local)]
        n_members = np.array([len(rows) for rows in sets], dtype=np.int64)
        ids = np.zeros((len(texts), max_length), np.int64)
        all_ids = [np.fromiter((vocab[w] for w in ws), np.int64, len(ws)) for ws in words]
        for r, row in enumerate(all_ids):
            ids[r, : min(len(row), max_length)] = row[:max_length]
        lengths = np.minimum([len(ws) for ws in words], max_length).astype(np.int64)
        mask = (np.arange(max_length)[None, :] < lengths[:, None]).astype(np.int32)
        n_sub = np.array([int((n_members[row] > 1).sum()) for row in all_ids], dtype=np.int64)
        table_rows = np.fromiter(local, np.int64, len(local))
        return Encoded(ids, mask, lengths, members.astype(np.int64), n_members, vectors, table_rows, n_sub)


def table_digest(table: VectorTable) -> str:
    """SHA-256 of a vector table's words and matrix (a saved classifier refuses another table)."""
    h = hashlib.sha256()
    h.update("\n".join(table.words).encode("utf-8"))
    h.update(np.ascontiguousarray(table.matrix).tobytes())
    return h.hexdigest()
