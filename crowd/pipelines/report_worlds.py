"""What a certify run's certificate compares against: the attack's label flips, the budget they leave covered,
the reference world and the corpus the models were trained on (THEORY §4, "Label flips").

Sentences and counts for :class:`crowd.pipelines.report_summary.Worlds`; no torch.
"""

from __future__ import annotations

from crowd.attacks import NO_ATTACK
from crowd.data import Corpus
from crowd.methods import Plan
from crowd.pipelines.config import CertifyConfig
from crowd.pipelines.report_summary import Worlds


def worlds(config: CertifyConfig, spec: Plan, data: Corpus, flips: int | None) -> Worlds:
    """The label-flip note, the reference world and the training corpus of a run with ``flips`` label flips."""
    return Worlds(
        label_flips=flips,
        label_flips_note=label_flips_note(config, spec, data, flips),
        reference_world=reference_world(config, spec, data, flips),
        trained_on=trained_on(config, flips),
        world=config.world,
    )


def label_flips(data: Corpus) -> int | None:
    """Training rows whose label differs between the clean source and the training set (index-aligned; the
    reference corpus keeps the flips, so both worlds count the same); ``None`` when the source is unknown."""
    if not data.manifest.get("clean_source_known", True):
        return None
    return sum(a.label != b.label for a, b in zip(data.train_clean, data.train))


def covered_budget(spec: Plan, flips: int | None) -> tuple[int | None, str]:
    """The plan's budget and reason, except that an attack whose only change a label-blind certificate sees
    is its label flips (budget 0 in the unit, some flips) is not covered: "certified at budget 0" would claim
    the attack was harmless (THEORY §4, "Label flips")."""
    if spec.covers_labels or not flips or spec.budget != 0:
        return spec.budget, spec.not_covered_reason
    return None, (
        f"the attack flipped {flips} training labels and changed nothing this certificate counts "
        f"({spec.unit}); its unit does not cover labels, so it says nothing about this attack"
    )


def label_flips_note(config: CertifyConfig, spec: Plan, data: Corpus, flips: int | None) -> str | None:
    """The line every report carries about the attack's label flips (``None``: no attack, or no clean source)."""
    if flips is None or not has_target(config, data):
        return None
    if flips == 0:
        return "label flips: none (a clean-label attack): the reference world is the clean corpus itself"
    if spec.covers_labels:
        return f"label flips: {flips} rows, counted in the budget ({spec.unit})"
    return (
        f"label flips: {flips} rows, not covered — the certificate holds against the reference world that "
        "keeps them"
    )


def reference_world(config: CertifyConfig, spec: Plan, data: Corpus, flips: int | None) -> str:
    """What the certificate's budget is measured against, with the attack's actual flips."""
    if flips == 0 and has_target(config, data):
        return "the clean corpus itself (the attack flipped no labels)"
    if flips and not spec.covers_labels:
        return f"the clean source with the attack's {flips} label flips kept (flips act as label noise)"
    return spec.reference_world


def trained_on(config: CertifyConfig, flips: int | None) -> str:
    """What the models were trained on, from the corpus actually used (``world = "reference"``: the attack's
    reference corpus, which keeps its label flips whatever the certificate's reference world)."""
    if config.world != "reference":
        return "the poisoned corpus (the observed world)"
    if flips is None:
        return "the training set as given (its clean source is unknown)"
    if flips == 0:
        return "the clean training texts with their own labels (the attack flipped none), no trigger"
    return f"the clean training texts with the attack's {flips} label flips kept, no trigger"


def has_target(config: CertifyConfig, data: Corpus) -> bool:
    """Whether the run's corpus was attacked: not with ``attack.name = "none"`` (:data:`crowd.attacks.NO_ATTACK`;
    for a corpus given as examples, the config's attack name says so), and then no class is a target."""
    return data.manifest.get("attack") != NO_ATTACK and config.attack.name != NO_ATTACK
