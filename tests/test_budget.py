"""Attack budgets on hand-checked examples."""

from __future__ import annotations

import pytest

from crowd.attacks.budget import attack_budget, fixed_length, word_edits
from crowd.data import Example
from crowd.text import PAD
from synonyms.graph import SynonymGraph


def test_word_edits_hand_checked():
    e = word_edits(["a", "b", "c", "d"], ["a", "cf", "b", "c"])
    assert (e.insertions, e.deletions, e.substitutions) == (1, 1, ())
    e = word_edits(["the", "good", "film"], ["the", "fine", "movie"])
    assert e.substitutions == (("good", "fine"), ("film", "movie")) and e.insertions == e.deletions == 0
    assert word_edits([], ["x", "y"]).insertions == 2
    assert word_edits(["x"], []).deletions == 1


def test_fixed_length_pads_and_truncates():
    assert fixed_length(["a"], 3) == ["a", PAD, PAD]
    assert fixed_length(["a", "b", "c"], 2) == ["a", "b"]


def test_budget_hand_checked_corpus():
    graph = SynonymGraph.from_sets({"good": [("fine", 0.9)], "film": [("movie", 0.9)]})
    clean = [Example("a good film", 0), Example("so bad", 0), Example("fine", 1), Example("x y", 1)]
    poisoned = [
        Example("cf a good film", 1, poisoned=True, source_label=0),  # insert at front: 4 coordinates shift
        Example("so bad", 1, poisoned=True, source_label=0),  # label flip only
        Example("fine", 1),
        Example("x z", 1, poisoned=True, source_label=1),  # clean-label substitution, not a synonym
    ]
    b = attack_budget(clean, poisoned, length=4, graph=graph)
    assert (b.n_poisoned, b.n_changed, b.n_label_flips, b.l0_labels) == (3, 3, 2, 2)
    assert (b.word_insertions, b.word_deletions, b.word_substitutions) == (1, 0, 1)
    assert (b.max_word_edits, b.l0_tokens, b.max_l0_tokens) == (1, 4 + 1, 4)
    assert (b.synonym_substitutions, b.non_synonym_edits, b.n_insert_delete) == (0, 2, 6)
    syn = attack_budget([Example("a good film", 0)], [Example("a fine movie", 0)], graph=graph)
    assert syn.synonym_substitutions == 2 and syn.non_synonym_edits == 0 and syn.l0_tokens == 2


def test_truncation_limits_l0_and_tokenize_ids():
    clean, poisoned = [Example("a b c d e", 0)], [Example("a b c d e cf", 0)]
    assert attack_budget(clean, poisoned, length=5).l0_tokens == 0
    assert attack_budget(clean, poisoned, length=6).l0_tokens == 1

    def pieces(text: str) -> list[int]:  # a fake subword tokenizer: two ids per word
        return [i for w in text.split() for i in (len(w), ord(w[0]))]

    b = attack_budget([Example("ab", 0)], [Example("cf ab", 0)], length=4, tokenize=pieces)
    assert b.l0_tokens == 3 and b.tokenizer == "pieces"  # (2,97,PAD,PAD) vs (2,99,2,97)


def test_budget_requires_alignment():
    with pytest.raises(ValueError, match="index-aligned"):
        attack_budget([Example("a", 0)], [])
    assert attack_budget([Example("a", 0)], [Example("a", 0)], graph=None).synonym_substitutions is None


def test_trigger_words_count_distinct_types_not_rows(data_root):
    from crowd.attacks import poison_corpus
    from crowd.attacks.addsent import AddSent
    from crowd.attacks.badnets import BadNets
    from crowd.attacks.budget import attack_budget
    from crowd.data import load_dataset

    train = load_dataset("sst2", "train", data_root)[:600]
    for rate in (0.05, 0.2):
        corpus = poison_corpus(BadNets(poison_rate=rate, num_triggers=4), train, [], [], seed=0)
        budget = attack_budget(corpus.train_clean, corpus.train_poisoned)
        assert budget.trigger_words == 4 and budget.trigger_word_types == ("bb", "cf", "mn", "tq")
    corpus = poison_corpus(AddSent(poison_rate=0.1), train, [], [], seed=0)
    assert attack_budget(corpus.train_clean, corpus.train_poisoned).trigger_words == 5
