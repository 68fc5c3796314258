"""Backdoor poisoners with OpenBackdoor's semantics; see ``docs/attacks.md``.

``ATTACKS`` is a plain registry from name to class and the only reader of an attack's name: each class
builds itself from plain settings (``from_settings``) and says what it needs loaded (``needs_graph``,
``needs_paraphrases``), so adding an attack is one file plus one line here (``docs/extending.md``).
Attack classes take keyword arguments only (``BadNets(num_triggers=4, poison_rate=0.1, target_label=1)``).
"""

from crowd.attacks.addsent import AddSent
from crowd.attacks.badnets import BadNets
from crowd.attacks.base import OPENBACKDOOR_SETTING, VARIANTS, Attack, AttackSettings, Paraphraser
from crowd.attacks.output import write_poisoned_corpus
from crowd.attacks.paraphrase import ParaphraseTable, table_from_aligned, table_from_openbackdoor
from crowd.attacks.poison import candidate_rows, poison_corpus
from crowd.attacks.stylebkd import StyleBkd
from crowd.attacks.synbkd import SynBkd
from crowd.attacks.wordsub import WordSubstitution

NO_ATTACK = "none"  # a clean run (``[attack] name = "none"``): nothing poisoned; never a key of ATTACKS

ATTACKS: dict[str, type[Attack]] = {
    "badnets": BadNets,
    "addsent": AddSent,
    "synbkd": SynBkd,
    "stylebkd": StyleBkd,
    "wordsub": WordSubstitution,
}

__all__ = [
    "ATTACKS",
    "NO_ATTACK",
    "OPENBACKDOOR_SETTING",
    "VARIANTS",
    "AddSent",
    "Attack",
    "AttackSettings",
    "BadNets",
    "ParaphraseTable",
    "Paraphraser",
    "StyleBkd",
    "SynBkd",
    "WordSubstitution",
    "candidate_rows",
    "poison_corpus",
    "table_from_aligned",
    "table_from_openbackdoor",
    "write_poisoned_corpus",
]
