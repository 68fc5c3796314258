"""Build an attack from plain settings (what ``crowd poison`` flags and ``crowd certify`` configs hold).

SynBkd and StyleBkd need paraphrases: a folder given explicitly (an OpenBackdoor poison
folder pairing every clean text with its paraphrase) or, for SST-2 and HSOL, the shared
OpenBackdoor folders under the data root. The word-substitution attack needs a synonym graph.
"""

from __future__ import annotations

import os
from pathlib import Path

from crowd.attacks import ATTACKS, Attack
from crowd.attacks.paraphrase import ParaphraseTable, table_from_openbackdoor
from crowd.paths import data_root

# Pre-generated paraphrases that match the clean splits exactly (OpenBackdoor poison folders).
PARAPHRASE_FOLDERS = {"sst2": "openbackdoor_poison/sst-2/1", "hsol": "openbackdoor_poison/hsol/1"}
DEFAULT_TRIGGERS = ("cf", "mn", "bb", "tq")
DEFAULT_SENTENCE = "I watch this 3D movie"


def make_attack(
    name: str,
    dataset: str,
    target_label: int = 1,
    poison_rate: float = 0.1,
    variant: str = "dirty",
    data: str | os.PathLike[str] | None = None,
    num_triggers: int = 1,
    triggers: tuple[str, ...] = DEFAULT_TRIGGERS,
    sentence: str = DEFAULT_SENTENCE,
    paraphrases: str | os.PathLike[str] | None = None,
    style: str = "bible",
    graph=None,
    num_substitutions: int = 3,
) -> Attack:
    """The attack ``name`` (a key of :data:`crowd.attacks.ATTACKS`) with its settings."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known: {', '.join(sorted(ATTACKS))}")
    common = {"target_label": target_label, "poison_rate": poison_rate, "variant": variant}
    if name == "badnets":
        return ATTACKS["badnets"](triggers=tuple(triggers), num_triggers=num_triggers, **common)
    if name == "addsent":
        return ATTACKS["addsent"](sentence=sentence, **common)
    if name in ("synbkd", "stylebkd"):
        table = paraphrase_table(name, dataset, target_label, data, paraphrases, style)
        if name == "synbkd":
            return ATTACKS["synbkd"](paraphraser=table, **common)
        return ATTACKS["stylebkd"](paraphraser=table, style=style, **common)
    if graph is None:
        raise ValueError("wordsub needs a synonym graph (a folder written by 'crowd synonyms build')")
    return ATTACKS[name](graph=graph, num_substitutions=num_substitutions, **common)


def paraphrase_table(
    attack: str,
    dataset: str,
    target_label: int,
    data: str | os.PathLike[str] | None,
    paraphrases: str | os.PathLike[str] | None,
    style: str,
) -> ParaphraseTable:
    """Paraphrases from ``paraphrases`` or the shared OpenBackdoor folder of ``dataset``."""
    folder = Path(paraphrases) if paraphrases is not None else None
    if folder is None:
        root = data_root(data)
        if root is None or dataset not in PARAPHRASE_FOLDERS:
            raise ValueError(
                f"{attack} on {dataset}: give a paraphrase folder (--paraphrases FOLDER, or attack.paraphrases in a "
                "config): an OpenBackdoor poison folder pairing every clean text with its paraphrase. The shared "
                "data has no exactly matching pre-generated paraphrases for this dataset (HiddenKiller's and "
                "StyleAttack's OffensEval files drop or add rows)"
            )
        if attack == "stylebkd" and style != "bible":
            raise ValueError(
                "the shared OpenBackdoor StyleBkd folders are Bible style; give a paraphrase folder"
            )
        folder = root / PARAPHRASE_FOLDERS[dataset] / attack
    return table_from_openbackdoor(folder, target_label=target_label)
