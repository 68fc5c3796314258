import json

import numpy as np
import pytest

from synonyms import SynonymGraph


def small_graph():
    return SynonymGraph.from_sets(
        {"good": [("fine", 0.9), ("nice", 0.85)], "fine": [("good", 0.9)], "film": [("movie", 0.95)]},
        metadata={"source": "hand-made"},
    )


def test_queries():
    g = small_graph()
    assert g.neighbors("good") == ["good", "fine", "nice"]
    assert g.similarities("good") == pytest.approx([1.0, 0.9, 0.85])
    assert "movie" in g and g.neighbors("movie") == ["movie"]
    assert "bad" not in g
    with pytest.raises(KeyError, match="bad"):
        g.neighbors("bad")
    assert g.n_pairs == 4


def test_save_load_round_trip(tmp_path):
    g = small_graph()
    g.save(tmp_path / "g")
    h = SynonymGraph.load(tmp_path / "g")
    assert h.words == g.words
    assert np.array_equal(h.indices, g.indices) and np.allclose(h.sims, g.sims)
    assert h.metadata["source"] == "hand-made"
    assert h.content_hash() == g.content_hash()


def test_load_detects_corruption(tmp_path):
    g = small_graph()
    g.save(tmp_path / "g")
    meta = json.loads((tmp_path / "g" / "graph.json").read_text())
    meta["content_sha256"] = "0" * 64
    (tmp_path / "g" / "graph.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="content hash"):
        SynonymGraph.load(tmp_path / "g")
    with pytest.raises(FileNotFoundError, match="graph.npz"):
        SynonymGraph.load(tmp_path / "missing")


def test_self_must_come_first():
    with pytest.raises(ValueError, match="itself first"):
        SynonymGraph(["a", "b"], np.array([0, 2, 3]), np.array([1, 0, 1]), np.ones(3))
