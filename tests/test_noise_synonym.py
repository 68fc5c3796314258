"""CrowdNoise / SaferNoise on a hand-made graph: sampler frequencies, kept words, TV, reproducibility."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from crowd.noise import CrowdNoise, SaferNoise
from crowd.seeding import rng as seeded_rng
from crowd.text import WordCorpus
from synonyms.graph import SynonymGraph


@pytest.fixture(scope="module")
def graph() -> SynonymGraph:
    return SynonymGraph.from_sets(
        {
            "good": [("fine", 0.9), ("nice", 0.85), ("great", 0.95)],
            "fine": [("good", 0.9), ("nice", 0.82)],
            "nice": [("good", 0.85), ("fine", 0.82)],
            "great": [("good", 0.95)],
            "movie": [("film", 0.8)],
            "film": [("movie", 0.8)],
            "alone": [],
        }
    )


def _counts(noise, word: str, n: int, seed: int = 7) -> tuple[list[str], np.ndarray, np.ndarray]:
    corpus = WordCorpus.from_texts([" ".join([word] * n)])
    out = noise.perturb(corpus, np.random.default_rng(seed))
    cands, probs = noise.distribution(word)
    words = out.words(0)
    return cands, probs, np.array([words.count(c) for c in cands])


@pytest.mark.parametrize("noise_cls", [CrowdNoise, SaferNoise])
@pytest.mark.parametrize("word", ["good", "fine", "movie", "Good"])
def test_sampler_frequencies_match_distribution(graph, noise_cls, word):
    cands, probs, counts = _counts(noise_cls(graph), word, 60_000)
    assert counts.sum() == 60_000  # nothing outside the perturbation set
    assert stats.chisquare(counts, probs * counts.sum()).pvalue > 1e-3


def test_safer_is_uniform(graph):
    cands, probs = SaferNoise(graph).distribution("good")
    assert cands == ["good", "fine", "nice", "great"]
    np.testing.assert_allclose(probs, 0.25)


def test_crowd_prefers_similar_words(graph):
    cands, probs = CrowdNoise(graph).distribution("good")
    assert probs.sum() == pytest.approx(1.0)
    assert probs[0] > probs[3] > probs[1] > probs[2]  # word, great (0.95), fine (0.9), nice (0.85)


@pytest.mark.parametrize("noise_cls", [CrowdNoise, SaferNoise])
def test_words_outside_graph_or_singleton_are_kept(graph, noise_cls):
    corpus = WordCorpus.from_texts(["zzz alone QQ", "alone zzz"])
    out = noise_cls(graph).perturb(corpus, np.random.default_rng(0))
    assert out.texts() == corpus.texts()
    assert noise_cls(graph).max_tv("zzz") == 0.0 and noise_cls(graph).max_tv("alone") == 0.0


def test_output_vocab_extends_input(graph):
    corpus = WordCorpus.from_texts(["good movie"] * 50)
    out = SaferNoise(graph).perturb(corpus, np.random.default_rng(1))
    assert out.vocab[: len(corpus.vocab)] == corpus.vocab
    assert set(out.vocab[len(corpus.vocab) :]) == {"fine", "nice", "great", "film"}
    np.testing.assert_array_equal(out.offsets, corpus.offsets)


@pytest.mark.parametrize("noise_cls", [CrowdNoise, SaferNoise])
def test_copy_made_alone_equals_copy_made_after_others(graph, noise_cls):
    """The methods draw copy j from ``rng(seed, "train-noise", j)``: a noise object that has already drawn
    other copies (its caches filled) must give copy j exactly as a fresh one does, and copies differ."""
    corpus = WordCorpus.from_texts(["the good movie was fine", "nice film , great"] * 20)
    used = noise_cls(graph)
    batch = [used.perturb(corpus, seeded_rng(3, "train-noise", j)).texts() for j in range(4)]
    alone = noise_cls(graph).perturb(corpus, seeded_rng(3, "train-noise", 2)).texts()
    assert alone == batch[2]
    assert batch[0] != batch[1]


@pytest.mark.parametrize("noise_cls", [CrowdNoise, SaferNoise])
def test_tv_symmetric_and_zero_on_same_word(graph, noise_cls):
    noise = noise_cls(graph)
    words = ["good", "fine", "nice", "great", "movie", "zzz"]
    for w in words:
        assert noise.tv(w, w) == 0.0
        for v in words:
            assert noise.tv(w, v) == pytest.approx(noise.tv(v, w))
            assert 0.0 <= noise.tv(w, v) <= 1.0


def test_safer_tv_matches_set_overlap_for_equal_sizes(graph):
    noise = SaferNoise(graph)
    for w, v in [("fine", "nice"), ("movie", "film"), ("fine", "good")]:
        s, t = set(graph.neighbors(w)), set(graph.neighbors(v))
        if len(s) == len(t):
            assert noise.tv(w, v) == pytest.approx(1 - len(s & t) / len(s))
    assert noise.tv("fine", "nice") == pytest.approx(0.0)  # same 3-word set
    assert noise.tv("movie", "film") == pytest.approx(0.0)


def test_max_tv_array_is_the_worst_neighbour(graph):
    noise = CrowdNoise(graph)
    expected = max(noise.tv("good", w) for w in ["fine", "nice", "great"])
    np.testing.assert_allclose(noise.max_tv_array(["good", "zzz", "good"]), [expected, 0.0, expected])
    assert noise.max_tv("good") == pytest.approx(expected)


def test_crowd_distribution_disk_cache(graph, tmp_path, monkeypatch):
    first = CrowdNoise(graph, cache_dir=tmp_path)
    first.precompute()
    files = list(tmp_path.glob("crowd_pi_v*_*.npy"))
    assert len(files) == 1
    import crowd.noise.synonym as synonym_module

    def no_quadrature(*args, **kwargs):
        raise AssertionError("the cached distribution should have been used")

    monkeypatch.setattr(synonym_module, "induced_probs_csr", no_quadrature)
    second = CrowdNoise(graph, cache_dir=tmp_path)
    for word in ("good", "fine", "movie"):
        assert np.array_equal(second.distribution(word)[1], first.distribution(word)[1])


_TV_SCRIPT = """
import numpy as np
from synonyms.graph import SynonymGraph
from crowd.noise.synonym import CrowdNoise, SaferNoise
rng = np.random.default_rng(0)
words = [f"w{i}" for i in range(60)]
sets = {
    w: [(v, float(rng.uniform(0.5, 1))) for v in rng.choice(words, rng.integers(2, 12), replace=False) if v != w]
    for w in words
}
graph = SynonymGraph.from_sets(sets)
for noise in (SaferNoise(graph), CrowdNoise(graph, progress=False)):
    print(noise.max_tv_array(words).tobytes().hex())
"""


def test_tv_terms_do_not_depend_on_the_hash_seed():
    # The TV sums over a set of strings, whose order follows Python's per-process hash seed: the terms
    # (and so the certificates) must be the same bytes in every process.
    outs = {
        subprocess.run(
            [sys.executable, "-c", _TV_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1
