"""Every registered defense: its registry name, kind, settings and code version (no victim, no training)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from pathlib import Path

import pytest

from crowd.bench.spec import cell_kind
from crowd.bench.version import cell_modules
from crowd.config import ConfigError
from crowd.defenses import DEFENSES, NO_DEFENSE, Defense, InputCorrector, InputDetector, TrainingFilter
from crowd.methods import METHODS
from crowd.pipelines.defend import DefenseConfig, build_defense

ROOT = Path(__file__).resolve().parents[1] / "crowd"

# Each kind: the methods its base class leaves to the defense (they raise NotImplementedError there).
KINDS = {InputCorrector: ("correct",), InputDetector: ("statistic",), TrainingFilter: ("fit", "keep_mask")}


def defaults(cls) -> dict:
    """The settings and their defaults (``crowd defend`` builds a defense from these)."""
    return {f.name: f.default for f in dataclasses.fields(cls)}


@pytest.fixture
def no_preflight(monkeypatch):
    """ONION's check that its language model is installed is not these tests' business."""
    monkeypatch.setattr(Defense, "preflight", lambda self: None)
    for cls in DEFENSES.values():
        monkeypatch.setattr(cls, "preflight", lambda self: None)


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
def test_settings_are_a_frozen_dataclass_and_fitting_adds_underscored_state(name):
    """The settings are frozen and checked when built; scikit-learn's rule for what fitting learns (``name_``)."""
    cls = DEFENSES[name]
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    params = defaults(cls)
    assert all(v is not dataclasses.MISSING for v in params.values()), params  # [defense] needs no key
    defense = cls()
    assert vars(defense) == params
    setting = next(iter(params))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(defense, setting, params[setting])
    defense.fitted_ = 1  # where fitting keeps what it learns
    assert defense.fitted_ == 1 and dataclasses.replace(defense) == cls()


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_the_defaults_are_a_table_the_class_accepts(name, no_preflight):
    """Every default passes the settings' own checks and survives a TOML-like round trip."""
    cls = DEFENSES[name]
    table = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cls()).items()}
    assert cls.from_table(table) == cls()
    assert build_defense(DefenseConfig(name, table), seed=0) == cls()


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_build_defense_checks_keys_and_fills_the_seed(name, no_preflight):
    cls = DEFENSES[name]
    with pytest.raises(
        ConfigError,
        match=rf"defense.params: unknown key\(s\) not_a_parameter; allowed: .*"
        rf"\(defense.name = '{name}'\)",
    ):
        build_defense(DefenseConfig(name, {"not_a_parameter": 1}), seed=0)
    defense = build_defense(DefenseConfig(name), seed=7, target_label=0)
    assert type(defense) is cls
    expected = defaults(cls) | {k: v for k, v in (("seed", 7), ("target_label", 0)) if k in defaults(cls)}
    assert vars(defense) == expected


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_a_value_of_the_wrong_type_names_its_key(name, no_preflight):
    hints = typing.get_type_hints(DEFENSES[name])
    key = next(f.name for f in dataclasses.fields(DEFENSES[name]) if hints[f.name] is int)
    with pytest.raises(ConfigError, match=rf"defense.params.{key}: expected int, got 'many'"):
        build_defense(DefenseConfig(name, {key: "many"}), seed=0)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("strip", {"repeat": 0}, r"defense.params: strip: repeat must be >= 1"),
        ("strip", {"frr": 1}, r"defense.params: frr must be in \[0, 1\), got 1.0 \(defense.name = 'strip'\)"),
        ("rap", {"step": "fast"}, r"defense.params: rap: step must be 'normalized' or 'released'"),
        ("rap", {"prob_range": [-0.1]}, r"defense.params: rap: prob_range is the \(upper, lower\)"),
        ("onion", {"quantiles": []}, r"defense.params: onion: quantiles must be non-empty"),
        ("onion", {"threshold": "low"}, r"defense.params.threshold: expected float, got 'low'"),
        ("bki", {"sample_size": -1}, r"defense.params: bki: sample_size must be >= 0"),
    ],
)
def test_a_value_out_of_range_says_what_is_expected(name, params, message, no_preflight):
    with pytest.raises(ConfigError, match=message):
        build_defense(DefenseConfig(name, params), seed=0)


def test_the_python_constructor_checks_the_same_settings():
    with pytest.raises(ValueError, match="swap_ratio in"):
        DEFENSES["strip"](swap_ratio=0.0)
    rap = DEFENSES["rap"](prob_range=[0, -1])  # Python: a list and ints become the frozen tuple of floats
    assert rap.prob_range == (0.0, -1.0) and isinstance(DEFENSES["onion"](quantiles=[0.5]).quantiles, tuple)


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_evaluate_takes_explicit_arguments_not_a_pipeline_config(name):
    """``evaluate`` is handed the victim, the corpus, the target label and the seed: no config object."""
    params = inspect.signature(DEFENSES[name].evaluate).parameters
    assert list(params)[:4] == ["self", "victim", "corpus", "summary"]
    assert {p: params[p].kind for p in ("target_label", "seed", "store")} == dict.fromkeys(
        ("target_label", "seed", "store"), inspect.Parameter.KEYWORD_ONLY
    )
    assert "config" not in params


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (``if TYPE_CHECKING:`` blocks included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_defenses_know_nothing_of_the_pipelines_above_them():
    """Not even for type checkers: a defense is handed explicit values, never ``crowd defend``'s config."""
    offenders = {
        f"{path.name}: {name}"
        for path in sorted((ROOT / "defenses").glob("*.py"))
        for name in _imports(path)
        if name.split(".")[:2] in (["crowd", "pipelines"], ["crowd", "bench"], ["crowd", "commands"])
    }
    assert not offenders, offenders


def test_the_undefended_victim_is_named_through_no_defense():
    """The benchmark code and the defend pipeline compare a method with ``NO_DEFENSE``, never with ``"none"``."""
    files = [*sorted((ROOT / "bench").glob("*.py")), ROOT / "pipelines" / "defend.py"]
    offenders = [
        f"{path.relative_to(ROOT.parent)}:{node.lineno}"
        for path in files
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Compare)
        and any(isinstance(c, ast.Constant) and c.value == NO_DEFENSE for c in [node.left, *node.comparators])
    ]
    assert not offenders, offenders


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_its_code_is_in_the_rows_code_version(name):
    """A change to the defense's module or any class it builds on makes its benchmark rows stale."""
    modules = cell_modules("defend", name, {})
    for k in DEFENSES[name].__mro__:
        assert k.__module__ in modules or not k.__module__.startswith("crowd."), (name, k)
