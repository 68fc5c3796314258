"""Every registered defense: its registry name, kind, parameters and code version (no victim, no training)."""

from __future__ import annotations

import inspect

import pytest

from crowd.bench.spec import cell_kind
from crowd.bench.version import cell_modules
from crowd.defenses import DEFENSES, NO_DEFENSE, InputCorrector, InputDetector, TrainingFilter
from crowd.methods import METHODS
from crowd.pipelines.defend import DefenseConfig, build_defense

# Each kind: the methods its base class leaves to the defense (they raise NotImplementedError there).
KINDS = {InputCorrector: ("correct",), InputDetector: ("statistic",), TrainingFilter: ("fit", "keep_mask")}


def defaults(cls) -> dict:
    """The constructor's parameters and their defaults (``crowd defend`` builds a defense from these)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.name != "self"}


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_the_name_routes_to_this_defense(name):
    """Configs, benchmark cells and tables find the defense by its registry key."""
    cls = DEFENSES[name]
    assert cls.name == name and name != NO_DEFENSE and name not in METHODS
    assert cell_kind(name) == "defend"  # a benchmark cell of it runs `crowd defend`, not a certificate


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_one_kind_and_its_methods_defined(name):
    cls = DEFENSES[name]
    (base,) = [k for k in KINDS if issubclass(cls, k)]
    assert cls.kind == base.kind
    for method in KINDS[base]:
        assert getattr(cls, method) is not getattr(base, method), f"{name} does not define {method}"


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_init_stores_its_parameters_and_nothing_fitted(name):
    """scikit-learn's rule: ``__init__`` keeps every parameter under its own name; fitting adds ``name_``."""
    cls = DEFENSES[name]
    params = defaults(cls)
    assert all(v is not inspect.Parameter.empty for v in params.values()), params  # [defense] needs no key
    assert vars(cls()) == params


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_build_defense_checks_keys_and_fills_the_seed(name, monkeypatch):
    cls = DEFENSES[name]
    if hasattr(cls, "preflight"):  # ONION's checks that its language model is installed: not this test's
        monkeypatch.setattr(cls, "preflight", lambda self: None)
    with pytest.raises(ValueError, match=f"unknown key.*not_a_parameter for {name}"):
        build_defense(DefenseConfig(name, {"not_a_parameter": 1}), seed=0)
    defense = build_defense(DefenseConfig(name), seed=7, target_label=0)
    assert type(defense) is cls
    expected = defaults(cls) | {k: v for k, v in (("seed", 7), ("target_label", 0)) if k in defaults(cls)}
    assert vars(defense) == expected


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_its_code_is_in_the_rows_code_version(name):
    """A change to the defense's module or any class it builds on makes its benchmark rows stale."""
    modules = cell_modules("defend", name, {})
    for k in DEFENSES[name].__mro__:
        assert k.__module__ in modules or not k.__module__.startswith("crowd."), (name, k)
