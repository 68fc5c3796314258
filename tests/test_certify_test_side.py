"""The test-side certificate of the synonym smoothing methods (THEORY §3, "Test-side certificates").

The same votes that certify the training side also certify the test text itself: ``test_tv`` is the largest
number of synonym substitutions in the text that cannot change the smoothed prediction, from the per-position
TVs of the test noise at the text's own words. Checked here against exact enumeration (every noisy outcome of
every text and every substituted text within the radius), then end to end: report, per-text rows, the kept
classifier and the metric on triggered texts.
"""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import numpy as np
import pytest
from test_classifier import GRAPH
from test_golden import sentences

from crowd.certify import categorical_tv, tv_bound
from crowd.data import Example
from crowd.methods.synonym import TEST_KIND, radii_on_test_text, substituted_positions
from crowd.noise import CrowdNoise, SaferNoise
from crowd.pipelines.certify import certify_examples
from crowd.pipelines.classifier import CertifiedClassifier
from crowd.pipelines.config import load_certify_config
from crowd.text import WordCorpus
from synonyms.graph import SynonymGraph

WORDS = ("a", "b", "c", "d", "zzz")  # zzz is outside the graph: it has no substitute


@pytest.fixture(scope="module", params=["asymmetric", "symmetric"])
def graph(request) -> SynonymGraph:
    if request.param == "asymmetric":  # b ∈ S_a but a ∉ S_b
        sets = {"a": [("b", 0.9)], "b": [("c", 0.85), ("d", 0.8)], "c": [("b", 0.85)], "d": [("b", 0.8)]}
    else:
        sets = {"a": [("b", 0.9), ("c", 0.7)], "b": [("a", 0.9), ("c", 0.75)], "c": [("a", 0.7), ("b", 0.75)]}
    return SynonymGraph.from_sets(sets)


@pytest.fixture(scope="module", params=["safer", "crowd"])
def noise(request, graph, tmp_path_factory):
    if request.param == "safer":
        return SaferNoise(graph)
    return CrowdNoise(graph, tmp_path_factory.mktemp("noise"))


def outcomes(noise, text: tuple[str, ...]):
    """Every noisy copy of ``text`` with its exact probability (the product of the per-word distributions)."""
    dists = [dict(zip(*noise.distribution(w))) for w in text]
    for z in itertools.product(*[sorted(d) for d in dists]):
        yield z, float(np.prod([d[o] for d, o in zip(dists, z)]))


def smoothed(noise, table, text) -> np.ndarray:
    probs = np.zeros(3)
    for z, p in outcomes(noise, text):
        probs[table(z)] += p
    return probs


def substituted(graph, text, r: int):
    """Every text made from ``text`` by at most ``r`` covered substitutions (``graph.covers``)."""
    choices = [[w, *graph.substitutes(w)] for w in text]
    for other in itertools.product(*choices):
        if sum(a != b for a, b in zip(text, other)) <= r:
            yield other


def test_radius_holds_for_every_substitution_of_the_text(graph, noise):
    """Exact smoothed probabilities of base classifiers (random tables over noisy outcomes): a text certified
    at radius r keeps its class for every text within r covered substitutions, and the product bound over the
    text's own per-position TVs bounds the exact TV of the two noisy texts."""
    rng = np.random.default_rng(0)
    texts = [t for n in (1, 2, 3) for t in itertools.product(WORDS, repeat=n)]
    checked = positive = 0
    for _ in range(6):
        base = int(rng.integers(3))
        flips = {}
        for n in (1, 2, 3):  # a few noisy outcomes of each length change class
            for z in itertools.product(WORDS, repeat=n):
                if rng.random() < 0.08:
                    flips[z] = int(rng.integers(3))

        def table(z, flips=flips, base=base):
            return flips.get(tuple(z), base)

        for text in texts:
            probs = smoothed(noise, table, text)
            top = int(np.argmax(probs))
            bound = SimpleNamespace(
                p_lower=float(probs[top]), p_upper_runner_up=float(np.max(np.delete(probs, top)))
            )
            words = WordCorpus.from_texts([" ".join(text)])
            radius = radii_on_test_text(noise, 10)(words)[0][TEST_KIND](bound)
            if radius is None:
                continue
            assert radius <= len(text)
            positive += radius >= 1
            tv = noise.max_tv_array(list(text))
            for other in substituted(graph, text, radius):
                changed = [i for i in range(len(text)) if text[i] != other[i]]
                other_probs = smoothed(noise, table, other)
                assert other_probs[top] > np.max(np.delete(other_probs, top)), (text, other, radius)
                p, q = dict(outcomes(noise, text)), dict(outcomes(noise, other))
                assert categorical_tv(p, q) <= tv_bound(tv[changed], len(changed)) + 1e-12
                checked += 1
    assert checked > 500 and positive > 5, (checked, positive)  # the check reaches positive radii


def test_budget_counts_covered_substitutions_only(graph):
    first = graph.words[0]
    sub = graph.substitutes(first)[0]
    assert substituted_positions(graph, f"{first} zzz", f"{first} zzz") == 0
    assert substituted_positions(graph, f"{first} zzz {first}", f"{sub} zzz {sub}") == 2
    assert substituted_positions(graph, f"{first} zzz", f"{first} yyy") is None  # not a synonym
    assert substituted_positions(graph, f"{first} zzz", f"{first} cf zzz") is None  # an inserted word
    assert substituted_positions(graph, "zzz", "") is None


def _sub(text: str) -> str:
    """``text`` with each word of the graph's sets replaced by the next word of its set."""
    swap = {w: s[(i + 1) % len(s)] for s in GRAPH for i, w in enumerate(s)}
    return " ".join(swap.get(w, w) for w in text.split())


@pytest.fixture(scope="module")
def safer_run(tmp_path_factory):
    """A smoothing run on a given corpus whose triggered texts are synonym substitutions of their clean texts
    (and one inserted word), kept as a classifier."""
    folder = tmp_path_factory.mktemp("side")
    sets = {w: [(v, 0.9) for v in s if v != w] for s in GRAPH for w in s}
    SynonymGraph.from_sets(sets).save(folder / "graph")
    train = [Example(t, y) for t, y in sentences(160, 0)]
    test = [Example(t, y) for t, y in sentences(40, 1)]
    sources = [e.text for e in test if e.label == 0]
    triggered = [Example(_sub(t), 1, True, 0) for t in sources]
    triggered[0] = Example(f"cf {sources[0]}", 1, True, 0)  # an inserted word: not covered on the test side
    config = load_certify_config(
        None,
        (
            'method.name="safer"',
            f'method.graph="{folder / "graph"}"',
            "n_copies=30",
            "attack.target_label=1",
            'model.device="cpu"',
        ),
    )
    out = folder / "run"
    report = certify_examples(
        train,
        test,
        config,
        test_poison=triggered,
        train_clean=train,
        test_sources=sources,
        out=out,
        progress=False,
    )
    return report, out, test, sources, triggered


def test_report_gives_the_test_side_beside_the_training_side(safer_run):
    report, out, test, sources, triggered = safer_run
    s = json.loads((out / "summary.json").read_text())
    assert s["certificate"] == "tv" and s["test_side_certificate"] == TEST_KIND
    assert s["test_side_unit"] == "synonym substitutions in the test text"
    rows = [json.loads(line) for line in (out / "per_text.jsonl").read_text().splitlines()]
    clean = {r["text"]: r for r in rows if r["split"] == "clean"}
    graph = SynonymGraph.load(out / "model" / "graph")
    budgets = [substituted_positions(graph, a, b.text) for a, b in zip(sources, triggered)]
    assert budgets[0] is None and all(b is not None for b in budgets[1:]) and max(budgets[1:]) >= 1
    hits = 0
    for src, b in zip(sources, budgets):
        row = clean[src]
        radius = row["radii"].get(TEST_KIND)
        hits += (
            b is not None
            and not row["abstained"]
            and row["prediction"] == 0
            and radius is not None
            and radius >= b
        )
    assert s["test_side_certified_accuracy_at_budget"] == hits / len(sources)
    assert s["test_side_budget"] == max(b for b in budgets if b is not None)
    assert s["test_side_n_not_covered"] == 1 and s["test_side_not_covered_reason"] is None
    assert hits > 0  # the run certifies something on the test side
    assert "test side" in (out / "summary.md").read_text()
    # the training side is untouched: the test_tv radius is its own kind, never the reported "tv"
    assert all("tv" in r["radii"] for r in rows if not r["abstained"])


def test_kept_classifier_gives_the_same_test_side_radius(safer_run):
    _, out, _, _, _ = safer_run
    rows = [json.loads(line) for line in (out / "per_text.jsonl").read_text().splitlines()]
    certs = CertifiedClassifier.load(out / "model").certify([r["text"] for r in rows])
    for row, cert in zip(rows, certs, strict=True):
        expected = None if row["abstained"] else row["radii"][TEST_KIND]
        assert (
            cert.test_side_radius == expected
            and cert.test_side_unit == "synonym substitutions in the test text"
        )
        assert cert.as_dict()["test_side_radius"] == expected


def test_no_test_side_without_test_noise_or_for_partitions(tmp_path):
    train = [Example(t, y) for t, y in sentences(80, 0)]
    test = [Example(t, y) for t, y in sentences(10, 1)]
    for overrides in (('method.name="textguard"', "method.groups=3"),):
        config = load_certify_config(None, overrides)
        report = certify_examples(train, test, config, out=tmp_path / "tg", progress=False)
        assert "test_side_certificate" not in report.summary
    config = load_certify_config(
        None, ('method.name="safer"', "method.noise_test=false", "n_copies=6", "allow_uncertifiable=true")
    )
    report = certify_examples(train, test, config, out=tmp_path / "plain", progress=False)
    assert "test_side_certificate" not in report.summary
    assert all(TEST_KIND not in c.radii for c in report.clean)


def test_augmented_training_is_one_model_asked_n_times(safer_run, tmp_path):
    """SAFER's and CROWD's released training: one model on noise-augmented copies, N test draws; its only
    certificate is the test side's, and the kept classifier gives the report's certificates."""
    report, out, test, sources, triggered = safer_run
    graph = out / "model" / "graph"
    train = [Example(t, y) for t, y in sentences(160, 0)]
    config = load_certify_config(
        None,
        (
            'method.name="safer"',
            f'method.graph="{graph}"',
            'method.training="augmented"',
            "method.augment=3",
            "n_copies=30",
            "attack.target_label=1",
        ),
    )
    run = tmp_path / "augmented"
    aug = certify_examples(
        train,
        test,
        config,
        test_poison=triggered,
        train_clean=train,
        test_sources=sources,
        out=run,
        progress=False,
    )
    s = aug.summary
    assert (
        s["certificate"] == "test_tv"
        and s["n_copies"] == 30
        and s["radius_unit"] == "synonym substitutions in the test text"
    )
    assert s["attack_budget"] is None and "no training-side certificate" in s["not_covered_reason"]
    assert s["test_side_certificate"] == "test_tv" and s["test_side_certified_accuracy_at_budget"] is not None
    manifest = json.loads((run / "model" / "manifest.json").read_text())
    assert manifest["n_models"] == 1 and manifest["kept"]["draws"] == 30
    rows = [json.loads(line) for line in (run / "per_text.jsonl").read_text().splitlines()]
    assert all(sum(r["counts"]) == 30 for r in rows)
    assert all("tv" not in r["radii"] for r in rows)  # no training-side radius
    clf = CertifiedClassifier.load(run / "model")
    for row, cert in zip(rows, clf.certify([r["text"] for r in rows]), strict=True):
        assert list(cert.counts) == row["counts"] and cert.certificate == "test_tv"
        assert cert.radius == cert.test_side_radius == (None if row["abstained"] else row["radii"]["test_tv"])
    words = WordCorpus.from_texts([r["text"] for r in rows])
    assert not np.array_equal(clf.reader_(0, words).ids, clf.reader_(1, words).ids)  # each draw its own noise


def test_augmented_training_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="noise_test"):
        load_certify_config(
            None, ('method.name="crowd"', 'method.training="augmented"', "method.noise_test=false")
        )
    with pytest.raises(ValueError, match="training must be one of copies, augmented"):
        load_certify_config(None, ('method.name="safer"', 'method.training="once"'))
    with pytest.raises(ValueError, match="augment must be >= 1"):
        load_certify_config(None, ('method.name="safer"', "method.augment=0"))
