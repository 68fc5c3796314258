"""StyleBkd: a text style as the trigger.

Qi, Chen, Zhang, Liu & Sun (2021), "Mind the Style of Text! Adversarial and
Backdoor Attacks Based on Text Style Transfer", EMNLP, arXiv:2110.07139.

Each poisoned text is the STRAP style transfer of the clean text (Bible style by
default, OpenBackdoor's ``style_id=0``). As for SynBkd the generator is passed in
(``paraphraser``): a user's STRAP model as a callable, or a
:class:`~crowd.attacks.paraphrase.ParaphraseTable` built from StyleAttack's
transferred files or an OpenBackdoor poison folder. ``style`` is recorded in the
manifest; it must describe what the paraphraser produces. Texts without a
transfer are reported, never kept clean while counted as poisoned.
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

STYLES = ("bible", "lyrics", "poetry", "shakespeare", "tweets")


@dataclass(frozen=True, kw_only=True)
class StyleBkd(Attack):
    """Replace the text by its style-transferred version from ``paraphraser``."""

    name = "stylebkd"
    needs_paraphrases = True
    # OpenBackdoor's configs/style_config.json (style_id 0) and the shared files: dirty-label (mix), Bible style
    PRESETS = {
        OPENBACKDOOR: {"variant": "dirty", "style": "bible"},
        OPENBACKDOOR_SHARED: {"variant": "dirty", "style": "bible"},
    }
    paraphraser: Paraphraser
    style: str = "bible"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {self.style!r}")

    @classmethod
    def from_settings(cls, settings: AttackSettings) -> StyleBkd:
        """Transfers from ``settings.paraphrases``, else the shared (Bible style) folder of the dataset."""
        s = settings
        table = paraphrase_table(cls.name, s.dataset, s.target_label, s.data, s.paraphrases, s.style)
        return cls(paraphraser=table, style=s.style, **s.common)

    def apply(self, texts: Sequence[str], generator: np.random.Generator) -> list[str | None]:
        return check_paraphrases(self.paraphraser(list(texts)), len(texts))
