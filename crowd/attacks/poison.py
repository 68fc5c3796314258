"""Poison a corpus the way OpenBackdoor does, with every random choice seeded.

Training set: ``n = int(poison_rate * len(train))`` rows are drawn (without
replacement, ``rng(seed, "poison-select")``) from the rows the variant allows
(:mod:`crowd.attacks.base`), the trigger is applied to each
(``rng(seed, "poison-train")``) and its label set to the target. Rows the attack
cannot poison (``apply`` returned ``None``, e.g. no paraphrase) are *not* counted
as poisoned: the draw moves on to the next candidate in the seeded order, and the
skipped rows are listed in the manifest (``unavailable``). If candidates run out,
fewer than ``n`` rows are poisoned and the manifest says so (``n_requested`` vs
``n_poisoned``) with a warning.

Each split is poisoned by ``attack.for_split(name)``: pre-generated paraphrases are
looked up in that split's own rows first (see :class:`crowd.attacks.paraphrase.ParaphraseTable`).

Dev/test poison sets: every non-target row of the split, triggered and relabelled
to the target (``rng(seed, "poison-dev")`` / ``"poison-test"``), ``source_label``
keeping the true label. Rows without a poisoned version are left out and counted.

Alignment: ``train_poisoned[i]`` is ``train_clean[i]`` or its poisoned version
(OpenBackdoor instead appends poisoned rows after the clean ones; the CSV writer
reproduces that order, the Python object keeps the clean order so attack budgets
can be computed row by row).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from crowd.attacks.base import OPENBACKDOOR_SETTING, Attack
from crowd.data.corpus import Corpus
from crowd.data.example import Example
from crowd.seeding import rng

FORMAT_VERSION = 1


def poison_corpus(
    attack: Attack,
    train: Sequence[Example],
    dev: Sequence[Example],
    test: Sequence[Example],
    seed: int,
) -> Corpus:
    """Poison ``train`` (mixed set) and build dev/test poison sets with ``attack`` (see module doc)."""
    for split, examples in (("train", train), ("dev", dev), ("test", test)):
        if any(e.poisoned for e in examples):
            raise ValueError(f"{split} already contains poisoned examples; pass the clean corpus")
    train_poisoned, train_info = _poison_train(attack.for_split("train"), list(train), seed)
    dev_poison, dev_missing = _poison_eval(attack.for_split("dev"), list(dev), rng(seed, "poison-dev"))
    test_poison, test_missing = _poison_eval(attack.for_split("test"), list(test), rng(seed, "poison-test"))
    manifest = {
        **poison_settings(attack, train, dev, test, seed),
        "train": train_info,
        "dev": {"n_clean": len(dev), "n_poison": len(dev_poison), "unavailable": dev_missing},
        "test": {"n_clean": len(test), "n_poison": len(test_poison), "unavailable": test_missing},
        "output_sha256": {
            "train_poisoned": digest(train_poisoned),
            "dev_poison": digest(dev_poison),
            "test_poison": digest(test_poison),
        },
    }
    return Corpus(
        tuple(train),
        tuple(train_poisoned),
        tuple(dev),
        tuple(dev_poison),
        tuple(test),
        tuple(test_poison),
        manifest,
    )


def poison_settings(
    attack: Attack, train: Sequence[Example], dev: Sequence[Example], test: Sequence[Example], seed: int
) -> dict[str, Any]:
    """What determines a poisoned corpus (the manifest's first keys): attack, parameters, seed, inputs.

    Known before poisoning, so ``crowd poison`` can check its ``--out`` folder before any work.
    """
    return {
        "format_version": FORMAT_VERSION,
        "attack": attack.name,
        "params": attack.params(),
        "openbackdoor_setting": OPENBACKDOOR_SETTING[attack.variant],
        "seed": seed,
        "input_sha256": {"train": digest(train), "dev": digest(dev), "test": digest(test)},
    }


def candidate_rows(attack: Attack, train: Sequence[Example]) -> list[int]:
    """Indices the variant may poison: all rows, target-label rows, or non-target rows."""
    if attack.variant == "clean":
        return [i for i, e in enumerate(train) if e.label == attack.target_label]
    if attack.variant == "non_target":
        return [i for i, e in enumerate(train) if e.label != attack.target_label]
    return list(range(len(train)))


def _poison_train(attack: Attack, train: list[Example], seed: int) -> tuple[list[Example], dict[str, Any]]:
    n_requested = int(attack.poison_rate * len(train))
    order = [int(i) for i in rng(seed, "poison-select").permutation(candidate_rows(attack, train))]
    generator = rng(seed, "poison-train")
    chosen: dict[int, str] = {}
    unavailable: list[int] = []
    cursor = 0
    while len(chosen) < n_requested and cursor < len(order):
        batch = order[cursor : cursor + n_requested - len(chosen)]
        cursor += len(batch)
        for i, text in zip(batch, attack.apply([train[i].text for i in batch], generator)):
            if text is None:
                unavailable.append(i)
            else:
                chosen[i] = text
    if len(chosen) < n_requested:
        warnings.warn(
            f"{attack.name}: only {len(chosen)} of {n_requested} requested training rows could be poisoned "
            f"({attack.variant} variant, {len(unavailable)} without a poisoned version)",
            stacklevel=3,
        )
    out = [
        Example(chosen[i], attack.target_label, True, e.label) if i in chosen else e
        for i, e in enumerate(train)
    ]
    info = {
        "n_clean": len(train),
        "n_requested": n_requested,
        "n_poisoned": len(chosen),
        "n_label_flips": sum(1 for i in chosen if train[i].label != attack.target_label),
        "poisoned_indices": sorted(chosen),
        "unavailable": {"count": len(unavailable), "indices": sorted(unavailable)},
    }
    return out, info


def _poison_eval(
    attack: Attack, examples: list[Example], generator: np.random.Generator
) -> tuple[list[Example], dict[str, Any]]:
    rows = [i for i, e in enumerate(examples) if e.label != attack.target_label]
    texts = attack.apply([examples[i].text for i in rows], generator)
    out = [
        Example(text, attack.target_label, True, examples[i].label)
        for i, text in zip(rows, texts)
        if text is not None
    ]
    missing = sorted(i for i, text in zip(rows, texts) if text is None)
    return out, {"count": len(missing), "indices": missing}


def digest(examples: Sequence[Example]) -> str:
    """SHA-256 of the examples as canonical JSON Lines (order matters)."""
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps(e.to_dict(), sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
    return h.hexdigest()
