"""Running one benchmark cell: a certified method (``crowd certify``), ConvexCertify (:mod:`crowd.ciss`, a
test-side certificate) or an empirical defense (``crowd defend``).

Each returns a flat result row (a dict of JSON values). Certified cells keep their
run folder (votes per copy), so an interrupted cell resumes where it stopped.
Empirical cells share the undefended victim of a poisoned corpus within one
process (:class:`VictimCache`): the same seed and config train the same victim.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from crowd.attacks.budget import test_poison_sources
from crowd.bench.spec import Cell, resolve_resources
from crowd.ciss import CERTIFICATE, UNIT, CissClassifier, CissSettings
from crowd.config import from_dict, to_dict
from crowd.defenses import NO_DEFENSE
from crowd.defenses.metrics import victim_warnings
from crowd.methods.synonym import TEST_NOT_COVERED, substituted_positions
from crowd.pipelines.certify import CertifyConfig, run_certify
from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.corpus import prepare_corpus
from crowd.pipelines.defend import (
    DefendConfig,
    apply_defense,
    attack_metrics,
    build_defense,
    labels,
    load_corpus,
    texts,
)
from crowd.report import hardware
from crowd.victim import Victim, VictimStore


def certify_cell(cell: Cell, resources: Mapping[str, str], run_dir: Path, progress: bool) -> dict[str, Any]:
    """Train the cell's models (resuming from ``run_dir/votes``), certify and summarise."""

    config = from_dict(CertifyConfig, resolve_resources(cell.config, resources), cell.cell_id)
    report = run_certify(config, run_dir, progress)
    row = dict(report.summary)
    row.update(
        method=cell.method, kind="certify", device=config.model.device, max_length=config.learner.max_length
    )
    row["method_params"] = to_dict(config.method)
    return row


def ciss_cell(cell: Cell, resources: Mapping[str, str]) -> dict[str, Any]:
    """ConvexCertify (:class:`crowd.ciss.CissClassifier`) trained on the cell's poisoned training set, its
    clean and triggered test texts certified on the test side (every synonym substitution of the text, by
    interval bounds): CACC, ASR, certified accuracy, and each triggered non-target text's clean source
    certified at its trigger (covered only when the trigger substitutes synonyms, THEORY §3)."""
    table = resolve_resources(cell.config, resources)
    seed = int(table.get("seed", 0))
    data = from_dict(DataConfig, table.get("data", {}), f"{cell.cell_id}: data").pinned()
    attack = from_dict(AttackConfig, table.get("attack", {}), f"{cell.cell_id}: attack")
    settings = from_dict(CissSettings, {"seed": seed, **table.get("ciss", {})}, f"{cell.cell_id}: ciss")
    corpus = prepare_corpus(data, attack, seed)
    start = time.perf_counter()
    clf = CissClassifier(settings).fit(corpus.train)
    fit_s = time.perf_counter() - start
    clean, poison = clf.certify_details(corpus.test_clean), clf.certify_details(corpus.test_poison)
    y = np.array([e.label for e in corpus.test_clean])
    target = attack.target_label
    correct = np.array([c.label for c in clean]) == y
    certified = correct & np.array([c.covered for c in clean])
    non_target = y != target
    side = _ciss_triggered(clf.graph_, corpus, clean, certified, target)
    curve = [{"radius": r, "certified_accuracy": float(certified.mean())} for r in range(CISS_RADII + 1)]
    rows_nt = certified[non_target]
    return {
        "method": cell.method,
        "kind": "ciss",
        "target_label": target,
        "n_train": len(corpus.train),
        "n_poisoned_train": len(corpus.poisoned_indices),
        "n_test_clean": len(y),
        "n_test_poison_non_target": len(poison),
        "seed": seed,
        "hardware": hardware(),
        "settings": to_dict(settings),
        "cacc": float(correct.mean()),
        "abstain_rate_clean": float(np.mean([c.abstained for c in clean])),
        "asr": float(np.mean([c.label == target for c in poison])) if poison else None,
        "base_rate": float(np.mean([c.label == target for c, n in zip(clean, non_target) if n])),
        "certificate": CERTIFICATE,
        "radius_unit": UNIT,
        "attack_budget": None,
        "not_covered_reason": "a test-side certificate: it says nothing of the training set",
        "certified_accuracy": float(certified.mean()),
        "certified_accuracy_non_target": float(rows_nt.mean()) if rows_nt.size else None,
        "test_side_certificate": CERTIFICATE,
        "test_side_unit": UNIT,
        **side,
        "test_side_curve": curve,
        "test_side_non_target_curve": [{**p, "certified_accuracy": float(rows_nt.mean())} for p in curve]
        if rows_nt.size
        else [],
        "median_bound": float(np.median([c.bound for c in clean])),
        "median_gaussian_radius": float(np.median([c.gaussian_radius or 0.0 for c in clean])),
        "fit_s": round(fit_s, 1),
        "history": clf.history_,
    }


CISS_RADII = 20  # a CISS certificate covers every number of substitutions: its curve is flat up to here


def _ciss_triggered(graph, corpus, clean, certified, target: int) -> dict[str, Any]:
    """The ``test_side_*`` numbers of the triggered non-target texts through their clean sources."""
    sources = test_poison_sources(corpus) if corpus.test_poison else None
    if not sources:
        reason = "no triggered non-target test texts" if not corpus.test_poison else "clean sources unknown"
        return {
            "test_side_budget": None,
            "test_side_certified_accuracy_at_budget": None,
            "test_side_n_not_covered": 0,
            "test_side_not_covered_reason": reason,
        }
    first = {}
    for i, e in enumerate(corpus.test_clean):
        first.setdefault((e.text, e.label), i)
    budgets, hits, n = [], 0, 0
    for source, e in zip(sources, corpus.test_poison):
        if e.original_label == target:
            continue
        n += 1
        b, j = substituted_positions(graph, source, e.text), first.get((source, e.original_label))
        if b is None or j is None:
            continue
        budgets.append(b)
        hits += bool(certified[j])
    if not budgets:
        return {
            "test_side_budget": None,
            "test_side_certified_accuracy_at_budget": None,
            "test_side_n_not_covered": n,
            "test_side_not_covered_reason": TEST_NOT_COVERED,
        }
    return {
        "test_side_budget": max(budgets),
        "test_side_certified_accuracy_at_budget": hits / n,
        "test_side_n_not_covered": n - len(budgets),
        "test_side_not_covered_reason": None,
    }


class VictimCache:
    """Undefended victims by (corpus, victim config, seed), so a table's defenses share one victim.

    One victim is kept in memory (the last one): the previous one, with its cached frozen-part
    states (``victim.trainable_layers > 0``, about 0.3 GB for SST-2 under MiniLM), is dropped
    before the next is trained. Every trained victim also goes to ``store`` (on disk,
    :class:`crowd.victim.store.VictimStore`), so a later run, or a pass over other
    defenses, loads it instead of training it again.
    """

    def __init__(self, store: VictimStore | None = None) -> None:
        self._victims: dict[str, Any] = {}
        self.store = store if store is not None else VictimStore()

    def get(self, config, cell: Cell, corpus) -> tuple[Any, float]:

        key = json.dumps(
            [
                to_dict(config.data),
                to_dict(config.attack),
                to_dict(config.victim),
                config.seed,
                cell.attack.__dict__,
            ],
            sort_keys=True,
            default=str,
        )
        if key not in self._victims:
            self._victims = {}  # keep one: memory
            start = time.perf_counter()
            victim = Victim(config.victim).fit(
                texts(corpus.train), labels(corpus.train), seed=config.seed, store=self.store, dev=corpus
            )
            self._victims[key] = (victim, time.perf_counter() - start)
        return self._victims[key]


def defend_cell(cell: Cell, resources: Mapping[str, str], cache: VictimCache) -> dict[str, Any]:
    """The undefended victim (method ``none``, :data:`crowd.defenses.NO_DEFENSE`) or one defense, with CACC/ASR (THEORY §4) and FRR/FAR."""

    config = from_dict(DefendConfig, resolve_resources(cell.config, resources), cell.cell_id)

    target = config.attack.target_label
    defense = None if cell.runs == NO_DEFENSE else build_defense(config.defense, config.seed, target)
    corpus = load_corpus(config)
    victim, train_s = cache.get(config, cell, corpus)
    base_clean = victim.predict(texts(corpus.test_clean))
    base = attack_metrics(
        base_clean, labels(corpus.test_clean), victim.predict(texts(corpus.test_poison)), target
    )
    summary: dict[str, Any] = {}
    start = time.perf_counter()
    if defense is None:
        metrics: dict[str, Any] = dict(base)
    else:
        _, metrics = apply_defense(defense, victim, corpus, config, summary, cache.store)
    row = {
        "method": cell.method,
        "kind": "defend",
        "dataset": cell.dataset,
        "attack": cell.attack.name,
        "poison_rate": cell.rate,
        "target_label": target,
        "n_train": len(texts(corpus.train)),
        "n_poisoned_train": len(corpus.poisoned_indices),
        "n_test_clean": len(texts(corpus.test_clean)),
        "n_test_poison_non_target": len(texts(corpus.test_poison)),
        "model": config.victim.model,
        "victim_epochs": config.victim.epochs,
        "victim_trainable_layers": config.victim.trainable_layers,
        "seed": config.seed,
        "hardware": hardware(),
        "undefended_cacc": base["cacc"],
        "undefended_asr": base["asr"],
        "undefended_base_rate": base["base_rate"],
        "warnings": victim_warnings(base, base_clean),
        "victim_train_s": train_s,
        "victim_from_store": bool(getattr(victim, "from_store_", False)),
        "defense_s": time.perf_counter() - start,
        "defense_params": dict(config.defense.params),
        **summary,
        **metrics,
    }
    return row
