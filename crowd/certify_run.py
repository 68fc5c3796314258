"""Run a whole certification (``crowd certify``) and write its report.

Certificates per noise (THEORY §3):

* ``crowd`` / ``safer`` synonym noise → ``tv``: total-variation radius in synonym
  substitutions in the training texts, from the per-position worst-case TV of the
  noise actually sampled (never SAFER's overlap formula on a non-uniform sampler).
* ``wang`` keep-β noise → ``l0``: Lee et al.'s radius in changed training
  coordinates (wordpiece tokens of the training texts and training labels; the
  test text is taken as given, THEORY §3 "what a backdoor certificate means";
  the same holds for ``tv``).

The attack budget in each certificate's unit is measured on the poisoned corpus
(:mod:`crowd.budget`); an attack a certificate cannot express is reported as
"not covered", not as a number.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crowd.certify import (
    Certificate,
    certify_rows,
    dpa_certificates,
    lee_radius_fn,
    tv_radius_fn,
)
from crowd.certify_config import CertifyConfig
from crowd.certify_report import CertifyReport
from crowd.data import Example
from crowd.pipeline import (
    Corpora,
    PreparedData,
    check_labels,
    fingerprint,
    keep_beta_copy_factory,
    partition_copy_factory,
    prepare_data,
    resolve_device,
    synonym_copy_factory,
    word_corpora,
)
from crowd.train.common import check_model

UNKNOWN_SOURCE = "the clean source of the training set was not given, so the attack budget is unknown"


@dataclass(frozen=True)
class CertificateSpec:
    """How copies are drawn and which certificate applies, with the attack's budget in its unit."""

    kind: str
    unit: str
    noise: str
    make_copy: Any
    radius_fns: Sequence[Mapping[str, Any]]
    budget: int | None
    not_covered_reason: str


def run_graph(config: CertifyConfig):
    """The synonym noise's graph (``noise.graph`` or the default); ``None`` for keep-β and DPA.

    The word-substitution attack draws from it too unless ``attack.graph`` names another
    (:func:`crowd.pipeline.attack_graph`).
    """
    from crowd.pipeline import load_graph

    if config.noise.kind in ("crowd", "safer"):
        return load_graph(config.noise.graph, config.data.data_root)
    return None


def _budget(data: PreparedData, measure) -> tuple[int | None, str]:
    """``(budget, reason)``: 0 for a clean run, unknown without the clean source, else ``measure()``."""
    if not data.poison_manifest.get("clean_source_known", True):
        return None, UNKNOWN_SOURCE
    if data.poison_manifest.get("attack") == "none":
        return 0, ""
    return measure()


def _synonym_spec(
    config: CertifyConfig, data: PreparedData, corpora: Corpora, encoder, graph
) -> CertificateSpec:
    from crowd.budget import attack_budget
    from crowd.noise import CrowdNoise, SaferNoise
    from crowd.paths import cache_dir

    noise = CrowdNoise(graph, cache_dir() / "noise") if config.noise.kind == "crowd" else SaferNoise(graph)
    make_copy = synonym_copy_factory(noise, corpora, encoder, config.seed, config.noise.noise_test)
    ids, counts = np.unique(corpora.train.ids, return_counts=True)  # only training positions are attacked
    word_tv = noise.max_tv_array([corpora.train.vocab[i] for i in ids])
    tv = np.sort(np.repeat(word_tv, counts))[::-1][: config.max_radius + 1]
    fns = [{"tv": tv_radius_fn(tv, config.max_radius)}] * len(corpora.test)

    def measure() -> tuple[int | None, str]:
        b = attack_budget(list(data.train_clean), list(data.train), graph=graph)
        if b.n_label_flips or b.non_synonym_edits:
            return None, (
                f"the attack made {b.non_synonym_edits} non-synonym word edits and {b.n_label_flips} label "
                "flips in the training set; synonym noise smooths neither, so this certificate cannot cover it"
            )
        return int(b.synonym_substitutions or 0), ""

    budget, reason = _budget(data, measure)
    noise_desc = f"{config.noise.kind} synonym substitution over {graph!r}"
    unit = "synonym substitutions in the training texts"
    return CertificateSpec("tv", unit, noise_desc, make_copy, fns, budget, reason)


def _wang_spec(config: CertifyConfig, data: PreparedData, corpora: Corpora, encoder) -> CertificateSpec:
    from crowd.budget import attack_budget
    from crowd.noise import WangNoise

    w = config.noise
    vocab_size = len(encoder.tokenizer)
    wang = WangNoise(
        w.beta_token,
        w.beta_label,
        w.beta_test if w.noise_test else 1.0,
        encoder.content_length,
        vocab_size,
        data.num_labels,
    )
    kinds = wang.kinds()[:2]  # the attacker changes training tokens and labels; the test text is given
    make_copy = keep_beta_copy_factory(wang, corpora, encoder, data.num_labels, config.seed, w.noise_test)
    fns = [{"l0": lee_radius_fn(kinds, config.max_radius)}] * len(corpora.test)
    tokenizer = encoder.tokenizer

    def measure() -> tuple[int | None, str]:
        b = attack_budget(
            list(data.train_clean),
            list(data.train),
            length=encoder.content_length,
            tokenize=lambda text: tokenizer(text, add_special_tokens=False)["input_ids"],
        )
        return int(b.l0_tokens + b.l0_labels), ""

    budget, reason = _budget(data, measure)
    noise = (
        f"keep-beta tokens beta={w.beta_token} d={vocab_size}, labels beta={w.beta_label} "
        f"d={data.num_labels}, test tokens beta={wang.test_token_beta}"
    )
    return CertificateSpec(
        "l0",
        "changed training coordinates (wordpiece tokens + labels)",
        noise,
        make_copy,
        fns,
        budget,
        reason,
    )


def _dpa_spec(config: CertifyConfig, data: PreparedData, corpora: Corpora, encoder) -> CertificateSpec:
    from crowd.budget import attack_budget

    make_copy = partition_copy_factory(data, corpora, encoder, config.n_copies)
    budget, reason = _budget(
        data, lambda: (attack_budget(list(data.train_clean), list(data.train)).n_insert_delete, "")
    )
    noise = f"partition aggregation (DPA), {config.n_copies} partitions by content hash"
    unit = "training examples inserted or deleted (a changed example counts 2)"
    return CertificateSpec("dpa", unit, noise, make_copy, (), budget, reason)


def certificate_spec(
    config: CertifyConfig, data: PreparedData, corpora: Corpora, encoder, graph=None
) -> CertificateSpec:
    if config.noise.kind == "wang":
        return _wang_spec(config, data, corpora, encoder)
    if config.noise.kind == "dpa":
        return _dpa_spec(config, data, corpora, encoder)
    return _synonym_spec(config, data, corpora, encoder, graph)


def certify_votes(
    config: CertifyConfig, votes: np.ndarray, spec: CertificateSpec, num_labels: int
) -> list[Certificate]:
    """Certificates from the vote matrix; with ``selection`` the first ``n_selection`` copies pick the class."""

    def counts(rows: np.ndarray) -> np.ndarray:
        return np.stack([(rows == c).sum(axis=0) for c in range(num_labels)], axis=1)

    if spec.kind == "dpa":
        return dpa_certificates(
            counts(votes), spec.noise
        )  # deterministic: no confidence bound, no abstention

    if config.selection == "selection":
        k = config.n_selection
        return certify_rows(
            counts(votes[k:]),
            config.alpha,
            spec.noise,
            spec.radius_fns,
            method="selection",
            selection_counts=counts(votes[:k]),
            simultaneous=config.simultaneous,
        )
    return certify_rows(
        counts(votes),
        config.alpha,
        spec.noise,
        spec.radius_fns,
        method="bonferroni",
        simultaneous=config.simultaneous,
    )


def run_certify(config: CertifyConfig, out: str | os.PathLike[str], progress: bool = True) -> CertifyReport:
    """Train ``config.n_copies`` noisy copies, vote, certify, and write the report into ``out``.

    The corpus is ``config.data`` poisoned by ``config.attack``. Votes are stored per copy
    under ``out/votes``; re-running with the same config resumes. Guarantee: each certificate
    holds with probability ≥ 1 - alpha over the sampled copies, for the noise distribution
    named in the certificate (see :mod:`crowd.certify`).
    """
    check_model(config.model.name)
    graph = run_graph(config)
    return _run(config, prepare_data(config, graph), graph, out, progress)


def certify_examples(
    train: Sequence[Example],
    test: Sequence[Example],
    config: CertifyConfig | None = None,
    out: str | os.PathLike[str] = "runs/certify",
    test_poison: Sequence[Example] = (),
    train_clean: Sequence[Example] | None = None,
    progress: bool = True,
) -> CertifyReport:
    """Certify a corpus given as :class:`~crowd.data.Example` lists (``config.data``/``config.attack.name`` unused).

    ``train`` is the (possibly poisoned) training set the defender receives, ``test`` the clean
    test texts, ``test_poison`` triggered test texts (their ``source_label`` is the true label;
    ASR counts those whose true label is not ``config.attack.target_label``). ``train_clean``,
    index-aligned with ``train``, is the clean source: with it the report gives the attack
    budget; without it the budget is unknown and reported as not covered.
    """
    config = config or CertifyConfig()
    check_model(config.model.name)
    graph = run_graph(config)
    num_labels = check_labels(train, [*test, *test_poison])
    manifest = {"attack": "given", "clean_source_known": train_clean is not None}
    source = tuple(train_clean) if train_clean is not None else tuple(train)
    if len(source) != len(train):
        raise ValueError(
            f"train_clean has {len(source)} examples, train has {len(train)}: they must be aligned"
        )
    data = PreparedData(tuple(train), source, tuple(test), tuple(test_poison), num_labels, manifest)
    return _run(config, data, graph, out, progress)


def _run(config: CertifyConfig, data: PreparedData, graph, out: str | os.PathLike[str], progress: bool):
    from crowd.models import load_tokenizer
    from crowd.train import WordPieceEncoder, local_device, run_votes

    rank = _init_distributed()
    learner = config.learner
    if config.noise.kind == "dpa":  # partitions differ in size: one model per group
        learner = dataclasses.replace(learner, copies_per_group=1)
    encoder = WordPieceEncoder(load_tokenizer(config.model.name), learner.max_length)
    corpora = word_corpora(data)
    spec = certificate_spec(config, data, corpora, encoder, graph)
    device = resolve_device(config.model.device) if world_size() == 1 else local_device()
    votes = run_votes(
        spec.make_copy,
        config.n_copies,
        learner,
        config.model.name,
        Path(out) / "votes",
        config.seed,
        device,
        fingerprint(config, data),
        data.num_labels,
        progress,
    )
    from crowd.certify_report import summarise, write_report

    certs = certify_votes(config, votes, spec, data.num_labels)
    n_clean = len(data.test_clean)
    majority = np.array([np.bincount(v, minlength=data.num_labels).argmax() for v in votes.T])
    report = summarise(config, data, spec, certs[:n_clean], certs[n_clean:], majority)
    if rank == 0:
        write_report(out, config, data, report)
    return report


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _init_distributed() -> int:
    """Under ``torchrun`` (``WORLD_SIZE`` > 1) join the process group: NCCL on GPUs, gloo on CPUs."""
    if world_size() <= 1:
        return 0
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend, timeout=timedelta(hours=12))
    return dist.get_rank()
