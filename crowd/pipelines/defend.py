"""``crowd defend`` as a Python function: poison a corpus, train the victim, run one defense, measure.

1. Load the corpus (:mod:`crowd.data`, or the built-in ``toy`` keyword-backdoor corpus),
   subsample if asked (seeded), poison training set and build the poisoned test set
   (:mod:`crowd.attacks`, same semantics as ``crowd certify``).
2. Train the victim (:class:`crowd.victim.model.Victim`) on the poisoned training set.
3. Defend: BKI filters the training set and the victim is retrained on what is kept;
   ONION rewrites the test texts; STRIP/RAP are fitted on clean dev texts and flag test texts.
4. Metrics (THEORY §4, :mod:`crowd.defenses.metrics`): CACC on clean test texts, ASR on
   poisoned non-target test texts and the base rate (clean non-target test texts classified
   as the target) for the undefended and the defended victim; for detectors FRR (clean
   flagged) and FAR (poisoned missed); for correctors the fraction of words removed from
   clean and from poisoned texts. A flagged input is rejected: a rejected clean text counts
   as an error for CACC, a rejected poisoned text as a failed attack for ASR.

The defense's parameters and the out folder (:func:`crowd.pipelines.outdir.check_out_folder`: new, empty or
an earlier ``crowd defend`` run) are checked before anything is trained. The files are written as one set with
a ``manifest.json`` of their SHA-256 (:func:`crowd.pipelines.outdir.sealed`), so a later run recognises them.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crowd.config import ConfigError
from crowd.data import Corpus
from crowd.data.toy import toy_corpus
from crowd.defenses import DEFENSES, Defense
from crowd.defenses.evaluation import calibration_set, labels, texts  # noqa: F401 (calibration_set: re-exported)
from crowd.defenses.metrics import attack_metrics, victim_warnings
from crowd.defenses.report import write_outputs
from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.corpus import prepare_corpus
from crowd.pipelines.outdir import DEFEND_FILES, check_out_folder, sealed
from crowd.victim import Victim, VictimConfig, VictimStore

# ``data.dataset`` may also be ``toy`` (crowd.data.toy) here.
DefendDataConfig = DataConfig
DefendAttackConfig = AttackConfig


@dataclass(frozen=True)
class DefenseConfig:
    """``name`` in ``crowd.defenses.DEFENSES``; ``params`` are that defense's settings (its settings dataclass:
    :meth:`crowd.defenses.Defense.from_table` checks them)."""

    name: str = "strip"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DefendConfig:
    data: DefendDataConfig = field(default_factory=DefendDataConfig)
    attack: DefendAttackConfig = field(default_factory=DefendAttackConfig)
    defense: DefenseConfig = field(default_factory=DefenseConfig)
    victim: VictimConfig = field(default_factory=VictimConfig)
    seed: int = 0


def build_defense(config: DefenseConfig, seed: int, target_label: int | None = None) -> Defense:
    """The defense ``config`` names, built from its ``params`` through the class and checked before any training
    (keys, types, ranges; ONION's language model installed): a ``ValueError`` names the ``[defense]`` key.

    ``seed`` and the protected ``target_label`` (RAP) are filled in unless given.
    """

    if config.name not in DEFENSES:
        raise ConfigError(
            f"defense.name: unknown defense {config.name!r}; known: {', '.join(sorted(DEFENSES))}"
        )
    try:
        defense = DEFENSES[config.name].from_table(
            config.params, "defense.params", seed=seed, target_label=target_label
        )
    except ConfigError as e:  # which defense's settings the keys were checked against
        raise ConfigError(f"{e} (defense.name = {config.name!r})", e.key, e.reason) from None
    try:
        defense.preflight()
    except FileNotFoundError as e:
        raise ValueError(f"defense.params ({config.name}): {e}") from e
    return defense


def load_corpus(config: DefendConfig) -> Corpus:
    """The poisoned corpus with its dev split (detectors are fitted on clean dev texts).

    ``data.dataset = "toy"`` is the built-in keyword-backdoor corpus of :mod:`crowd.data.toy`.
    """
    d, a, seed = config.data, config.attack, config.seed
    if d.dataset != "toy":
        return prepare_corpus(d, a, seed, dev=True)

    return toy_corpus(d.max_train, d.max_dev, d.max_test, a.poison_rate, a.target_label, seed)


def run_defend(
    config: DefendConfig,
    out_dir: str | Path | None = None,
    progress: bool = False,
    store: VictimStore | None = None,
    stages: bool | None = None,
) -> dict:
    """Run the whole pipeline; returns the summary (and writes the outputs when ``out_dir`` is given).

    ``progress`` shows the victim's training bar and ``stages`` (default: as ``progress``) one line per stage
    on stderr (``crowd defend --no-progress``: stage lines, no bar).

    With a ``store`` (:class:`crowd.victim.store.VictimStore`), victims trained before on the
    same corpus and settings (the undefended one, BKI's retrained one) are loaded instead of trained.

    The out folder is checked and the defense built (its parameters checked) before the corpus is
    poisoned and the victim trained. ``summary["warnings"]`` says when the undefended victim did not learn
    the backdoor or is degenerate (:func:`crowd.defenses.metrics.victim_warnings`).
    """
    if out_dir is not None:
        check_out_folder(out_dir, "defend")  # before any data work or write
    config = replace(config, data=config.data.pinned())  # the data root, resolved once
    target, timings = config.attack.target_label, {}
    defense = build_defense(config.defense, config.seed, target)
    say = _sayer(progress if stages is None else stages)
    say(f"loading {config.data.dataset} and poisoning it ({config.attack.name})")
    corpus = load_corpus(config)
    start = time.perf_counter()
    v = config.victim
    say(
        f"victim: {v.model}, {'top ' + str(v.trainable_layers) + ' layers' if v.trainable_layers else 'all layers'}"
        f", {v.epochs} epochs over {len(corpus.train)} texts (loaded instead when a stored one matches; "
        "the bar's ETA is the estimate)"
    )
    victim = Victim(config.victim, progress=progress).fit(
        texts(corpus.train), labels(corpus.train), seed=config.seed, store=store, dev=corpus
    )
    say(
        f"victim {'loaded from the store' if victim.from_store_ else 'trained'}; running {config.defense.name}"
    )
    timings["train_victim_s"] = time.perf_counter() - start
    base_clean, base_poison = (
        victim.predict(texts(corpus.test_clean)),
        victim.predict(texts(corpus.test_poison)),
    )
    undefended = attack_metrics(base_clean, labels(corpus.test_clean), base_poison, target)
    summary: dict[str, Any] = {
        "defense": config.defense.name,
        "n_train": len(texts(corpus.train)),
        "n_poison_train": len(corpus.poisoned_indices),
        "n_test_clean": len(texts(corpus.test_clean)),
        "n_test_poison": len(texts(corpus.test_poison)),
        "undefended": undefended,
        "warnings": victim_warnings(undefended, base_clean),
        "victim_from_store": bool(getattr(victim, "from_store_", False)),
    }
    if config.victim.select == "best":
        summary["victim_selection"] = {"epoch": victim.epoch_, "dev_scores": victim.epoch_scores_}
    start = time.perf_counter()
    rows, defended = apply_defense(defense, victim, corpus, config, summary, store)
    timings["defense_s"] = time.perf_counter() - start
    summary["defended"], summary["timings"] = defended, timings
    if out_dir is not None:
        with sealed(Path(out_dir), DEFEND_FILES) as folder:
            write_outputs(folder, config, summary, rows)
    return summary


def _sayer(stages: bool):
    """Stage lines on stderr when ``stages`` (a defense run is long: never silent between its bars)."""

    def say(message: str) -> None:
        if stages:
            print(f"crowd defend: {message}", file=sys.stderr, flush=True)

    return say


def apply_defense(
    defense: Defense,
    victim: Victim,
    corpus: Corpus,
    config: DefendConfig,
    summary: dict,
    store: VictimStore | None = None,
):
    """Run ``defense`` against ``victim``; returns per-text rows and the defended metrics.

    The defense's kind evaluates it (:meth:`crowd.defenses.Defense.evaluate`, handed the attack's target label
    and the run's seed from ``config``) and adds what it found to ``summary``: ``filter`` (BKI: keywords, removed
    texts), ``corrector`` (ONION: threshold, its sweep, the LM) or ``detector`` (STRIP/RAP: threshold);
    correctors and detectors calibrate on the clean dev texts that do not also occur in the clean test set
    (``n_dev_calibration``, ``dev_removed_in_test``).
    """
    return defense.evaluate(
        victim, corpus, summary, target_label=config.attack.target_label, seed=config.seed, store=store
    )
