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


def certify_cell(cell: Cell, resources: Mapping[str, str], run_dir: Path, progress: bool) -> dict[str, Any]:
    """Train the cell's models (resuming from ``run_dir/votes``), certify and summarise."""
    from crowd.config import from_dict, to_dict
    from crowd.pipelines.certify import CertifyConfig, run_certify

    config = from_dict(CertifyConfig, resolve_resources(cell.config, resources), cell.cell_id)
    report = run_certify(config, run_dir, progress)
    row = dict(report.summary)
    row.update(
        method=cell.method, kind="certify", device=config.model.device, max_length=config.learner.max_length
    )
    row["method_params"] = to_dict(config.method)
    return row


class VictimCache:
    """Undefended victims by (corpus, victim config, seed), so a table's defenses share one victim."""

    def __init__(self) -> None:
        self._victims: dict[str, Any] = {}

    def get(self, config, cell: Cell, corpus) -> tuple[Any, float]:
        from crowd.config import to_dict
        from crowd.train.victim import Victim

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
            start = time.perf_counter()
            victim = Victim(config.victim).fit(corpus.train_texts, corpus.train_labels, seed=config.seed)
            self._victims = {key: (victim, time.perf_counter() - start)}  # keep one: memory
        return self._victims[key]


def defend_cell(cell: Cell, resources: Mapping[str, str], cache: VictimCache) -> dict[str, Any]:
    """The undefended victim (method ``none``) or one defense, with CACC/ASR (THEORY §4) and FRR/FAR."""
    from crowd.config import from_dict
    from crowd.pipelines.defend import DefendConfig, apply_defense, attack_metrics, build_defense, load_corpus
    from crowd.report import hardware

    config = from_dict(DefendConfig, resolve_resources(cell.config, resources), cell.cell_id)
    from crowd.defenses.metrics import victim_warnings

    target = config.attack.target_label
    defense = None if cell.method == "none" else build_defense(config.defense, config.seed, target)
    corpus = load_corpus(config)
    victim, train_s = cache.get(config, cell, corpus)
    base_clean = victim.predict(corpus.test_texts)
    base = attack_metrics(base_clean, corpus.test_labels, victim.predict(corpus.poison_texts), target)
    summary: dict[str, Any] = {}
    start = time.perf_counter()
    if defense is None:
        metrics: dict[str, Any] = dict(base)
    else:
        _, metrics = apply_defense(defense, victim, corpus, config, summary)
    row = {
        "method": cell.method,
        "kind": "defend",
        "dataset": cell.dataset,
        "attack": cell.attack.name,
        "poison_rate": cell.rate,
        "target_label": target,
        "n_train": len(corpus.train_texts),
        "n_poisoned_train": int(sum(corpus.train_poisoned)),
        "n_test_clean": len(corpus.test_texts),
        "n_test_poison_non_target": len(corpus.poison_texts),
        "model": config.victim.model,
        "victim_epochs": config.victim.epochs,
        "seed": config.seed,
        "hardware": hardware(),
        "undefended_cacc": base["cacc"],
        "undefended_asr": base["asr"],
        "undefended_base_rate": base["base_rate"],
        "warnings": victim_warnings(base, base_clean),
        "victim_train_s": train_s,
        "defense_s": time.perf_counter() - start,
        "defense_params": dict(config.defense.params),
        **summary,
        **metrics,
    }
    return row
