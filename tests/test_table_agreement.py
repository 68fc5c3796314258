"""Agreement of a graph with a neighbour table (SAFER's), hand-checked on a small asymmetric case."""

from __future__ import annotations

import pytest

from synonyms.evaluate import table_agreement
from synonyms.graph import SynonymGraph


def test_table_agreement_hand_checked():
    graph = SynonymGraph.from_sets(
        {"good": [("fine", 0.9), ("nice", 0.8)], "fine": [("good", 0.9)], "film": [("movie", 0.9)]}
    )  # words: good, fine, film, nice, movie
    table = {
        "good": ["fine", "great"],
        "fine": ["good", "nice"],
        "nice": ["good"],
        "film": [],
        "zzz": ["good"],
    }
    a = table_agreement(graph, table)
    # shared words: good, fine, nice, film ("movie" is not a table key, "great"/"zzz" not graph words)
    # ours: good->fine, good->nice, fine->good; theirs: good->fine, fine->good, fine->nice, nice->good
    assert (a.n_words, a.graph_pairs, a.table_pairs, a.shared_pairs) == (4, 3, 4, 2)
    assert a.recall == pytest.approx(0.5) and a.precision == pytest.approx(2 / 3)
    assert a.mean_set_size == pytest.approx((3 + 2 + 2 + 1 + 1) / 5)
    assert a.mean_set_size_shared_words == pytest.approx((3 + 2 + 1 + 2) / 4)
    assert a.to_dict()["recall"] == a.recall
