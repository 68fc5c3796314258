"""ConvexCertify / CISS (crowd.ciss): IBP bounds against exact enumeration, the Gaussian certificate, keeping.

Small real components: a synonym graph of real words, word vectors drawn at random into a GloVe-format file
(and once the real GloVe 6B 50-d table), networks with random weights and tiny trained classifiers.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from scipy.stats import norm

from crowd.certify.bounds import cp_lower
from crowd.ciss import CissClassifier, CissSettings, gaussian_certificate
from crowd.ciss.model import CissNet, Lexicon, latent_bound, widen
from crowd.pipelines.classifier import TextCertificate
from crowd.train.model_store import ModelFolderError
from crowd.train.static_vectors import FIRST_WORD, load_table
from synonyms.graph import SynonymGraph

SETS = {
    "good": ["fine", "nice", "great"],
    "great": ["good", "terrific"],
    "movie": ["film", "picture"],
    "bad": ["poor", "awful"],
    "funny": ["amusing", "hilarious"],
    "boring": ["dull", "tedious", "slow"],
    "story": ["tale"],
    "acting": ["performance"],
}
POSITIVE = ["good", "great", "funny", "nice", "terrific", "amusing", "fine", "hilarious"]
NEGATIVE = ["bad", "boring", "poor", "awful", "dull", "tedious", "slow"]
NOUNS = ["movie", "story", "acting", "film", "tale", "picture", "plot"]
torch.set_num_threads(1)  # tiny tensors: threads only contend on a shared CPU
SHORT_TEXTS = [
    "good movie",
    "a boring story",
    "funny great acting",
    "the bad film was slow",
    "plot",
    "good funny movie and boring story",
]


def make_corpus(n: int = 48, seed: int = 0) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        adjectives = POSITIVE if label else NEGATIVE
        words = ["a", *rng.choice(adjectives, 2), rng.choice(NOUNS), "and", rng.choice(adjectives)]
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def graph() -> SynonymGraph:
    return SynonymGraph.from_sets({w: [(v, 0.9) for v in vs] for w, vs in SETS.items()})


@pytest.fixture(scope="module")
def vector_file(tmp_path_factory) -> str:
    """A GloVe text file of random 8-d vectors; "plot" and "was" are left out (they embed as zero)."""
    words = sorted(
        {*POSITIVE, *NEGATIVE, *NOUNS, "a", "and", "the", *SETS, *(v for vs in SETS.values() for v in vs)}
        - {"plot", "was"}
    )
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("vectors") / "tiny.txt"
    lines = [w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=8)) for w in words]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def small_settings(vector_file: str, **changes) -> CissSettings:
    base = dict(
        vectors=vector_file,
        hidden_dim=8,
        latent_dim=6,
        max_length=16,
        epochs=10,
        warmup_epochs=4,
        ramp_epochs=3,
        batch_size=8,
        lr=1e-2,
        sigma=0.5,
        n_samples=400,
        n_selection=20,
        alpha=0.01,
    )
    base.update(changes)
    return CissSettings(**base)


@pytest.fixture(scope="module")
def fitted(graph, vector_file) -> CissClassifier:
    texts, labels = make_corpus()
    return CissClassifier(small_settings(vector_file), graph).fit(texts, labels)


def substitutions(text: str, graph: SynonymGraph) -> list[str]:
    """Every text that replaces any words of ``text`` by their substitutes (the text itself included)."""
    choices = [[w, *graph.substitutes(w)] for w in text.split()]
    return [" ".join(c) for c in itertools.product(*choices)]


def latent_and_box(net: CissNet, lexicon: Lexicon, text: str):
    encoded = lexicon.encode([text], 16)
    with torch.no_grad():
        box = widen(net.latent_box(encoded.batch([0], torch.float64)))
    return box.val[0].numpy(), box.lo[0].numpy(), box.hi[0].numpy(), float(latent_bound(box)[0])


def random_net(table, seed: int, scale: float) -> CissNet:
    gen = torch.Generator().manual_seed(seed)
    rows = np.arange(FIRST_WORD, min(len(table.matrix), FIRST_WORD + 40))
    net = CissNet(table.dim, 12, 5, 3, 2, gen, rows)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return net.double().eval()


def check_enumeration(latent_box, latent, text: str, graph: SynonymGraph) -> int:
    z, lo, hi, bound = latent_box(text)
    variants = substitutions(text, graph)
    for other in variants:
        z2 = latent(other)
        assert np.all(lo <= z2) and np.all(z2 <= hi), (text, other)
        assert np.linalg.norm(z2 - z) <= bound, (text, other)
    return len(variants)


# --- IBP against exact enumeration --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("scale", [0.3, 1.0])
def test_box_holds_every_substitution_random_nets(graph, vector_file, seed, scale):
    table = load_table(vector_file)
    lexicon, net = Lexicon(table, graph), random_net(table, seed, scale)
    enumerated = 0
    for text in SHORT_TEXTS:
        enumerated += check_enumeration(
            lambda t: latent_and_box(net, lexicon, t),
            lambda t: latent_and_box(net, lexicon, t)[0],
            text,
            graph,
        )
    assert enumerated > 300


def test_box_holds_with_real_glove(graph):
    table = load_table("glove-6b-50d")
    lexicon, net = Lexicon(table, graph), random_net(table, 5, 0.2)
    for text in SHORT_TEXTS:
        check_enumeration(
            lambda t: latent_and_box(net, lexicon, t),
            lambda t: latent_and_box(net, lexicon, t)[0],
            text,
            graph,
        )


@pytest.mark.parametrize("seed", [0, 3])
def test_box_holds_for_trained_classifiers(graph, vector_file, seed):
    texts, labels = make_corpus(seed=seed)
    clf = CissClassifier(small_settings(vector_file, seed=seed), graph).fit(texts, labels)
    for text in [*SHORT_TEXTS, texts[0]]:
        if len(substitutions(text, graph)) > 400:
            continue
        check_enumeration(
            lambda t: tuple(a[0] for a in clf.latent_box([t])), lambda t: clf.latent([t])[0], text, graph
        )


def test_text_without_substitutes_has_zero_bound(fitted):
    _, _, _, bound = fitted.latent_box(["the plot and a was"])
    assert bound[0] < 1e-6
    assert fitted.certify_details(["the plot"])[0].n_substitutable == 0


def test_certified_texts_keep_their_label_under_every_substitution(fitted, graph):
    texts, _ = make_corpus(n=24, seed=11)
    short = [t for t in [*SHORT_TEXTS, *texts] if len(substitutions(t, graph)) <= 200]
    certs = fitted.certify_details(short)
    assert sum(c.covered and c.n_substitutable > 0 for c in certs) >= 3  # the check below is not vacuous
    for text, cert in zip(short, certs):
        if not cert.covered:
            continue
        for other in substitutions(text, graph):
            label = fitted.certify_details([other])[0].label
            assert label in (cert.label, -1), (text, other)


# --- the Gaussian certificate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "counts, selection, bound",
    [
        ([990, 10], [0, 20], 0.5),
        ([3, 997], [1, 19], 1.2),
        ([990, 10], [20, 0], 3.0),
        ([520, 480], [12, 8], 0.0),
    ],
)
def test_gaussian_certificate_formula(counts, selection, bound):
    sigma, alpha = 0.7, 0.01
    cert = gaussian_certificate(np.array(counts), np.array(selection), sigma, alpha, bound, 4)
    top = int(np.argmax(selection))
    p_lower = cp_lower(counts[top], sum(counts), alpha)
    assert cert.top_class == top and cert.p_lower == pytest.approx(p_lower)
    if p_lower <= 0.5:
        assert cert.abstained and cert.radius is None and not cert.covered
        return
    assert cert.label == top
    assert cert.gaussian_radius == pytest.approx(sigma * norm.ppf(p_lower))
    assert cert.covered == (bound < sigma * norm.ppf(p_lower))
    assert cert.radius == (4 if cert.covered else 0)


def test_classifier_certificates_follow_the_formula(fitted):
    texts, labels = make_corpus(n=16, seed=5)
    s = fitted.settings
    details = fitted.certify_details(texts)
    records = fitted.certify(texts, budget=1)
    for d, r in zip(details, records):
        assert sum(d.counts) == s.n_samples and sum(d.selection_counts) == s.n_selection
        again = gaussian_certificate(
            np.array(d.counts), np.array(d.selection_counts), s.sigma, s.alpha, d.bound, d.n_substitutable
        )
        assert again == d
        assert isinstance(r, TextCertificate) and r.certificate == "ciss"
        assert r.unit == "synonym substitutions in the test text"
        assert (r.label, r.radius, r.p_lower, r.alpha) == (d.label, d.radius, d.p_lower, s.alpha)
        assert r.certified == (r.radius is not None and r.radius >= 1)
        assert getattr(r, "test_side_radius", r.radius) == r.radius  # the whole certificate is test-side
    assert np.mean([d.label == y for d, y in zip(details, labels)]) > 0.5


def test_certificate_depends_on_the_text_alone(fitted):
    texts, _ = make_corpus(n=6, seed=9)
    together = fitted.certify_details(texts)
    alone = [fitted.certify_details([t])[0] for t in reversed(texts)][::-1]
    assert together == alone


# --- keeping and determinism -------------------------------------------------------------------------------


def test_save_load_gives_identical_certificates(fitted, tmp_path):
    texts, _ = make_corpus(n=10, seed=3)
    folder = fitted.save(tmp_path / "model")
    loaded = CissClassifier.load(folder)
    assert [c.as_dict() for c in loaded.certify(texts)] == [c.as_dict() for c in fitted.certify(texts)]
    assert np.array_equal(loaded.latent(texts), fitted.latent(texts))
    assert loaded.settings == fitted.settings
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "ciss" and "models/model_000000.safetensors" in manifest["files"]
    with pytest.raises(ValueError, match="not empty"):
        fitted.save(folder)


def test_load_refuses_an_edited_folder(fitted, tmp_path):
    folder = fitted.save(tmp_path / "model")
    weights = folder / "models" / "model_000000.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFolderError, match="SHA-256"):
        CissClassifier.load(folder)
    with pytest.raises(ModelFolderError):
        CissClassifier.load(tmp_path / "nowhere")


def test_same_seed_gives_identical_results(graph, vector_file):
    texts, labels = make_corpus(seed=2)
    runs = [CissClassifier(small_settings(vector_file), graph).fit(texts, labels) for _ in range(2)]
    states = [{k: v.numpy().tobytes() for k, v in r.net_.state_dict().items()} for r in runs]
    assert states[0] == states[1]
    assert runs[0].history_ == runs[1].history_
    assert [c.as_dict() for c in runs[0].certify(texts)] == [c.as_dict() for c in runs[1].certify(texts)]
    other = CissClassifier(small_settings(vector_file, seed=1), graph).fit(texts, labels)
    assert other.net_.state_dict()["word.weight"].numpy().tobytes() != states[0]["word.weight"]


def test_training_runs_on_one_thread_and_restores_the_count(graph, vector_file, monkeypatch):
    """Two intra-op threads made full-size fits differ run to run (crowd.ciss.train), so training must run on
    one thread whatever the process uses, and give the caller's thread count back."""
    texts, labels = make_corpus(n=16)
    seen = []
    classify = CissNet.classify

    def recording(self, z):
        seen.append(torch.get_num_threads())
        return classify(self, z)

    monkeypatch.setattr(CissNet, "classify", recording)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        CissClassifier(small_settings(vector_file), graph).fit(texts, labels)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert seen and set(seen) == {1}
    assert after == 2


# --- bad inputs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"sigma": 0.0}, "sigma must be positive"),
        ({"alpha": 1.0}, "alpha must be in"),
        ({"kernel": 2}, "kernel must be odd"),
        ({"n_samples": 0}, "n_samples must be positive"),
        ({"warmup_epochs": 3, "ramp_epochs": 2, "epochs": 4}, "add up to at most epochs"),
        ({"soft_clip": 0.4}, "soft_clip"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        CissSettings(**changes)


def test_bad_inputs_give_clear_errors(graph, vector_file, fitted):
    clf = CissClassifier(small_settings(vector_file), graph)
    with pytest.raises(ValueError, match="not fitted"):
        clf.certify(["good movie"])
    with pytest.raises(ValueError, match="labels"):
        clf.fit(["good movie", "bad film"], [1])
    with pytest.raises(ValueError, match="at least two"):
        clf.fit(["good movie", "bad film"], [1, 1])
    with pytest.raises(TypeError, match="integer class"):
        clf.fit(["good movie", "bad film"], [1, "0"])
    with pytest.raises(ValueError, match="empty"):
        clf.fit([], [])
    with pytest.raises(TypeError, match="not one string"):
        fitted.certify("good movie")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        fitted.certify(["good movie", 3])
    with pytest.raises(TypeError, match="CissSettings"):
        CissClassifier({"sigma": 1.0})


def test_multi_word_substitute_is_refused(vector_file):
    bad = SynonymGraph.from_sets({"good": [("very good", 0.9)]})
    with pytest.raises(ValueError, match="not one word"):
        CissClassifier(small_settings(vector_file), bad).fit(["good movie", "bad film"], [1, 0])


def test_crowd_predict_reads_a_saved_ciss_classifier(fitted, tmp_path, capsys):
    """``crowd predict --model`` takes a saved ConvexCertify folder as it takes crowd certify's: one JSON
    record per text with the classifier's own certificate."""
    import json

    from crowd.cli import main

    folder = fitted.save(tmp_path / "ciss")
    texts = make_corpus(6, seed=3)[0]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert main(["predict", "--model", str(folder), str(tmp_path / "in.txt"), "--no-progress"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expect = [c.as_dict() for c in fitted.certify(texts)]
    assert [{k: v for k, v in r.items() if k != "text"} for r in records] == expect
    assert {r["certificate"] for r in records} == {"ciss"}
