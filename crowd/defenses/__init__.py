"""Empirical backdoor defenses: ONION (corrects inputs), STRIP and RAP (flag inputs), BKI (filters training data).

``DEFENSES`` maps a name to its class; each class subclasses its settings, a frozen dataclass
(``StripSettings``, ...) that ``Defense.from_table`` builds from a ``[defense] params`` table. Importing this
package loads no model and no torch (configs and tables read the registry): ONION's language model
(:mod:`crowd.defenses.lm`) and RAP's torch are imported when they run, the victim is handed in.
"""

from __future__ import annotations

from crowd.defenses.base import Defense, InputCorrector, InputDetector, TrainingFilter, threshold_from_frr
from crowd.defenses.bki import BKI, BkiSettings
from crowd.defenses.onion import ONION, OnionSettings
from crowd.defenses.rap import RAP, RapSettings
from crowd.defenses.strip import STRIP, StripSettings

DEFENSES: dict[str, type[Defense]] = {cls.name: cls for cls in (ONION, STRIP, RAP, BKI)}
NO_DEFENSE = "none"  # a benchmark's undefended victim, run beside the defenses

__all__ = [
    "BKI",
    "DEFENSES",
    "NO_DEFENSE",
    "ONION",
    "RAP",
    "STRIP",
    "BkiSettings",
    "Defense",
    "InputCorrector",
    "InputDetector",
    "OnionSettings",
    "RapSettings",
    "StripSettings",
    "TrainingFilter",
    "threshold_from_frr",
]
