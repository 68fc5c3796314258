"""The schema of ``crowd certify`` configs (TOML), with the defaults of the built-in run.

Every field can be overridden from the command line with ``--set section.key=value``.
The resolved config is written next to the results it produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from crowd.train import FullFineTune, HeadOnly


@dataclass(frozen=True)
class DataConfig:
    """Which corpus to use. ``max_train``/``max_dev``/``max_test`` subsample (seeded) for quick runs; 0 = all.

    ``dataset`` is sst2, offenseval, hsol (from the data root), or a folder of split files.
    ``crowd certify`` reads no dev split; ``crowd defend`` fits detectors on it.
    """

    dataset: str = "sst2"
    data_root: str | None = None
    max_train: int = 0
    max_dev: int = 0
    max_test: int = 0

    def __post_init__(self) -> None:
        if min(self.max_train, self.max_dev, self.max_test) < 0:
            raise ValueError("max_train, max_dev and max_test must be >= 0")


@dataclass(frozen=True)
class AttackConfig:
    """The poisoning applied to the training set (``name = "none"`` for a clean run).

    ``preset`` (``"openbackdoor"``: OpenBackdoor's shipped config for the attack, e.g. clean-label
    BadNets; ``"openbackdoor-shared"``: how the shared OpenBackdoor files were made; see
    :mod:`crowd.attacks.factory`); ``variant`` and ``num_triggers`` left ``None`` take the preset's
    value, else ``dirty`` and 1; ``triggers`` (BadNets words, empty = ``cf mn bb tq``),
    ``num_triggers`` (BadNets; OpenBackdoor's default is 1, its shared SST-2/HSOL files use 4),
    ``paraphrases`` (SynBkd/StyleBkd: an OpenBackdoor poison folder; default the shared one for
    SST-2 and HSOL), ``style`` (StyleBkd), ``num_substitutions`` and ``graph`` (wordsub: the graph to
    substitute from; default the noise's graph, else the default graph).
    """

    name: str = "badnets"
    poison_rate: float = 0.1
    target_label: int = 1
    variant: str | None = None
    num_triggers: int | None = None
    preset: str | None = None
    triggers: tuple[str, ...] = ()
    paraphrases: str | None = None
    style: str = "bible"
    num_substitutions: int = 3
    graph: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.poison_rate <= 1.0:
            raise ValueError(f"poison_rate must be in [0, 1], got {self.poison_rate}")


@dataclass(frozen=True)
class NoiseConfig:
    """Smoothing noise.

    ``crowd``: CROWD's beta-weighted synonym substitution; ``safer``: SAFER's uniform
    substitution (both over the synonym graph ``graph``, the default graph when
    unset); ``dpa``: no noise, deterministic partition aggregation (Levine & Feizi 2021): training
    example ``i`` goes to partition ``sha256(label, text) mod n_copies``, one model per partition;
    ``wang``: keep-β noise on the wordpiece-token coordinates of training
    and test texts (the ``model.max_length - 2`` content positions between [CLS]
    and [SEP], PAD-padded; domain = the tokenizer's vocabulary) and on training
    labels (domain = the classes).
    """

    kind: Literal["crowd", "safer", "wang", "dpa"] = "crowd"
    graph: str | None = None
    beta_token: float = 0.9
    beta_label: float = 0.9
    beta_test: float = 0.9
    noise_test: bool = True

    def __post_init__(self) -> None:
        for name in ("beta_token", "beta_label", "beta_test"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")


@dataclass(frozen=True)
class ModelConfig:
    """The base classifier and how each noisy copy trains it.

    ``learner = "head"`` freezes the encoder and trains a linear head per copy
    (CROWD's "only the top layer is fine-tuned"), with the ``[head]`` settings;
    ``"full"`` fine-tunes every copy with the ``[full]`` settings.
    """

    name: str = "minilm"
    learner: Literal["head", "full"] = "head"
    device: str = "auto"


@dataclass(frozen=True)
class CertifyConfig:
    """A whole certification run: data, attack, noise, model, statistics."""

    seed: int = 0
    n_copies: int = 20
    alpha: float = 0.05
    selection: Literal["bonferroni", "selection"] = "bonferroni"
    n_selection: int = 0
    simultaneous: bool = False  # alpha split over the test texts: all certificates hold at once (Wang et al.)
    max_radius: int = 100
    data: DataConfig = field(default_factory=DataConfig)
    attack: AttackConfig = field(default_factory=AttackConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    head: HeadOnly = field(default_factory=HeadOnly)
    full: FullFineTune = field(default_factory=FullFineTune)

    @property
    def learner(self) -> HeadOnly | FullFineTune:
        return self.head if self.model.learner == "head" else self.full

    def __post_init__(self) -> None:
        if self.n_copies < 1:
            raise ValueError(f"n_copies must be >= 1, got {self.n_copies}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")
        if self.selection == "selection" and not 0 < self.n_selection < self.n_copies:
            raise ValueError("selection = 'selection' needs 0 < n_selection < n_copies")
