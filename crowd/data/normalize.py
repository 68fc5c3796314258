"""Text normalisation: an explicit, documented step applied by the loaders.

The corpora differ in tokenisation: the HiddenKiller SST-2 copy writes
parentheses as PTB escapes (``-lrb-``/``-rrb-``), OpenBackdoor's copy writes
``(``/``)`` (sometimes glued to the next word), a few rows contain non-breaking
spaces, and tab-separated files pad fields with spaces. :class:`Normalization`
states what is done; :data:`DEFAULT` is what :func:`crowd.data.load_dataset`
applies unless told otherwise, :data:`RAW` keeps texts byte for byte (fields are
still stripped of the spaces around a separator, which belong to the format).

:func:`match_key` is a coarser key used only to *match* texts across copies with
different tokenisation (paraphrase tables, the OpenBackdoor comparison); it is
never used as a training text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PTB_ESCAPES = {
    "-lrb-": "(",
    "-rrb-": ")",
    "-lsb-": "[",
    "-rsb-": "]",
    "-lcb-": "{",
    "-rcb-": "}",
}
_PTB_RE = re.compile(r"-(?:lrb|rrb|lsb|rsb|lcb|rcb)-", re.IGNORECASE)


@dataclass(frozen=True)
class Normalization:
    """What to do to every text.

    - ``ptb_brackets``: ``-lrb-`` → ``(`` etc. (case-insensitive);
    - ``collapse_whitespace``: split on any Unicode whitespace (incl. NBSP, tabs)
      and rejoin with single spaces, which also strips both ends;
    - ``lowercase``: ``str.lower``.
    """

    ptb_brackets: bool = True
    collapse_whitespace: bool = True
    lowercase: bool = False

    def __call__(self, text: str) -> str:
        if self.ptb_brackets:
            text = _PTB_RE.sub(lambda m: PTB_ESCAPES[m.group(0).lower()], text)
        if self.collapse_whitespace:
            text = " ".join(text.split())
        if self.lowercase:
            text = text.lower()
        return text

    def describe(self) -> dict[str, bool]:
        return {
            "ptb_brackets": self.ptb_brackets,
            "collapse_whitespace": self.collapse_whitespace,
            "lowercase": self.lowercase,
        }


DEFAULT = Normalization()
RAW = Normalization(ptb_brackets=False, collapse_whitespace=False, lowercase=False)


def match_key(text: str) -> str:
    """A tokenisation-blind key: PTB escapes resolved, all whitespace removed, lower-cased."""
    text = _PTB_RE.sub(lambda m: PTB_ESCAPES[m.group(0).lower()], text)
    return "".join(text.split()).lower()
