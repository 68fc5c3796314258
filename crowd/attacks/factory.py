"""Build an attack from plain settings (what ``crowd poison`` flags and ``crowd certify`` configs hold).

Each attack class builds itself (``from_settings``, see :class:`crowd.attacks.base.Attack`); this module
resolves the settings it is given. SynBkd and StyleBkd need paraphrases
(``needs_paraphrases``): a folder given explicitly (an OpenBackdoor poison folder pairing every clean
text with its paraphrase) or, for SST-2 and HSOL, the shared OpenBackdoor folders under the data root
(:func:`crowd.attacks.paraphrase.paraphrase_table`). The word-substitution attack needs a synonym
graph (``needs_graph``).

Presets name whole OpenBackdoor settings; each attack class carries its own (``PRESETS``, preset name ->
settings) and :func:`preset_names` collects them from the registry. ``preset="openbackdoor"`` is
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
from crowd.attacks.addsent import DEFAULT_SENTENCE
from crowd.attacks.badnets import DEFAULT_TRIGGERS
from crowd.attacks.base import AttackSettings
from crowd.attacks.paraphrase import PARAPHRASE_FOLDERS, paraphrase_table

# Without a preset: every attack dirty-label, BadNets with one trigger word.
BASE_SETTINGS: dict[str, Any] = {"variant": "dirty", "num_triggers": 1, "triggers": DEFAULT_TRIGGERS}
# OpenBackdoor's settings per attack live on the attack classes (``PRESETS``); poison rate 0.1 and target
# label 1 in all of them, our defaults too.


def preset_names() -> tuple[str, ...]:
    """Every preset some registered attack carries (its ``PRESETS``), in registry order: the one list of them."""
    return tuple(dict.fromkeys(preset for kind in ATTACKS.values() for preset in kind.PRESETS))


def preset_problem(name: str, preset: str) -> str | None:
    """Why attack ``name`` has no preset ``preset`` (an unknown preset, or one its class does not carry), or
    ``None``; the reason names the presets known, or the attacks that carry ``preset``."""
    if preset not in preset_names():
        return f"unknown preset {preset!r}; known: {', '.join(sorted(preset_names()))}"
    if preset not in attack_class(name).PRESETS:
        covered = [attack for attack, kind in ATTACKS.items() if preset in kind.PRESETS]
        return f"{preset!r} has no setting for {name!r} (it covers {', '.join(covered)})"
    return None


def preset_settings(name: str, preset: str | None) -> dict[str, Any]:
    """The settings ``preset`` fixes for attack ``name`` (empty for ``None``); unknown names raise."""
    if preset is None:
        return {}
    problem = preset_problem(name, preset)
    if problem:
        raise ValueError(f"attack.preset: {problem}")
    return dict(attack_class(name).PRESETS[preset])


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
    "attack_class",
    "make_attack",
    "paraphrase_table",
    "preset_names",
    "preset_problem",
    "preset_settings",
]
