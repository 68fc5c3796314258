"""The immutable word → perturbation-set graph.

Stored in CSR form: row ``i`` lists the perturbation set of ``words[i]``, the word
itself first (similarity 1.0), then its candidates with their cosine similarity
to it. The graph need not be symmetric (SAFER's imported table is not): ``v ∈ S_w`` does not imply
``w ∈ S_v``. :meth:`SynonymGraph.covers` is THE substitution relation of the toolkit (the attack budget
counts it, the TV certificate maximises over it, THEORY §3b); :meth:`~SynonymGraph.substitutes` and
:meth:`~SynonymGraph.substituted_by` enumerate it forwards and backwards. ``save`` writes ``graph.npz`` (arrays) and ``graph.json`` (metadata: source
vectors, constraint files, parameters, content hashes) into a folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synonyms._io import atomic_write

FORMAT_VERSION = 1


class SynonymGraph:
    """Perturbation sets ``S_w`` with similarities ``s_j`` (``s_w = 1``) for every word ``w`` in the graph."""

    def __init__(
        self,
        words: Sequence[str],
        indptr: np.ndarray,
        indices: np.ndarray,
        similarities: np.ndarray,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        words = tuple(words)
        indptr = np.asarray(indptr, dtype=np.int64)
        indices = np.asarray(indices, dtype=np.int32)
        sims = np.asarray(similarities, dtype=np.float32)
        if indptr.shape != (len(words) + 1,) or indptr[0] != 0 or indptr[-1] != len(indices):
            raise ValueError("indptr must have len(words)+1 entries, start at 0 and end at len(indices)")
        if sims.shape != indices.shape:
            raise ValueError("similarities and indices must have the same shape")
        if np.any(np.diff(indptr) < 1):
            raise ValueError("every word's perturbation set must contain at least the word itself")
        if len(indices) and (indices.min() < 0 or indices.max() >= len(words)):
            raise ValueError("indices out of range")
        if np.any(indices[indptr[:-1]] != np.arange(len(words))):
            raise ValueError("each perturbation set must list the word itself first")
        index = {w: i for i, w in enumerate(words)}
        if len(index) != len(words):
            raise ValueError("duplicate words in graph")
        for a in (indptr, indices, sims):
            a.setflags(write=False)
        self._words = words
        self._index = index
        self.indptr, self.indices, self.sims = indptr, indices, sims
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._forward_sets: dict[str, frozenset[str]] = {}
        self._reverse_csr: tuple[np.ndarray, np.ndarray] | None = None

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_sets(
        cls,
        sets: Mapping[str, Sequence[tuple[str, float]]],
        metadata: Mapping[str, Any] | None = None,
    ) -> SynonymGraph:
        """Build from ``{word: [(candidate, similarity), ...]}``; the word itself is added first if absent.

        Candidates that are not keys themselves become words of the graph with a
        singleton set, so every index is a word of the graph.
        """
        words: list[str] = list(sets)
        index = {w: i for i, w in enumerate(words)}
        for cands in sets.values():
            for c, _ in cands:
                if c not in index:
                    index[c] = len(words)
                    words.append(c)
        indptr = [0]
        indices: list[int] = []
        sims: list[float] = []
        for w in words:
            indices.append(index[w])
            sims.append(1.0)
            seen = {w}
            for c, s in sets.get(w, ()):
                if c in seen:
                    continue
                seen.add(c)
                indices.append(index[c])
                sims.append(float(s))
            indptr.append(len(indices))
        return cls(words, np.array(indptr), np.array(indices), np.array(sims), metadata)

    # -- queries ------------------------------------------------------------------
    @property
    def words(self) -> tuple[str, ...]:
        return self._words

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def index(self, word: str) -> int:
        try:
            return self._index[word]
        except KeyError:
            raise KeyError(f"{word!r} is not in the synonym graph") from None

    def set_size(self, word: str) -> int:
        i = self.index(word)
        return int(self.indptr[i + 1] - self.indptr[i])

    def neighbors(self, word: str) -> list[str]:
        """The perturbation set of ``word``, the word itself first."""
        i = self.index(word)
        return [self._words[j] for j in self.indices[self.indptr[i] : self.indptr[i + 1]]]

    def similarities(self, word: str) -> list[float]:
        """Cosine similarity of each member of :meth:`neighbors` to ``word`` (1.0 for itself)."""
        i = self.index(word)
        return [float(s) for s in self.sims[self.indptr[i] : self.indptr[i + 1]]]

    def covers(self, clean: str, poisoned: str) -> bool:
        """Whether ``clean → poisoned`` is a covered synonym substitution: ``poisoned ∈ S_clean``, not itself.

        Directed and case-exact (graph words as stored): clean word ``w`` replaced by poisoned ``v``.
        The attack budget (:func:`crowd.budget.attack_budget`) counts exactly these substitutions and the
        TV certificate's per-position term maximises over exactly these pairs.
        """
        return clean != poisoned and clean in self._index and poisoned in self._forward(clean)

    def substitutes(self, clean: str) -> list[str]:
        """Every ``v`` with ``covers(clean, v)``: ``S_clean`` without ``clean`` (empty outside the graph)."""
        if clean not in self._index:
            return []
        return [v for v in self.neighbors(clean) if v != clean]

    def substituted_by(self, poisoned: str) -> list[str]:
        """Every ``w`` with ``covers(w, poisoned)``: the words whose set lists ``poisoned`` (graph order)."""
        if poisoned not in self._index:
            return []
        i = self._index[poisoned]
        indptr, rows = self._reverse()
        return [self._words[j] for j in rows[indptr[i] : indptr[i + 1]] if j != i]

    def _forward(self, clean: str) -> frozenset[str]:
        if clean not in self._forward_sets:
            self._forward_sets[clean] = frozenset(self.neighbors(clean))
        return self._forward_sets[clean]

    def _reverse(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR of the transposed relation: for column ``i``, the rows (words) whose set lists word ``i``."""
        if self._reverse_csr is None:
            owner = np.repeat(np.arange(len(self._words)), np.diff(self.indptr))
            order = np.argsort(self.indices, kind="stable")
            counts = np.bincount(self.indices, minlength=len(self._words))
            self._reverse_csr = (np.concatenate([[0], np.cumsum(counts)]), owner[order])
        return self._reverse_csr

    @property
    def n_pairs(self) -> int:
        """Number of (word, other candidate) pairs."""
        return int(len(self.indices) - len(self._words))

    def content_hash(self) -> str:
        h = hashlib.sha256()
        h.update("\n".join(self._words).encode("utf-8"))
        for a in (self.indptr, self.indices, self.sims):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def __repr__(self) -> str:
        return f"SynonymGraph({len(self)} words, {self.n_pairs} pairs)"

    # -- persistence --------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``graph.npz`` and ``graph.json`` into folder ``path`` (each atomically)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        words = np.array(self._words, dtype=np.str_)
        atomic_write(
            folder / "graph.npz",
            lambda f: np.savez_compressed(
                f, words=words, indptr=self.indptr, indices=self.indices, similarities=self.sims
            ),
        )
        meta = {
            "format_version": FORMAT_VERSION,
            "n_words": len(self),
            "n_pairs": self.n_pairs,
            "content_sha256": self.content_hash(),
            **self.metadata,
        }
        text = json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"
        atomic_write(folder / "graph.json", lambda f: f.write(text.encode("utf-8")))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SynonymGraph:
        """Load a graph written by :meth:`save`; checks the content hash recorded in ``graph.json``."""
        folder = Path(path)
        npz, meta_path = folder / "graph.npz", folder / "graph.json"
        for p in (npz, meta_path):
            if not p.exists():
                raise FileNotFoundError(
                    f"{p} does not exist (expected a graph folder written by SynonymGraph.save)"
                )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{meta_path}: line {e.lineno}: not valid JSON ({e.msg})") from e
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{meta_path}: format_version {meta.get('format_version')!r}, expected {FORMAT_VERSION}"
            )
        try:
            with np.load(npz, allow_pickle=False) as z:
                arrays = {k: z[k] for k in ("words", "indptr", "indices", "similarities")}
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise ValueError(f"{npz}: not a complete graph array file ({e})") from e
        stored_hash = meta.pop("content_sha256", None)
        for key in ("format_version", "n_words", "n_pairs"):
            meta.pop(key, None)
        graph = cls(
            arrays["words"].tolist(), arrays["indptr"], arrays["indices"], arrays["similarities"], meta
        )
        if stored_hash is not None and stored_hash != graph.content_hash():
            raise ValueError(f"{npz}: content hash does not match {meta_path} (file changed or corrupt)")
        return graph
