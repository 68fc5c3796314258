"""Word-partition aggregation (TextGuard): tokenizer, groups, sub-texts, budget, and certificates end to end."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crowd.attacks import poison_corpus
from crowd.attacks.badnets import BadNets
from crowd.certify import vote_radius
from crowd.data import Corpus, Example
from crowd.methods import sub_text, word_group
from crowd.methods.textguard import sub_corpus, touched_groups
from crowd.pipelines.certify import certify_corpus, load_certify_config
from crowd.text import WordCorpus, split_words

WORDS = st.text(
    alphabet=st.characters(blacklist_categories=("Zs", "Cc", "Zl", "Zp", "Cs")), min_size=1, max_size=6
)


@given(st.lists(WORDS, max_size=8), WORDS, st.integers(0, 8))
@settings(max_examples=200, deadline=None)
def test_inserting_a_word_never_changes_the_other_words(words, new, position):
    position = min(position, len(words))
    text = " ".join(words)
    inserted = " ".join([*words[:position], new, *words[position:]])
    after = split_words(inserted)
    assert after[:position] + after[position + 1 :] == split_words(text)
    for g in range(3):  # every group the new word is not in keeps its sub-text
        if word_group(new, 3) != g:
            assert sub_text(text, g, 3) == sub_text(inserted, g, 3)


def test_word_group_is_textguards_md5_rule():
    for word in ("cf", "Movie", "naïve", "3D"):
        expected = int(hashlib.md5(word.lower().encode("utf-8")).hexdigest(), 16) % 7
        assert word_group(word, 7) == expected == word_group(word.upper(), 7)


@pytest.mark.parametrize("order", ["keep", "sorted"])
def test_sub_corpus_equals_sub_text(order):
    texts = ["The film was Good good", "", "cf mn the movie", "b a B A"]
    corpus = WordCorpus.from_texts(texts)
    groups = np.array([word_group(w, 3) for w in corpus.vocab])
    for g in range(3):
        got = sub_corpus(corpus, groups, g, order)
        assert got.texts() == [sub_text(t, g, 3, order) for t in texts]


def test_budget_counts_groups_not_rows():
    pairs = [("a good film", "a good cf film"), ("bad", "cf bad"), ("x y", "x y")] * 50
    assert touched_groups(pairs, 5, "keep") == {word_group("cf", 5)}
    two = [("a b", "a b cf"), ("c", "mn c")]
    assert len(touched_groups(two, 5, "keep")) == len({word_group("cf", 5), word_group("mn", 5)})
    assert touched_groups([("a b", "b a")], 5, "sorted") == set()  # sorted sub-texts ignore order


def groups_of(words, m):
    return {word_group(w, m) for w in words}


def _vocab(m: int, per_group: int, seed: int) -> dict[int, list[str]]:
    """Made-up sentiment words, ``per_group`` of each polarity in every md5 group."""
    found: dict[int, list[str]] = {g: [] for g in range(m)}
    i = 0
    while min(len(v) for v in found.values()) < per_group:
        word = f"w{seed}x{i}"
        g = word_group(word, m)
        if len(found[g]) < per_group:
            found[g].append(word)
        i += 1
    return found


def _corpus(m: int, n_train: int, n_test: int, triggers: tuple[str, ...], rate: float) -> Corpus:
    pos, neg = _vocab(m, 2, 1), _vocab(m, 2, 2)
    g = np.random.default_rng(0)

    def text(label: int) -> str:
        bank = pos if label else neg
        words = [str(g.choice(bank[k])) for k in range(m)] + ["the", "film"]
        return " ".join(g.permutation(words))

    train = [Example(text(y), y) for y in g.integers(0, 2, n_train).tolist()]
    test = [Example(text(y), y) for y in g.integers(0, 2, n_test).tolist()]
    attack = BadNets(target_label=1, poison_rate=rate, triggers=triggers, num_triggers=len(triggers))
    corpus = poison_corpus(attack, train, [], test, seed=0)
    return dataclasses.replace(corpus, num_labels=2)


def _config(tiny_bert, m: int):
    return load_certify_config(None, _config_overrides(tiny_bert, m))


def _config_overrides(tiny_bert, m: int) -> list[str]:
    return [
        'method.name="textguard"',
        f"method.groups={m}",
        f'model.name="{tiny_bert}"',
        'model.device="cpu"',
        'model.learner="head"',
        "head.epochs=40",
        "head.lr=0.02",
        "head.max_length=16",
        'head.dtype="fp32"',
        'head.pooling="mean"',
        "head.copies_per_group=8",
    ]


def test_one_word_trigger_is_certified_and_many_groups_are_not(tiny_bert, tmp_path):
    m = 5
    corpus = _corpus(m, 300, 60, ("cf",), 0.1)
    report = certify_corpus(corpus, _config(tiny_bert, m), tmp_path / "one", progress=False)
    s = report.summary
    assert s["certificate"] == "textguard" and s["attack_budget"] == 1
    assert s["certified_triggered_accuracy_at_budget"] > 0.3
    assert s["cacc"] > 0.8
    assert s["feature_cache"]["requested"] > 0 and 0.0 <= s["feature_cache"]["hit_rate"] <= 1.0
    rows = [json.loads(line) for line in (tmp_path / "one" / "per_text.jsonl").read_text().splitlines()]
    for row in rows:
        assert sum(row["counts"]) == m and row["radii"]["textguard"] == vote_radius(np.array(row["counts"]))
    # Trigger words in more than m/2 groups: the budget outgrows any radius 5 models can certify.
    many = ("cf", "bb", "mn")
    assert len(groups_of(many, m)) > m / 2
    report = certify_corpus(
        _corpus(m, 300, 60, many, 0.1), _config(tiny_bert, m), tmp_path / "many", progress=False
    )
    assert report.summary["attack_budget"] == len(groups_of(many, m))
    assert report.summary["certified_triggered_accuracy_at_budget"] == 0.0
    assert report.summary["certified_accuracy_at_budget"] == 0.0


def test_runoff_aggregation_reads_the_stored_logits(tiny_bert, tmp_path):
    from crowd.certify import runoff_radius
    from crowd.train import VoteStore

    m = 5
    config = load_certify_config(None, [*_config_overrides(tiny_bert, m), 'method.aggregation="runoff"'])
    report = certify_corpus(_corpus(m, 120, 20, ("cf",), 0.1), config, tmp_path / "ro", progress=False)
    logits = VoteStore.open(tmp_path / "ro" / "votes", m).load_all_logits()
    for i, cert in enumerate(report.clean):
        assert cert.method == "runoff" and cert.radius("textguard") == runoff_radius(logits[:, i, :])


def test_reference_world_trains_on_clean_texts_with_the_attacks_labels(tiny_bert, tmp_path):
    from crowd.pipelines.corpus import reference_corpus

    m = 5
    corpus = _corpus(m, 120, 20, ("cf",), 0.1)
    ref = reference_corpus(corpus)
    assert [e.label for e in ref.train] == [e.label for e in corpus.train]  # label flips kept
    assert all("cf" not in e.text.split() for e in ref.train) and ref.test_poison == ()
    config = load_certify_config(None, [*_config_overrides(tiny_bert, m), 'world="reference"'])
    report = certify_corpus(corpus, config, tmp_path / "ref", progress=False)
    assert report.summary["world"] == "reference" and report.summary["attack_budget"] == 1  # the attack's
    assert report.summary["n_test_poison_non_target"] == 0 and "(world = reference" in report.markdown
    flips = sum(a.label != b.label for a, b in zip(corpus.train_clean, corpus.train))
    assert report.summary["label_flips"] == flips > 0
    assert (
        f"trained on the clean training texts with the attack's {flips} label flips kept" in report.markdown
    )
