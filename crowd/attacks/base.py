"""What every attack shares: target label, poison rate, variant, and a text transform.

Variants and OpenBackdoor's flags (THEORY §6):

=============  =====================================================  ==============================
variant        rows the poisoned ones are drawn from                  OpenBackdoor
=============  =====================================================  ==============================
``dirty``      any training row (both labels), relabelled to target   default; folder ``mix/``
``clean``      target-label rows only (label-consistent)              ``label_consistency=True``;
                                                                      folder ``clean/``
``non_target`` non-target rows only (every poisoned row flips)        ``label_dirty=True``;
                                                                      folder ``dirty/``
=============  =====================================================  ==============================

``poison_rate`` is a fraction of the whole training set: ``int(rate * len(train))``
rows are poisoned, as in OpenBackdoor.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol

import numpy as np

VARIANTS = ("dirty", "clean", "non_target")
# Presets an attack class may carry (its PRESETS): OpenBackdoor's shipped configs; how the shared files were made.
OPENBACKDOOR = "openbackdoor"
OPENBACKDOOR_SHARED = "openbackdoor-shared"
OPENBACKDOOR_SETTING = {"dirty": "mix", "clean": "clean", "non_target": "dirty"}


class Paraphraser(Protocol):
    """A text generator: one output per input, ``None`` where it has no paraphrase."""

    def __call__(self, texts: Sequence[str]) -> list[str | None]: ...


@dataclass(frozen=True)
class AttackSettings:
    """Plain settings every attack is built from: what ``crowd poison``'s flags and an ``[attack]`` table say,
    with the preset and the toolkit's defaults already applied (:func:`crowd.attacks.factory.make_attack`).

    Each attack's :meth:`Attack.from_settings` reads the keys it needs and ignores the others. ``dataset``,
    ``data`` (the data root) and ``paraphrases`` locate pre-generated paraphrases; ``graph`` is the synonym
    graph, loaded only for attacks with ``needs_graph``.
    """

    dataset: str
    target_label: int
    poison_rate: float
    variant: str
    num_triggers: int
    triggers: tuple[str, ...]
    sentence: str
    style: str
    num_substitutions: int
    paraphrases: str | os.PathLike[str] | None = None
    data: str | os.PathLike[str] | None = None
    graph: Any = None

    @property
    def common(self) -> dict[str, Any]:
        """The keyword arguments every attack takes: ``target_label``, ``poison_rate``, ``variant``."""
        return {"target_label": self.target_label, "poison_rate": self.poison_rate, "variant": self.variant}


@dataclass(frozen=True, kw_only=True)
class Attack:
    """Base class. Subclasses set ``name``, implement :meth:`apply`, and are registered in
    :data:`crowd.attacks.ATTACKS` (see ``docs/extending.md``).

    ``apply(texts, generator)`` returns one poisoned text per input, or ``None``
    where the attack cannot poison that text (e.g. no paraphrase available); the
    caller reports every ``None``, it never keeps such a text as if poisoned.

    ``needs_graph`` / ``needs_paraphrases`` tell the commands what to load before
    :meth:`from_settings` builds the attack (a synonym graph; a paraphrase folder).

    ``PRESETS`` maps a preset name (``attack.preset``, ``crowd poison --preset``) to the
    :class:`AttackSettings` keys it fixes (``variant``, ``num_triggers``, ``triggers``, ``sentence``,
    ``style``); a key the user gives overrides it. An attack without an entry refuses that preset by name.
    """

    name: ClassVar[str] = "base"
    needs_graph: ClassVar[bool] = False
    needs_paraphrases: ClassVar[bool] = False
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}
    target_label: int = 1
    poison_rate: float = 0.1
    variant: str = "dirty"

    def __post_init__(self) -> None:
        if not 0.0 <= self.poison_rate <= 1.0:
            raise ValueError(f"poison_rate must be in [0, 1], got {self.poison_rate}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.target_label < 0:
            raise ValueError("target_label must be a non-negative integer")

    @classmethod
    def from_settings(cls, settings: AttackSettings) -> Attack:
        """The attack ``settings`` describe; this default passes only the common keys (target, rate, variant)."""
        return cls(**settings.common)

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """The attack's own parameters (its dataclass fields, the common ones included)."""
        return tuple(f.name for f in fields(cls))

    def apply(self, texts: Sequence[str], generator: np.random.Generator) -> list[str | None]:
        raise NotImplementedError

    def for_split(self, split: str) -> Attack:
        """The attack as applied to ``split`` (``train``/``dev``/``test``).

        Attacks with a pre-generated ``paraphraser`` that has a ``for_split`` view use it,
        so each split gets the paraphrases generated for that split's own rows.
        """
        view = getattr(getattr(self, "paraphraser", None), "for_split", None)
        return dataclasses.replace(self, paraphraser=view(split)) if callable(view) else self

    def params(self) -> dict[str, Any]:
        """JSON-able parameters for the manifest (objects such as graphs are described)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _describe(value)
        return out


def _describe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [_describe(v) for v in value]
    describe = getattr(value, "describe", None)
    if callable(describe):
        return describe()
    content_hash = getattr(value, "content_hash", None)
    if callable(content_hash):
        return {"type": type(value).__name__, "content_hash": content_hash()}
    return {"type": type(value).__name__, "name": getattr(value, "__name__", repr(value))}


def insert_words(words: list[str], inserted: Sequence[str], position: int) -> list[str]:
    """``words`` with ``inserted`` placed before index ``position`` (``len(words)`` = at the end)."""
    return words[:position] + list(inserted) + words[position:]


def check_paraphrases(outputs: Sequence[str | None], n: int) -> list[str | None]:
    """A paraphraser's outputs, checked for count; empty outputs count as missing (``None``)."""
    outputs = list(outputs)
    if len(outputs) != n:
        raise ValueError(f"paraphraser returned {len(outputs)} texts for {n} inputs")
    return [o if o is not None and o.strip() else None for o in outputs]
