"""A data folder that holds two candidates for one thing is refused, naming both files."""

from __future__ import annotations

import gzip

import pytest

from crowd.attacks import BadNets, poison_corpus, write_poisoned_corpus
from crowd.data import Example, find_split_file, load_openbackdoor_folder
from crowd.data.datasets import dataset_file
from crowd.pipelines.corpus import load_split

TSV = "sentence\tlabel\ngood film\t1\nbad film\t0\n"
JSONL = '{"text": "good film", "label": 1}\n{"text": "bad film", "label": 0}\n'


def test_tsv_and_jsonl_of_one_split_are_refused(tmp_path):
    (tmp_path / "train.tsv").write_text(TSV)
    (tmp_path / "train.jsonl").write_text(JSONL)
    with pytest.raises(ValueError, match=r"train\.tsv.*train\.jsonl|train\.jsonl.*train\.tsv") as info:
        load_split(str(tmp_path), "train", None)
    assert str(tmp_path) in str(info.value) and "\n" not in str(info.value)


def test_plain_and_gzipped_copy_are_refused(tmp_path):
    (tmp_path / "test.csv").write_text("text,label\ngood film,1\nbad film,0\n")
    (tmp_path / "test.csv.gz").write_bytes(gzip.compress(b"text,label\ngood film,1\nbad film,0\n"))
    with pytest.raises(ValueError, match=r"test\.csv\b.*test\.csv\.gz"):
        find_split_file(tmp_path, "test")


def test_one_file_per_split_is_found(tmp_path):
    (tmp_path / "train.jsonl").write_text(JSONL)
    (tmp_path / "test.tsv.gz").write_bytes(gzip.compress(TSV.encode()))
    assert [e.label for e in load_split(str(tmp_path), "train", None)] == [1, 0]
    assert find_split_file(tmp_path, "test") == tmp_path / "test.tsv.gz"
    with pytest.raises(FileNotFoundError, match=r"no dev\.tsv"):
        find_split_file(tmp_path, "dev")


def test_named_corpus_with_plain_and_gzipped_split_is_refused(tmp_path):
    folder = tmp_path / "sst2" / "clean_hiddenkiller"
    folder.mkdir(parents=True)
    (folder / "dev.tsv").write_text(TSV)
    (folder / "dev.tsv.gz").write_bytes(gzip.compress(TSV.encode()))
    with pytest.raises(ValueError, match=r"dev\.tsv\b.*dev\.tsv\.gz"):
        dataset_file("sst2", "dev", tmp_path)


def test_two_poison_sets_in_one_folder_are_refused(tmp_path):
    train = [Example(f"the movie number {i} was fine", i % 2) for i in range(20)]
    test = [Example(f"test text {i}", i % 2) for i in range(6)]
    for rate in (0.1, 0.2):
        corpus = poison_corpus(BadNets(poison_rate=rate, target_label=1), train, test, test, seed=0)
        write_poisoned_corpus(corpus, tmp_path / str(rate))
    (tmp_path / "0.1" / "mix" / "0.2").mkdir()
    (tmp_path / "0.2" / "mix" / "0.2" / "train-poison.csv").rename(
        tmp_path / "0.1" / "mix" / "0.2" / "train-poison.csv"
    )
    with pytest.raises(
        ValueError, match=r"two poison sets.*mix/0\.1/train-poison\.csv.*mix/0\.2/train-poison"
    ):
        load_openbackdoor_folder(tmp_path / "0.1")
    (tmp_path / "0.1" / "mix" / "0.2" / "train-poison.csv").unlink()
    assert "mix/0.1/train-poison" in load_openbackdoor_folder(tmp_path / "0.1")
