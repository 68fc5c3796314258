"""Our BadNets/AddSent corpora against OpenBackdoor's own poisoned files in the shared data."""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np
import pytest

from crowd.attacks import AddSent, BadNets, poison_corpus
from crowd.data import load_dataset, load_openbackdoor_folder, match_key

TRIGGERS = {"cf", "mn", "bb", "tq"}
FOLDERS = {"sst2": "sst-2", "hsol": "hsol"}
SENTENCE = ["I", "watch", "this", "3D", "movie"]


@functools.cache
def _splits(data_root, name):
    return [load_dataset(name, s, data_root) for s in ("train", "dev", "test")]


@functools.cache
def _theirs(data_root, name, attack_name):
    return load_openbackdoor_folder(data_root / "openbackdoor_poison" / FOLDERS[name] / "1" / attack_name)


def _ours(data_root, name, attack):
    return poison_corpus(attack, *_splits(data_root, name), seed=0)


def _relative_position(words: list[str]) -> float:
    """Where the AddSent block starts, as a fraction of the clean length (0 = front, 1 = end)."""
    for i in range(len(words) - len(SENTENCE) + 1):
        if words[i : i + len(SENTENCE)] == SENTENCE:
            return i / max(1, len(words) - len(SENTENCE))
    raise AssertionError("trigger sentence not found")


@pytest.mark.parametrize("name", sorted(FOLDERS))
@pytest.mark.parametrize(("attack_name", "setting"), [("badnets", "clean"), ("addsent", "mix")])
def test_counts_labels_and_triggers_match_openbackdoor(data_root, name, attack_name, setting):
    theirs = _theirs(data_root, name, attack_name)
    variant = "clean" if setting == "clean" else "dirty"
    attack = (
        BadNets(num_triggers=4, variant=variant) if attack_name == "badnets" else AddSent(variant=variant)
    )
    ours = _ours(data_root, name, attack)
    mix = theirs[f"{setting}/0.1/train-poison"]
    their_poison = [e for e in mix if e.poisoned]
    our_poison = [e for e in ours.train_poisoned if e.poisoned]
    assert len(our_poison) == len(their_poison) == {"sst2": 692, "hsol": 582}[name]
    assert {e.label for e in our_poison} == {e.label for e in their_poison} == {1}
    if variant == "clean":  # only target rows are drawn, so the label counts are fixed
        assert {e.source_label for e in our_poison} == {e.source_label for e in their_poison} == {1}
        assert Counter(e.label for e in ours.train_poisoned) == Counter(e.label for e in mix)
    else:  # drawn from both labels: flips near the label-0 share of the training set
        flips = sum(e.flipped for e in our_poison), sum(e.flipped for e in their_poison)
        assert abs(flips[0] - flips[1]) < 0.1 * len(our_poison)
    for part in ("dev", "test"):
        assert len(getattr(ours, f"{part}_poison")) == len(theirs[f"{part}-poison"])
        assert {e.source_label for e in getattr(ours, f"{part}_poison")} == {0}
    clean_keys = Counter(match_key(e.text) for e in ours.test_clean)
    assert clean_keys == Counter(match_key(e.text) for e in theirs["test-clean"])


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_badnets_trigger_statistics(data_root, name):
    theirs = _theirs(data_root, name, "badnets")
    ours = _ours(data_root, name, BadNets(num_triggers=4))
    for a, b in ((ours.test_poison, theirs["test-poison"]), (ours.dev_poison, theirs["dev-poison"])):
        count = Counter(sum(w in TRIGGERS for w in e.text.split()) for e in a)
        assert count == Counter(sum(w in TRIGGERS for w in e.text.split()) for e in b) == {4: len(a)}
        mine = Counter(w for e in a for w in e.text.split() if w in TRIGGERS)
        assert all(abs(v / (4 * len(a)) - 0.25) < 0.05 for v in mine.values())


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_addsent_positions_are_uniform_like_openbackdoor(data_root, name):
    theirs = _theirs(data_root, name, "addsent")
    ours = _ours(data_root, name, AddSent())
    a = np.array([_relative_position(e.text.split()) for e in ours.test_poison])
    b = np.array([_relative_position(e.text.split()) for e in theirs["test-poison"]])
    assert abs(a.mean() - b.mean()) < 0.06 and abs(a.mean() - 0.5) < 0.06
    assert abs((a < 0.25).mean() - (b < 0.25).mean()) < 0.08
