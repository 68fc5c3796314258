"""Long work reports progress on stderr from its first second, and progress never changes a number."""

from __future__ import annotations

import numpy as np
import pytest

import crowd.noise.synonym_graph as synonym_graph
from crowd.noise import CrowdNoise
from crowd.noise.beta import induced_probs_csr
from crowd.noise.synonym import PROGRESS_MIN_ROWS
from crowd.noise.synonym_graph import GraphInputs, build_from_inputs
from synonyms.build import BuildParams
from synonyms.counterfit import CounterFitParams
from synonyms.graph import SynonymGraph

BAR = "CROWD substitution distributions"


def _csr(n_rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, size=n_rows)
    sims = [np.concatenate([[1.0], rng.uniform(0.6, 1.0, size=k - 1)]) for k in sizes]
    return np.concatenate([[0], np.cumsum(sizes)]), np.concatenate(sims)


def test_quadrature_bar_changes_no_number(capsys):
    indptr, sims = _csr(40)
    quiet = induced_probs_csr(indptr, sims)
    assert BAR not in capsys.readouterr().err
    loud = induced_probs_csr(indptr, sims, progress=True)
    err = capsys.readouterr().err
    assert BAR in err and "40/40" in err
    assert np.array_equal(quiet, loud, equal_nan=True)  # bit for bit
    rows = np.array([3, 1, 7])
    assert np.array_equal(
        induced_probs_csr(indptr, sims, rows), induced_probs_csr(indptr, sims, rows, True), equal_nan=True
    )


def _graph(n_words: int) -> SynonymGraph:
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(n_words)]
    sets = {
        w: [(words[(i + d) % n_words], float(rng.uniform(0.7, 0.99))) for d in (1, 2)]
        for i, w in enumerate(words)
    }
    return SynonymGraph.from_sets(sets)


def test_crowd_noise_precompute_reports_progress_only_for_large_batches(capsys):
    graph = _graph(PROGRESS_MIN_ROWS + 20)
    CrowdNoise(graph).distribution("w3")  # one word: no bar
    assert BAR not in capsys.readouterr().err
    loud = CrowdNoise(graph)  # progress is on by default
    loud.precompute()
    assert BAR in capsys.readouterr().err
    quiet = CrowdNoise(graph, progress=False)
    quiet.precompute()
    assert capsys.readouterr().err == ""
    assert np.array_equal(loud._probs, quiet._probs)


def _tiny_inputs(data_root, tmp_path) -> GraphInputs:
    rng = np.random.default_rng(0)
    words = ["good", "great", "fine", "bad", "awful", "film", "movie", "picture", "cat", "dog"]
    base = rng.normal(size=(4, 12))
    groups = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    lines = [
        " ".join([w, *(f"{x:.5f}" for x in base[g] + 0.2 * rng.normal(size=12))])
        for w, g in zip(words, groups)
    ]
    (tmp_path / "vec.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "vocab.txt").write_text(" ".join(words) + "\n")
    params = BuildParams(counterfit=CounterFitParams(epochs=3), pre_components=0, post_components=2)
    return GraphInputs(data_root, tmp_path / "vec.txt", "glove", (), (tmp_path / "vocab.txt",), "no", params)


def test_graph_build_prints_each_stage_and_builds_the_same_graph(data_root, tmp_path, capsys):
    inputs = _tiny_inputs(data_root, tmp_path)
    quiet = build_from_inputs(inputs, progress=False).graph
    assert capsys.readouterr().err == ""
    loud = build_from_inputs(inputs, progress=True).graph
    err = capsys.readouterr().err
    for stage in (
        "reading the words",
        "reading the constraint lists",
        "loading word vectors",
        "counter-fitting",
    ):
        assert f"] {stage}" in err
    assert err.startswith("[synonym graph ") and "built SynonymGraph" in err
    assert loud.content_hash() == quiet.content_hash()


@pytest.mark.parametrize("progress", [True, False])
def test_default_graph_announces_the_build_before_it_starts(
    data_root, tmp_path, monkeypatch, capsys, progress
):
    monkeypatch.setenv("CROWD_CACHE", str(tmp_path / "cache"))
    seen = {}
    tiny = _tiny_inputs(data_root, tmp_path)

    def build(inputs, progress=False, stages=None):  # the real builder, on tiny inputs; records what was said
        seen["err"], seen["progress"] = capsys.readouterr().err, progress
        return build_from_inputs(tiny, progress, stages)

    monkeypatch.setattr(synonym_graph, "build_from_inputs", build)
    graph = synonym_graph.default_graph(data_root, progress=progress)
    assert seen["progress"] is progress
    assert ("building the default synonym graph" in seen["err"]) is progress
    assert len(graph) > 0 and (capsys.readouterr().err == "") is not progress
    assert synonym_graph.default_graph(data_root).content_hash() == graph.content_hash()  # cached: silent
    assert capsys.readouterr().err == ""


def test_graph_build_without_bars_keeps_its_stage_lines(data_root, tmp_path, capsys):
    """``crowd synonyms build --no-progress``: the stage lines stay, only the bars go."""
    inputs = _tiny_inputs(data_root, tmp_path)
    graph = build_from_inputs(inputs, progress=False, stages=True).graph
    err = capsys.readouterr().err
    assert "] reading the words" in err and "built SynonymGraph" in err and "%|" not in err
    assert graph.content_hash() == build_from_inputs(inputs).graph.content_hash()
