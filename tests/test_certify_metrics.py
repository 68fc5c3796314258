"""Certificate objects, certify_counts, certified-accuracy curves, budgets, ASR; no torch import."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from crowd.certify import (
    CONFIDENT_ACCURACY_LABEL,
    NotCovered,
    attack_success_rate,
    certified_accuracy,
    certified_accuracy_at_budget,
    certified_accuracy_curve,
    certify_counts,
    certify_rows,
    clean_accuracy,
    confident_accuracy,
    cp_lower,
    dpa_certificates,
    lee_radius_fn,
    poisoned_non_target,
    tv_radius_fn,
)

COUNTS = np.array([[990, 10], [500, 500], [30, 970], [700, 300]])
LABELS = [0, 0, 1, 1]


def _certs(**kwargs):
    fns = {"lee": lee_radius_fn([(0.8, 2)], 6), "tv": tv_radius_fn(np.full(20, 0.05), 20)}
    return certify_counts(COUNTS, 0.01, "keep-0.8 tokens", fns, **kwargs)


def test_certificates_fields_and_abstention():
    certs = _certs()
    assert [c.label for c in certs] == [0, None, 1, 0]
    assert certs[1].abstained and certs[1].radius("lee") is None and dict(certs[1].radii) == {}
    assert certs[0].p_lower == cp_lower(990, 1000, 0.005)
    assert certs[0].counts == (990, 10) and certs[0].noise == "keep-0.8 tokens"
    assert certs[0].radius("lee") == 2 and certs[3].radius("lee") == 0
    with pytest.raises(KeyError):
        certs[0].radius("dpa")
    with pytest.raises(dataclasses.FrozenInstanceError):
        certs[0].label = 1
    with pytest.raises(TypeError):
        certs[0].radii["lee"] = 5


def test_confident_label_without_binary_lee_radius():
    """Three classes: the top class is confidently on top but below 1/2, so the ℓ0 form gives None."""
    (cert,) = certify_counts(np.array([[450, 300, 250]]), 0.01, "n", {"lee": lee_radius_fn([(0.8, 2)], 3)})
    assert cert.label == 0 and cert.p_lower < 0.5 and cert.radius("lee") is None
    assert certified_accuracy([cert], [0], "lee", 0) == 0.0
    assert confident_accuracy([cert], [0]) == 1.0
    fns = {"lee": lee_radius_fn([(0.8, 2)], 3, multiclass=True)}
    (multi,) = certify_counts(np.array([[450, 300, 250]]), 0.01, "n", fns)
    assert multi.radius("lee") == 0


def test_simultaneous_alpha_split_over_texts():
    certs = _certs(simultaneous=True)
    assert all(c.alpha == pytest.approx(0.01 / 4) for c in certs)


def test_certified_accuracy_curve_and_confident_accuracy():
    certs = _certs()
    assert confident_accuracy(certs, LABELS) == 0.5  # texts 0 and 2; abstention and wrong label are not
    assert clean_accuracy(certs, LABELS) == 0.5
    curve = certified_accuracy_curve(certs, LABELS, "lee", 6)
    assert curve[0].radius == 0 and curve[0].certified_accuracy == 0.5
    values = [p.certified_accuracy for p in curve]
    assert values == sorted(values, reverse=True)
    r0 = certs[0].radius("lee")
    assert certified_accuracy(certs, LABELS, "lee", r0 + 1) <= 0.25
    assert "confident accuracy" in CONFIDENT_ACCURACY_LABEL


def test_budget_and_not_covered():
    certs = _certs()
    value = certified_accuracy_at_budget(certs, LABELS, "tv", 2)
    assert value == certified_accuracy(certs, LABELS, "tv", 2)
    nc = certified_accuracy_at_budget(certs, LABELS, "tv", None, "BadNets inserts words; no substitution")
    assert isinstance(nc, NotCovered) and "not covered" in str(nc) and "BadNets" in str(nc)


def test_asr_abstentions_are_not_target():
    certs = _certs()  # labels: 0, None, 1, 0
    assert attack_success_rate(certs, target=0) == 0.5
    assert attack_success_rate([1, None, 1, 0], target=1) == 0.5
    mask = poisoned_non_target([0, 1, 1, 0], target=1)
    assert list(mask) == [True, False, False, True]
    with pytest.raises(ValueError):
        attack_success_rate([], target=1)


def test_per_text_radius_functions_and_dpa_certificates():
    fns = [{"tv": tv_radius_fn(np.full(5, tv), 5)} for tv in (0.0, 0.3, 0.01, 0.2)]
    certs = certify_rows(COUNTS, 0.01, "synonyms", fns)
    assert certs[0].radius("tv") == 5
    dpa = dpa_certificates(np.array([[40, 10], [20, 30]]))
    assert [c.label for c in dpa] == [0, 1] and [c.radius("dpa") for c in dpa] == [15, 4]
    assert dpa[0].alpha == 0.0 and dpa[0].p_lower is None


def test_certify_package_does_not_import_torch():
    code = "import sys, crowd.certify; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def _random_certs(rng: np.random.Generator, n: int) -> tuple[list, list[int]]:
    """Certificates with random labels, abstentions, missing radii (None) and radii, for the curve tests."""
    from crowd.certify import Certificate

    certs, labels = [], []
    for _ in range(n):
        label = None if rng.random() < 0.2 else int(rng.integers(3))
        radius = None if rng.random() < 0.2 else int(rng.integers(0, 15))
        radii = {} if label is None else {"k": radius}
        certs.append(Certificate(label, label or 0, None, None, (), 0.0, "dpa", "n", radii))
        labels.append(int(rng.integers(3)))
    return certs, labels


@pytest.mark.parametrize("seed", range(5))
def test_curve_equals_the_naive_definition(seed):
    rng = np.random.default_rng(seed)
    certs, labels = _random_certs(rng, int(rng.integers(1, 60)))
    max_radius = int(rng.integers(0, 25))
    curve = certified_accuracy_curve(certs, labels, "k", max_radius)
    naive = [certified_accuracy(certs, labels, "k", r) for r in range(max_radius + 1)]
    assert [p.radius for p in curve] == list(range(max_radius + 1))
    assert [p.certified_accuracy for p in curve] == naive  # exactly, not approximately
    assert all(p.kind == "k" for p in curve)


def test_curve_reads_each_radius_once(monkeypatch):
    """O(texts log texts + points): one radius look-up per text, not one per text and radius."""
    from crowd.certify import Certificate

    certs, labels = _random_certs(np.random.default_rng(0), 200)
    calls = []
    radius = Certificate.radius
    monkeypatch.setattr(Certificate, "radius", lambda self, kind: calls.append(kind) or radius(self, kind))
    curve = certified_accuracy_curve(certs, labels, "k", 100_000)
    assert len(curve) == 100_001 and curve[-1].certified_accuracy == 0.0
    assert len(calls) <= len(certs)
