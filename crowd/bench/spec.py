"""Benchmark configs (TOML) and the grid of cells they describe.

A benchmark config names a table or figure (``layout``), the grid
(datasets × attacks × poison rates × methods) and the overrides that turn each
cell into a ``crowd certify`` config (methods ``crowd``, ``safer``, ``wang``) or a
``crowd defend`` config (methods ``none``, ``bki``, ``onion``, ``strip``, ``rap``).
Three scales (``smoke``, ``cpu``, ``full``) add their own overrides and may restrict
the grid. Override strings may name bench resources as ``{tiny_bert}``,
``{tiny_lm}`` and ``{tiny_graph}`` (built by :mod:`crowd.bench.resources`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

CERTIFY_METHODS = ("crowd", "safer", "wang", "dpa")
DEFEND_METHODS = ("none", "bki", "onion", "strip", "rap")
SCALES = ("smoke", "cpu", "full")
LAYOUTS = ("table2", "table3", "figure2", "curve")


@dataclass(frozen=True)
class AttackSpec:
    """One attack of the grid: its poison rates, variant and constructor parameters (``params``)."""

    name: str
    rates: tuple[float, ...] = (0.1,)
    variant: str = "dirty"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScaleSpec:
    """Overrides of one scale; non-empty ``datasets``/``attacks``/``rates``/``methods`` restrict the grid."""

    certify: tuple[str, ...] = ()
    defend: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    attacks: tuple[str, ...] = ()
    rates: tuple[float, ...] = ()
    methods: tuple[str, ...] = ()
    method_set: dict[str, Any] = field(default_factory=dict)
    graph: str = ""  # synonym graph of the word-substitution attack in defend cells ("" = default graph)


@dataclass(frozen=True)
class BenchConfig:
    """A table or figure: its grid, base overrides, per-method overrides and scales."""

    name: str
    title: str
    layout: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    attacks: tuple[AttackSpec, ...]
    certify: tuple[str, ...] = ()
    defend: tuple[str, ...] = ()
    method_set: dict[str, Any] = field(default_factory=dict)
    radii: tuple[int, ...] = (1, 2, 5)
    notes: tuple[str, ...] = ()
    smoke: ScaleSpec = field(default_factory=ScaleSpec)
    cpu: ScaleSpec = field(default_factory=ScaleSpec)
    full: ScaleSpec = field(default_factory=ScaleSpec)

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        unknown = sorted(set(self.methods) - set(CERTIFY_METHODS + DEFEND_METHODS))
        if unknown:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}")

    def scale(self, name: str) -> ScaleSpec:
        if name not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {name!r}")
        return getattr(self, name)


@dataclass(frozen=True)
class Cell:
    """One result row to compute: a method on one poisoned corpus, with its resolved overrides."""

    dataset: str
    attack: AttackSpec
    rate: float
    method: str
    scale: str
    overrides: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "certify" if self.method in CERTIFY_METHODS else "defend"

    @property
    def cell_id(self) -> str:
        """Stable id: the grid coordinates plus a hash of everything that determines the result."""
        spec = {"attack": self.attack.__dict__, "overrides": list(self.overrides), "kind": self.kind}
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:10]
        a = self.attack
        return f"{self.scale}/{self.dataset}/{a.name}-{a.variant}@{self.rate:g}/{self.method}/{digest}"

    @property
    def slug(self) -> str:
        return self.cell_id.replace("/", "_").replace("@", "-")


def load_bench_config(path: str, overrides: Sequence[str] = ()) -> BenchConfig:
    """Read a benchmark config; ``overrides`` are ``key=value`` strings (TOML values)."""
    from crowd.config import load_toml

    return load_toml(BenchConfig, path, overrides)


def _keep(values: Sequence[Any], allowed: Sequence[Any]) -> list[Any]:
    return [v for v in values if not allowed or v in allowed]


def cells(
    config: BenchConfig, scale: str, certify_extra: Sequence[str] = (), defend_extra: Sequence[str] = ()
) -> list[Cell]:
    """Every cell of the grid at ``scale``; the ``*_extra`` overrides apply last to every cell of their kind."""
    s = config.scale(scale)
    out = []
    for dataset in _keep(config.datasets, s.datasets):
        for attack in (a for a in config.attacks if not s.attacks or a.name in s.attacks):
            for rate in _keep(attack.rates, s.rates):
                for method in _keep(config.methods, s.methods):
                    extra = certify_extra if method in CERTIFY_METHODS else defend_extra
                    overrides = _overrides(config, s, method, extra)
                    out.append(Cell(dataset, attack, rate, method, scale, overrides))
    return out


def _overrides(config: BenchConfig, s: ScaleSpec, method: str, extra: Sequence[str]) -> tuple[str, ...]:
    base, scaled = (config.certify, s.certify) if method in CERTIFY_METHODS else (config.defend, s.defend)
    per_method = (*config.method_set.get(method, ()), *s.method_set.get(method, ()))
    return (*base, *scaled, *per_method, *extra)
