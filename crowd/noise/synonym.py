"""Synonym-substitution noise over a :class:`~synonyms.graph.SynonymGraph`: CROWD and SAFER.

Every word of every text is replaced independently by a draw from its perturbation set ``S_w`` (THEORY §2):

- :class:`SaferNoise` (Ye et al. 2020, "SAFER: A Structure-free Approach for Certified Robustness to
  Adversarial Word Substitutions"): uniform over ``S_w``;
- :class:`CrowdNoise` (Sun, Sen, Ruan, CROWD): the beta-weighted argmax of :mod:`crowd.noise.beta`,
  sampled from its exact induced distribution ``π_w`` (the tests check that both agree).

Conventions: a word is looked up as ``word.lower()``; words outside the graph or with a singleton set are
kept; when the draw is the word itself the original token (with its case) is kept, otherwise the output is
the graph's candidate string. Perturbed corpora use the input vocabulary extended by the graph's candidate
words (new ids appended), so every output is representable. The per-vocabulary preparation (vocab id →
alias-table block) is cached, since the same vocabulary is perturbed ``N`` times.

``tv``/``max_tv`` give the per-position total-variation terms of the certificate (THEORY §3b), computed
from the distributions actually sampled, over output strings, and maximised over the substitution relation
the attack budget counts (:meth:`synonyms.graph.SynonymGraph.covers`), in both directions.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crowd.io import write_npy
from crowd.noise.alias import AliasTable
from crowd.noise.beta import induced_probs_csr
from crowd.text import WordCorpus
from synonyms.graph import SynonymGraph

_VOCAB_CACHE_SIZE = 4
PROGRESS_MIN_ROWS = 500  # CrowdNoise shows a bar only for batches this large (a vocabulary, not one word)


@dataclass(frozen=True)
class _Prepared:
    """A vocabulary's sampling tables: output vocab (input vocab + new candidates) and alias blocks."""

    vocab: tuple[str, ...]
    table: AliasTable


class SynonymNoise:
    """Base class: independent per-word substitution within the graph's perturbation sets.

    Subclasses define :meth:`_row_probs`, the distribution over a graph row's candidates.
    """

    name = "synonym"

    def __init__(self, graph: SynonymGraph) -> None:
        self.graph = graph
        self._probs = np.full(len(graph.indices), np.nan)
        self._prepared: dict[tuple[str, ...], _Prepared] = {}
        self._max_tv: dict[str, float] = {}

    # -- distributions ------------------------------------------------------------
    def _compute_rows(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities for ``rows`` as an array aligned with ``graph.indices`` (other entries ignored)."""
        raise NotImplementedError

    def _row_probs(self, rows: np.ndarray) -> bool:
        """Make sure ``π`` is cached for every graph row in ``rows`` (batched); whether any was computed."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        indptr = self.graph.indptr
        missing = rows[np.isnan(self._probs[indptr[rows]])] if len(rows) else rows
        if len(missing):
            computed = self._compute_rows(missing)
            cols = np.concatenate([np.arange(indptr[r], indptr[r + 1]) for r in missing])
            self._probs[cols] = computed[cols]
        return bool(len(missing))

    def _row(self, word: str) -> int | None:
        key = word.lower()
        return self.graph.index(key) if key in self.graph else None

    def distribution(self, word: str) -> tuple[list[str], np.ndarray]:
        """``(candidates, probs)`` of the output for ``word``; the word itself (as given) first."""
        r = self._row(word)
        if r is None:
            return [word], np.ones(1)
        self._row_probs(np.array([r]))
        a, b = self.graph.indptr[r], self.graph.indptr[r + 1]
        cands = [word] + [self.graph.words[j] for j in self.graph.indices[a + 1 : b]]
        return cands, self._probs[a:b].copy()

    def tv(self, word: str, other: str) -> float:
        """Total variation between the output distributions of ``word`` and ``other`` (over strings)."""
        p = dict(zip(*self.distribution(word)))
        q = dict(zip(*self.distribution(other)))
        # fsum: a correctly rounded sum, so the value does not depend on the set's (hash-seeded) order
        tv = 0.5 * math.fsum(abs(p.get(s, 0.0) - q.get(s, 0.0)) for s in p.keys() | q.keys())
        return min(tv, 1.0)

    def max_tv(self, word: str) -> float:
        """Per-position TV term of a position holding ``word`` (THEORY §3b): 0 when no substitution touches it.

        The max of :meth:`tv` over every pair of the substitution relation
        (:meth:`synonyms.graph.SynonymGraph.covers`, the relation the attack budget counts) that has
        ``word`` on either side: ``word → v`` for ``v ∈ S_word`` (``word`` is the clean word) and
        ``w → word`` for every ``w`` whose set lists ``word`` (``word`` is the poisoned word). The
        second kind is what a certificate over an observed, possibly poisoned corpus needs: on an
        asymmetric graph ``w ∉ S_word`` is possible, and maximising over ``S_word`` alone would
        understate the term. Covering both directions keeps the term sound whether the certified corpus
        is the clean one or the poisoned one.
        """
        if word not in self._max_tv:
            self.max_tv_array([word])
        return self._max_tv[word]

    def max_tv_array(self, words: list[str] | np.ndarray) -> np.ndarray:
        """:meth:`max_tv` for many words (every distribution involved computed in one batch)."""
        uniq = [w for w in dict.fromkeys(str(w) for w in words) if w not in self._max_tv]
        partners = {w: [*self.graph.substitutes(w), *self.graph.substituted_by(w)] for w in uniq}
        involved = {x for w, ps in partners.items() for x in (w, *ps)}
        rows = [r for r in (self._row(x) for x in involved) if r is not None]
        self._row_probs(np.asarray(rows, dtype=np.int64))
        for w in uniq:
            self._max_tv[w] = max((self.tv(w, v) for v in partners[w]), default=0.0)
        return np.array([self._max_tv[str(w)] for w in words], dtype=np.float64)

    # -- sampling -----------------------------------------------------------------
    def _prepare(self, vocab: tuple[str, ...]) -> _Prepared:
        """Alias blocks for every id of ``vocab`` (cached per vocabulary)."""
        hit = self._prepared.get(vocab)
        if hit is not None:
            return hit
        rows = [self._row(w) for w in vocab]
        self._row_probs(np.array([r for r in rows if r is not None], dtype=np.int64))
        out_vocab = list(vocab)
        index = {w: i for i, w in enumerate(out_vocab)}
        outcomes, probs = [], []
        g = self.graph
        for v, r in enumerate(rows):
            if r is None or g.indptr[r + 1] - g.indptr[r] == 1:
                outcomes.append(np.array([v]))
                probs.append(np.ones(1))
                continue
            ids = [v]
            for j in g.indices[g.indptr[r] + 1 : g.indptr[r + 1]]:
                w = g.words[j]
                if w not in index:
                    index[w] = len(out_vocab)
                    out_vocab.append(w)
                ids.append(index[w])
            outcomes.append(np.array(ids))
            probs.append(self._probs[g.indptr[r] : g.indptr[r + 1]])
        prepared = _Prepared(tuple(out_vocab), AliasTable.build(outcomes, probs))
        if len(self._prepared) >= _VOCAB_CACHE_SIZE:
            self._prepared.pop(next(iter(self._prepared)))
        self._prepared[vocab] = prepared
        return prepared

    def perturb(self, corpus: WordCorpus, rng: np.random.Generator) -> WordCorpus:
        """One noisy copy of ``corpus``: every word replaced independently (one uniform per word)."""
        prepared = self._prepare(corpus.vocab)
        ids = prepared.table.sample(corpus.ids, rng).astype(np.int32)
        return WordCorpus(prepared.vocab, ids, corpus.offsets)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.graph!r})"


class SaferNoise(SynonymNoise):
    """SAFER's uniform substitution: ``w → Uniform(S_w)`` (Ye et al. 2020)."""

    name = "safer"

    def _compute_rows(self, rows: np.ndarray) -> np.ndarray:
        sizes = np.diff(self.graph.indptr).astype(np.float64)
        return np.repeat(1.0 / sizes, np.diff(self.graph.indptr))


class CrowdNoise(SynonymNoise):
    """CROWD's beta-weighted substitution (Sun, Sen, Ruan), sampled from its exact ``π_w``.

    ``π_w`` is computed by quadrature in :func:`crowd.noise.beta.induced_probs_csr`, lazily for the rows a
    vocabulary (or a TV query) needs, and cached in memory; with ``cache_dir`` also on disk, keyed by the
    graph's content hash (about a minute of quadrature for a 16k-word graph is then paid once).
    """

    name = "crowd"
    cache_version = 1  # bump when the quadrature changes

    def __init__(
        self, graph: SynonymGraph, cache_dir: str | os.PathLike[str] | None = None, progress: bool = True
    ) -> None:
        super().__init__(graph)
        self.progress = progress  # a bar (stderr) while computing many rows; never changes a number
        self._cache_file = None
        if cache_dir is not None:
            key = f"crowd_pi_v{self.cache_version}_{graph.content_hash()[:20]}.npy"
            self._cache_file = Path(cache_dir) / key
            if self._cache_file.exists():
                cached = np.load(self._cache_file, allow_pickle=False)
                if cached.shape == self._probs.shape:
                    self._probs = cached

    def _compute_rows(self, rows: np.ndarray) -> np.ndarray:
        show = self.progress and len(rows) >= PROGRESS_MIN_ROWS
        return induced_probs_csr(self.graph.indptr, self.graph.sims, rows, progress=show)

    def _row_probs(self, rows: np.ndarray) -> bool:
        computed = super()._row_probs(rows)
        if computed and self._cache_file is not None:
            write_npy(self._cache_file, self._probs)
        return computed

    def precompute(self) -> None:
        """Compute ``π`` for every row of the graph now."""
        self._row_probs(np.arange(len(self.graph)))
