"""What a benchmark's grid is made of, beneath the configs and the renderers: the layout names, the kinds of
cell, one attack of the grid and one cell.

:mod:`crowd.bench.spec` reads configs into cells; :mod:`crowd.bench.render`, :mod:`crowd.bench.markdown` and
:mod:`crowd.bench.summary` draw them. They all import this module, and it imports none of them, so the
configs and the tables never import each other in a circle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from crowd.bench.version import code_version
from crowd.methods import METHODS

# The layouts a config's ``layout`` may name; each has its table, summary and plot in
# ``crowd.bench.render.LAYOUTS`` (a test keeps the two lists equal).
LAYOUT_NAMES = ("table2", "wordgroups", "table3", "figure2", "curve", "triggers")
TEST_SIDE = ("ciss",)  # test-side certificates that train their own model (crowd.ciss), not a certify config


def is_certified(method: str) -> bool:
    return method in METHODS


def cell_kind(method: str) -> str:
    """``certify`` (a method of :data:`crowd.methods.METHODS`), ``ciss`` (ConvexCertify, :mod:`crowd.ciss`:
    settings from the ``ciss`` table of ``[method_set.ciss]``) or ``defend`` (``none`` and the defenses)."""
    return "certify" if is_certified(method) else "ciss" if method in TEST_SIDE else "defend"


@dataclass(frozen=True)
class AttackSpec:
    """One attack of the grid: its poison rates, variant and constructor parameters (``params``)."""

    name: str
    rates: tuple[float, ...] = (0.1,)
    variant: str | None = None  # unset: the preset's, else dirty
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # a row label when one attack appears with several parameter sets (e.g. trigger sizes)

    @property
    def row_name(self) -> str:
        """How rows and a scale's ``attacks`` filter name it: ``badnets``, or ``badnets (dirty)`` with a label."""
        return f"{self.name} ({self.label})" if self.label else self.name


@dataclass(frozen=True)
class Cell:
    """One result row to compute: a method (or a variant of one) on one poisoned corpus, with its config table."""

    dataset: str
    attack: AttackSpec
    rate: float
    method: str
    scale: str
    config: dict[str, Any]
    base: str = ""
    note: str = ""  # a variant's own "how ours differs" note (``[variants.LABEL] note``)

    @property
    def runs(self) -> str:
        """The method or defense the cell runs (its grid label may name a variant of it)."""
        return self.base or self.method

    @property
    def kind(self) -> str:
        return cell_kind(self.runs)

    @property
    def cell_id(self) -> str:
        """Stable id: the grid coordinates plus a hash of everything that determines the result."""
        spec = {"attack": self.attack.__dict__, "config": self.config, "kind": self.kind}
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:10]
        a = self.attack
        label = f"{a.name}{'[' + a.label + ']' if a.label else ''}-{a.variant or a.params.get('preset') or 'dirty'}"
        return f"{self.scale}/{self.dataset}/{label}@{self.rate:g}/{self.method}/{digest}"

    @property
    def code_version(self) -> str:
        """Hash of the source files that compute this cell's row (:mod:`crowd.bench.version`); kept out
        of :attr:`cell_id`, so rows stay addressable when the code changes."""
        return code_version(self.kind, self.runs, self.config)

    @property
    def slug(self) -> str:
        return self.cell_id.replace("/", "_").replace("@", "-").replace("[", "_").replace("]", "")

    def resources(self) -> set[str]:
        """Bench resources named anywhere in the cell's config."""
        return set(resource_names(self.config))


def resource_names(table: Any) -> Iterator[str]:
    """The ``NAME`` of every ``{resource = NAME}`` in ``table`` (:func:`crowd.bench.spec.resolve_resources`)."""
    if isinstance(table, Mapping):
        if set(table) == {"resource"}:
            yield table["resource"]
        else:
            for value in table.values():
                yield from resource_names(value)
