"""Benchmark configs (TOML) and the grid of cells they describe.

A benchmark config names a table or figure (``layout``), the grid (datasets × attacks × poison rates ×
methods) and config TABLES that turn each cell into a ``crowd certify`` config (the certified methods of
:data:`crowd.methods.METHODS`) or a ``crowd defend`` config (``none`` and the defenses of
:data:`crowd.defenses.DEFENSES`). Tables are deep-merged in this order: ``[certify]``/``[defend]``, the
scale's own, ``[method_set.NAME]`` then ``[SCALE.method_set.NAME]``, the grid coordinates, and the
command line's ``--certify``/``--defend`` assignments. Three scales (``smoke``, ``cpu``, ``full``) may also
restrict the grid. ``[variants.LABEL]`` names a variant of a method for the grid (``runs = "textguard"``
plus config tables, e.g. ``method = { groups = 9 }``), merged after the method's tables. A value
``{ resource = "tiny_bert" }`` anywhere in a table stands for the path of a
bench resource built by :mod:`crowd.bench.resources` (``tiny_bert``, ``tiny_lm``, ``tiny_graph``).
``base = "FILE.toml"`` names a file (relative to the config) whose tables lie beneath this config's;
``paper = "FILE.toml"`` a file of published numbers the renderer prints beside ours; ``plot_with =
["FILE.toml"]`` other benchmark configs (relative to this one) whose rows, from the results folders beside
this table's, join its plots (the ``wordgroups`` layout's frontier).

A cell (:class:`Cell`) and an attack of the grid (:class:`AttackSpec`) are defined in :mod:`crowd.bench.grid`,
beneath this module and the renderers, and are importable from here too.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crowd.bench.grid import LAYOUT_NAMES, AttackSpec, Cell, cell_kind, is_certified
from crowd.config import ConfigError, from_overrides, set_dotted
from crowd.defenses import DEFENSES, NO_DEFENSE

DEFEND_METHODS = (NO_DEFENSE, *DEFENSES)
SCALES = ("smoke", "cpu", "full")


def base_method(label: str, variants: Mapping[str, Any]) -> str:
    """The method (or defense) a grid label stands for: a ``[variants.LABEL]`` entry's ``runs``, or itself.

    A variant's other keys are config overrides of its cells, except ``note``: its own line for the
    table's "how ours differs" column."""
    return variants[label]["runs"] if label in variants else label


@dataclass(frozen=True)
class ScaleSpec:
    """Config tables of one scale; non-empty ``datasets``/``attacks``/``rates``/``methods`` restrict the grid."""

    certify: dict[str, Any] = field(default_factory=dict)
    defend: dict[str, Any] = field(default_factory=dict)
    datasets: tuple[str, ...] = ()
    attacks: tuple[str, ...] = ()
    rates: tuple[float, ...] = ()
    methods: tuple[str, ...] = ()
    method_set: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchConfig:
    """A table or figure: its grid, base config tables, per-method tables and scales."""

    name: str
    title: str
    layout: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    attacks: tuple[AttackSpec, ...]
    base: str = ""
    certify: dict[str, Any] = field(default_factory=dict)
    defend: dict[str, Any] = field(default_factory=dict)
    method_set: dict[str, Any] = field(default_factory=dict)
    variants: dict[str, Any] = field(default_factory=dict)
    paper: str = ""
    radii: tuple[int, ...] = (1, 2, 5)
    notes: tuple[str, ...] = ()
    plot_with: tuple[str, ...] = ()  # other benchmark configs whose rows join this table's plots
    smoke: ScaleSpec = field(default_factory=ScaleSpec)
    cpu: ScaleSpec = field(default_factory=ScaleSpec)
    full: ScaleSpec = field(default_factory=ScaleSpec)

    def __post_init__(self) -> None:
        if self.layout not in LAYOUT_NAMES:
            raise ValueError(f"layout must be one of {', '.join(LAYOUT_NAMES)}, got {self.layout!r}")
        for label, variant in self.variants.items():
            if not isinstance(variant, Mapping) or "runs" not in variant:
                raise ValueError(f"variants.{label}: needs `runs` (the method or defense it runs)")
        bases = [base_method(m, self.variants) for m in self.methods]
        unknown = sorted(m for m in bases if cell_kind(m) == "defend" and m not in DEFEND_METHODS)
        if unknown:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}")

    def scale(self, name: str) -> ScaleSpec:
        if name not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {name!r}")
        return getattr(self, name)


def deep_merge(*tables: Mapping[str, Any]) -> dict[str, Any]:
    """Later tables override earlier ones key by key; nested tables merge."""
    out: dict[str, Any] = {}
    for table in tables:
        for key, value in table.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), dict) and "resource" not in value:
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(dict(value) if isinstance(value, Mapping) else value)
    return out


def resolve_resources(table: Any, paths: Mapping[str, str]) -> Any:
    """``table`` with every ``{resource = NAME}`` replaced by ``paths[NAME]``."""
    if isinstance(table, Mapping):
        if set(table) == {"resource"}:
            return paths[table["resource"]]
        return {k: resolve_resources(v, paths) for k, v in table.items()}
    if isinstance(table, list):
        return [resolve_resources(v, paths) for v in table]
    return table


def load_bench_config(path: str, overrides: Sequence[str] = ()) -> BenchConfig:
    """Read a benchmark config (and its ``base`` file); ``overrides`` are ``key=value`` strings (TOML values)."""

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"benchmark config {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from e
    if data.get("base"):
        base_path = Path(path).parent / data["base"]
        data = deep_merge(tomllib.loads(base_path.read_text(encoding="utf-8-sig")), data)
    if isinstance(data.get("plot_with"), list):  # files relative to this config, like `base` and `paper`
        data["plot_with"] = [str(Path(path).parent / str(p)) for p in data["plot_with"]]
    return from_overrides(BenchConfig, data, str(path), overrides)


def _keep(values: Sequence[Any], allowed: Sequence[Any]) -> list[Any]:
    return [v for v in values if not allowed or v in allowed]


def cells(
    config: BenchConfig, scale: str, certify_extra: Sequence[str] = (), defend_extra: Sequence[str] = ()
) -> list[Cell]:
    """Every cell of the grid at ``scale``; the ``*_extra`` assignments apply last to every cell of their kind."""

    s = config.scale(scale)
    out = []
    for dataset in _keep(config.datasets, s.datasets):
        for attack in (a for a in config.attacks if not s.attacks or a.row_name in s.attacks):
            for rate in _keep(attack.rates, s.rates):
                for method in _keep(config.methods, s.methods):
                    base = base_method(method, config.variants)
                    table = _table(config, s, method, dataset, attack, rate)
                    extra = {"certify": certify_extra, "defend": defend_extra}.get(cell_kind(base), ())
                    for assignment in extra:
                        set_dotted(table, assignment)
                    note = config.variants.get(method, {}).get("note", "")
                    out.append(Cell(dataset, attack, rate, method, scale, table, base, note))
    return out


def _table(config: BenchConfig, s: ScaleSpec, label: str, dataset: str, attack: AttackSpec, rate: float):
    method = base_method(label, config.variants)
    certified = is_certified(method)
    kind = cell_kind(method)
    grid: dict[str, Any] = {
        "data": {"dataset": dataset},
        "attack": {
            "name": attack.name,
            "poison_rate": rate,
            **({"variant": attack.variant} if attack.variant else {}),
            **attack.params,
        },
    }
    if certified:
        grid["method"] = {"name": method}
    elif method != NO_DEFENSE and kind == "defend":
        grid["defense"] = {"name": method}
    if kind == "ciss":  # its own settings; the corpus sizes and seed of the scale's certify table
        shared = [{k: t[k] for k in ("data", "seed") if k in t} for t in (config.certify, s.certify)]
    else:
        shared = [config.certify if certified else config.defend, s.certify if certified else s.defend]
    return deep_merge(
        *shared,
        config.method_set.get(method, {}),
        s.method_set.get(method, {}),
        {k: v for k, v in config.variants.get(label, {}).items() if k not in ("runs", "note")},
        grid,
    )
