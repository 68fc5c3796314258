"""Build an attack from plain settings (what ``crowd poison`` flags and ``crowd certify`` configs hold).

SynBkd and StyleBkd need paraphrases: a folder given explicitly (an OpenBackdoor poison
folder pairing every clean text with its paraphrase) or, for SST-2 and HSOL, the shared
OpenBackdoor folders under the data root. The word-substitution attack needs a synonym graph.

Presets (:data:`PRESETS`) name whole OpenBackdoor settings. ``preset="openbackdoor"`` is
what OpenBackdoor ships in ``configs/<attack>_config.json``: BadNets clean-label
(``label_consistency: true``) with one trigger word drawn from ``cf mn bb tq``; AddSent,
SynBkd and StyleBkd (Bible style) dirty-label (OpenBackdoor's ``mix``). ``"openbackdoor-shared"``
is how the OpenBackdoor-format files in the shared data were made (BadNets clean-label with
4 triggers per text; the others ``mix``). Parameters given explicitly (not ``None``) override
the preset; ``preset=None`` keeps the toolkit's defaults (dirty-label, one trigger).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from crowd.attacks import ATTACKS, Attack
from crowd.attacks.paraphrase import ParaphraseTable, table_from_openbackdoor
from crowd.paths import data_root

# Pre-generated paraphrases that match the clean splits exactly (OpenBackdoor poison folders).
PARAPHRASE_FOLDERS = {"sst2": "openbackdoor_poison/sst-2/1", "hsol": "openbackdoor_poison/hsol/1"}
DEFAULT_TRIGGERS = ("cf", "mn", "bb", "tq")
DEFAULT_SENTENCE = "I watch this 3D movie"
# Without a preset: every attack dirty-label, BadNets with one trigger word.
BASE_SETTINGS: dict[str, Any] = {"variant": "dirty", "num_triggers": 1, "triggers": DEFAULT_TRIGGERS}
# OpenBackdoor's settings per attack (poison rate 0.1 and target label 1 in all of them, our defaults too).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "openbackdoor": {
        "badnets": {"variant": "clean", "num_triggers": 1, "triggers": DEFAULT_TRIGGERS},
        "addsent": {"variant": "dirty", "sentence": DEFAULT_SENTENCE},
        "synbkd": {"variant": "dirty"},
        "stylebkd": {"variant": "dirty", "style": "bible"},
    },
    "openbackdoor-shared": {
        "badnets": {"variant": "clean", "num_triggers": 4, "triggers": DEFAULT_TRIGGERS},
        "addsent": {"variant": "dirty", "sentence": DEFAULT_SENTENCE},
        "synbkd": {"variant": "dirty"},
        "stylebkd": {"variant": "dirty", "style": "bible"},
    },
}


def preset_settings(name: str, preset: str | None) -> dict[str, Any]:
    """The settings ``preset`` fixes for attack ``name`` (empty for ``None``); unknown names raise."""
    if preset is None:
        return {}
    if preset not in PRESETS:
        raise ValueError(f"attack.preset: unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
    if name not in PRESETS[preset]:
        raise ValueError(
            f"attack.preset: {preset!r} has no setting for {name!r} (it covers {', '.join(PRESETS[preset])})"
        )
    return dict(PRESETS[preset][name])


def make_attack(
    name: str,
    dataset: str,
    target_label: int = 1,
    poison_rate: float = 0.1,
    variant: str | None = None,
    data: str | os.PathLike[str] | None = None,
    num_triggers: int | None = None,
    triggers: tuple[str, ...] | None = None,
    sentence: str | None = None,
    paraphrases: str | os.PathLike[str] | None = None,
    style: str | None = None,
    graph=None,
    num_substitutions: int = 3,
    preset: str | None = None,
) -> Attack:
    """The attack ``name`` (a key of :data:`crowd.attacks.ATTACKS`) with its settings.

    ``None`` (or an empty ``triggers``) means: the preset's value, else the toolkit's default.
    """
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known: {', '.join(sorted(ATTACKS))}")
    given = {"variant": variant, "num_triggers": num_triggers, "sentence": sentence, "style": style}
    given["triggers"] = tuple(triggers) if triggers else None
    settings = {**BASE_SETTINGS, "sentence": DEFAULT_SENTENCE, "style": "bible"}
    settings.update(preset_settings(name, preset))
    settings.update({k: v for k, v in given.items() if v is not None})
    common = {"target_label": target_label, "poison_rate": poison_rate, "variant": settings["variant"]}
    if name == "badnets":
        return ATTACKS["badnets"](
            triggers=tuple(settings["triggers"]), num_triggers=settings["num_triggers"], **common
        )
    if name == "addsent":
        return ATTACKS["addsent"](sentence=settings["sentence"], **common)
    if name in ("synbkd", "stylebkd"):
        table = paraphrase_table(name, dataset, target_label, data, paraphrases, settings["style"])
        if name == "synbkd":
            return ATTACKS["synbkd"](paraphraser=table, **common)
        return ATTACKS["stylebkd"](paraphraser=table, style=settings["style"], **common)
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
