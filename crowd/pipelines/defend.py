"""``crowd defend`` as a Python function: poison a corpus, train the victim, run one defense, measure.

1. Load the corpus (:mod:`crowd.data`, or the built-in ``toy`` keyword-backdoor corpus),
   subsample if asked (seeded), poison training set and build the poisoned test set
   (:mod:`crowd.attacks`, same semantics as ``crowd certify``).
2. Train the victim (:class:`crowd.train.victim.Victim`) on the poisoned training set.
3. Defend: BKI filters the training set and the victim is retrained on what is kept;
   ONION rewrites the test texts; STRIP/RAP are fitted on clean dev texts and flag test texts.
4. Metrics (THEORY §4): CACC on clean test texts, ASR on poisoned non-target test texts,
   for the undefended and the defended victim; for detectors FRR (clean flagged) and FAR
   (poisoned missed). A flagged input is rejected: a rejected clean text counts as an error
   for CACC, a rejected poisoned text as a failed attack for ASR.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.corpus import subsample
from crowd.train.victim import Victim, VictimConfig

# ``data.dataset`` may also be ``toy`` (crowd.defenses.toy) here.
DefendDataConfig = DataConfig
DefendAttackConfig = AttackConfig


@dataclass(frozen=True)
class DefenseConfig:
    """``name`` in ``crowd.defenses.DEFENSES``; ``params`` are that class's constructor arguments."""

    name: str = "strip"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DefendConfig:
    data: DefendDataConfig = field(default_factory=DefendDataConfig)
    attack: DefendAttackConfig = field(default_factory=DefendAttackConfig)
    defense: DefenseConfig = field(default_factory=DefenseConfig)
    victim: VictimConfig = field(default_factory=VictimConfig)
    seed: int = 0


@dataclass(frozen=True)
class Corpus:
    """Texts and labels the pipeline needs; ``test_poison`` come from non-target test examples."""

    train_texts: tuple[str, ...]
    train_labels: tuple[int, ...]
    train_poisoned: tuple[bool, ...]
    dev_texts: tuple[str, ...]
    test_texts: tuple[str, ...]
    test_labels: tuple[int, ...]
    poison_texts: tuple[str, ...]


def build_defense(config: DefenseConfig, seed: int):
    """The defense object; unknown parameter names are reported with the allowed ones."""
    from crowd.defenses import DEFENSES

    if config.name not in DEFENSES:
        raise ValueError(
            f"defense.name: unknown defense {config.name!r}; known: {', '.join(sorted(DEFENSES))}"
        )
    cls = DEFENSES[config.name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(config.params) - set(allowed))
    if unknown:
        raise ValueError(
            f"defense.params: unknown key(s) {', '.join(unknown)} for {config.name}; allowed: {', '.join(allowed)}"
        )
    params = dict(config.params)
    if "seed" in allowed:
        params.setdefault("seed", seed)
    return cls(**params)


def load_corpus(config: DefendConfig) -> Corpus:
    d, a, seed = config.data, config.attack, config.seed
    if d.dataset == "toy":
        from crowd.defenses import toy

        train = toy.poisoned_train(d.max_train or 400, seed, a.poison_rate, target=a.target_label)
        dev, test = (
            toy.clean_sentences(d.max_dev or 200, seed, "toy-dev"),
            toy.clean_sentences(d.max_test or 200, seed, "toy-test"),
        )
        non_target = tuple(t for t, y in zip(test.texts, test.labels) if y != a.target_label)
        return Corpus(
            *train.__dict__.values(), dev.texts, test.texts, test.labels, toy.triggered(non_target, seed)
        )
    from crowd.attacks import poison_corpus
    from crowd.pipelines.corpus import attack_from_config, load_split

    splits = {
        s: subsample(load_split(d.dataset, s, d.data_root), n, seed, f"subsample-{s}")
        for s, n in (("train", d.max_train), ("dev", d.max_dev), ("test", d.max_test))
    }
    attack = attack_from_config(a, d)
    c = poison_corpus(attack, splits["train"], splits["dev"], splits["test"], seed=seed)
    return Corpus(
        tuple(e.text for e in c.train_poisoned),
        tuple(e.label for e in c.train_poisoned),
        tuple(bool(e.poisoned) for e in c.train_poisoned),
        tuple(e.text for e in c.dev_clean),
        tuple(e.text for e in c.test_clean),
        tuple(e.label for e in c.test_clean),
        tuple(e.text for e in c.test_poison),
    )


def attack_metrics(clean_pred, clean_labels, poison_pred, target, clean_flag=None, poison_flag=None) -> dict:
    """CACC and ASR; flagged (rejected) inputs count as wrong (clean) or failed (poisoned)."""
    clean_ok = np.asarray(clean_pred) == np.asarray(clean_labels)
    hit = np.asarray(poison_pred) == target
    if clean_flag is not None:
        clean_ok, hit = clean_ok & ~clean_flag, hit & ~poison_flag
    return {"cacc": float(clean_ok.mean()), "asr": float(hit.mean()) if hit.size else None}


def run_defend(config: DefendConfig, out_dir: str | Path | None = None, progress: bool = False) -> dict:
    """Run the whole pipeline; returns the summary (and writes the outputs when ``out_dir`` is given)."""
    corpus, target, timings = load_corpus(config), config.attack.target_label, {}
    start = time.perf_counter()
    victim = Victim(config.victim).fit(corpus.train_texts, corpus.train_labels, seed=config.seed)
    timings["train_victim_s"] = time.perf_counter() - start
    base_clean, base_poison = victim.predict(corpus.test_texts), victim.predict(corpus.poison_texts)
    summary: dict[str, Any] = {
        "defense": config.defense.name,
        "n_train": len(corpus.train_texts),
        "n_poison_train": int(sum(corpus.train_poisoned)),
        "n_test_clean": len(corpus.test_texts),
        "n_test_poison": len(corpus.poison_texts),
        "undefended": attack_metrics(base_clean, corpus.test_labels, base_poison, target),
    }
    defense = build_defense(config.defense, config.seed)
    start = time.perf_counter()
    rows, defended = apply_defense(defense, victim, corpus, config, summary)
    timings["defense_s"] = time.perf_counter() - start
    summary["defended"], summary["timings"] = defended, timings
    if out_dir is not None:
        from crowd.defenses.report import write_outputs

        write_outputs(Path(out_dir), config, summary, rows)
    return summary


def apply_defense(defense, victim: Victim, corpus: Corpus, config: DefendConfig, summary: dict):
    clean, poison, target = list(corpus.test_texts), list(corpus.poison_texts), config.attack.target_label
    if defense.kind == "filter":
        keep = defense.fit(corpus.train_texts, victim).keep_mask(corpus.train_texts)
        poisoned = np.asarray(corpus.train_poisoned)
        summary["filter"] = {
            "kept": int(keep.sum()),
            "removed_poisoned": int((~keep & poisoned).sum()),
            "removed_clean": int((~keep & ~poisoned).sum()),
            "keywords": list(defense.keywords_),
        }
        kept = [i for i in np.flatnonzero(keep)]
        victim = Victim(config.victim).fit(
            [corpus.train_texts[i] for i in kept], [corpus.train_labels[i] for i in kept], seed=config.seed
        )
        cp, pp = victim.predict(clean), victim.predict(poison)
        return _rows(clean, poison, cp, pp, corpus, None, None), attack_metrics(
            cp, corpus.test_labels, pp, target
        )
    if defense.kind == "corrector":
        defense.fit(corpus.dev_texts, victim)
        clean2, poison2 = defense.correct(clean), defense.correct(poison)
        cp, pp = victim.predict(clean2), victim.predict(poison2)
        rows = _rows(clean2, poison2, cp, pp, corpus, None, None)
        return rows, attack_metrics(cp, corpus.test_labels, pp, target)
    defense.fit(corpus.dev_texts, victim)
    cf, pf = defense.flag(clean), defense.flag(poison)
    cp, pp = victim.predict(clean), victim.predict(poison)
    metrics = attack_metrics(cp, corpus.test_labels, pp, target, cf, pf)
    metrics.update(
        frr=float(cf.mean()), far=float((~pf).mean()) if pf.size else None, threshold=defense.threshold_
    )
    return _rows(clean, poison, cp, pp, corpus, cf, pf), metrics


def _rows(clean, poison, cp, pp, corpus: Corpus, cf, pf) -> list[dict]:
    rows = []
    for i, (text, pred) in enumerate(zip(clean, cp)):
        rows.append(
            {
                "split": "test_clean",
                "index": i,
                "text": text,
                "label": corpus.test_labels[i],
                "pred": int(pred),
                "flagged": None if cf is None else bool(cf[i]),
            }
        )
    for i, (text, pred) in enumerate(zip(poison, pp)):
        rows.append(
            {
                "split": "test_poison",
                "index": i,
                "text": text,
                "label": None,
                "pred": int(pred),
                "flagged": None if pf is None else bool(pf[i]),
            }
        )
    return rows
