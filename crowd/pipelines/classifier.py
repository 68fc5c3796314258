"""A certified classifier you keep: fit once, save, load, and classify new texts with their certificates.

:class:`CertifiedClassifier` is the ensemble a certified method trains (word groups, partitions, noisy
copies), kept: ``fit`` trains the method's models on a training set, ``certify`` asks every model about any
texts and turns the votes into one :class:`TextCertificate` per text, ``save`` / ``load`` keep the models in
a folder (:mod:`crowd.train.model_store`: safetensors arrays, a manifest with the SHA-256 of every file, no
pickle). ``crowd certify`` writes the same folder under ``OUT/model`` and its report's per-text
certificates are computed by the same functions (:meth:`CertifiedClassifier.certify_words`; the training side is :mod:`crowd.pipelines.fitting`).

What a certificate on a new text means (THEORY §3, "A certificate on a new text"): no change of the
training set by at most ``radius`` units of the method (word types added or removed for ``textguard``,
training examples inserted or deleted for ``dpa``; for the smoothing methods the noise's unit, with
probability at least ``1 - alpha`` for that text) could have changed the prediction on that text as given;
deterministic for partition methods. It needs no attack to be known; when the run that trained the
classifier measured an attack's budget, ``certified`` says whether the radius reaches it. A smoothing
method asks each of its N models about its own noisy copy of the text, drawn from ``(seed, copy, text)``
exactly as in the report (:class:`crowd.seeding.TextDraws`): a prediction costs N model calls per text.

Loading and certifying import neither torch nor transformers for the scikit-learn learner (``bow``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crowd.config import from_dict
from crowd.data import Corpus, Example
from crowd.data.hf import label_list, text_list
from crowd.data.inputs import as_examples as examples_from
from crowd.data.inputs import check_label
from crowd.pipelines.config import CertifyConfig, as_certify_config, load_certify_config
from crowd.pipelines.fitting import GRAPH, KIND, fit_corpus, method_graph, statistics
from crowd.text import WordCorpus
from crowd.train.data import ABSTAIN
from crowd.train.model_store import ModelFolderError, ModelStore, read_sealed
from synonyms.graph import SynonymGraph


@dataclass(frozen=True)
class TextCertificate:
    """One text's prediction and certificate.

    ``label`` is the predicted class, or :data:`ABSTAIN` (-1) when the ensemble abstains (no model voted, or
    no class is confidently on top). ``radius`` is the certified radius in ``unit`` (``None``: not even
    radius 0, or abstained). ``certified`` says whether ``radius >= budget`` (``None`` without a budget).
    ``counts`` are the votes per class; ``p_lower``, ``p_upper_runner_up`` and ``alpha`` are the
    Clopper–Pearson bounds of smoothing methods (``None`` for deterministic ones). Smoothing methods that
    noise the test text also certify the text itself: ``test_side_radius`` in ``test_side_unit`` (synonym
    substitutions in this text that cannot change the prediction, whatever the training data; ``None`` where
    the method has no test side, or not even radius 0)."""

    label: int
    radius: int | None
    unit: str
    certificate: str
    budget: int | None
    certified: bool | None
    counts: tuple[int, ...]
    p_lower: float | None = None
    p_upper_runner_up: float | None = None
    alpha: float | None = None
    test_side_radius: int | None = None
    test_side_unit: str | None = None

    @property
    def abstained(self) -> bool:
        return self.label == ABSTAIN

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts": list(self.counts)}


class CertifiedClassifier:
    """A certified ensemble with scikit-learn's conventions: ``fit`` returns ``self``, learned state ends in ``_``.

    ``config``: a :class:`~crowd.pipelines.config.CertifyConfig` (its ``method``, learner tables, ``model``,
    ``seed``, statistics and ``data.labels`` are used; ``data`` and ``attack`` describe where ``crowd certify``
    reads its corpus and are ignored by :meth:`fit`). Every method (``textguard``, ``dpa`` with Finite
    Aggregation and run-off, ``crowd``, ``safer``, ``wang``) with every learner that keeps its models.
    """

    ABSTAIN = ABSTAIN

    def __init__(self, config: CertifyConfig | None = None) -> None:
        self.config = as_certify_config(config)  # a dict of config sections too

    @classmethod
    def from_toml(
        cls, path: str | os.PathLike[str] | None = None, overrides: Sequence[str] = ()
    ) -> CertifiedClassifier:
        """The classifier of a ``crowd certify`` config file (``None``: the built-in default) with overrides."""
        return cls(load_certify_config(None if path is None else str(path), tuple(overrides)))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"config": self.config}

    def set_params(self, **params: Any) -> CertifiedClassifier:
        if set(params) - {"config"}:
            raise ValueError(f"unknown parameter(s) {sorted(set(params) - {'config'})}; known: config")
        self.config = params.get("config", self.config)
        return self

    # --- fitting -------------------------------------------------------------------------------------------

    def fit(
        self,
        X: Sequence[str] | Sequence[Example],
        y: Sequence[int] | None = None,
        *,
        folder: str | os.PathLike[str] | None = None,
        progress: bool = False,
        text_column: str = "text",
        label_column: str = "label",
    ) -> CertifiedClassifier:
        """Train the method's models on texts ``X`` with labels ``y`` (or on :class:`~crowd.data.Example` s).

        ``folder``: keep the models there as they finish (an interrupted fit resumes with the missing ones)
        and seal it; without it they are trained in a temporary folder and held in memory (:meth:`save`).
        """
        from crowd.pipelines.corpus import given_corpus  # lazy: corpus building imports the attacks (torch)

        examples = as_examples(X, y, "X", text_column, label_column, self.config.data.labels)
        corpus = given_corpus(examples, [], labels=self.config.data.labels)
        check_keepable(self.config)
        if folder is not None:
            return self._fit_into(corpus, Path(folder), progress)
        with tempfile.TemporaryDirectory(prefix="crowd-fit-") as tmp:
            fitted = self._fit_into(corpus, Path(tmp) / "model", progress)
        return fitted

    def _fit_into(self, corpus: Corpus, folder: Path, progress: bool) -> CertifiedClassifier:
        fit_corpus(self.config, corpus, folder, progress)
        return self._load_folder(folder)

    # --- prediction ----------------------------------------------------------------------------------------

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The ensemble's label for each text (int64), :data:`ABSTAIN` (-1) where it abstains."""
        return np.array([c.label for c in self.certify(texts)], dtype=np.int64)

    def certify(
        self,
        texts: Sequence[str] | Sequence[Example],
        budget: int | None = None,
        *,
        text_column: str = "text",
    ) -> list[TextCertificate]:
        """One :class:`TextCertificate` per text; ``budget`` (default: the budget the training run measured,
        if any) decides ``certified``. A text's certificate depends on that text alone."""
        self._check_fitted()
        texts = [e.text if isinstance(e, Example) else e for e in text_list(texts, text_column)]
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}]: expected a string, got {type(t).__name__}")
        certs, _, _ = self.certify_words(WordCorpus.from_texts(texts))
        budget = self.budget_ if budget is None else budget
        return [self._record(c, budget) for c in certs]

    def certify_words(self, words: WordCorpus):
        """``(certificates, votes, logits)`` of every model on ``words``: what :meth:`certify` and the report
        of ``crowd certify`` both read (votes ``(models, texts)``, ``ABSTAIN`` where a model casts none)."""
        self._check_fitted()
        config, method = self.config, self.config.method
        learner = config.learner
        encoder = learner.encoder(config.model.name)
        if getattr(self, "reader_", None) is None:  # prepared once (the noise tables, the encoder)
            self.reader_ = method.reader(encoder, config.seed, self.graph_, len(self.classes_))
            self.certifier_ = method.certifier(len(self.classes_), self.kept_, self.graph_)
        n_votes = len(self.states_) * int(self.kept_.get("draws", 1))
        votes, logits = model_votes(
            learner,
            config.model.name,
            self.states_,
            self.reader_,
            words,
            n_votes,
            self.device_,
            len(self.classes_),
        )
        return self.certifier_(votes, self.statistics_, logits, words), votes, logits

    # --- keeping -------------------------------------------------------------------------------------------

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the fitted classifier into ``folder`` (new or empty), sealed by its manifest."""
        self._check_fitted()
        folder = Path(folder)
        if folder.exists() and any(folder.iterdir()):
            raise ValueError(f"{folder}: not empty; save a classifier into a new or empty folder")
        store = ModelStore(folder, len(self.states_), self.manifest_["fingerprint"])
        for j, state in enumerate(self.states_):
            store.write(j, state)
        if self.graph_ is not None:
            self.graph_.save(folder / GRAPH)
        store.seal({k: v for k, v in self.manifest_.items() if k not in ("format", "files")})
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str], device: str = "cpu") -> CertifiedClassifier:
        """A classifier saved by :meth:`save` or ``crowd certify`` (``OUT/model``), every file checked first."""
        manifest = read_sealed(folder)[0]
        try:
            saved = {
                k: v for k, v in manifest["config"].items() if k != "used"
            }  # older folders kept the record
            config = from_dict(CertifyConfig, saved, f"{Path(folder) / 'manifest.json'}: config")
        except KeyError as e:
            raise ModelFolderError(
                f"{Path(folder) / 'manifest.json'}: no config; not a saved classifier"
            ) from e
        return cls(config)._load_folder(Path(folder), device)

    def _load_folder(self, folder: Path, device: str = "cpu") -> CertifiedClassifier:
        manifest, states = read_sealed(folder)
        if manifest.get("kind") != KIND:
            raise ModelFolderError(
                f"{folder / 'manifest.json'}: kind {manifest.get('kind')!r}, expected {KIND!r}"
            )
        self.manifest_ = manifest
        self.states_ = states
        self.classes_ = np.arange(int(manifest["num_labels"]))
        self.budget_ = manifest.get("budget")
        self.unit_ = manifest["unit"]
        self.certificate_ = manifest["certificate"]
        self.kept_ = manifest.get("kept", {})
        self.test_side_ = manifest.get("test_side")
        self.statistics_ = statistics(self.config)
        self.device_ = device
        self.reader_ = None
        self.graph_ = None
        if self.config.method.uses_graph:  # the graph the models were trained with, kept beside them
            self.graph_ = (
                SynonymGraph.load(folder / GRAPH) if (folder / GRAPH).is_dir() else method_graph(self.config)
            )
        found = self.config.method.votes_identity(self.graph_)
        if found != manifest.get("identity", found):
            raise ModelFolderError(
                f"{folder / 'manifest.json'}: trained with {manifest['identity']}, but method.graph now gives {found} "
                "(another synonym graph or noise version): the test noise would not be the one the models saw"
            )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "states_"):
            raise ValueError(
                "this CertifiedClassifier is not fitted yet: call fit(...) or CertifiedClassifier.load(folder)"
            )

    def _record(self, cert, budget: int | None) -> TextCertificate:
        radius = None if cert.abstained else cert.radii.get(self.certificate_)
        deterministic = cert.alpha == 0
        return TextCertificate(
            label=ABSTAIN if cert.abstained else int(cert.label),
            radius=radius,
            unit=self.unit_,
            certificate=self.certificate_,
            budget=budget,
            certified=None if budget is None else radius is not None and radius >= budget,
            counts=tuple(int(c) for c in cert.counts),
            p_lower=None if deterministic else cert.p_lower,
            p_upper_runner_up=None if deterministic else cert.p_upper_runner_up,
            alpha=None if deterministic else cert.alpha,
            **self._test_side(cert),
        )

    def _test_side(self, cert) -> dict[str, Any]:
        side = self.test_side_
        if side is None:
            return {}
        radius = None if cert.abstained else cert.radii.get(side["certificate"])
        return {"test_side_radius": radius, "test_side_unit": side["unit"]}


DRAWS_PER_CALL = 64  # noisy copies of the texts asked of one model per learner call (memory: inputs per call)


def model_votes(
    learner, model_name: str, states, reader, words: WordCorpus, n_votes: int, device: str, num_labels: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(votes, logits)`` ``(n_votes, texts[, classes])``: vote ``j`` is model ``j mod len(states)`` on
    ``reader(j, words)`` (each model once, or one model asked about ``n_votes`` noisy copies of the texts).
    Votes are the argmax (ties to the smallest class); :data:`ABSTAIN` and NaN logits where a model's inputs
    mark an abstention."""
    step = max(len(states), DRAWS_PER_CALL)
    all_votes, all_logits = [], []
    for start in range(0, n_votes, step):
        js = range(start, min(start + step, n_votes))
        inputs = [reader(j, words) for j in js]
        chunk = [states[j % len(states)] for j in js]
        logits = np.array(learner.predict(model_name, chunk, inputs, device, num_labels), dtype=np.float32)
        votes = logits.argmax(-1).astype(np.int32)
        for i, x in enumerate(inputs):
            if x.abstain is not None:
                votes[i, x.abstain] = ABSTAIN
                logits[i, x.abstain] = np.nan
        all_votes.append(votes)
        all_logits.append(logits)
    return np.concatenate(all_votes), np.concatenate(all_logits)


def check_keepable(config: CertifyConfig) -> None:
    """``ValueError`` naming the key when this config's method or learner cannot make a kept classifier."""
    if not config.learner.keepable:
        raise ValueError(
            f"model.learner = {config.model.learner!r} does not keep its models (its trainer has no fit/predict)"
        )


def as_examples(
    X, y, where: str, text_column: str = "text", label_column: str = "label", labels=None
) -> list[Example]:
    """``X`` as examples: texts with labels ``y``, or (``y`` ``None``) :class:`Example` s, ``(text, label)``
    pairs or a ``datasets.Dataset`` with the columns ``text_column`` and ``label_column``. ``labels``: the
    allowed classes a non-integer label's error names."""
    if y is None:
        return examples_from(X, where, text_column, label_column, labels)
    X, y = text_list(X, text_column, where), label_list(y, label_column, "y")
    if len(y) != len(X):
        raise ValueError(f"{where} has {len(X)} texts but y has {len(y)} labels")
    out = []
    for i, (text, label) in enumerate(zip(X, y)):
        if not isinstance(text, str):
            raise TypeError(f"{where}[{i}]: expected a string, got {type(text).__name__}")
        out.append(Example(text, check_label(label, f"y[{i}]", labels)))
    return out
