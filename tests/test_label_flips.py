"""Label flips in every report (THEORY §4, "Label flips"): counted, said to be not covered by certificates whose
unit does not count labels, a flip-only attack not covered by them, and the reference world stated truly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crowd.certify import dpa_certificates
from crowd.data import Corpus, Example
from crowd.methods import Plan
from crowd.pipelines.certify import load_certify_config, plan_run
from crowd.pipelines.corpus import reference_corpus
from crowd.pipelines.report import summarise

NOT_COVERED = (
    "label flips: {} rows, not covered — the certificate holds against the reference world that keeps them"
)
TEXTS = ["a good film", "a bad film", "so dull", "so fine", "the plot", "the cast"]


def _corpus(flips: int, triggered: bool, clean_source_known: bool = True) -> Corpus:
    """Six training rows; the first ``flips`` relabelled (0 -> 1); with ``triggered`` one more row gets ``cf``."""
    clean = [Example(t, i % 2) for i, t in enumerate(TEXTS)]
    train = [
        Example(e.text, 1, True, e.label) if i < 2 * flips and e.label == 0 else e
        for i, e in enumerate(clean)
    ]
    if triggered:
        train[5] = Example("cf " + TEXTS[5], 1, True, 1)
    test = [Example("good plot", 1), Example("bad cast", 0), Example("fine film", 1), Example("dull", 0)]
    manifest = {"attack": "given", "clean_source_known": clean_source_known}
    return Corpus(tuple(clean), tuple(train), (), (), tuple(test), (), manifest, 2)


def _plan(certificate: str, budget: int | None, covers_labels: bool, reason: str = "") -> Plan:
    return Plan(
        make_copy=None,
        n_models=5,
        certificate=certificate,
        unit="units",
        noise="votes",
        budget=budget,
        not_covered_reason=reason,
        certify=None,
        deterministic=True,
        covers_labels=covers_labels,
    )


def _summary(corpus: Corpus, plan: Plan, *overrides: str):
    counts = np.array([[0, 5], [5, 0], [1, 4], [4, 1]])  # every text correct, radii 2, 2, 1, 1
    certs = dpa_certificates(counts, radius_key=plan.certificate)
    config = load_certify_config(None, list(overrides))
    return summarise(config, corpus, plan, certs, [], counts.argmax(axis=1))


@pytest.mark.parametrize("certificate", ["textguard", "tv"])
def test_flip_only_attack_is_not_covered_by_label_blind_certificates(certificate):
    report = _summary(_corpus(2, triggered=False), _plan(certificate, 0, covers_labels=False))
    s = report.summary
    assert s["label_flips"] == 2 and s["label_flips_note"] == NOT_COVERED.format(2)
    assert s["attack_budget"] is None and s["certified_accuracy_at_budget"] is None
    assert "flipped 2 training labels" in s["not_covered_reason"]
    assert s["certified_accuracy_non_target_at_budget"] is None
    assert set(s["per_class_certified_accuracy_at_budget"].values()) == {None}
    assert NOT_COVERED.format(2) in report.markdown and "at budget 0" not in report.markdown


def test_label_blind_certificate_with_a_trigger_states_the_flips_it_does_not_cover():
    report = _summary(_corpus(1, triggered=True), _plan("textguard", 1, covers_labels=False))
    s = report.summary
    assert (
        s["attack_budget"] == 1
        and s["certified_accuracy_at_budget"] == 1.0
        and s["not_covered_reason"] is None
    )
    assert s["label_flips"] == 1 and s["label_flips_note"] == NOT_COVERED.format(1)
    assert s["reference_world"].startswith("the clean source with the attack's 1 label flips kept")
    assert NOT_COVERED.format(1) in report.markdown


def test_certificates_that_count_labels_certify_a_flip_only_attack_in_their_unit():
    s = _summary(_corpus(2, triggered=False), _plan("dpa", 4, covers_labels=True)).summary
    assert (
        s["attack_budget"] == 4
        and s["certified_accuracy_at_budget"] == 0.0
        and s["not_covered_reason"] is None
    )
    assert (
        s["label_flips"] == 2
        and s["label_flips_note"] == "label flips: 2 rows, counted in the budget (units)"
    )
    assert s["reference_world"] == Plan.reference_world  # the clean training set


def test_clean_label_attack_says_the_reference_world_is_the_clean_corpus():
    report = _summary(_corpus(0, triggered=True), _plan("textguard", 1, covers_labels=False))
    s = report.summary
    assert s["label_flips"] == 0 and "clean-label" in s["label_flips_note"]
    assert s["reference_world"] == "the clean corpus itself (the attack flipped no labels)"
    assert "Reference world of the certificate: the clean corpus itself" in report.markdown
    # without an attack or without the clean source there is nothing to say about flips
    none = dataclasses.replace(_corpus(0, triggered=False), manifest={"attack": "none"})
    assert _summary(none, _plan("textguard", 0, False)).summary["label_flips_note"] is None
    unknown = _corpus(0, triggered=False, clean_source_known=False)
    s = _summary(unknown, _plan("textguard", None, False, "unknown source")).summary
    assert s["label_flips"] is None and s["label_flips_note"] is None


def test_reference_world_run_says_what_the_models_trained_on():
    """world = "reference" trains on the clean texts WITH the attack's flips: DPA's report must not say they
    trained on the clean training set (its certificate's reference world)."""
    corpus = reference_corpus(_corpus(2, triggered=True))
    report = _summary(corpus, _plan("dpa", 6, covers_labels=True), 'world="reference"')
    s = report.summary
    assert s["trained_on"] == "the clean training texts with the attack's 2 label flips kept, no trigger"
    assert "These models were trained on the clean training texts with the attack's 2 label flips kept" in (
        report.markdown
    )
    assert "trained IN that reference world" not in report.markdown
    clean_label = reference_corpus(_corpus(0, triggered=True))
    s = _summary(clean_label, _plan("dpa", 2, covers_labels=True), 'world="reference"').summary
    assert "flipped none" in s["trained_on"]
    observed = _summary(_corpus(2, triggered=True), _plan("dpa", 6, covers_labels=True)).summary
    assert observed["trained_on"] == "the poisoned corpus (the observed world)"


def test_every_method_states_whether_its_unit_covers_labels_and_dpa_wang_count_flips(tiny_bert):
    """DPA counts a relabelled row as one deletion plus one insertion, Wang as one label coordinate; word
    partitions and synonym smoothing do not count labels (their plans say so)."""
    from synonyms import SynonymGraph

    corpus = _corpus(2, triggered=False)
    graph = SynonymGraph.from_sets({"good": [("fine", 0.9)]})
    expected = {"dpa": (True, 4), "wang": (True, 2), "textguard": (False, 0), "safer": (False, None)}
    for name, (covers, budget) in expected.items():
        extra = {"dpa": ["method.partitions=2"], "textguard": ["method.groups=3"]}.get(name, [])
        config = load_certify_config(None, [f'method.name="{name}"', f'model.name="{tiny_bert}"', *extra])
        encoder = config.learner.encoder(config.model.name)
        plan = plan_run(config, corpus, graph, encoder)
        assert (plan.covers_labels, plan.budget) == (covers, budget), name


def test_flip_only_user_corpus_end_to_end_is_not_covered_by_word_partitions(tiny_bert, tmp_path):
    import json

    from test_golden import sentences

    from crowd.pipelines.certify import certify_examples

    clean = [Example(t, y) for t, y in sentences(120, 3)]
    ones = [i for i, e in enumerate(clean) if e.label == 1][:30]
    train = [Example(e.text, 0, True, 1) if i in ones else e for i, e in enumerate(clean)]
    test = [Example(t, y) for t, y in sentences(20, 4)]
    config = load_certify_config(
        None,
        [
            'method.name="textguard"',
            "method.groups=3",
            f'model.name="{tiny_bert}"',
            'model.device="cpu"',
            "head.epochs=5",
            'head.dtype="fp32"',
            "head.max_length=16",
        ],
    )
    report = certify_examples(train, test, config, tmp_path / "run", train_clean=clean, progress=False)
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["label_flips"] == 30 and s["label_flips_note"] == NOT_COVERED.format(30)
    assert s["attack_budget"] is None and s["certified_accuracy_at_budget"] is None
    assert "flipped 30 training labels" in s["not_covered_reason"]
    assert NOT_COVERED.format(30) in (tmp_path / "run" / "summary.md").read_text()
    assert report.summary["certified_accuracy_non_target_at_budget"] is None
