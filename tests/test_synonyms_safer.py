"""Import of SAFER neighbour tables, and graph save/load round trip."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from synonyms.graph import SynonymGraph
from synonyms.safer import FALLBACK_SIMILARITY, import_safer_table, read_safer_table
from synonyms.vectors import from_arrays

TABLE = {"good": ["nice", "fine"], "nice": ["good"], "fine": [], "The": ["du"]}


def _write(path, obj):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(obj, f)
    return path


def test_import_without_vectors_marks_similarities_unavailable(tmp_path):
    graph = import_safer_table(_write(tmp_path / "t.json.gz", TABLE))
    assert graph.neighbors("good") == ["good", "nice", "fine"]
    assert graph.similarities("good") == [1.0, FALLBACK_SIMILARITY, FALLBACK_SIMILARITY]
    assert graph.neighbors("the") == ["the", "du"]  # lower-cased
    assert "unavailable" in graph.metadata["similarities"]
    loaded = SynonymGraph.load(graph.save(tmp_path / "g"))
    assert loaded.content_hash() == graph.content_hash()
    assert (
        loaded.neighbors("good") == graph.neighbors("good")
        and "unavailable" in loaded.metadata["similarities"]
    )


def test_import_with_vectors_computes_cosines(tmp_path):
    words = ["good", "nice", "fine", "the"]
    x = np.array([[1, 0, 0], [0.8, 0.6, 0], [0.6, 0.8, 0], [0, 0, 1]], dtype=np.float32)
    graph = import_safer_table(
        _write(tmp_path / "t.json.gz", TABLE), from_arrays(words, x), post_components=0
    )
    sims = dict(zip(graph.neighbors("good"), graph.similarities("good")))
    assert sims["nice"] == pytest.approx(0.8, abs=1e-5) and sims["fine"] == pytest.approx(0.6, abs=1e-5)
    assert graph.neighbors("the") == ["the"]  # 'du' has no vector: dropped and counted
    assert graph.metadata["dropped_without_vector"] == 1


def test_bad_tables_give_clear_errors(tmp_path):
    (tmp_path / "bad.json").write_text('{"good": ["nice",\n ]}')
    with pytest.raises(ValueError, match=r"bad\.json:2: not valid JSON"):
        read_safer_table(tmp_path / "bad.json")
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(ValueError, match="empty vocabulary"):
        read_safer_table(tmp_path / "empty.json")


def test_real_safer_table(data_root):
    path = data_root / "synonyms/safer/counterfitted_neighbors.json.gz"
    if not path.exists():
        pytest.skip(f"{path} not present")
    graph = import_safer_table(path)
    assert len(graph) >= 50_000 and graph.n_pairs == 109_187
    assert graph.neighbors("the")[0] == "the"
