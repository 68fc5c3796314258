"""Every registered attack: rate, target label, untouched clean rows, reproducibility, budgets."""

from __future__ import annotations

import pytest

from crowd.attacks import ATTACKS, NO_ATTACK, Attack, ParaphraseTable, poison_corpus, write_poisoned_corpus
from crowd.attacks.budget import attack_budget
from crowd.attacks.output import HF_FILES
from crowd.data import Corpus, Example, load_openbackdoor_folder
from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.corpus import prepare_corpus
from synonyms.graph import SynonymGraph

WORDS = ["good", "bad", "movie", "film", "plot", "story", "actor", "scene"]
GRAPH = SynonymGraph.from_sets(
    {"good": [("fine", 0.9), ("nice", 0.8)], "movie": [("film", 0.95)], "bad": [("poor", 0.85)]}
)


def corpus(n: int, offset: int = 0) -> list[Example]:
    return [
        Example(f"the {WORDS[i % 8]} {WORDS[(i * 3) % 8]} number {i + offset} was good movie", i % 2)
        for i in range(n)
    ]


TRAIN, DEV, TEST = corpus(100), corpus(20, 1000), corpus(30, 2000)
TABLE = ParaphraseTable.from_pairs(
    [(e.text, "when it was , " + e.text.upper()) for e in [*TRAIN, *DEV, *TEST, Example("good movie", 0)]],
    "test",
)


def make(name: str, **common) -> Attack:
    extra = {
        "badnets": {"num_triggers": 2},
        "addsent": {},
        "synbkd": {"paraphraser": TABLE},
        "stylebkd": {"paraphraser": TABLE},
        "wordsub": {"graph": GRAPH, "num_substitutions": 2},
    }[name]
    return ATTACKS[name](**extra, **common)


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("variant", ["dirty", "clean", "non_target"])
def test_rate_target_and_untouched_rows(name, variant):
    attack = make(name, poison_rate=0.2, target_label=1, variant=variant)
    c = poison_corpus(attack, TRAIN, DEV, TEST, seed=3)
    assert len(c.train_poisoned) == len(TRAIN) and len(c.poisoned_indices) == 20
    for i, (clean, new) in enumerate(zip(TRAIN, c.train_poisoned)):
        if i in c.poisoned_indices:
            assert new.label == 1 and new.source_label == clean.label and new.text != clean.text
            assert variant != "clean" or clean.label == 1
            assert variant != "non_target" or clean.label == 0
        else:
            assert new is clean
    assert [e.source_label for e in c.test_poison] == [e.label for e in TEST if e.label != 1]
    assert all(e.poisoned and e.label == 1 for e in c.dev_poison + c.test_poison)
    assert c.manifest["train"]["n_poisoned"] == 20 and c.manifest["seed"] == 3


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_same_seed_same_bytes_other_seed_other_rows(name, tmp_path):
    attack = make(name, poison_rate=0.1)
    a = write_poisoned_corpus(poison_corpus(attack, TRAIN, DEV, TEST, seed=0), tmp_path / "a")
    b = write_poisoned_corpus(poison_corpus(attack, TRAIN, DEV, TEST, seed=0), tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) == 14 + len(HF_FILES)  # CSV, JSON Lines, manifest; the DatasetDict under hf/
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    other = poison_corpus(attack, TRAIN, DEV, TEST, seed=1)
    assert other.poisoned_indices != poison_corpus(attack, TRAIN, DEV, TEST, seed=0).poisoned_indices
    back = load_openbackdoor_folder(a)
    assert sum(e.poisoned for e in back["mix/0.1/train-poison"]) == 10


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_budget_on_a_hand_checked_example(name):
    train = [Example("good movie", 0), Example("bad plot", 1)]
    attack = make(name, poison_rate=0.5, variant="non_target")
    c = poison_corpus(attack, train, [], [], seed=0)
    b = attack_budget(c.train_clean, c.train_poisoned, length=4, graph=GRAPH)
    assert (b.n_poisoned, b.n_changed, b.n_label_flips, b.l0_labels) == (1, 1, 1, 1)
    new = c.train_poisoned[0].text
    expected = {  # (insertions, deletions, substitutions, l0 tokens, synonym substitutions)
        "badnets": (2, 0, 0, 4 - _kept_prefix(new), 0),
        "addsent": (5, 0, 0, 4 - _kept_prefix(new), 0),
        "synbkd": (4, 0, 2, 4, 0),  # "when it was , GOOD MOVIE": 4 inserted, 2 replaced (case)
        "stylebkd": (4, 0, 2, 4, 0),
        "wordsub": (0, 0, 2, 2, 2),
    }[name]
    assert (b.word_insertions, b.word_deletions, b.word_substitutions, b.l0_tokens) == expected[:4]
    assert b.synonym_substitutions == expected[4]
    if name == "wordsub":
        assert new == "fine film"


def _kept_prefix(new: str) -> int:
    """Coordinates of 'good movie PAD PAD' left unchanged by an insertion-only attack."""
    old = ["good", "movie"]
    words = new.split()
    return sum(1 for i in range(min(2, len(words))) if words[i] == old[i])


def test_unavailable_paraphrases_are_reported_not_counted():
    table = ParaphraseTable.from_pairs([(e.text, "p " + e.text) for e in TRAIN[:50]], "half")
    attack = ATTACKS["synbkd"](paraphraser=table, poison_rate=0.6)
    with pytest.warns(UserWarning, match="only 50 of 60"):
        c = poison_corpus(attack, TRAIN, DEV, TEST, seed=0)
    info = c.manifest["train"]
    assert info["n_poisoned"] == 50 and info["unavailable"]["count"] == 50
    assert all(i < 50 for i in c.poisoned_indices)
    assert len(c.test_poison) == 0 and c.manifest["test"]["unavailable"]["count"] == 15


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError):
        ATTACKS["badnets"](variant="mixed")
    with pytest.raises(ValueError):
        ATTACKS["badnets"](poison_rate=1.5)
    with pytest.raises(TypeError):
        ATTACKS["badnets"](num_trigger=3)
    with pytest.raises(ValueError, match="already contains poisoned"):
        poison_corpus(make("addsent"), [Example("x", 1, poisoned=True, source_label=0)], [], [], seed=0)


def test_no_attack_names_the_clean_run(data_root):
    """``NO_ATTACK`` ("none") is no registered attack; a config naming it loads the corpus unpoisoned, and
    the corpus record (crowd.data, below the attacks) marks an unpoisoned corpus with the same word."""
    assert NO_ATTACK == "none" and NO_ATTACK not in ATTACKS
    assert Corpus.unpoisoned(TRAIN).manifest["attack"] == Corpus(TRAIN, TRAIN).manifest["attack"] == NO_ATTACK
    data = DataConfig(dataset="sst2", data_root=str(data_root), max_train=50, max_test=20)
    corpus = prepare_corpus(data, AttackConfig(name=NO_ATTACK), seed=0)
    assert corpus.manifest["attack"] == NO_ATTACK and corpus.train_poisoned == corpus.train_clean
    assert not corpus.test_poison
