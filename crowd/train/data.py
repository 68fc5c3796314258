"""What the trainer receives: one noisy copy of the training set and of the test texts.

The runner is agnostic of the noise: the pipeline builds ``make_copy(j)`` from
the noise and ``(seed, j)``, and a learner trains one model per :class:`CopyData`
and predicts that copy's test texts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

ABSTAIN = -1
"""The vote of a model that casts none on a text (e.g. a word group whose sub-text is empty)."""


class TrainingInputError(ValueError):
    """Input that would make training meaningless; raised before any training starts."""


@dataclass(frozen=True, eq=False)
class CopyData:
    """One noisy copy: encoded training texts with labels, and encoded test texts.

    ``*_ids`` and ``*_mask`` are ``(n, L)`` integer matrices (``L`` may differ
    between train and test), ``train_labels`` is ``(n_train,)`` with values in
    ``0 .. num_labels - 1``. ``train_weights`` (``(n_train,)`` float, positive; ``None``: all 1) weights
    each row's loss (the mean of ``w_i · loss_i``; see :func:`balanced_weights`). ``test_abstain``
    (``(n_test,)`` bool; ``None``: none) marks test rows this model casts no vote on: the runner stores
    :data:`ABSTAIN` and NaN logits there, whatever the learner predicted.
    """

    train_ids: np.ndarray
    train_mask: np.ndarray
    train_labels: np.ndarray
    test_ids: np.ndarray
    test_mask: np.ndarray
    train_weights: np.ndarray | None = None
    test_abstain: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("train", "test"):
            ids, mask = getattr(self, f"{name}_ids"), getattr(self, f"{name}_mask")
            if ids.ndim != 2 or ids.shape != mask.shape:
                raise TrainingInputError(
                    f"{name}_ids {ids.shape} and {name}_mask {mask.shape} must be equal 2-d shapes"
                )
        if self.train_labels.shape != (self.train_ids.shape[0],):
            raise TrainingInputError(
                f"train_labels has shape {self.train_labels.shape}, expected ({self.train_ids.shape[0]},)"
            )
        if self.n_train == 0:
            raise TrainingInputError("a copy has no training texts")
        w = self.train_weights
        if w is not None and (w.shape != (self.n_train,) or not np.all(np.isfinite(w)) or np.any(w <= 0)):
            raise TrainingInputError(f"train_weights must be ({self.n_train},) positive finite values")
        a = self.test_abstain
        if a is not None and (a.shape != (self.n_test,) or a.dtype != np.bool_):
            raise TrainingInputError(f"test_abstain must be a ({self.n_test},) boolean mask")

    @property
    def n_train(self) -> int:
        return int(self.train_ids.shape[0])

    @property
    def test(self) -> ModelInputs:
        """This copy's test rows as the model sees them."""
        return ModelInputs(self.test_ids, self.test_mask, self.test_abstain)

    @property
    def n_test(self) -> int:
        return int(self.test_ids.shape[0])


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """How one model sees a list of texts: ``(n, L)`` ids and mask, and the rows it casts no vote on.

    ``abstain`` (``(n,)`` bool; ``None``: none) as :attr:`CopyData.test_abstain`. A model's logits on row
    ``i`` depend on row ``i`` alone (the learners' ``predict``), so the same text gets the same vote
    whatever else is predicted beside it."""

    ids: np.ndarray
    mask: np.ndarray
    abstain: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.ids.ndim != 2 or self.ids.shape != self.mask.shape:
            raise TrainingInputError(
                f"ids {self.ids.shape} and mask {self.mask.shape} must be equal 2-d shapes"
            )
        a = self.abstain
        if a is not None and (a.shape != (self.n,) or a.dtype != np.bool_):
            raise TrainingInputError(f"abstain must be a ({self.n},) boolean mask")

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])


ModelState = dict[str, np.ndarray]
"""A fitted model as named arrays (written with safetensors, never pickled): what ``Learner.fit`` returns and
``Learner.predict`` reads."""


def check_inputs(states: Sequence[ModelState], inputs: Sequence[ModelInputs]) -> int:
    """The number of rows each model predicts; :class:`TrainingInputError` unless there is one
    :class:`ModelInputs` per state, all of one length (the logits are one ``(K, n, C)`` array)."""
    if len(states) == 0 or len(states) != len(inputs):
        raise TrainingInputError(f"got {len(states)} models for {len(inputs)} lists of inputs")
    sizes = {x.n for x in inputs}
    if len(sizes) != 1:
        raise TrainingInputError(f"the models' inputs have {sorted(sizes)} rows: predict needs one length")
    return sizes.pop()


def balanced_weights(labels: np.ndarray, num_labels: int) -> np.ndarray:
    """Per-row weights ``n / (k · n_c)`` over the ``k`` classes present in ``labels`` (scikit-learn's
    ``class_weight="balanced"``): each class carries the same total weight. A function of these labels only,
    so a model weighted by its own training set's labels still depends on that set alone."""
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=num_labels).astype(np.float64)
    present = int((counts > 0).sum())
    return (len(labels) / (present * counts[labels])).astype(np.float32)


CLASS_WEIGHTS = ("balanced", "none")


def check_class_weight(mode: str) -> None:
    if mode not in CLASS_WEIGHTS:
        raise ValueError(f"class_weight must be one of {', '.join(CLASS_WEIGHTS)}, got {mode!r}")


def class_weights(labels: np.ndarray, num_labels: int, mode: str) -> np.ndarray | None:
    """A model's row weights for ``class_weight = mode``: :func:`balanced_weights` of its own labels, or ``None``."""
    check_class_weight(mode)
    return balanced_weights(labels, num_labels) if mode == "balanced" else None


def row_weights(copies: Sequence[CopyData]) -> np.ndarray:
    """``(K, n_train)`` float32 loss weights of copies trained together (ones where a copy has none)."""
    return np.stack(
        [
            c.train_weights.astype(np.float32)
            if c.train_weights is not None
            else np.ones(c.n_train, np.float32)
            for c in copies
        ]
    )


Progress = Callable[[int, int], None] | None
"""A learner's progress callback, ``progress(done, total)`` as its work on a group advances (``None``: no report).

``done`` never decreases and a last call has ``done == total`` (e.g. encoding batches, then training epochs,
then prediction); the runner's models bar moves with it."""


@dataclass(frozen=True, eq=False)
class FitRequest:
    """What a learner trains on: one model per copy of ``copies`` (training rows, labels, weights, test rows),
    copy ``k`` with index ``indices[k]`` (it seeds the copy's head, shuffles and dropout with ``seed``), the
    encoder model ``model_name`` (ignored by the learners that load none), a torch ``device`` name (``"cpu"``,
    ``"cuda:0"``) and ``num_labels`` classes."""

    model_name: str
    copies: Sequence[CopyData]
    indices: Sequence[int]
    seed: int
    device: str
    num_labels: int

    @property
    def tests(self) -> list[ModelInputs]:
        """Each copy's test rows, as its model sees them (what ``predict`` reads after ``fit``)."""
        return [c.test for c in self.copies]


class Learner(Protocol):
    """Trains a group of copies together and predicts their test texts.

    A learner that can be kept (saved, loaded, asked about new texts) also has ``fit(request, progress)``
    returning one :data:`ModelState` per copy and ``predict(model_name, states, inputs, device, num_labels)``
    (see :class:`crowd.train.settings._Learner`); ``fit_predict`` is then ``predict`` after ``fit``."""

    copies_per_group: int

    def fit_predict(self, request: FitRequest, progress: Progress = None) -> np.ndarray:
        """Test logits ``(len(request.copies), n_test, num_labels)`` float32; ``progress(done, total)`` as the
        work advances (:data:`Progress`; may be ``None``).

        A copy's vote on a test text is the argmax of its logits, ties to the smallest class
        index (``np.argmax``); run-off elections use the logits themselves.
        """
        ...


def check_group(copies: Sequence[CopyData], indices: Sequence[int], num_labels: int) -> None:
    """Raise :class:`TrainingInputError` unless the copies can be trained together."""
    if len(copies) == 0 or len(copies) != len(indices):
        raise TrainingInputError(f"got {len(copies)} copies for {len(indices)} copy indices")
    if num_labels < 2:
        raise TrainingInputError(f"num_labels must be at least 2, got {num_labels}")
    first = copies[0]
    for j, copy in zip(indices, copies):
        if (copy.n_train, copy.n_test) != (first.n_train, first.n_test):
            raise TrainingInputError(
                f"copy {j} has {copy.n_train} training / {copy.n_test} test texts, copy {indices[0]} has "
                f"{first.n_train} / {first.n_test}: copies trained together need equal sizes "
                "(use copies_per_group=1 for unequal training sets)"
            )
        labels = copy.train_labels
        if labels.min() < 0 or labels.max() >= num_labels:
            found = sorted(int(v) for v in np.unique(labels))
            raise TrainingInputError(
                f"copy {j}: training labels {found} do not fit num_labels={num_labels} "
                f"(labels must be 0..{num_labels - 1})"
            )


def pad_width(matrices: Sequence[np.ndarray], fill: int) -> np.ndarray:
    """Stack equal-height ``(n, L_k)`` matrices into ``(K, n, max L_k)``, right-padding with ``fill``."""
    width = max(m.shape[1] for m in matrices)
    out = np.full((len(matrices), matrices[0].shape[0], width), fill, dtype=np.int64)
    for k, m in enumerate(matrices):
        out[k, :, : m.shape[1]] = m
    return out


def concat_rows(matrices: Sequence[np.ndarray], fill: int) -> np.ndarray:
    """Concatenate ``(n_k, L_k)`` matrices into ``(sum n_k, max L_k)``, right-padding with ``fill``."""
    width = max(m.shape[1] for m in matrices)
    out = np.full((sum(m.shape[0] for m in matrices), width), fill, dtype=np.int64)
    start = 0
    for m in matrices:
        out[start : start + m.shape[0], : m.shape[1]] = m
        start += m.shape[0]
    return out
