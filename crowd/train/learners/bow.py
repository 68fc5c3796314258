"""A fast sparse learner: TF-IDF over word n-grams and a logistic regression per copy (scikit-learn).

The classic text-classification baseline (e.g. Wang & Manning 2012, "Baselines and Bigrams"): a text is
the TF-IDF vector of its word unigrams and bigrams (``ngram_max``), classified by an L2-regularised
logistic regression (``sklearn.linear_model.LogisticRegression``, lbfgs, inverse strength ``C``). Inputs
are the hashed word ids of :class:`crowd.train.bow_encoder.HashedWordEncoder` (``BagOfWords.encoder()``);
``model_name`` and ``device`` are ignored (CPU only).

Independence (THEORY §3): model ``j`` is a function of its own copy alone. Its columns are the distinct
n-grams of its own training rows (sorted by the stable word ids, so in an order no other copy affects),
IDF and ``min_df`` are counted over its own training rows, a test n-gram the copy never saw maps to no
column, and the copies of a group are fitted one after another with nothing shared; lbfgs draws no random
numbers, and the ``random_state`` passed (``torch_seed(seed, "bow", j)``) would only matter for a
randomised solver. Padding and the matrix width do not enter: only the words under the mask do.

Output: the decision function as logits ``(n_test, num_labels)`` float32 (binary: ``±s/2``, so the softmax
is the model's probability). A class absent from a copy's training labels gets, per test text, the
smallest present logit minus 1; a copy trained on one class predicts it everywhere (logit 0, others -1); a
copy with no n-gram in its training rows scores the log of its weighted class prior.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from crowd.seeding import torch_seed
from crowd.train.bow_encoder import PAD_ID, word_id
from crowd.train.data import CopyData, FitRequest, ModelInputs, ModelState, Progress, TrainingInputError
from crowd.train.settings import BagOfWords


class NgramColumns:
    """The n-gram columns of one training set: unigrams first, then bigrams, ..., each sorted by key.

    ``fit(ids, mask)`` learns the tables from training rows; ``counts(ids, mask)`` is the sparse
    ``(n, n_columns)`` count matrix of any rows (n-grams outside the tables are dropped). An n-gram is
    ``n`` consecutive positions all under the mask; its key is the pair (its ``n-1``-gram's index,
    its last word's index), so keys are exact integers, never hashed together.
    """

    def __init__(self, ngram_max: int, max_length: int) -> None:
        self.ngram_max = ngram_max
        self.max_length = max_length

    def fit(self, ids: np.ndarray, mask: np.ndarray) -> NgramColumns:
        ids, valid = self._words(ids, mask)
        self.words_ = np.unique(ids[valid])
        self.tables_: list[np.ndarray] = []
        code = self._lookup(self.words_, ids, valid)
        words = code
        for _ in range(2, self.ngram_max + 1):
            key = self._key(code, words)
            table = np.unique(key[key >= 0])
            self.tables_.append(table)
            code = self._lookup(table, key, key >= 0)
        sizes = [len(self.words_)] + [len(t) for t in self.tables_]
        self.starts_ = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return self

    def state(self) -> dict[str, np.ndarray]:
        """The fitted tables as named arrays (``words``, then ``table_2`` .. ``table_n`` for n-grams)."""
        return {"words": self.words_} | {f"table_{n}": t for n, t in enumerate(self.tables_, start=2)}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], ngram_max: int, max_length: int) -> NgramColumns:
        """The columns :meth:`state` saved."""
        columns = cls(ngram_max, max_length)
        columns.words_ = state["words"]
        columns.tables_ = [state[f"table_{n}"] for n in range(2, ngram_max + 1)]
        sizes = [len(columns.words_)] + [len(t) for t in columns.tables_]
        columns.starts_ = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return columns

    @property
    def n_columns(self) -> int:
        return int(self.starts_[-1])

    def counts(self, ids: np.ndarray, mask: np.ndarray) -> sp.csr_matrix:
        ids, valid = self._words(ids, mask)
        n = ids.shape[0]
        words = code = self._lookup(self.words_, ids, valid)
        parts = [self._entries(code, self.starts_[0])]
        for order, table in enumerate(self.tables_, start=1):
            key = self._key(code, words)
            code = self._lookup(table, key, key >= 0)
            parts.append(self._entries(code, self.starts_[order]))
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        data = np.ones(len(rows), dtype=np.float64)
        return sp.csr_matrix((data, (rows, cols)), shape=(n, self.n_columns))  # sums repeated n-grams

    def _words(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int64)[:, : self.max_length]
        valid = (np.asarray(mask)[:, : self.max_length] != 0) & (ids != PAD_ID)
        return ids, valid

    def _key(self, code: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Keys of the n-grams extending the (n-1)-grams ``code`` by the next word; -1 where none."""
        prev = code[:, :-1]
        last = words[:, words.shape[1] - prev.shape[1] :]
        key = prev * max(len(self.words_), 1) + last
        return np.where((prev >= 0) & (last >= 0), key, -1)

    @staticmethod
    def _lookup(table: np.ndarray, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Index of each valid value in the sorted ``table``; -1 where invalid or absent."""
        pos = np.searchsorted(table, values)
        found = valid & (pos < len(table))
        found[found] = table[pos[found]] == values[found]
        return np.where(found, pos, -1)

    @staticmethod
    def _entries(code: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = np.nonzero(code >= 0)
        return rows, code[rows, cols] + start


class BagOfWordsTrainer(BagOfWords):
    """The implementation of :class:`crowd.train.settings.BagOfWords` (built from its settings).

    A fitted model (:meth:`fit`) is named arrays: its n-gram tables (``words``, ``table_1`` ..), the
    ``min_df`` filter (``keep``), the IDF (``idf``), the classes its training rows hold (``present``) and
    either the logistic regression (``coef``, ``intercept``) or, without one, the class log-prior
    (``prior``). :meth:`predict` scores each row from these alone (sparse rows times dense weights), so a
    row's logits do not depend on the rows beside it."""

    def fit(self, request: FitRequest, progress: Progress = None) -> list[ModelState]:
        """One fitted model per copy (its training rows only), fitted in turn."""
        copies, indices, seed, num_labels = request.copies, request.indices, request.seed, request.num_labels
        check_copies(copies, indices, num_labels)
        out = []
        for done, (j, copy) in enumerate(zip(indices, copies), start=1):
            out.append(self.fit_copy(copy, seed, j))
            if progress is not None:
                progress(done, len(copies))
        return out

    def predict(
        self,
        model_name: str,
        states: Sequence[ModelState],
        inputs: Sequence[ModelInputs],
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Logits ``(len(states), n, num_labels)`` float32 of each fitted model on its inputs."""
        return np.stack([self.score(s, x.ids, x.mask, num_labels) for s, x in zip(states, inputs)])

    def fit_copy(self, copy: CopyData, seed: int, j: int) -> ModelState:
        """The model trained on ``copy``'s training rows (copy index ``j``)."""
        labels = np.asarray(copy.train_labels, dtype=np.int64)
        present = np.unique(labels)
        columns = NgramColumns(self.ngram_max, self.max_length).fit(copy.train_ids, copy.train_mask)
        state = {"present": present, **columns.state()}
        if len(present) == 1:
            return state | {"prior": np.zeros(1)}  # predicts its one class everywhere (logit 0, others -1)
        train = columns.counts(copy.train_ids, copy.train_mask)
        keep = np.bincount(train.indices, minlength=train.shape[1]) >= self.min_df
        train = train[:, keep]
        if train.shape[1] == 0:  # no n-gram kept: the weighted class prior, as an intercept-only fit
            w = copy.train_weights if copy.train_weights is not None else np.ones(len(labels))
            prior = np.bincount(labels, w.astype(np.float64))[present]
            return state | {"prior": np.log(prior / prior.sum())}
        from sklearn.feature_extraction.text import TfidfTransformer  # lazy: predicting needs no scikit-learn
        from sklearn.linear_model import LogisticRegression  # lazy: predicting needs no scikit-learn

        tfidf = TfidfTransformer(sublinear_tf=self.sublinear_tf).fit(train)
        x = self.rows(train, tfidf.idf_, copy.train_ids, copy.train_mask)

        def fit(rows, target):
            model = LogisticRegression(
                C=self.C,
                solver="lbfgs",
                max_iter=self.max_iter,
                random_state=torch_seed(seed, "bow", j) % 2**32,
            )
            return model.fit(rows, target, sample_weight=copy.train_weights)

        if self.nb:
            coef, intercept = self.nb_fit(fit, x, train, labels, present)
        else:
            model = fit(x, labels)
            coef, intercept = model.coef_, model.intercept_
        return state | {
            "keep": keep,
            "idf": np.asarray(tfidf.idf_, dtype=np.float64),
            "coef": np.asarray(coef, dtype=np.float64),
            "intercept": np.asarray(intercept, dtype=np.float64),
        }

    def nb_fit(self, fit, x: sp.csr_matrix, counts: sp.csr_matrix, labels: np.ndarray, present: np.ndarray):
        """NB-LR: for each class against the rest (the second class alone for two), the n-gram columns of
        ``x`` scaled by their log-count ratio ``r`` (Wang & Manning 2012), a logistic regression fitted on them,
        and its weights times ``r`` returned, so that scoring is the plain linear model: ``(coef, intercept)``
        with one row per class (one for two classes). Appended vector columns keep their scale."""
        seen = (counts > 0).astype(np.float64)
        rows, offsets = [], []
        for c in present[1:] if len(present) == 2 else present:
            r = np.ones(x.shape[1])
            r[: seen.shape[1]] = nb_ratio(seen, labels == c, self.nb_alpha)
            model = fit(x @ sp.diags(r), (labels == c).astype(np.int64))
            rows.append(model.coef_[0] * r)
            offsets.append(model.intercept_[0])
        return np.stack(rows), np.array(offsets)

    def score(self, state: ModelState, ids: np.ndarray, mask: np.ndarray, num_labels: int) -> np.ndarray:
        """``(n, num_labels)`` float32 logits of the fitted model ``state`` on rows ``ids``/``mask``."""
        present = state["present"]
        if "prior" in state:
            return class_logits(np.tile(state["prior"], (len(ids), 1)), present, num_labels)
        columns = NgramColumns.from_state(state, self.ngram_max, self.max_length)
        x = self.rows(columns.counts(ids, mask)[:, state["keep"]], state["idf"], ids, mask)
        s = np.asarray(x @ state["coef"].T) + state["intercept"]
        scores = np.concatenate([-s / 2, s / 2], axis=1) if len(present) == 2 else s
        return class_logits(scores, present, num_labels)

    def features(self, copy: CopyData) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """TF-IDF matrices ``(train, test)`` of a copy's rows over the columns of its own training rows
        (after ``min_df``), as :meth:`fit_copy` and :meth:`score` compute them."""
        columns = NgramColumns(self.ngram_max, self.max_length).fit(copy.train_ids, copy.train_mask)
        train = columns.counts(copy.train_ids, copy.train_mask)
        keep = np.bincount(train.indices, minlength=train.shape[1]) >= self.min_df
        train, test = train[:, keep], columns.counts(copy.test_ids, copy.test_mask)[:, keep]
        from sklearn.feature_extraction.text import TfidfTransformer  # lazy: as in fit_copy

        idf = TfidfTransformer(sublinear_tf=self.sublinear_tf).fit(train).idf_ if train.shape[1] else None
        return (self.tfidf(train, idf), self.tfidf(test, idf)) if idf is not None else (train, test)

    def rows(
        self, counts: sp.csr_matrix, idf: np.ndarray, ids: np.ndarray, mask: np.ndarray
    ) -> sp.csr_matrix:
        """The model's input rows: TF-IDF, then (with ``vectors``) the scaled mean vector of the row's words."""
        x = self.tfidf(counts, idf)
        if not self.vectors:
            return x
        dense = mean_vectors(self.vectors, ids[:, : self.max_length], mask[:, : self.max_length])
        return sp.hstack([x, sp.csr_matrix(dense * self.vector_weight)], format="csr")

    def tfidf(self, counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
        """Rows of n-gram counts as TF-IDF (sublinear TF if set), each row scaled to unit L2 norm: the
        transform of scikit-learn's ``TfidfTransformer`` (``norm="l2"``), computed here so that predicting
        imports no scikit-learn. Each row's values come from that row alone (its sum of squares is a
        sequential sum over its own entries)."""
        x = sp.csr_matrix(counts, dtype=np.float64, copy=True)
        x.sum_duplicates()
        if self.sublinear_tf:
            np.log(x.data, out=x.data)
            x.data += 1.0
        x.data *= idf[x.indices]
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        norms = np.sqrt(np.bincount(rows, weights=x.data * x.data, minlength=x.shape[0]))
        scale = np.where(norms > 0, norms, 1.0)
        x.data /= scale[rows]
        return x


@functools.cache
def hashed_table(vectors: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, matrix)``: the hashed word id (:func:`crowd.train.bow_encoder.word_id`) of every word of the
    vector table, sorted, and the table's float64 vectors in that order (words that lower-case alike: the first)."""
    from crowd.train.static_vectors import FIRST_WORD, load_table  # lazy: the table loads gensim (a second)

    table = load_table(vectors)
    ids = np.fromiter((word_id(w) for w in table.words), dtype=np.int64, count=len(table.words))
    ids, first = np.unique(ids, return_index=True)
    return ids, table.matrix[FIRST_WORD + first].astype(np.float64)


def mean_vectors(vectors: str, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(n, dim)`` float64: each row's mean vector over its words found in the table (zero when none); each
    row summed in its own order, from its own words only."""
    table_ids, matrix = hashed_table(vectors)
    ids = np.asarray(ids, dtype=np.int64)
    valid = (np.asarray(mask) != 0) & (ids != PAD_ID)
    pos = np.searchsorted(table_ids, ids)
    found = valid & (pos < len(table_ids))
    found[found] = table_ids[pos[found]] == ids[found]
    rows, cols = np.nonzero(found)
    sums = np.zeros((ids.shape[0], matrix.shape[1]))
    np.add.at(sums, rows, matrix[pos[rows, cols]])
    counts = np.bincount(rows, minlength=ids.shape[0])
    return sums / np.maximum(counts, 1)[:, None]


def nb_ratio(seen: sp.csr_matrix, positive: np.ndarray, alpha: float) -> np.ndarray:
    """The naive-Bayes log-count ratio of each column of the 0/1 matrix ``seen``: ``log(p/|p|₁) − log(q/|q|₁)``
    with ``p = alpha + Σ`` over the ``positive`` rows and ``q`` over the others (Wang & Manning 2012)."""
    p = alpha + np.asarray(seen[positive].sum(axis=0)).ravel()
    q = alpha + np.asarray(seen[~positive].sum(axis=0)).ravel()
    return np.log(p / p.sum()) - np.log(q / q.sum())


def class_logits(scores: np.ndarray, present: np.ndarray, num_labels: int) -> np.ndarray:
    """``(n, num_labels)`` float32 logits from scores of the ``present`` classes; absent classes score the
    row's smallest present score minus 1 (finite, and below every class the model knows)."""
    out = np.empty((scores.shape[0], num_labels), dtype=np.float64)
    out[:] = (scores.min(axis=1) - 1.0)[:, None]
    out[:, present] = scores
    return out.astype(np.float32)


def check_copies(copies: Sequence[CopyData], indices: Sequence[int], num_labels: int) -> None:
    """Raise :class:`TrainingInputError` unless every copy can be fitted; copies may differ in size."""
    if len(copies) == 0 or len(copies) != len(indices):
        raise TrainingInputError(f"got {len(copies)} copies for {len(indices)} copy indices")
    if num_labels < 2:
        raise TrainingInputError(f"num_labels must be at least 2, got {num_labels}")
    for j, copy in zip(indices, copies):
        labels = copy.train_labels
        if labels.min() < 0 or labels.max() >= num_labels:
            found = sorted(int(v) for v in np.unique(labels))
            raise TrainingInputError(
                f"copy {j}: training labels {found} do not fit num_labels={num_labels} "
                f"(labels must be 0..{num_labels - 1})"
            )
