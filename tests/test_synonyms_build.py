"""End-to-end graph build on toy vectors, save/load round trip, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from crowd.cli import main
from synonyms.build import BuildParams, build_graph
from synonyms.constraints import Constraints
from synonyms.counterfit import CounterFitParams
from synonyms.graph import SynonymGraph
from synonyms.neighbours import NeighbourParams
from synonyms.vectors import from_arrays


def _toy_build():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 16))
    words, rows = [], []
    for k, group in enumerate([["good", "great", "bad"], ["film", "movie", "picture"], ["cat", "dog"]]):
        for w in group:
            words.append(w)
            rows.append(base[k] + 0.15 * rng.normal(size=16))
    kv = from_arrays(words, np.array(rows))
    cons = Constraints(synonyms=(("film", "movie"), ("good", "great")), antonyms=(("bad", "good"),))
    counts = {w: 5 for w in words} | {"dog": 1}
    params = BuildParams(
        neighbours=NeighbourParams(threshold=0.8),
        counterfit=CounterFitParams(epochs=20),
        pre_components=0,
        post_components=0,
    )
    return build_graph(
        kv, cons, counts, params, simlex=[("good", "great", 9.0), ("good", "bad", 1.0), ("film", "cat", 0.5)]
    )


def test_build_separates_antonyms_and_round_trips(tmp_path):
    result = _toy_build()
    graph = result.graph
    assert "dog" not in graph  # below min_count
    assert "great" in graph.neighbors("good") and "bad" not in graph.neighbors("good")
    assert "movie" in graph.neighbors("film")
    assert result.report.antonyms.n_leaked == 0 and result.report.simlex_final is not None
    # great-bad stay close, so without the exclusion bad would join good's component
    assert result.report.antonyms_before_exclusion.examples == (("bad", "good"),)
    assert graph.metadata["params"]["neighbours"]["threshold"] == 0.8
    loaded = SynonymGraph.load(graph.save(tmp_path / "g"))
    assert loaded.content_hash() == graph.content_hash() and loaded.metadata["antonym_leak"]["leaked"] == 0
    assert result.report.seconds["neighbours"] >= 0


def test_cli_show(tmp_path, capsys):
    folder = _toy_build().graph.save(tmp_path / "g")
    assert main(["synonyms", "show", "film", "--graph", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("film:") and "1.0000  film" in out and "movie" in out
    assert main(["synonyms", "show", "zebra", "--graph", str(folder)]) == 1


def test_cli_import_safer(tmp_path, capsys):
    (tmp_path / "t.json").write_text('{"good": ["nice"]}')
    assert main(["synonyms", "import-safer", str(tmp_path / "t.json"), "--out", str(tmp_path / "g")]) == 0
    assert SynonymGraph.load(tmp_path / "g").neighbors("good") == ["good", "nice"]


@pytest.mark.slow
def test_default_graph_build(data_root, tmp_path, monkeypatch):
    """The default graph (about a minute on 2 CPU cores): antonym leakage and famous pairs."""
    monkeypatch.setenv("CROWD_CACHE", str(tmp_path))
    from crowd.noise.synonym_graph import default_graph

    graph = default_graph(data_root)
    for a, b in [("good", "bad"), ("love", "hate"), ("positive", "negative")]:
        assert b not in graph.neighbors(a) and a not in graph.neighbors(b)
    assert graph.metadata["antonym_leak"]["leaked"] / graph.metadata["antonym_leak"]["pairs"] < 0.005
    assert graph.metadata["simlex999"]["counterfitted"]["spearman"] > 0.45
    assert default_graph(data_root).content_hash() == graph.content_hash()  # from the cache
