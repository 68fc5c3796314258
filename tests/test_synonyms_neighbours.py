"""Neighbour search (chunked) and perturbation sets from components, on hand-made vectors."""

from __future__ import annotations

import numpy as np
import pytest

from synonyms.neighbours import NeighbourParams, normalise, perturbation_sets, similar_pairs


def _angles(degrees):
    """Unit vectors in the plane at the given angles (cosine = cos of the angle difference)."""
    a = np.radians(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


def _sets(words, indptr, indices, sims):
    return {
        w: [
            (words[j], round(float(s), 3))
            for j, s in zip(indices[indptr[i] : indptr[i + 1]], sims[indptr[i] : indptr[i + 1]])
        ]
        for i, w in enumerate(words)
    }


def test_chunked_pairs_equal_dense():
    rng = np.random.default_rng(0)
    x = normalise(rng.normal(size=(300, 5)))
    sparse = similar_pairs(x, 0.6, chunk_bytes=4 * 300 * 7)  # 7 rows per chunk
    dense = x @ x.T
    np.fill_diagonal(dense, 0)
    expected = np.where(dense >= 0.6, dense, 0)
    np.testing.assert_allclose(sparse.toarray(), expected, atol=1e-6)


def test_small_component_is_the_set_large_falls_back_to_neighbours():
    # chain a-b-c at 30° steps (cos 30° = 0.866 >= 0.85, cos 60° = 0.5): one component of 3
    # star: hub with 4 spokes at ±20°, ±25° (spokes see each other only within 31.8°)
    words = ["a", "b", "c", "hub", "s1", "s2", "s3", "s4", "lone"]
    x = np.concatenate([_angles([0, 30, 60]) * [1, 1], _angles([180, 160, 200, 155, 205]), _angles([100])])
    x = np.concatenate([x, np.zeros((9, 1), np.float32)], axis=1)
    x[3:8, 2] = 0.0
    sets = _sets(
        words, *perturbation_sets(words, x, NeighbourParams(threshold=0.85, component_cap=3, neighbour_cap=3))
    )
    assert [w for w, _ in sets["a"]] == ["a", "b", "c"]  # whole component, by similarity
    assert sets["a"][2][1] == pytest.approx(0.5, abs=1e-3)  # c is in a's set although below threshold
    assert sets["lone"] == [("lone", 1.0)]
    # the star's component has 5 words > cap 3: direct neighbours, at most 3 words with the word itself
    assert [w for w, _ in sets["hub"]] == ["hub", "s1", "s2"]
    assert all(s >= 0.85 for _, s in sets["s3"][1:])
    assert "s4" not in [w for w, _ in sets["s1"]]  # s1 (160°) and s4 (205°) are 45° apart


def test_params_validated():
    with pytest.raises(ValueError, match="threshold"):
        NeighbourParams(threshold=1.5)
