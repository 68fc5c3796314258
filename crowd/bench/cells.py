"""Running one benchmark cell: a certified method (``crowd certify``) or an empirical defense (``crowd defend``).

Each returns a flat result row (a dict of JSON values). Certified cells keep their
run folder (votes per copy), so an interrupted cell resumes where it stopped.
Empirical cells share the undefended victim of a poisoned corpus within one
process (:class:`VictimCache`): the same seed and config train the same victim.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crowd.bench.spec import Cell


def substitute(overrides: Sequence[str], resources: Mapping[str, str]) -> list[str]:
    """Replace ``{name}`` resource placeholders in override strings."""
    out = []
    for item in overrides:
        for name, value in resources.items():
            item = item.replace("{" + name + "}", value)
        out.append(item)
    return out


def _grid_overrides(cell: Cell) -> list[str]:
    a = cell.attack
    return [
        f'data.dataset="{cell.dataset}"',
        f'attack.name="{a.name}"',
        f"attack.poison_rate={cell.rate}",
        f'attack.variant="{a.variant}"',
    ]


def attack_overrides(cell: Cell) -> list[str]:
    """The cell's attack parameters (``AttackSpec.params``) as ``attack.<key>=<TOML value>`` overrides."""
    return [f"attack.{key}={json.dumps(value)}" for key, value in cell.attack.params.items()]


def certify_cell(cell: Cell, resources: Mapping[str, str], run_dir: Path, progress: bool) -> dict[str, Any]:
    """Train the cell's noisy copies (resuming from ``run_dir/votes``), certify and summarise."""
    from crowd.certify_run import run_certify
    from crowd.pipeline import load_certify_config, resolve_device

    grid = [*_grid_overrides(cell), *attack_overrides(cell), f'noise.kind="{cell.method}"']
    if cell.attack.name == "wordsub" and resources.get("graph"):
        grid.append(f"attack.graph={json.dumps(resources['graph'])}")
    config = load_certify_config(None, [*substitute(cell.overrides, resources), *grid])
    report = run_certify(config, run_dir, progress)
    row = dict(report.summary)
    row.update(
        method=cell.method,
        kind="certify",
        device=resolve_device(config.model.device),
        max_length=config.learner.max_length,
    )
    row["noise_params"] = _noise_params(config)
    return row


def _noise_params(config) -> dict[str, Any]:
    n = config.noise
    if n.kind == "wang":
        return {"beta_token": n.beta_token, "beta_label": n.beta_label, "beta_test": n.beta_test}
    return {"graph": n.graph or "default graph", "noise_test": n.noise_test}


class VictimCache:
    """Undefended victims by (corpus, victim config, seed), so a table's defenses share one victim."""

    def __init__(self) -> None:
        self._victims: dict[str, Any] = {}

    def get(self, config, cell: Cell, corpus) -> tuple[Any, float]:
        from crowd.config import to_dict
        from crowd.victim import Victim

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
    from crowd.config import load_toml
    from crowd.defend import DefendConfig, apply_defense, attack_metrics, build_defense, load_corpus
    from crowd.defenses.metrics import victim_warnings
    from crowd.report import hardware

    grid = [*_grid_overrides(cell), *attack_overrides(cell)]
    if cell.attack.name == "wordsub" and resources.get("graph"):
        grid.append(f"attack.graph={json.dumps(resources['graph'])}")
    if cell.method != "none":
        grid.append(f'defense.name="{cell.method}"')
    config = load_toml(DefendConfig, None, [*substitute(cell.overrides, resources), *grid])
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
