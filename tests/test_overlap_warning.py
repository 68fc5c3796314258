"""``crowd certify`` warns, before training, when test texts also occur in the training set."""

from __future__ import annotations

import warnings

import pytest

from crowd.data import Example
from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.corpus import given_corpus, prepare_corpus

TRAIN = "sentence\tlabel\ngood film\t1\nbad film\t0\nfine plot\t1\ndull plot\t0\n"


def folder(tmp_path, test_rows: str):
    (tmp_path / "train.tsv").write_text(TRAIN)
    (tmp_path / "test.tsv").write_text("sentence\tlabel\n" + test_rows)
    return DataConfig(dataset=str(tmp_path))


def test_shared_texts_are_counted_in_a_warning(tmp_path):
    data = folder(tmp_path, "good film\t1\nnew story\t0\ndull plot\t0\n")
    with pytest.warns(UserWarning, match=r"2 of the 3 test texts also occur in the training set"):
        corpus = prepare_corpus(data, AttackConfig(name="none"), seed=0)
    assert len(corpus.test_clean) == 3  # a warning, not a refusal


def test_a_shared_text_counts_once_and_disjoint_sets_are_quiet(tmp_path):
    data = folder(tmp_path, "new story\t0\nother tale\t1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_corpus(data, AttackConfig(name="none"), seed=0)
    train = [Example("same", 0), Example("same", 0), Example("x", 1)]
    with pytest.warns(UserWarning, match=r"1 of the 2 test texts"):
        given_corpus(train, [Example("same", 1), Example("y", 0)])
