"""The code version of a benchmark cell: a hash of the source files that compute its row.

A cell's id (:attr:`crowd.bench.spec.Cell.cell_id`) hashes its configuration, not the code; a row
computed before a fix to, say, ``crowd/defenses/rap.py`` would otherwise look current forever. Each
row therefore stores ``code_version``, a sha256 (12 hex digits) over the code of a fixed list of
modules (their syntax trees without docstrings and imports: reformatting a file, moving an import
or a module keeps the version, changing what the code computes does not), and the runner
recomputes a row whose stored version differs from today's.

The rule, per family (one list, kept short on purpose; a file outside it does not invalidate rows):

* every cell: the attack's module (``crowd.attacks.<module>``), the poisoning and corpus code;
* ``ciss`` cells (ConvexCertify): the package ``crowd.ciss``, the cell runner and the test-side budget rule
  (``crowd.methods.synonym``);
* ``defend`` cells: the victim (``crowd.victim.model``, ``crowd.train.fine_tuning``, ``partial``, ``common``), the defend
  pipeline, the defenses' base class, evaluation and metrics, and the defense's own module (none for ``none``);
* ``certify`` cells: the run's settings and their defaults (``crowd.pipelines.config``, ``crowd.train.settings``,
  ``crowd.train.fine_tuning``: a cell's table leaves most keys to them), the certify pipeline and its summary, the
  statistics package ``crowd.certify`` (every file), the attack budget (``crowd.attacks.budget``) and the word-group
  rule (``crowd.text``), the vote runner, the method's module and those of its base classes (``crowd.methods.synonym``
  for CROWD and SAFER), the noise package (``crowd.noise``) for a method whose votes depend on it (``uses_noise``), and the modules of the
  learner ``model.learner`` names: its settings class lists them (``MODULES`` of
  :data:`crowd.train.settings.LEARNERS`, e.g. ``crowd.train.learners.head`` and the frozen encoder's feature code
  for ``head``), so a new learner brings its own list.

A package named in a list stands for every ``.py`` file in its folder. Rows written before this
existed have no ``code_version``: the renderer marks them "not verified against today's code".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crowd.attacks import ATTACKS
from crowd.codehash import modules_version
from crowd.defenses import DEFENSES
from crowd.methods import METHODS
from crowd.pipelines.config import ModelConfig
from crowd.train.settings import LEARNERS

COMMON = (
    "crowd.attacks.base",
    "crowd.attacks.poison",
    "crowd.attacks.factory",
    "crowd.pipelines.attack",
    "crowd.pipelines.corpus",
)
DEFEND = (
    "crowd.pipelines.defend",
    "crowd.defenses.base",
    "crowd.defenses.evaluation",
    "crowd.defenses.metrics",
    "crowd.victim.model",
    "crowd.train.fine_tuning",
    "crowd.train.partial",
    "crowd.train.common",
    "crowd.bench.cells",
)
CERTIFY = (
    "crowd.pipelines.config",
    "crowd.train.settings",
    "crowd.train.fine_tuning",
    "crowd.pipelines.certify",
    "crowd.pipelines.classifier",
    "crowd.seeding",
    "crowd.pipelines.report",
    "crowd.pipelines.report_metrics",
    "crowd.pipelines.report_summary",
    "crowd.pipelines.report_worlds",
    "crowd.certify",
    "crowd.attacks.budget",
    "crowd.text",
    "crowd.methods.base",
    "crowd.train.runner",
    "crowd.train.data",
    "crowd.train.common",
    "crowd.bench.cells",
)
DEFAULT_LEARNER = ModelConfig().learner  # what a cell that names no learner trains


def cell_modules(kind: str, runs: str, config: Mapping[str, Any]) -> tuple[str, ...]:
    """The modules whose source determines a cell's row (see the module docstring for the rule)."""
    modules = list(COMMON)
    attack = ATTACKS.get(config.get("attack", {}).get("name", ""))
    if attack is not None:
        modules.append(attack.__module__)
    if kind == "ciss":
        modules += ("crowd.ciss", "crowd.bench.cells", "crowd.methods.synonym")
    elif kind == "defend":
        modules += DEFEND
        if runs in DEFENSES:
            modules.append(DEFENSES[runs].__module__)
    else:
        modules += CERTIFY
        if runs in METHODS:  # the method's own module and those of the classes it builds on
            modules += [
                k.__module__ for k in reversed(METHODS[runs].__mro__) if k.__module__.startswith("crowd.")
            ]
            if METHODS[runs].uses_noise:
                modules.append("crowd.noise")
        learner = LEARNERS.get(config.get("model", {}).get("learner", DEFAULT_LEARNER))
        modules += learner.MODULES if learner is not None else ()
    return tuple(dict.fromkeys(modules))


def code_version(kind: str, runs: str, config: Mapping[str, Any]) -> str:
    """sha256 (12 hex digits) over the source files of :func:`cell_modules` (:func:`crowd.codehash.modules_version`)."""
    return modules_version(cell_modules(kind, runs, config))
