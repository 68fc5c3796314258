"""``crowd certify`` as Python functions: corpus → method plan → votes → certificates → report.

1. :func:`crowd.pipelines.corpus.prepare_corpus` loads, subsamples and poisons the corpus.
2. The method (``config.method``, :mod:`crowd.methods`) plans the run: model ``j``'s training set and test
   inputs, the certificate and its unit, and the attack's budget in that unit.
3. The learner trains one model per copy and predicts; votes are stored per copy under ``out/votes``
   (:func:`crowd.train.run_votes`), so a run resumes and ``torchrun`` shards the copies.
4. The plan certifies the votes; :mod:`crowd.pipelines.report` writes the report.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crowd.certify import min_copies_to_certify
from crowd.config import to_dict
from crowd.data import Corpus, Example
from crowd.data.inputs import as_examples
from crowd.methods import Plan
from crowd.pipelines.classifier import model_votes
from crowd.pipelines.config import CertifyConfig, as_certify_config, load_certify_config
from crowd.pipelines.corpus import given_corpus, prepare_corpus, reference_corpus
from crowd.pipelines.fitting import (
    method_graph,
    models_fingerprint,
    plan_learner,
    plan_run,
    seal_models,
    statistics,
)
from crowd.pipelines.outdir import check_out_folder
from crowd.pipelines.report import CertifyReport, summarise, write_report
from crowd.text import WordCorpus
from crowd.train import VoteStore
from crowd.train.devices import (
    check_device,
    device_name,
    init_distributed,
    is_rank_zero,
    local_device,
    world_size,
)
from crowd.train.feature_cache import cache_stats, reset_cache_stats
from crowd.train.model_store import ModelStore
from crowd.train.runner import check_learner_model, run_votes

MANY_MODELS = 10_000  # above this many models a run says, before training, what it will store

__all__ = ["certify_corpus", "certify_examples", "load_certify_config", "run_certify"]


def run_certify(
    config: CertifyConfig, out: str | os.PathLike[str], progress: bool = True, stages: bool | None = None
) -> CertifyReport:
    """Train the method's models, vote, certify, and write the report into ``out``.

    The corpus is ``config.data`` poisoned by ``config.attack``. Votes are stored per copy under
    ``out/votes``; re-running with the same config resumes. Each certificate holds for the distribution
    named in it: with probability ≥ 1 − alpha over the sampled copies for smoothing methods,
    deterministically for partition methods (see :mod:`crowd.certify`). ``progress`` shows bars and
    ``stages`` (default: as ``progress``) one line per stage on stderr (``crowd certify --no-progress``:
    stage lines, no bars); under ``torchrun`` only rank 0 prints either.
    """
    check_out_folder(out)  # before any data work or write
    config = dataclasses.replace(config, data=config.data.pinned())  # the data root, resolved once
    _check_model(config)
    stages = progress if stages is None else stages
    graph = functools.cache(lambda: method_graph(config, progress and is_rank_zero(), _stages(stages)))
    _say(stages, f"loading {config.data.dataset} and poisoning it ({config.attack.name})")
    corpus = prepare_corpus(config.data, config.attack, config.seed, graph)  # data errors before the graph
    return _run(config, corpus, graph(), out, progress, stages)


def _stages(stages: bool) -> bool:
    """Whether this process prints stage lines: asked for, and rank 0 of ``torchrun`` (or no ``torchrun``)."""
    return stages and is_rank_zero()


def _say(stages: bool, message: str) -> None:
    """One stage line on stderr (rank 0 only), so a run is never silent between its bars."""
    if _stages(stages):
        print(f"crowd certify: {message}", file=sys.stderr, flush=True)


def certify_examples(
    train: Sequence[Example],
    test: Sequence[Example],
    config: CertifyConfig | Mapping[str, Any] | None = None,
    out: str | os.PathLike[str] = "runs/certify",
    test_poison: Sequence[Example] = (),
    train_clean: Sequence[Example] | None = None,
    progress: bool = True,
    test_sources: Sequence[str] | None = None,
    stages: bool | None = None,
    *,
    text_column: str = "text",
    label_column: str = "label",
) -> CertifyReport:
    """Certify a corpus given as :class:`~crowd.data.Example` lists (``config.data``/``config.attack.name`` unused).

    Each set may also be a list of ``(text, label)`` pairs or a ``datasets.Dataset`` with the columns
    ``text_column`` and ``label_column`` (``poisoned``, ``source_label`` read when present), and ``config``
    a dict of config sections (:func:`~crowd.pipelines.config.as_certify_config`). An empty ``test`` is
    refused before anything is written.

    ``train`` is the (possibly poisoned) training set the defender receives, ``test`` the clean
    test texts, ``test_poison`` triggered test texts (their ``source_label`` is the true label;
    ASR counts those whose true label is not ``config.attack.target_label``). ``train_clean``,
    index-aligned with ``train``, is the clean source, and ``test_sources``, index-aligned with
    ``test_poison``, the clean text each triggered text was made from: with both the report gives the
    attack budget (word partitions count the test side too); without them it is unknown and reported as
    not covered.
    """
    config = as_certify_config(config)
    sets = {"train": train, "test": test, "test_poison": test_poison, "train_clean": train_clean}
    train, test, test_poison, train_clean = (
        None if rows is None else as_examples(rows, name, text_column, label_column, config.data.labels)
        for name, rows in sets.items()
    )
    if not test:
        raise ValueError("test: no test examples; certify_examples needs at least one text to certify")
    check_out_folder(out)
    _check_model(config)
    corpus = given_corpus(train, test, test_poison, train_clean, config.data.labels, test_sources)
    stages = progress if stages is None else stages
    graph = method_graph(config, progress and is_rank_zero(), _stages(stages))
    return _run(config, corpus, graph, out, progress, stages)


def certify_corpus(
    corpus: Corpus,
    config: CertifyConfig | Mapping[str, Any] | None = None,
    out: str | os.PathLike[str] = "runs/certify",
    progress: bool = True,
    stages: bool | None = None,
) -> CertifyReport:
    """Certify a :class:`~crowd.data.Corpus` you already hold, e.g. from :func:`crowd.attacks.poison_corpus`
    or :meth:`~crowd.data.Corpus.from_hf` (``progress``, ``stages``: as :func:`run_certify`'s); ``config``
    may be a dict of config sections."""
    config = as_certify_config(config)
    if not corpus.test:
        raise ValueError("corpus: no test examples; certify_corpus needs at least one text to certify")
    check_out_folder(out)
    _check_model(config)
    stages = progress if stages is None else stages
    graph = method_graph(config, progress and is_rank_zero(), _stages(stages))
    return _run(config, corpus, graph, out, progress, stages)


def _check_model(config: CertifyConfig) -> None:
    """Fail now, before any data or graph work, if the learner needs a model that does not load or the
    device asked for is not there."""
    check_device(config.model.device)
    check_learner_model(config.learner, config.model.name)


def check_copies(config: CertifyConfig, plan: Plan, n_texts: int, num_labels: int) -> None:
    """Before training: refuse (with ``allow_uncertifiable``, warn) when a smoothing method's N is too small
    for any certificate at ``alpha``: even a unanimous vote of the N models would abstain on every text.

    Partition methods (deterministic plans) certify with any number of models and are never refused.
    """
    if plan.deterministic:
        return
    n_selection = config.n_selection if config.selection == "selection" else 0
    alpha = config.alpha / max(n_texts, 1) if config.simultaneous else config.alpha
    needed = min_copies_to_certify(alpha, num_labels, config.selection, n_selection)
    if plan.n_votes >= needed:
        return
    message = (
        f"n_copies = {plan.n_votes} is too small for any certificate at alpha = {config.alpha} "
        f"({config.selection}{', simultaneous' if config.simultaneous else ''}): even a unanimous vote "
        f"abstains; N >= {needed} is needed"
    )
    if not config.allow_uncertifiable:
        raise ValueError(
            f"{message}, or pass --allow-uncertifiable (allow_uncertifiable = true) to train anyway"
        )
    warnings.warn(f"{message}; training anyway (allow_uncertifiable = true)", stacklevel=2)


def votes_fingerprint(config: CertifyConfig, corpus: Corpus, graph) -> str:
    """Hash of what determines each model's votes besides the learner (added by :func:`crowd.train.run_votes`).

    The method's parameters (a graph by its content, not its path; CROWD's distributions by the version of
    their computation) and the corpus content. Statistics, N of smoothing methods, the device and unused
    learner settings are left out, so a finished run can be re-certified or extended without retraining.
    """
    method = to_dict(config.method)
    method.pop("graph", None)
    method.update(config.method.votes_identity(graph))
    h = hashlib.sha256(json.dumps(method, sort_keys=True).encode())
    for e in corpus.train + corpus.test:
        h.update(f"{e.label}\t{e.text}\n".encode())
    return h.hexdigest()[:16]


def _run(
    config: CertifyConfig,
    corpus: Corpus,
    graph,
    out: str | os.PathLike[str],
    progress: bool,
    stages: bool,
):
    rank = init_distributed()
    encoder = config.learner.encoder(config.model.name)
    attacked = None
    if config.world == "reference":  # train on the clean texts with the attack's labels; budget of the attack
        attacked, corpus = corpus, reference_corpus(corpus)
    _say(
        stages,
        f"{len(corpus.train)} training texts ({sum(e.poisoned for e in corpus.train_poisoned)} poisoned), "
        f"{len(corpus.test_clean)} clean and {len(corpus.test_poison)} triggered test texts; "
        f"planning {config.method.name}",
    )
    plan = plan_run(config, corpus, graph, encoder, progress, attacked)
    check_copies(config, plan, len(corpus.test), corpus.num_labels)
    learner = plan_learner(config, plan)
    if plan.draws > 1 and not learner.keepable:
        raise ValueError(
            f"method.training = 'augmented' asks its one model about {plan.draws} noisy copies of each test text; "
            f"model.learner = {config.model.learner!r} does not keep its model (choose bow, static, head or full)"
        )
    keep = (config.keep_model or plan.draws > 1) and learner.keepable  # one model asked N times: kept to ask
    models = None
    if keep:
        models = ModelStore(Path(out) / "model", plan.n_models, models_fingerprint(config, corpus, graph))
    _say(
        stages,
        f"training {plan.n_models} models ({config.model.learner} learner), votes in {Path(out) / 'votes'}",
    )
    one_process = world_size() == 1
    device = device_name(config.model.device, config.learner.uses_torch) if one_process else local_device()
    reused = stored_models(Path(out) / "votes", plan.n_models)
    if plan.n_models > MANY_MODELS and rank == 0:
        size = votes_size(plan.n_models, reused, len(corpus.test), corpus.num_labels, Path(out) / "votes")
        print(size, file=sys.stderr, flush=True)
    reset_cache_stats()
    votes = run_votes(
        plan.make_copy,
        plan.n_models,
        learner,
        config.model.name,
        Path(out) / "votes",
        config.seed,
        device,
        votes_fingerprint(config, corpus, graph),
        corpus.num_labels,
        progress,
        models,
    )
    if models is not None and rank == 0:
        seal_models(models, config, plan, corpus, graph)
    logits = (
        VoteStore.open(Path(out) / "votes", plan.n_models).load_all_logits() if plan.needs_logits else None
    )
    texts = WordCorpus.from_texts(e.text for e in corpus.test)
    if plan.draws > 1:  # one model (training = "augmented"), asked about N noisy copies of each test text
        reader = config.method.reader(encoder, config.seed, graph, corpus.num_labels)
        states = [models.load(j) for j in range(plan.n_models)]
        votes, logits = model_votes(
            learner, config.model.name, states, reader, texts, plan.n_votes, device, corpus.num_labels
        )
    certs = plan.certify(votes, statistics(config), logits, texts)
    n_clean = len(corpus.test_clean)
    majority = np.array([np.bincount(v[v >= 0], minlength=corpus.num_labels).argmax() for v in votes.T])
    report = summarise(config, corpus, plan, certs[:n_clean], certs[n_clean:], majority, reused, votes)
    if getattr(config.learner, "feature_cache", False):
        report.summary["feature_cache"] = cache_stats().as_dict()  # this run's lookups, the shards' size
    if rank == 0:
        write_report(out, config, corpus, report)
    return report


def votes_size(n_models: int, reused: int, n_test: int, num_labels: int, folder: Path) -> str:
    """One line: how many models a run trains and the bytes their stored votes and logits take."""
    buffers = [io.BytesIO(), io.BytesIO()]
    np.save(buffers[0], np.zeros(n_test, dtype=np.int32), allow_pickle=False)  # as VoteStore writes them
    np.save(buffers[1], np.zeros((n_test, num_labels), dtype=np.float32), allow_pickle=False)
    per_model = sum(len(b.getvalue()) for b in buffers)
    return (
        f"{n_models:,} models to train ({reused:,} already stored); their votes take {2 * n_models:,} files "
        f"under {folder / 'votes'}, {per_model:,} bytes per model (votes and logits of {n_test:,} test texts), "
        f"{n_models * per_model / 2**20:,.1f} MiB in all (more on disk, where each file fills whole blocks)"
    )


def stored_models(folder: Path, n_models: int) -> int:
    """How many of the ``n_models`` models already have stored votes (from an earlier run) in ``folder``
    that the run will reuse (unchanged since written: :meth:`crowd.train.VoteStore.stored`)."""
    return VoteStore.stored(folder, n_models)
