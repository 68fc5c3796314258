"""The package's shape: one reader of method, attack, learner, defense and layout names, light modules that
import without torch, imports that only go down the layers, no import loops, few and marked lazy imports
(docs/extending.md, "Imports")."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from crowd.attacks import ATTACKS
from crowd.bench.grid import LAYOUT_NAMES
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
                found.setdefault(path.relative_to(ROOT.parent).as_posix(), []).append(
                    f"{line}: {sorted(hits)}"
                )
    return found


def _offenders(
    kind: str, names: set[str], registry: Path, roots: tuple[Path, ...] = (ROOT, BENCHMARKS)
) -> list[str]:
    paths = [p for root in roots for p in root.rglob("*.py") if not p.is_relative_to(registry)]
    found = _compared(paths, names)
    excused = {path for (k, path) in PENDING if k == kind}
    assert excused <= set(found), (
        f"PENDING {kind} entries with nothing left to excuse: {excused - set(found)}"
    )
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


# Where a registered name may stand as a string constant in crowd/ (docstrings aside): its registry's own code
# (the registry and each registered class's module), plus these places, each for the reason given. Anything
# else that spells a registered name is a per-name fact outside its registry: ask the class instead.
REGISTRIES = {
    "attack": ("crowd/attacks/",),
    "method": ("crowd/methods/",),
    "defense": ("crowd/defenses/",),
    "learner": ("crowd/train/settings.py", "crowd/train/learners/"),
    "layout": ("crowd/bench/grid.py", "crowd/bench/render.py"),
}
NAMED_ELSEWHERE = {
    ("attack", "crowd/pipelines/config.py"): "the built-in run's default attack (default.toml's)",
    ("learner", "crowd/pipelines/config.py"): "the built-in run's default learner",
    ("method", "crowd/pipelines/config.py"): "the built-in run's default method",
    ("defense", "crowd/pipelines/defend.py"): "crowd defend's default defense",
    (
        "learner",
        "crowd/bench/plots.py",
    ): "the frontier plot's colour per learner label (bow+NB, bow+vectors...)",
    ("learner", "crowd/bench/spec.py"): "'full' is also a benchmark scale",
    ("learner", "crowd/commands/bench.py"): "'full' is also a benchmark scale",
    (
        "method",
        "crowd/noise/synonym.py",
    ): "the noise distributions are named after the methods that draw them",
    ("method", "crowd/certify/certificate.py"): "DPA's certificate rule, also used by word partitions",
    ("method", "crowd/certify/finite_aggregation.py"): "DPA's certificate rule, also used by word partitions",
    ("method", "crowd/certify/runoff.py"): "DPA's certificate rule, also used by word partitions",
    ("method", "crowd/cli.py"): "'crowd' is also the program's name",
    ("method", "crowd/paths.py"): "'crowd' is also the program's name",
    ("layout", "crowd/attacks/badnets.py"): "'triggers' is also BadNets' parameter",
    ("layout", "crowd/attacks/factory.py"): "'triggers' is also BadNets' parameter",
    ("layout", "crowd/commands/certify.py"): "'triggers' is also BadNets' parameter",
    ("layout", "crowd/bench/markdown.py"): "'curve' is also a report's key",
    ("layout", "crowd/bench/plots.py"): "'curve' is also a report's key",
    ("layout", "crowd/pipelines/report_summary.py"): "'curve' is also a report's key",
}


def _spelled(path: Path, names: set[str]) -> list[str]:
    """``["line: name"]`` for every string constant of ``path`` (docstrings aside) that is one of ``names``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings
    ]


def test_registered_names_are_spelled_only_by_their_registry():
    """Every string constant in crowd/ that is a registered name of a family (attack, method, defense, learner,
    layout) stands in that family's registry or in a place NAMED_ELSEWHERE says why."""
    families = {
        "attack": set(ATTACKS),
        "method": set(METHODS),
        "defense": set(DEFENSES),
        "learner": set(LEARNERS),
        "layout": set(LAYOUT_NAMES),
    }
    offenders, excused = [], set()
    for path in sorted(ROOT.rglob("*.py")):
        where = path.relative_to(ROOT.parent).as_posix()
        for family, names in families.items():
            if where.startswith(REGISTRIES[family]):
                continue
            hits = _spelled(path, {n for n in names if isinstance(n, str)})
            if hits and (family, where) in NAMED_ELSEWHERE:
                excused.add((family, where))
            elif hits:
                offenders += [f"{where}:{hit} ({family})" for hit in hits]
    assert not offenders, "registered names spelled outside their registry:\n" + "\n".join(offenders)
    assert excused == set(NAMED_ELSEWHERE), (
        f"NAMED_ELSEWHERE entries with nothing left: {set(NAMED_ELSEWHERE) - excused}"
    )


def test_the_string_scan_finds_a_name_outside_its_registry(tmp_path):
    """The scan above sees a name in a dict key and a call argument, not in a docstring."""
    path = tmp_path / "x.py"
    path.write_text('"""badnets in a docstring."""\nTABLE = {"badnets": 1}\nf("rap")\n', encoding="utf-8")
    assert _spelled(path, {"badnets", "rap"}) == ["2: 'badnets'", "3: 'rap'"]


def test_every_layout_name_is_drawn():
    """A config may name the layouts of ``crowd.bench.grid.LAYOUT_NAMES`` (beneath the configs and the
    renderers); ``crowd.bench.render.LAYOUTS`` draws each of them, in the same order."""
    assert tuple(LAYOUTS) == LAYOUT_NAMES


def test_every_method_and_defense_shows_how_it_departs_from_its_paper():
    """Table 2's last column ("how ours differs") of a pending cell is its class's ``paper_note``."""
    from crowd.bench.grid import AttackSpec, Cell
    from crowd.bench.render import UNDEFENDED_NOTE, table2
    from crowd.defenses import NO_DEFENSE

    notes = {name: cls.paper_note for name, cls in {**METHODS, **DEFENSES}.items()}
    notes[NO_DEFENSE] = UNDEFENDED_NOTE
    for name, note in notes.items():
        assert note and "|" not in note and "\n" not in note, name  # one table cell
        cell = Cell("sst2", AttackSpec("badnets"), 0.1, name, "smoke", {})
        row = table2([cell], {}, [1]).splitlines()[2]
        assert row.startswith(f"| sst2 | badnets (0.1) | — | {name} | pending |"), row
        assert row.endswith(f"| {note} |"), (name, row)


def test_learner_sections_are_config_sections():
    """Every table a learner reads is a field of CertifyConfig, and every learner-settings field is read."""
    import typing

    from crowd.pipelines.config import LEARNER_SECTIONS, CertifyConfig

    hints = typing.get_type_hints(CertifyConfig)
    settings_fields = {name for name, tp in hints.items() if tp in LEARNERS.values()}
    assert set(LEARNER_SECTIONS) == settings_fields
    for kind in LEARNERS.values():
        assert all(hints[section] in LEARNERS.values() for section in kind.SECTIONS), kind


# The modules that may import torch (at the top, like every import). Every other module is light: it imports
# without torch, so the CLI's --help, config reading and table rendering stay fast. A light module reaches
# heavy code only through a function-level import marked ``# lazy: <reason>``.
HEAVY = {
    "crowd.bench.cells",
    "crowd.ciss",  # ConvexCertify trains and bounds with torch
    "crowd.ciss.certify",
    "crowd.ciss.classifier",
    "crowd.ciss.model",
    "crowd.ciss.settings",
    "crowd.ciss.train",
    "crowd.bench.resources",
    "crowd.bench.runner",
    "crowd.defenses.lm",
    "crowd.pipelines.defend",
    "crowd.testing",
    "crowd.testing.cli",  # its package re-exports the tiny BERT (torch)
    "crowd.testing.states",  # its package re-exports the tiny BERT (torch)
    "crowd.testing.toy_task",
    "crowd.train.common",
    "crowd.train.frozen",
    "crowd.train.learners.full",
    "crowd.train.learners.head",
    "crowd.train.learners.partial",
    "crowd.train.learners.static",
    "crowd.train.models",
    "crowd.train.partial",
    "crowd.victim",
    "crowd.victim.model",
    "crowd.victim.store",
}
ENTRY_POINTS = {"crowd.__main__"}  # runs the CLI when imported


PACKAGES = ("crowd", "synonyms")
# The benchmark scripts: above the package's layers, run by hand, never imported by it.
SCRIPTS = ("benchmarks",)


def _all_modules(roots: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """``{module name: file}`` for every module of ``roots`` (``crowd`` and ``synonyms`` unless told)."""
    modules = {}
    for root in (ROOT.parent / name for name in roots):
        for path in root.rglob("*.py"):
            rel = path.relative_to(ROOT.parent).with_suffix("")
            modules[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = path
    return modules


LIGHT = sorted(set(_all_modules()) - HEAVY - ENTRY_POINTS)


def test_light_modules_import_no_torch():
    """Configs, statistics, the registries, the CLI and its --help, and table rendering import without torch."""
    assert not HEAVY - set(_all_modules()), sorted(HEAVY - set(_all_modules()))
    code = f"import importlib, sys; [importlib.import_module(m) for m in {LIGHT!r}]; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if out.stdout.strip() != "False":  # name the culprits
        check = "import importlib, sys, {0}; print('torch' in sys.modules)"
        culprits = [
            m
            for m in LIGHT
            if subprocess.run(
                [sys.executable, "-c", check.format(m)], capture_output=True, text=True, check=True
            ).stdout.strip()
            == "True"
        ]
        raise AssertionError(f"light modules that import torch: {culprits}")


def test_config_and_statistics_import_no_torch():
    assert {"crowd.certify", "crowd.pipelines.config", "crowd.methods", "crowd.train.settings"} <= set(LIGHT)
    assert {"crowd", "crowd.cli", "crowd.config", "crowd.data", "crowd.bench.render"} <= set(LIGHT)
    assert {m for m in _all_modules() if m.startswith("crowd.commands.")} <= set(LIGHT)


# Layers, lowest first: a module imports (at the top or in a function) only modules of its own layer or below.
# A module belongs to the layer of the longest entry that is its name or a package above it.
LAYERS = (
    # the synonym-graph package, which never imports crowd
    ("synonyms",),
    # foundations
    (
        "crowd",
        "crowd.codehash",
        "crowd.config",
        "crowd.io",
        "crowd.paths",
        "crowd.report",
        "crowd.seeding",
        "crowd.text",
    ),
    # statistics, corpora, noise
    ("crowd.certify", "crowd.data", "crowd.noise"),
    # poisoners; learners and their runner
    ("crowd.attacks", "crowd.train"),
    # certified methods; the victim of the empirical defenses
    ("crowd.methods", "crowd.victim"),
    # empirical defenses (run on a victim)
    ("crowd.defenses",),
    # crowd certify / crowd defend as functions; ConvexCertify's classifier (its certificates are theirs)
    ("crowd.pipelines", "crowd.ciss"),
    # benchmarks, the CLI, test helpers
    ("crowd.__main__", "crowd.bench", "crowd.cli", "crowd.commands", "crowd.testing"),
    # the benchmark scripts (benchmarks/), which use the package and which it never imports
    ("benchmarks",),
)


def _layer(module: str) -> int:
    best = max(
        (
            (len(entry), i)
            for i, entries in enumerate(LAYERS)
            for entry in entries
            if module == entry or (entry != "crowd" and module.startswith(entry + "."))
        ),
        default=None,
    )
    assert best is not None, f"{module} is in no layer of LAYERS"
    return best[1]


def _typing_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` in ``tree`` (imports for type checkers only)."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for stmt in node.body
        for inner in ast.walk(stmt)
    }


def _runtime_imports(path: Path, modules: dict[str, Path], typing: bool = False) -> set[str]:
    """The modules of ``modules`` that ``path`` imports when it runs, at the top or in a function (``from a import
    b`` names ``a`` and, when there is one, the submodule ``a.b``); with ``typing``, also those imported under
    ``if TYPE_CHECKING:`` (for type checkers only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = set() if typing else _typing_only(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name in modules}


# The package's public face: ``crowd.CertifiedClassifier`` is re-exported by the root package on first use (a
# function-level import in ``crowd/__init__.py``), the one import allowed to go up.
FACADE = {("crowd", "crowd.pipelines"), ("crowd", "crowd.pipelines.classifier")}


def test_no_module_imports_a_higher_layer():
    modules = _all_modules(PACKAGES + SCRIPTS)
    offenders = [
        f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})"
        for name, path in sorted(modules.items())
        for target in sorted(_runtime_imports(path, modules))
        if _layer(target) > _layer(name) and (name, target) not in FACADE
    ]
    assert not offenders, "\n".join(offenders)


# Files another change owns that still hold function-level imports without a ``# lazy:`` reason; they count
# toward MAX_LAZY. Remove an entry when its file is fixed (the test fails if it has nothing left to excuse).
PENDING_LAZY: dict[str, str] = {}  # file: why its unmarked function-level imports are still allowed
# 1 re-exports crowd.CertifiedClassifier; 5 keep `crowd predict` with the bow learner free of torch, scikit-learn and
# scipy.stats; +1 loads bow.vectors' word-vector table (gensim) only when it is named; +2 keep `crowd certify` with the
# bow learner free of torch and transformers: synonyms.counterfit imports torch (2) only when a graph is built
# (crowd.train.devices' torch and the runner's model check replace crowd.pipelines.fitting's 2, now top-level)
# +1 crowd predict loads a ConvexCertify folder (crowd.ciss, torch) only when it is given one
MAX_LAZY = 30
# benchmarks/: 3 keep the device script's parts apart (each worker job imports its own part; the dry run's tiny
# models come from crowd.testing); 3 let the device script check torch and transformers itself before using them;
# 1 keeps gensim out of the device's part c (crowd.pipelines.corpus, part b's graph); 1 keeps the synonym-graph
# build child's measured peak memory the build's own (the SAFER table's reader, --sweep only)
MAX_LAZY_SCRIPTS = 8
LAZY = re.compile(r"#\s*lazy:\s*\S")


def _function_imports(path: Path) -> list[ast.stmt]:
    """Import statements inside a function body (``if TYPE_CHECKING:`` blocks do not count)."""
    found: list[ast.stmt] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(child, ast.If)
                and isinstance(child.test, ast.Name)
                and child.test.id == "TYPE_CHECKING"
            ):
                continue
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(
                child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            )

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _function_imports_by_file(roots: tuple[str, ...]) -> tuple[int, dict[str, list[str]]]:
    """How many function-level imports the modules of ``roots`` hold, and ``{file: ["file:line: import"]}`` of
    those without a ``# lazy: <reason>`` on the statement."""
    total, unmarked = 0, {}
    for path in sorted(_all_modules(roots).values()):
        lines = path.read_text(encoding="utf-8").splitlines()
        rel = path.relative_to(ROOT.parent).as_posix()
        for node in _function_imports(path):
            total += 1
            if not any(LAZY.search(line) for line in lines[node.lineno - 1 : node.end_lineno]):
                unmarked.setdefault(rel, []).append(f"{rel}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return total, unmarked


@pytest.mark.parametrize(
    ("roots", "most"), [(PACKAGES, MAX_LAZY), (SCRIPTS, MAX_LAZY_SCRIPTS)], ids=["package", "benchmarks"]
)
def test_function_level_imports_are_few_and_marked_lazy(roots, most):
    """Every module imports what it uses at the top; a function-level import is a light module reaching heavy
    code (or an optional dependency) and says why on the statement: ``# lazy: <reason>``. The benchmark
    scripts follow the same rule, counted apart (a script that always needs torch imports it at the top)."""
    total, unmarked = _function_imports_by_file(roots)
    pending = {rel for rel in PENDING_LAZY if rel.split("/")[0] in roots}
    assert pending <= set(unmarked), f"PENDING_LAZY entries with nothing left: {pending - set(unmarked)}"
    offenders = [line for rel, found in unmarked.items() if rel not in PENDING_LAZY for line in found]
    assert not offenders, "function-level imports without '# lazy: <reason>':\n" + "\n".join(offenders)
    assert total <= most, f"{total} function-level imports in {', '.join(roots)} (at most {most})"


def _module_imports(path: Path, package: str) -> set[str]:
    """What ``path`` imports from ``package`` when it runs (``if TYPE_CHECKING:`` imports are for type checkers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _typing_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == package or m.startswith(package + ".")}


def _path(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The shortest chain of imports from ``start`` to ``goal`` (breadth first), or ``None``."""
    parent: dict[str, str | None] = {start: None}
    queue = [start]
    for node in queue:
        if node == goal:
            chain = [node]
            while parent[chain[-1]] is not None:
                chain.append(parent[chain[-1]])
            return chain[::-1]
        for nxt in sorted(graph[node] - set(parent)):
            parent[nxt] = node
            queue.append(nxt)
    return None


def test_no_import_loops_between_files():
    """No chain of imports leads from a file back to itself, over the package and the benchmark scripts.

    Every import counts: one in a function, and one under ``if TYPE_CHECKING:`` (a loop a type checker
    sees is the same tangle: the pieces both sides need belong in a lower module). An edge to a package
    counts (its ``__init__`` runs); the package's facade (:data:`FACADE`) is the one import allowed to go up."""
    modules = _all_modules(PACKAGES + SCRIPTS)
    graph = {
        name: {
            target
            for target in _runtime_imports(path, modules, typing=True)
            if target != name and (name, target) not in FACADE
        }
        for name, path in modules.items()
    }
    loops: dict[frozenset[str], str] = {}  # one chain per set of files in a loop
    for name in sorted(graph):
        for target in sorted(graph[name]):
            back = _path(graph, target, name)
            if back is not None:
                loops.setdefault(frozenset(back), " -> ".join([name, *back]))
    assert not loops, "import loops:\n" + "\n".join(sorted(loops.values()))


def _bound_names(init: Path, package: str) -> dict[str, int]:
    """``{name: line}`` of what a package's ``__init__`` binds at its top level, other than its own submodules."""
    bound = {}
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            own = node.module == package and node.level == 0  # ``from pkg import sub`` binds the submodule
            bound.update({alias.asname or alias.name: node.lineno for alias in node.names if not own})
        elif isinstance(node, ast.Import):
            bound.update({alias.asname: node.lineno for alias in node.names if alias.asname})
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound[node.name] = node.lineno
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update({t.id: node.lineno for t in targets if isinstance(t, ast.Name)})
    return bound


def test_no_package_name_shadows_a_submodule():
    """``pkg.name`` is one thing: a package binds no name of its own submodules (importing the submodule would
    rebind it: ``crowd.bench.cells`` is the module that computes a cell, the grid is ``crowd.bench.spec.cells``)."""
    offenders = []
    for name, path in sorted(_all_modules(PACKAGES + SCRIPTS).items()):
        if path.name != "__init__.py":
            continue
        submodules = {p.stem for p in path.parent.glob("*.py")} | {
            p.name for p in path.parent.iterdir() if (p / "__init__.py").is_file()
        }
        offenders += [
            f"{path.relative_to(ROOT.parent)}:{line}: {bound} is also the submodule {name}.{bound}"
            for bound, line in sorted(_bound_names(path, name).items())
            if bound in submodules - {"__init__"}
        ]
    assert not offenders, "\n".join(offenders)


def test_old_noise_section_gets_one_clear_error():
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


def _readme_layout() -> str:
    """The code block of the README's "Layout" section."""
    readme = (ROOT.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def _folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def _left_out(layout: str) -> list[str]:
    """The project's folders (crowd's sub-packages and crowd/train's, the top-level ones) ``layout`` does not draw."""
    drawn = set(re.findall(r"(?:^|\s)(\w+)/(?=\s)", layout, flags=re.M))
    top = ["crowd", "synonyms", "requirements", "tests", "benchmarks", "docs"]
    return [f for f in [*top, *_folders(ROOT), *_folders(ROOT / "train")] if f not in drawn]


def test_the_readme_layout_names_every_folder():
    assert _left_out(_readme_layout()) == []


def test_the_layout_check_finds_a_folder_left_out():
    assert _left_out(_readme_layout().replace("ciss/", "ciss")) == ["ciss"]
