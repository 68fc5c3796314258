"""The schema of ``crowd certify`` configs (TOML), with the defaults of the built-in run.

Every field can be overridden from the command line with ``--set section.key=value``. The resolved config
is written next to the results it produced. ``[method]`` names the certified method (``name``) and holds
that method's parameters (see :mod:`crowd.methods`); its keys are checked against that method's schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.resources import files
from typing import Any, ClassVar, Literal

from crowd.attacks import ATTACKS, NO_ATTACK, VARIANTS
from crowd.attacks.addsent import sentence_problem
from crowd.attacks.badnets import check_triggers, num_triggers_problem
from crowd.attacks.factory import preset_names
from crowd.attacks.stylebkd import STYLES
from crowd.config import from_dict, from_overrides, read_toml
from crowd.data import DATASETS, corpus_labels
from crowd.data.labels import labels_shown
from crowd.methods import DEFAULT_METHOD, method_from_table
from crowd.paths import data_root
from crowd.text import abbreviated
from crowd.train.settings import (
    LEARNERS,
    BagOfWords,
    Ensemble,
    FullFineTune,
    HeadOnly,
    PartialFineTune,
    StaticBag,
)

NOISE_MOVED = (
    'the [noise] section was replaced by [method]: write [method] name = "crowd" (noise.kind -> '
    "method.name; noise.graph, noise.noise_test, noise.beta_* keep their names under method.; DPA's "
    "partitions are method.partitions)"
)

USED_IS_OUTPUT = (
    "[used] is what a run writes into its config.json (the device and dtype it computed in), not a setting; "
    "choose the device with model.device, the dtype with the learner's table (head.dtype, full.dtype, partial.dtype)"
)

# Every config section a learner reads (in LEARNERS' order): head, full, partial, static, bow.
LEARNER_SECTIONS = tuple(dict.fromkeys(section for kind in LEARNERS.values() for section in kind.SECTIONS))
MAX_COPIES = 1_000_000  # more models than any certificate here needs (N = 10^6 bounds p to about 3e-6)
MAX_RADIUS = 100_000  # beyond every budget a corpus of this toolkit's size can have


@dataclass(frozen=True)
class DataConfig:
    """Which corpus to use. ``max_train``/``max_dev``/``max_test`` subsample (seeded) for quick runs; 0 = all.

    ``dataset`` is sst2, offenseval, hsol (from the data root), or a folder of split files.
    ``crowd certify`` reads no dev split; ``crowd defend`` fits detectors on it. ``labels``: the classes
    of a user folder, exactly ``0..K-1`` (empty = binary, ``0, 1``); a row with any other label is an
    error naming its file and line. Known corpora have fixed labels: ``labels`` with one is refused.
    """

    dataset: str = "sst2"
    data_root: str | None = None
    labels: tuple[int, ...] = ()
    max_train: int = 0
    max_dev: int = 0
    max_test: int = 0

    def __post_init__(self) -> None:
        if min(self.max_train, self.max_dev, self.max_test) < 0:
            raise ValueError("max_train, max_dev and max_test must be >= 0")
        if self.labels and sorted(self.labels) != list(range(len(self.labels))) or len(self.labels) == 1:
            raise ValueError(f"labels must be 0..K-1 with K >= 2, got {labels_shown(self.labels)}")
        if self.labels and self.dataset in DATASETS:
            raise ValueError(
                f"labels are for a folder of split files: {self.dataset} has its own labels "
                f"{labels_shown(corpus_labels(self.dataset))}; leave data.labels unset"
            )

    def pinned(self) -> DataConfig:
        """This config with ``data_root`` resolved once (``data_root`` or ``$CROWD_DATA``, absolute), so
        everything below a pipeline's entry reads the same folder and never the environment; unchanged
        when neither is set."""
        root = data_root(self.data_root)
        return self if root is None else replace(self, data_root=str(root.resolve()))


@dataclass(frozen=True)
class AttackConfig:
    """The poisoning applied to the training set (``name = "none"`` for a clean run).

    ``preset`` (``"openbackdoor"``: OpenBackdoor's shipped config for the attack, e.g. clean-label
    BadNets; ``"openbackdoor-shared"``: how the shared OpenBackdoor files were made; see
    :mod:`crowd.attacks.factory`); ``variant``, ``num_triggers`` and ``sentence`` left ``None`` take the
    preset's value, else ``dirty``, 1 and ``"I watch this 3D movie"``; ``triggers`` (BadNets words, empty =
    the preset's, else ``cf mn bb tq``), ``num_triggers`` (BadNets; OpenBackdoor's default is 1, its shared
    SST-2/HSOL files use 4), ``sentence`` (AddSent's trigger sentence, at most 500 characters),
    ``paraphrases`` (SynBkd/StyleBkd: an OpenBackdoor poison folder; default the shared one for SST-2 and
    HSOL), ``style`` (StyleBkd), ``num_substitutions`` and ``graph`` (wordsub: the graph to substitute from;
    default the method's graph, else the default graph). ``crowd poison`` builds this table from its options
    (:func:`crowd.pipelines.attack.attack_from_config` builds the attack for every command).
    """

    name: str = "badnets"
    poison_rate: float = 0.1
    target_label: int = 1
    variant: str | None = None
    num_triggers: int | None = None
    preset: str | None = None
    triggers: tuple[str, ...] = ()
    sentence: str | None = None
    paraphrases: str | None = None
    style: str = "bible"
    num_substitutions: int = 3
    graph: str | None = None

    def __post_init__(self) -> None:
        if self.name != NO_ATTACK and self.name not in ATTACKS:
            raise ValueError(f"name {self.name!r} is not one of {', '.join(sorted(ATTACKS))}, {NO_ATTACK}")
        if not 0.0 <= self.poison_rate <= 1.0:
            raise ValueError(f"poison_rate must be in [0, 1], got {self.poison_rate}")
        if self.variant is not None and self.variant not in VARIANTS:
            raise ValueError(
                f"variant must be one of {', '.join(VARIANTS)} (unset: the preset's), got {self.variant!r}"
            )
        if self.preset is not None and self.preset not in preset_names():
            raise ValueError(
                f"preset must be one of {', '.join(preset_names())} (or unset), got {self.preset!r}"
            )
        problem = self.num_triggers is not None and num_triggers_problem(
            self.num_triggers, "; unset: the preset's"
        )
        if problem:
            raise ValueError(f"num_triggers {problem}, got {self.num_triggers:,}")
        check_triggers(self.triggers, '["cf", "mn"]; [] takes the preset\'s')
        problem = self.sentence is not None and sentence_problem(self.sentence)
        if problem:
            raise ValueError(f"sentence {problem}, got {abbreviated(self.sentence)}; unset: the preset's")
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, got {self.style!r}")
        if self.num_substitutions < 1:
            raise ValueError(f"num_substitutions must be at least 1, got {self.num_substitutions}")


@dataclass(frozen=True)
class ModelConfig:
    """The base classifier and how each copy trains it.

    ``learner = "head"`` freezes the encoder and trains a linear head per copy (CROWD's "only the top
    layer is fine-tuned"), with the ``[head]`` settings; ``"full"`` fine-tunes every copy (``[full]``);
    ``"partial"`` fine-tunes the top layers of one model per copy, one copy at a time (``[partial]``);
    ``"static"`` averages static word vectors into a linear classifier per copy (``[static]``; no
    encoder, so thousands of noisy copies train in minutes on a CPU; ``name`` is then unused); ``"bow"``
    fits a TF-IDF word-n-gram logistic regression per copy (``[bow]``; scikit-learn, CPU, ``name`` unused);
    ``"bow+head"`` trains both a ``bow`` and a ``head`` model per copy and averages their probabilities
    (the ``[bow]`` and ``[head]`` tables).
    """

    name: str = "minilm"
    learner: str = "bow"  # a key of crowd.train.LEARNERS
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.learner not in LEARNERS:
            raise ValueError(f"learner: {self.learner!r} is not one of {', '.join(map(repr, LEARNERS))}")
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")


@dataclass(frozen=True)
class CertifyConfig:
    """A whole certification run: data, attack, method, model, statistics.

    Every default is the built-in default run's (``crowd/configs/default.toml``), so a config file (or table)
    with any subset of keys is that default with those keys changed; a ``[head]`` or ``[static]`` table
    changes only the keys it gives. Exception: ``attack.variant``, ``num_triggers`` and ``triggers`` left
    unset take the attack preset's value (without one: dirty-label, one trigger drawn from cf mn bb tq),
    while default.toml sets ``triggers = ["cf"]``.
    """

    # Keys refused with their own message: a section that moved; what a run writes into its config.json.
    REFUSED_KEYS: ClassVar[dict[str, str]] = {"noise": NOISE_MOVED, "used": USED_IS_OUTPUT}

    seed: int = 0
    n_copies: int = 20  # smoothing methods: N noisy copies = N trained models
    alpha: float = 0.05
    selection: Literal["bonferroni", "selection"] = "bonferroni"
    n_selection: int = 0
    simultaneous: bool = False  # alpha split over the test texts: all certificates hold at once (Wang et al.)
    allow_uncertifiable: bool = False  # smoothing: train even if N is too small for any certificate
    keep_model: bool = True  # textguard / dpa: keep the models as a classifier in OUT/model (crowd predict)
    max_radius: int = 100
    world: Literal["observed", "reference"] = "observed"
    data: DataConfig = field(default_factory=DataConfig)
    attack: AttackConfig = field(default_factory=AttackConfig)
    method: Any = field(default_factory=lambda: {"name": DEFAULT_METHOD})
    model: ModelConfig = field(default_factory=ModelConfig)
    # The learners' own class defaults are CROWD's (docs/training.md); a run's defaults are default.toml's.
    head: HeadOnly = field(
        default_factory=lambda: HeadOnly(max_length=64, copies_per_group=20, pooling="mean")
    )
    full: FullFineTune = field(default_factory=FullFineTune)
    partial: PartialFineTune = field(default_factory=PartialFineTune)
    static: StaticBag = field(default_factory=lambda: StaticBag(max_length=64))
    # NB-LR with GloVe: a word group's model scores words its group never saw (THEORY §3(d), README)
    bow: BagOfWords = field(default_factory=lambda: BagOfWords(nb=True, vectors="glove-6b-50d"))

    @property
    def learner_sections(self) -> tuple[str, ...]:
        """The config sections the learner ``model.learner`` reads (``bow+head``: both), from its registry entry."""
        return LEARNERS[self.model.learner].SECTIONS

    @property
    def learner(self) -> HeadOnly | FullFineTune | PartialFineTune | StaticBag | BagOfWords | Ensemble:
        """The settings of the learner ``model.learner`` names, built from its sections."""
        tables = {section: getattr(self, section) for section in LEARNER_SECTIONS}
        return LEARNERS[self.model.learner].from_sections(tables)

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", method_from_table(self.method))
        if not 1 <= self.n_copies <= MAX_COPIES:
            raise ValueError(
                f"n_copies must be in 1..{MAX_COPIES:,} (each copy trains a model), got {self.n_copies}"
            )
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")
        if not 0 <= self.max_radius <= MAX_RADIUS:
            raise ValueError(
                f"max_radius must be in 0..{MAX_RADIUS:,} (the curve is reported radius by radius), "
                f"got {self.max_radius}"
            )
        if self.selection == "selection" and not 0 < self.n_selection < self.n_copies:
            raise ValueError("selection = 'selection' needs 0 < n_selection < n_copies")


def load_certify_config(
    path: str | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> CertifyConfig:
    """The config in ``path`` (or the built-in default ``crowd/configs/default.toml``) with overrides applied.

    An override of ``method.name`` starts that method from its own defaults: the file's other ``[method]``
    keys belong to the file's method and are dropped (``method.*`` overrides still apply).
    """
    source = path if path is not None else str(files("crowd") / "configs" / "default.toml")
    base = read_toml(source)
    if any(o.split("=", 1)[0].strip() == "method.name" for o in overrides):
        base["method"] = {}
    return from_overrides(CertifyConfig, base, source, overrides)


def as_certify_config(
    config: CertifyConfig | Mapping[str, Any] | None, where: str = "config"
) -> CertifyConfig:
    """``config`` for the Python entry points: a :class:`CertifyConfig`, a dict of its sections (TOML's
    tables: the built-in default with those keys changed), or ``None`` (the default)."""
    if config is None:
        return CertifyConfig()
    if isinstance(config, CertifyConfig):
        return config
    if isinstance(config, Mapping):
        return from_dict(CertifyConfig, config, where)
    raise TypeError(
        f"{where}: expected a CertifyConfig, a dict of its sections or None, got {type(config).__name__}"
    )
