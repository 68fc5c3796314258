"""The package's shape: one reader of method, attack, learner, defense and layout names, torch-free config and
statistics, no import loops."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from crowd.attacks import ATTACKS
from crowd.bench.render import LAYOUTS
from crowd.defenses import DEFENSES
from crowd.methods import METHODS
from crowd.train.settings import LEARNERS

ROOT = Path(__file__).resolve().parents[1] / "crowd"
BENCHMARKS = ROOT.parent / "benchmarks"
# Files another change owns that still compare a registered name, each with the fix it needs. Remove an entry
# when its file is fixed (the test below fails if an entry no longer has anything to excuse).
PENDING: dict[tuple[str, str], str] = {}  # (family, path): why a comparison is still allowed there


def _names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [v for elt in node.elts for v in _names(elt)]
    return []


def _compared(paths: Iterable[Path], names: set[str]) -> dict[str, list[str]]:
    """``{file: ["line: names"]}`` for every comparison or ``match`` case that has one of ``names`` as a literal."""
    found: dict[str, list[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            operands = [node.left, *node.comparators] if isinstance(node, ast.Compare) else []
            if isinstance(node, ast.match_case):
                operands = [p.value for p in ast.walk(node.pattern) if isinstance(p, ast.MatchValue)]
            hits = {v for operand in operands for v in _names(operand)} & names
            if hits:
                line = getattr(node, "lineno", None) or node.pattern.lineno
                found.setdefault(path.relative_to(ROOT.parent).as_posix(), []).append(f"{line}: {sorted(hits)}")
    return found


def _offenders(kind: str, names: set[str], registry: Path, roots: tuple[Path, ...] = (ROOT, BENCHMARKS)) -> list[str]:
    paths = [p for root in roots for p in root.rglob("*.py") if not p.is_relative_to(registry)]
    found = _compared(paths, names)
    excused = {path for (k, path) in PENDING if k == kind}
    assert excused <= set(found), f"PENDING {kind} entries with nothing left to excuse: {excused - set(found)}"
    return [f"{path}:{hit}" for path, hits in sorted(found.items()) if path not in excused for hit in hits]


def test_only_the_registry_compares_method_names():
    offenders = _offenders("method", set(METHODS), ROOT / "methods")
    assert not offenders, "method names compared outside crowd/methods:\n" + "\n".join(offenders)


def test_only_the_registry_compares_attack_names():
    """Commands and pipelines ask the attack class (``needs_graph``, ``needs_paraphrases``, ``from_settings``)."""
    offenders = _offenders("attack", set(ATTACKS), ROOT / "attacks" / "__init__.py")
    assert not offenders, "attack names compared outside crowd.attacks.ATTACKS:\n" + "\n".join(offenders)


def test_only_the_registry_compares_learner_names():
    """Configs read a learner's sections and settings from ``LEARNERS`` (``SECTIONS``, ``from_sections``)."""
    offenders = _offenders("learner", set(LEARNERS), ROOT / "train" / "settings.py")
    assert not offenders, "learner names compared outside crowd.train.LEARNERS:\n" + "\n".join(offenders)


def test_only_the_registry_compares_defense_names():
    """Pipelines and benchmarks ask the defense class (``evaluate``, ``paper_note``, its parameters)."""
    offenders = _offenders("defense", set(DEFENSES), ROOT / "defenses" / "__init__.py")
    assert not offenders, "defense names compared outside crowd.defenses.DEFENSES:\n" + "\n".join(offenders)


def test_only_the_registry_compares_layout_names():
    """Rendering, summaries and plots ask ``crowd.bench.render.LAYOUTS`` for a layout's table, summary and plot.

    Only the benchmark code is read: layout names are common words that name other things elsewhere
    (``triggers`` is also an attack parameter)."""
    offenders = _offenders("layout", set(LAYOUTS), ROOT / "bench" / "render.py", (ROOT / "bench", BENCHMARKS))
    assert not offenders, "layout names compared outside crowd.bench.render.LAYOUTS:\n" + "\n".join(offenders)


def test_every_defense_says_how_it_departs_from_its_paper():
    from crowd.bench.render import definition_note

    for name, cls in DEFENSES.items():
        assert cls.paper_note and definition_note(name) == cls.paper_note, name


def test_learner_sections_are_config_sections():
    """Every table a learner reads is a field of CertifyConfig, and every learner-settings field is read."""
    import typing

    from crowd.pipelines.config import LEARNER_SECTIONS, CertifyConfig

    hints = typing.get_type_hints(CertifyConfig)
    settings_fields = {name for name, tp in hints.items() if tp in LEARNERS.values()}
    assert set(LEARNER_SECTIONS) == settings_fields
    for kind in LEARNERS.values():
        assert all(hints[section] in LEARNERS.values() for section in kind.SECTIONS), kind


def test_config_and_statistics_import_no_torch():
    code = (
        "import sys; import crowd.certify, crowd.pipelines.config, crowd.methods; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _module_imports(path: Path, package: str) -> set[str]:
    """What ``path`` imports from ``package`` when it runs (``if TYPE_CHECKING:`` imports are for type checkers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == package or m.startswith(package + ".")}


def test_no_import_loops_between_files():
    modules = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _module_imports(path, "crowd"):
            # a package import names its __init__; keep only edges to other files
            if imported in modules and imported != name and modules[imported].name != "__init__.py":
                targets.add(imported)
        graph[name] = targets
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle.extend([*stack[stack.index(nxt) :], nxt])
                return True
            if nxt not in state and visit(nxt, [*stack, nxt]):
                return True
        state[node] = 2
        return False

    for node in graph:
        if node not in state and visit(node, [node]):
            break
    assert not cycle, " -> ".join(cycle)


def test_old_noise_section_gets_one_clear_error():
    import pytest

    from crowd.config import ConfigError
    from crowd.pipelines.certify import load_certify_config

    with pytest.raises(ConfigError, match=r"\[noise\] section was replaced by \[method\]"):
        load_certify_config(None, ['noise.kind="safer"'])
    with pytest.raises(ConfigError, match="unknown method 'bogus'"):
        load_certify_config(None, ['method.name="bogus"'])
    with pytest.raises(ConfigError, match="partitions"):
        load_certify_config(None, ['method.name="crowd"', "method.partitions=3"])
    for bad, message in [
        ("max_radius=-1", "max_radius"),
        ('model.device="gpu0"', "device"),
        ('method.name="wang"', None),
    ]:
        if message is None:
            assert load_certify_config(None, [bad]).method.name == "wang"
            continue
        with pytest.raises(ConfigError, match=message):
            load_certify_config(None, [bad])
    with pytest.raises(ConfigError, match="beta_label"):
        load_certify_config(None, ['method.name="wang"', "method.beta_label=1.0"])


def test_resolved_config_round_trips_with_the_method_name(tmp_path):
    from crowd.config import to_dict
    from crowd.pipelines.certify import load_certify_config

    config = load_certify_config(None, ['method.name="dpa"', "method.partitions=7"])
    table = to_dict(config)
    assert table["method"] == {
        "name": "dpa",
        "partitions": 7,
        "spread": 1,
        "aggregation": "plurality",
        "class_weight": "balanced",
    }
    from crowd.config import from_dict
    from crowd.pipelines.config import CertifyConfig

    assert from_dict(CertifyConfig, table) == config


def test_production_code_does_not_import_the_test_helpers():
    """``crowd.testing`` serves the tests; the toy corpus (crowd.data.toy) and the smoke models
    (crowd.bench.resources) that commands use live in production packages."""
    testing = ROOT / "testing"
    offenders = [
        path.relative_to(ROOT.parent).as_posix()
        for path in ROOT.rglob("*.py")
        if not path.is_relative_to(testing) and _module_imports(path, "crowd.testing")
    ]
    assert not offenders, offenders
