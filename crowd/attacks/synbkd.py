"""SynBkd (Hidden Killer): a syntactic template as the trigger.

Qi, Li, Chen, Zhang, Zhang, Liu & Sun (2021), "Hidden Killer: Invisible Textual
Backdoor Attacks with Syntactic Trigger", ACL, arXiv:2105.12400.

Each poisoned text is the SCPN paraphrase of the clean text under the template
``S ( SBAR ) ( , ) ( NP ) ( VP ) ( . )``. The generator is a large model, so the
attack takes a ``paraphraser`` (:class:`crowd.attacks.base.Paraphraser`): a user's
SCPN wrapped as a callable, or a :class:`~crowd.attacks.paraphrase.ParaphraseTable`
of pre-generated paraphrases (HiddenKiller's files, OpenBackdoor poison folders).

Departure from OpenBackdoor: when SCPN fails on a sentence OpenBackdoor keeps the
clean sentence but still labels it poisoned. Here ``None`` from the paraphraser
makes the row unavailable, and :func:`crowd.attacks.poison.poison_corpus` reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crowd.attacks.base import (
    OPENBACKDOOR,
    OPENBACKDOOR_SHARED,
    Attack,
    AttackSettings,
    Paraphraser,
    check_paraphrases,
)
from crowd.attacks.paraphrase import paraphrase_table

SCPN_TEMPLATE = "S ( SBAR ) ( , ) ( NP ) ( VP ) ( . )"


@dataclass(frozen=True, kw_only=True)
class SynBkd(Attack):
    """Replace the text by its syntactic paraphrase from ``paraphraser``."""

    name = "synbkd"
    needs_paraphrases = True
    # OpenBackdoor's configs/syntactic_config.json and the shared files: dirty-label (mix)
    PRESETS = {OPENBACKDOOR: {"variant": "dirty"}, OPENBACKDOOR_SHARED: {"variant": "dirty"}}
    paraphraser: Paraphraser
    template: str = SCPN_TEMPLATE

    @classmethod
    def from_settings(cls, settings: AttackSettings) -> SynBkd:
        """Paraphrases from ``settings.paraphrases``, else the shared OpenBackdoor folder of the dataset."""
        s = settings
        table = paraphrase_table(cls.name, s.dataset, s.target_label, s.data, s.paraphrases)
        return cls(paraphraser=table, **s.common)

    def apply(self, texts: Sequence[str], generator: np.random.Generator) -> list[str | None]:
        return check_paraphrases(self.paraphraser(list(texts)), len(texts))
