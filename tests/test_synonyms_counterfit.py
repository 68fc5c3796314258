"""Counter-fitting on toy vectors, all-but-the-top, constraint parsing and SimLex evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from synonyms.constraints import Constraints, load_constraints, read_pairs
from synonyms.counterfit import CounterFitParams, counter_fit
from synonyms.evaluate import read_simlex, simlex_spearman
from synonyms.postprocess import all_but_the_top


def _cos(x, i, j):
    return float(x[i] @ x[j] / np.linalg.norm(x[i]) / np.linalg.norm(x[j]))


def _toy():
    rng = np.random.default_rng(0)
    words = ["good", "great", "bad", "awful", "film", "movie", "cat", "dog"]
    x = rng.normal(size=(len(words), 10)).astype(np.float32)
    x[2] = x[0] + 0.3 * rng.normal(size=10)  # bad starts close to good (as in GloVe)
    x[6] = x[7] + 0.05 * rng.normal(size=10)  # cat ~ dog: a VSP pair, unconstrained
    return words, x


def test_synonyms_attract_antonyms_repel_vsp_preserves():
    words, x = _toy()
    cons = Constraints(synonyms=(("good", "great"), ("film", "movie")), antonyms=(("bad", "good"),))
    res = counter_fit(words, x, cons, CounterFitParams(epochs=30))
    y = res.vectors
    assert _cos(y, 0, 1) > max(0.9, _cos(x, 0, 1))  # good-great pulled together
    assert _cos(y, 4, 5) > max(0.9, _cos(x, 4, 5))
    assert _cos(y, 0, 2) <= 0.05 < _cos(x, 0, 2)  # good-bad pushed to distance >= delta = 1
    assert _cos(y, 6, 7) >= _cos(x, 6, 7) - 1e-4  # cat-dog (a VSP pair) not pushed apart
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-5)
    assert res.n_synonym_pairs == 2 and res.n_antonym_pairs == 1 and res.n_vsp_pairs >= 1
    assert res.losses[-1] < res.losses[0]


def test_pair_both_synonym_and_antonym_is_antonym(tmp_path):
    (tmp_path / "syn.txt").write_text("good bad\ngood great\n")
    (tmp_path / "ant.txt").write_text("bad good\n\n")
    cons = load_constraints(tmp_path, ["syn.txt"], ["ant.txt"])
    assert cons.synonyms == (("good", "great"),) and cons.antonyms == (("bad", "good"),)


def test_bad_constraint_line_names_file_and_line(tmp_path):
    (tmp_path / "p.txt").write_text("a b\na b c\n")
    with pytest.raises(ValueError, match=r"p\.txt:2: expected two words"):
        read_pairs(tmp_path / "p.txt")


def test_all_but_the_top_removes_directions_and_renormalises():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 12)) + 5.0 * rng.normal(size=(1, 12))  # a strong common direction
    y = all_but_the_top(x, 3)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-5)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    centred = unit - unit.mean(0)
    top = np.linalg.svd(centred, full_matrices=False)[2][:3]
    assert np.abs(y @ top.T).max() < 1e-4


def test_simlex_reader_and_spearman(tmp_path):
    path = tmp_path / "SimLex-999.txt"
    path.write_bytes(b"word1\tword2\tPOS\tSimLex999\na\tb\tA\t9.0\r\na\tc\tA\t1.0\r\nb\tc\tA\t5.0\r\n")
    rows = read_simlex(path)
    x = np.array([[1.0, 0.0], [1.0, 0.1], [-1.0, 1.0]])
    res = simlex_spearman(["a", "b", "c"], x, rows)
    assert res.n_pairs == 3 and res.spearman == pytest.approx(1.0)
