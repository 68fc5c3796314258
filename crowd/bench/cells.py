"""Running one benchmark cell: a certified method (``crowd certify``) or an empirical defense (``crowd defend``).

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

from crowd.bench.spec import Cell, resolve_resources
from crowd.config import from_dict, to_dict
from crowd.defenses.metrics import victim_warnings
from crowd.pipelines.certify import CertifyConfig, run_certify
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
    """The undefended victim (method ``none``) or one defense, with CACC/ASR (THEORY §4) and FRR/FAR."""

    config = from_dict(DefendConfig, resolve_resources(cell.config, resources), cell.cell_id)

    target = config.attack.target_label
    defense = None if cell.runs == "none" else build_defense(config.defense, config.seed, target)
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
