"""Build an attack from plain settings (what ``crowd poison`` flags and ``crowd certify`` configs hold).

Each attack class builds itself (``from_settings``, see :class:`crowd.attacks.base.Attack`); this module
resolves the settings it is given. SynBkd and StyleBkd need paraphrases
(``needs_paraphrases``): a folder given explicitly (an OpenBackdoor poison folder pairing every clean
text with its paraphrase) or, for SST-2 and HSOL, the shared OpenBackdoor folders under the data root
(:func:`crowd.attacks.paraphrase.paraphrase_table`). The word-substitution attack needs a synonym
graph (``needs_graph``).

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
from typing import Any

from crowd.attacks import ATTACKS, Attack
from crowd.attacks.base import AttackSettings
from crowd.attacks.paraphrase import PARAPHRASE_FOLDERS, paraphrase_table

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


def attack_class(name: str) -> type[Attack]:
    """The class registered as ``name`` in :data:`crowd.attacks.ATTACKS`; unknown names raise."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known: {', '.join(sorted(ATTACKS))}")
    return ATTACKS[name]


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

    ``None`` (or an empty ``triggers``) means: the preset's value, else the toolkit's default. The registered
    class builds itself from the resolved :class:`~crowd.attacks.base.AttackSettings` (its ``from_settings``).
    """
    cls = attack_class(name)
    given = {"variant": variant, "num_triggers": num_triggers, "sentence": sentence, "style": style}
    given["triggers"] = tuple(triggers) if triggers else None
    settings = {**BASE_SETTINGS, "sentence": DEFAULT_SENTENCE, "style": "bible"}
    settings.update(preset_settings(name, preset))
    settings.update({k: v for k, v in given.items() if v is not None})
    resolved = AttackSettings(
        dataset=dataset,
        target_label=target_label,
        poison_rate=poison_rate,
        variant=settings["variant"],
        num_triggers=settings["num_triggers"],
        triggers=tuple(settings["triggers"]),
        sentence=settings["sentence"],
        style=settings["style"],
        num_substitutions=num_substitutions,
        paraphrases=paraphrases,
        data=data,
        graph=graph,
    )
    return cls.from_settings(resolved)


__all__ = [
    "BASE_SETTINGS",
    "DEFAULT_SENTENCE",
    "DEFAULT_TRIGGERS",
    "PARAPHRASE_FOLDERS",
    "PRESETS",
    "attack_class",
    "make_attack",
    "paraphrase_table",
    "preset_settings",
]
