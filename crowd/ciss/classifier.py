"""A fitted CISS classifier you keep: ``fit``, ``certify`` texts, ``save`` / ``load`` a sealed folder.

The same conventions as :class:`crowd.pipelines.classifier.CertifiedClassifier`: ``fit`` returns ``self``,
learned state ends in ``_``, ``certify`` returns one :class:`~crowd.pipelines.classifier.TextCertificate`
per text, and a saved folder is :mod:`crowd.train.model_store`'s (one safetensors file, the synonym graph,
a manifest with the SHA-256 of every file; nothing pickled). The frozen word-vector table is not copied
into the folder (GloVe is 80 MB): the manifest names it and keeps its SHA-256, and loading refuses another.

A text's certificate depends on that text alone: it is encoded and bounded on its own, in float64, and its
Monte Carlo noise is drawn from ``(settings.seed, the text's words)``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crowd.ciss.certify import ABSTAIN, CissCertificate, gaussian_certificate, sample_counts
from crowd.ciss.model import CissNet, Lexicon, latent_bound, table_digest, widen
from crowd.ciss.settings import CissSettings
from crowd.ciss.train import train
from crowd.config import from_dict, to_dict
from crowd.data import Example
from crowd.pipelines.classifier import TextCertificate, as_examples
from crowd.pipelines.corpus import load_graph
from crowd.seeding import text_key, torch_seed
from crowd.text import split_words
from crowd.train.model_store import ModelFolderError, ModelStore, read_sealed
from crowd.train.static_vectors import VectorTable, load_table
from synonyms.graph import SynonymGraph

KIND = "ciss"
CERTIFICATE = "ciss"
UNIT = "synonym substitutions in the test text"
GRAPH = "graph"
_DIGESTS: dict[int, tuple[VectorTable, str]] = {}


class CissClassifier:
    """ConvexCertify / CISS (Zhao et al., ICML 2022) as a test-side certified classifier.

    ``settings``: a :class:`CissSettings`; ``graph``: the synonym graph to certify against (default:
    ``settings.graph``, else the toolkit's default graph). See :mod:`crowd.ciss.certify` for the guarantee.
    """

    ABSTAIN = ABSTAIN

    def __init__(self, settings: CissSettings | None = None, graph: SynonymGraph | None = None) -> None:
        if settings is not None and not isinstance(settings, CissSettings):
            raise TypeError(f"settings must be a CissSettings, got {type(settings).__name__}")
        if graph is not None and not isinstance(graph, SynonymGraph):
            raise TypeError(f"graph must be a synonyms.graph.SynonymGraph, got {type(graph).__name__}")
        self.settings = settings if settings is not None else CissSettings()
        self.graph = graph

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"settings": self.settings, "graph": self.graph}

    # --- fitting -------------------------------------------------------------------------------------------

    def fit(
        self, X: Sequence[str] | Sequence[Example], y: Sequence[int] | None = None, progress: bool = False
    ) -> CissClassifier:
        """Train the encoder and the classifier on texts ``X`` with labels ``y`` (or on examples)."""
        examples = as_examples(X, y, "X")
        if not examples:
            raise ValueError("X is empty: nothing to train on")
        labels = np.array([e.label for e in examples], dtype=np.int64)
        if labels.min() < 0 or len(set(labels.tolist())) < 2:
            raise ValueError(
                f"labels must be classes 0..K-1 with at least two present, got {sorted(set(labels.tolist()))}"
            )
        graph = self.graph if self.graph is not None else _default_graph(self.settings.graph)
        table = load_table(self.settings.vectors)
        texts = [e.text for e in examples]
        data = Lexicon(table, graph).encode(texts, self.settings.max_length)
        num_labels = int(labels.max()) + 1
        net, history = train(data, labels, num_labels, self.settings, progress)
        digest = hashlib.sha256(json.dumps([texts, labels.tolist()]).encode("utf-8")).hexdigest()
        manifest = {
            "kind": KIND,
            "settings": to_dict(self.settings),
            "num_labels": num_labels,
            "vectors": {"name": self.settings.vectors, "sha256": _digest(table)},
            "graph_sha256": graph.content_hash(),
            "certificate": CERTIFICATE,
            "unit": UNIT,
            "training": {"n_texts": len(texts), "sha256": digest},
            "history": history,
        }
        return self._set_fitted(net, graph, table, manifest)

    def _set_fitted(self, net: CissNet, graph: SynonymGraph, table: VectorTable, manifest: dict):
        self.net_ = net.eval()
        self.net64_ = copy.deepcopy(net).double().eval()
        self.graph_ = graph
        self.lexicon_ = Lexicon(table, graph)
        self.num_labels_ = int(manifest["num_labels"])
        self.classes_ = np.arange(self.num_labels_)
        self.history_ = manifest["history"]
        self.manifest_ = manifest
        return self

    # --- certifying ----------------------------------------------------------------------------------------

    def certify_details(self, texts: Sequence[str] | Sequence[Example]) -> list[CissCertificate]:
        """One :class:`~crowd.ciss.certify.CissCertificate` per text (bound, Gaussian radius, counts)."""
        self._check_fitted()
        return [self._certify_one(t) for t in _texts(texts)]

    def certify(
        self, texts: Sequence[str] | Sequence[Example], budget: int | None = None
    ) -> list[TextCertificate]:
        """One :class:`TextCertificate` per text: ``label`` (or ``ABSTAIN``); ``radius`` = the number of the
        text's words that have a substitute when every substitution is certified (``B < σ Φ⁻¹(p_lower)``),
        0 when the prediction is only confident, ``None`` when abstaining (the whole certificate is on the
        test side, so ``test_side_radius`` is the same); ``certified`` = ``radius >= budget`` when a
        ``budget`` is given."""
        test_side = {"test_side_radius", "test_side_unit"} <= {f.name for f in fields(TextCertificate)}
        out = []
        for c in self.certify_details(texts):
            extra = {"test_side_radius": c.radius, "test_side_unit": UNIT} if test_side else {}
            out.append(
                TextCertificate(
                    label=c.label,
                    radius=c.radius,
                    unit=UNIT,
                    certificate=CERTIFICATE,
                    budget=budget,
                    certified=None if budget is None else c.radius is not None and c.radius >= budget,
                    counts=c.counts,
                    p_lower=c.p_lower,
                    p_upper_runner_up=c.p_upper_runner_up,
                    alpha=c.alpha,
                    **extra,
                )
            )
        return out

    def predict(self, texts: Sequence[str] | Sequence[Example]) -> np.ndarray:
        """The smoothed label of each text (int64), ``ABSTAIN`` (-1) where it abstains."""
        return np.array([c.label for c in self.certify_details(texts)], dtype=np.int64)

    def latent_box(self, texts: Sequence[str]):
        """``(z, lo, hi, bound)`` float64 arrays of each text (the widened IBP box), for inspection and tests."""
        self._check_fitted()
        rows = [self._box(t) for t in _texts(texts)]
        return tuple(np.stack([r[k] for r in rows]) for k in range(4))

    def latent(self, texts: Sequence[str]) -> np.ndarray:
        """The float64 latent ``z`` of each text exactly as certification computes it (no bounds)."""
        return self.latent_box(texts)[0]

    def _box(self, text: str) -> tuple[np.ndarray, ...]:
        encoded = self.lexicon_.encode([text], self.settings.max_length)
        with torch.no_grad():
            box = widen(self.net64_.latent_box(encoded.batch([0], torch.float64)))
            bound = latent_bound(box)
        return box.val[0].numpy(), box.lo[0].numpy(), box.hi[0].numpy(), bound.numpy()[0], encoded

    def _certify_one(self, text: str) -> CissCertificate:
        z, _, _, bound, encoded = self._box(text)
        s = self.settings
        gen = torch.Generator().manual_seed(torch_seed(s.seed, "ciss-certify", text_key(split_words(text))))
        z_t = torch.from_numpy(z)
        with torch.no_grad():
            selection = sample_counts(self.net64_, z_t, s.sigma, s.n_selection, gen, self.num_labels_)
            counts = sample_counts(self.net64_, z_t, s.sigma, s.n_samples, gen, self.num_labels_)
        return gaussian_certificate(
            counts, selection, s.sigma, s.alpha, float(bound), int(encoded.n_substitutable[0])
        )

    # --- keeping -------------------------------------------------------------------------------------------

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the fitted classifier into ``folder`` (new or empty), sealed by its manifest."""
        self._check_fitted()
        folder = Path(folder)
        if folder.exists() and any(folder.iterdir()):
            raise ValueError(f"{folder}: not empty; save a classifier into a new or empty folder")
        fingerprint = hashlib.sha256(
            json.dumps([self.manifest_["settings"], self.manifest_["training"]], sort_keys=True).encode()
        ).hexdigest()
        store = ModelStore(folder, 1, fingerprint)
        store.write(0, {k: v.detach().numpy().copy() for k, v in self.net_.state_dict().items()})
        self.graph_.save(folder / GRAPH)
        store.seal(self.manifest_)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> CissClassifier:
        """A classifier saved by :meth:`save`, every file checked first (and the vector table's SHA-256)."""
        folder = Path(folder)
        manifest, states = read_sealed(folder)
        where = folder / "manifest.json"
        if manifest.get("kind") != KIND or len(states) != 1:
            raise ModelFolderError(
                f"{where}: kind {manifest.get('kind')!r}, expected {KIND!r} with one model"
            )
        settings = from_dict(CissSettings, manifest["settings"], f"{where}: settings")
        graph = SynonymGraph.load(folder / GRAPH)
        if graph.content_hash() != manifest.get("graph_sha256"):
            raise ModelFolderError(f"{folder / GRAPH}: not the synonym graph the classifier was trained with")
        table = load_table(settings.vectors)
        if _digest(table) != manifest["vectors"]["sha256"]:
            raise ModelFolderError(
                f"{where}: vectors {settings.vectors!r} differ from the table the classifier was trained with"
            )
        num_labels = int(manifest["num_labels"])
        learn_rows = states[0].get("learn_rows")
        net = CissNet(
            table.dim,
            settings.hidden_dim,
            settings.latent_dim,
            settings.kernel,
            num_labels,
            torch.Generator(),
            learn_rows,
        )
        try:
            net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in states[0].items()})
        except RuntimeError as e:
            raise ModelFolderError(f"{folder}: the stored weights do not fit the settings ({e})") from e
        return cls(settings, graph)._set_fitted(net, graph, table, manifest)

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise ValueError(
                "this CissClassifier is not fitted yet: call fit(...) or CissClassifier.load(folder)"
            )


def _texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    out = [e.text if isinstance(e, Example) else e for e in texts]
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}]: expected a string, got {type(t).__name__}")
    return out


def _digest(table: VectorTable) -> str:
    cached = _DIGESTS.get(id(table))
    if cached is None or cached[0] is not table:
        cached = _DIGESTS[id(table)] = (table, table_digest(table))
    return cached[1]


def _default_graph(path: str | None) -> SynonymGraph:
    return load_graph(path)
