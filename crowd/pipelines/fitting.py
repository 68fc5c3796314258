"""The training side of a certified classifier, shared by ``crowd certify`` and :class:`CertifiedClassifier`.

A method's plan on a corpus (:func:`plan_run`), the fingerprint of the models it trains (:func:`models_fingerprint`),
training them into a model folder (:func:`fit_corpus`, resumable) and sealing that folder with the manifest that
says what the classifier is (:func:`seal_models`, :func:`manifest_of`). Imports no torch until a torch learner trains.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from crowd import __version__
from crowd.codehash import modules_version
from crowd.config import to_dict
from crowd.data import Corpus
from crowd.methods import Context, Plan, Statistics, Words
from crowd.pipelines.config import CertifyConfig
from crowd.train.devices import device_name
from crowd.train.model_store import ModelStore
from crowd.train.runner import fit_models
from crowd.train.settings import learner_fingerprint

KIND = "crowd certified classifier"
GRAPH = "graph"  # the synonym graph's folder inside a model folder (methods that use one)
PREDICTION_CODE = ("crowd.methods", "crowd.train", "crowd.certify", "crowd.text")
"""The code a kept classifier's predictions run through; its version is recorded in the manifest."""


def method_graph(config: CertifyConfig, progress: bool = False, stages: bool | None = None):
    """The synonym graph of a method that uses one (``method.graph`` or the default); else ``None``.

    The word-substitution attack draws from it too unless ``attack.graph`` names another. Building the default
    graph shows bars with ``progress`` and stage lines with ``stages`` (default: as ``progress``).
    """
    if config.method.uses_graph:
        from crowd.pipelines.corpus import load_graph  # lazy: corpus building imports the attacks (torch)

        return load_graph(config.method.graph, config.data.data_root, progress, stages)
    return None


def statistics(config: CertifyConfig) -> Statistics:
    return Statistics(
        config.alpha, config.selection, config.n_selection, config.simultaneous, config.max_radius
    )


def plan_run(
    config: CertifyConfig,
    corpus: Corpus,
    graph,
    encoder,
    progress: bool = False,
    attacked: Corpus | None = None,
) -> Plan:
    context = Context(
        corpus,
        Words.of(corpus),
        encoder,
        config.seed,
        config.n_copies,
        config.max_radius,
        graph,
        progress,
        attacked,
    )
    return config.method.plan(context)


def models_fingerprint(config: CertifyConfig, corpus: Corpus, graph) -> str:
    """Hash of what determines the kept models: the method, the training set, the learner, the model, the seed."""
    method = to_dict(config.method)
    method.pop("graph", None)
    method.update(config.method.votes_identity(graph))
    learner = learner_fingerprint(config.learner)
    h = hashlib.sha256(json.dumps([method, learner, config.model.name, config.seed], sort_keys=True).encode())
    h.update(f"{corpus.num_labels}\n".encode())
    for e in corpus.train:
        h.update(f"{e.label}\t{e.text}\n".encode())
    return h.hexdigest()[:16]


def fit_corpus(config: CertifyConfig, corpus: Corpus, folder: Path, progress: bool = False) -> Path:
    """Train the kept classifier of ``config`` on ``corpus.train`` into ``folder`` and seal it (resumes)."""
    graph = method_graph(config, progress)
    encoder = config.learner.encoder(config.model.name)
    plan = plan_run(config, corpus, graph, encoder, progress)
    learner = plan_learner(config, plan)
    fingerprint = models_fingerprint(config, corpus, graph)
    store = ModelStore(folder, plan.n_models, fingerprint)
    device = device_name(config.model.device, config.learner.uses_torch)
    fit_models(
        plan.make_copy,
        plan.n_models,
        learner,
        config.model.name,
        store,
        config.seed,
        device,
        corpus.num_labels,
        progress,
    )
    return seal_models(store, config, plan, corpus, graph)


def seal_models(store: ModelStore, config: CertifyConfig, plan: Plan, corpus: Corpus, graph) -> Path:
    """Seal a model folder whose every model is stored, with what the classifier is."""
    training = {
        "texts": len(corpus.train),
        "world": corpus.manifest.get("world", config.world),
        "attack": corpus.manifest.get("attack"),
    }
    if graph is not None:  # CROWD and SAFER draw test noise from it: the classifier carries its graph
        graph.save(store.folder / GRAPH)
    return store.seal(manifest_of(config, plan, graph, corpus.num_labels, store.fingerprint, training))


def plan_learner(config: CertifyConfig, plan: Plan):
    """The learner of a run: one model per group when the plan's training sets differ in size."""
    learner = config.learner
    if plan.one_model_per_group:
        learner = dataclasses.replace(learner, copies_per_group=1)
    return learner


def manifest_of(
    config: CertifyConfig, plan, graph, num_labels: int, fingerprint: str, training: dict
) -> dict[str, Any]:
    """What a sealed model folder says about its classifier (beside the files' digests)."""
    return {
        "kind": KIND,
        "crowd_version": __version__,
        "code_version": modules_version(PREDICTION_CODE),
        "config": to_dict(config),
        "method": config.method.name,
        "learner": config.model.learner,
        "num_labels": num_labels,
        "seed": config.seed,
        "fingerprint": fingerprint,
        "certificate": plan.certificate,
        "unit": plan.unit,
        "noise": plan.noise,
        "deterministic": plan.deterministic,
        "budget": plan.budget,
        "budget_note": plan.not_covered_reason,
        "kept": plan.kept,
        "test_side": (
            None
            if plan.test_side is None
            else {"certificate": plan.test_side.certificate, "unit": plan.test_side.unit}
        ),
        "identity": config.method.votes_identity(graph),
        "training": training,
    }
