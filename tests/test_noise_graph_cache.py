"""The default graph's cache key follows what the graph is built from, not file dates or folder names."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

from crowd.noise.synonym_graph import GraphInputs, cache_key


def test_cache_key_follows_corpus_contents_not_dates(tmp_path):
    corpus = tmp_path / "data" / "toyc"
    corpus.mkdir(parents=True)
    (corpus / "train.tsv").write_text("sentence\tlabel\ngood film\t1\n")
    inputs = GraphInputs(tmp_path / "data", corpora=("toyc",), wordnet_synonyms="no")
    key = cache_key(inputs)
    os.utime(corpus / "train.tsv", (0, 0))  # a data folder provisioned afresh: new dates, same bytes
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    assert cache_key(inputs) == key == cache_key(replace(inputs, data_root=tmp_path / "copy"))
    (corpus / "train.tsv").write_text("sentence\tlabel\nbad film\t0\n")
    assert cache_key(inputs) != key
    (corpus / "train.tsv").write_text("sentence\tlabel\ngood film\t1\n")
    (corpus / "dev.tsv").write_text("sentence\tlabel\ngood film\t1\n")
    assert cache_key(inputs) != key
