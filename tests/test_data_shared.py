"""Loaders on the shared data folder (skipped without $CROWD_DATA)."""

from __future__ import annotations

from collections import Counter

import pytest

from crowd.attacks.output import openbackdoor_csv
from crowd.data import RAW, load_dataset, load_file, load_openbackdoor_folder, read_dataset

SIZES = {
    "sst2": (6920, 872, 1821),
    "offenseval": (11915, 1323, 859),
    "hsol": (5823, 2485, 2485),
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_named_datasets_have_the_classic_split_sizes(data_root, name):
    for split, size in zip(("train", "dev", "test"), SIZES[name]):
        result = read_dataset(name, split, data_root)
        assert len(result.examples) == size and result.report.n_skipped == 0
        assert {e.label for e in result.examples} == {0, 1}


def test_sst2_brackets_are_normalised(data_root):
    train = load_dataset("sst2", "train", data_root)
    assert not any("-lrb-" in e.text for e in train)
    assert Counter(e.label for e in train) == {1: 3610, 0: 3310}


def test_davidson_raw_is_mapped_to_binary(data_root):
    examples = load_file(data_root / "hsol/davidson_raw/labeled_data.csv.gz", format="davidson")
    assert len(examples) == 24783
    assert Counter(e.label for e in examples) == {1: 1430 + 19190, 0: 4163}


def test_openbackdoor_folder_recovers_source_labels(data_root):
    folder = load_openbackdoor_folder(data_root / "openbackdoor_poison/sst-2/1/badnets")
    assert len(folder["test-poison"]) == 912
    assert {e.source_label for e in folder["test-poison"]} == {0}
    mix = folder["clean/0.1/train-poison"]
    poisoned = [e for e in mix if e.poisoned]
    assert len(poisoned) == 692 and {e.source_label for e in poisoned} == {1}


def test_openbackdoor_csv_writer_reproduces_their_bytes(data_root):
    path = data_root / "openbackdoor_poison/hsol/1/addsent/dev-clean.csv"
    examples = load_file(path, normalize=RAW)
    assert openbackdoor_csv(examples) == path.read_text(encoding="utf-8")
