"""STRIP, RAP and BKI on a tiny keyword-backdoor corpus (``crowd.data.toy``), on the CPU.

The victims are real models trained here on the poisoned toy corpus, so the backdoor
(``cf`` → label 1) is learnt, not hard-wired:

STRIP and RAP need a victim whose confidence is graded; the conftest tiny BERT (2
layers, 32 wide) saturates to one probability per class on this corpus (every input of
a class gets the same output), which leaves both detectors nothing to measure, and it
takes most of a minute to train on two shared cores. The defenses therefore run on a
mean-of-embeddings classifier with BERT's tokenizer (``BowClassifier``), trained through
the same :class:`crowd.victim.model.Victim` loop in a few seconds: it learns the sentiment
words and the trigger, its output moves with every word, and it has the word-embedding
matrix (RAP) and a pooled representation (BKI) the defenses use. The Hugging Face path
of the victim is tested in ``test_victim.py``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from crowd.data import toy
from crowd.defenses import BKI, RAP, STRIP, threshold_from_frr
from crowd.defenses.rap import RAPStalled
from crowd.seeding import torch_seed
from crowd.victim import Victim, VictimConfig


class BowClassifier(torch.nn.Module):
    """Logits = linear(mean of token embeddings): a tiny real classifier with an embedding matrix."""

    def __init__(self, vocab_size: int, dim: int = 16, num_labels: int = 2) -> None:
        super().__init__()
        self.embeddings = torch.nn.Embedding(vocab_size, dim)
        self.head = torch.nn.Linear(dim, num_labels)

    def get_input_embeddings(self) -> torch.nn.Embedding:
        return self.embeddings

    @property
    def base_model(self):
        return lambda **kw: SimpleNamespace(last_hidden_state=self._pooled(**kw).unsqueeze(1))

    def _pooled(self, input_ids=None, attention_mask=None, inputs_embeds=None):
        embeds = self.embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        mask = attention_mask.unsqueeze(-1).to(embeds.dtype)
        return (embeds * mask).sum(1) / mask.sum(1)

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
        return SimpleNamespace(logits=self.head(self._pooled(input_ids, attention_mask, inputs_embeds)))


class BowVictim(Victim):
    def load(self) -> BowVictim:
        from crowd.train.models import load_tokenizer

        torch.manual_seed(0)
        self.device_ = torch.device("cpu")
        self.tokenizer_ = load_tokenizer(self.config.model)
        self.model_ = BowClassifier(self.tokenizer_.vocab_size)
        return self


TRAIN = toy.poisoned_train(400, seed=0, poison_rate=0.1)
DEV = toy.clean_sentences(200, seed=2, purpose="toy-dev")
TEST = toy.clean_sentences(200, seed=1, purpose="toy-test")
TRIGGERED = toy.triggered(tuple(t for t, y in zip(TEST.texts, TEST.labels) if y == 0), seed=3)


@pytest.fixture(scope="module")
def bow_victim(tiny_bert):
    config = VictimConfig(
        model=str(tiny_bert), epochs=10, batch_size=32, lr=0.1, warmup_epochs=0, device="cpu"
    )
    return BowVictim(config).fit(TRAIN.texts, TRAIN.labels, seed=0)


def _backdoor_works(victim) -> None:
    assert (victim.predict(TRIGGERED) == 1).mean() >= 0.97  # the backdoor is fully learnt


def test_threshold_from_frr_flags_at_most_frr():
    clean = np.arange(100, dtype=float)
    t = threshold_from_frr(clean, 0.05)
    assert (clean < t).mean() == pytest.approx(0.05)
    assert threshold_from_frr(np.array([np.nan, 1.0, 2.0]), 0.0) == 1.0
    with pytest.raises(ValueError):
        threshold_from_frr(clean, 1.0)


def test_strip_flags_triggered_inputs(bow_victim):
    _backdoor_works(bow_victim)
    strip = STRIP(frr=0.05, seed=0).fit(DEV.texts, bow_victim)
    clean_rate, triggered_rate = strip.flag(TEST.texts).mean(), strip.flag(TRIGGERED).mean()
    assert clean_rate <= 0.12
    assert triggered_rate >= 0.2 and triggered_rate > 3 * clean_rate


def test_strip_entropy_is_averaged_per_text(bow_victim):
    """OpenBackdoor's reshape mixes texts; ours averages each text's own copies."""
    strip = STRIP(repeat=3, seed=0).fit(DEV.texts, bow_victim)
    texts = [TRIGGERED[0], TEST.texts[0]]
    both = strip.statistic(texts)
    assert both[0] == pytest.approx(strip.statistic(texts[:1])[0])
    assert strip.perturb("one two three four", np.random.default_rng(0)).count(" ") == 3


def test_rap_flags_triggered_inputs_and_leaves_victim_untouched(bow_victim):
    _backdoor_works(bow_victim)
    before = bow_victim.word_embeddings.weight.detach().clone()
    rap = RAP(frr=0.05, lr=1.0, seed=0).fit(DEV.texts, bow_victim, DEV.labels)
    assert torch.equal(before, bow_victim.word_embeddings.weight)
    assert rap.losses_[-1] < rap.losses_[0]
    clean_rate, triggered_rate = rap.flag(TEST.texts).mean(), rap.flag(TRIGGERED).mean()
    assert clean_rate <= 0.12
    assert triggered_rate >= 0.2 and triggered_rate > 3 * clean_rate


def test_bki_finds_the_trigger_and_removes_poisoned_samples(bow_victim):
    _backdoor_works(bow_victim)
    bki = BKI().fit(TRAIN.texts, bow_victim)
    assert bki.keywords_[0] == "cf"
    keep = bki.keep_mask(TRAIN.texts)
    poisoned = np.array(TRAIN.poisoned)
    assert not keep[poisoned].any()
    assert keep[~poisoned].mean() > 0.9
    examples = [SimpleNamespace(text=t) for t in TRAIN.texts]
    assert len(bki.filter(examples, bow_victim)) == int(keep.sum())


def test_rap_steps_accumulate_gradients_like_the_released_code(bow_victim):
    """``v <- v - lr * (g_1 + ... + g_t)``, renormalised: the released code never zeroes the gradient."""
    texts = [t for t, y in zip(DEV.texts, bow_victim.predict(DEV.texts)) if y == 1][:40]
    rap = RAP(lr=1.0, epochs=1, batch_size=20, min_steps=0, step="released", seed=0)
    rap.victim_ = bow_victim  # tune only: two updates do not pass fit's check that the word moved
    rap.token_id_ = bow_victim.tokenizer_("mb", add_special_tokens=False)["input_ids"][0]
    rap._tune(texts, bow_victim)
    assert len(rap.losses_) == 2
    order = torch.randperm(40, generator=torch.Generator().manual_seed(torch_seed(0, "rap-shuffle")))
    base = torch.as_tensor(bow_victim.predict_proba(list(texts))[:, 1], dtype=torch.float32)
    replay = RAP(lr=1.0, step="released", seed=0)
    replay.victim_, replay.token_id_ = bow_victim, rap.token_id_
    vector = bow_victim.word_embeddings.weight[rap.token_id_].detach().float().clone()
    norm, total, steps = float(vector.norm()), torch.zeros_like(vector), []
    for half in (order[:20], order[20:]):
        replay.embedding_ = vector
        _, grad = replay._loss_and_grad([texts[i] for i in half], base[half])
        total += grad
        vector = vector - 1.0 * total
        vector = vector * (norm / vector.norm())
        steps.append((vector, grad))
    zeroed = steps[0][0] - 1.0 * steps[1][1]  # the second step with the gradient zeroed
    zeroed = zeroed * (norm / zeroed.norm())
    assert torch.allclose(rap.embedding_, vector, atol=1e-6)
    assert not torch.allclose(rap.embedding_, zeroed, atol=1e-4)


def test_rap_tunes_and_thresholds_on_protected_texts_the_victim_classifies_correctly(bow_victim):
    labels = list(DEV.labels)
    predicted = bow_victim.predict(DEV.texts)
    correct = sum(1 for y, p in zip(labels, predicted) if y == p == 1)
    rap = RAP(lr=1.0, seed=0).fit(DEV.texts, bow_victim, labels)
    report = rap.report()
    assert len(rap.clean_statistic_) == report["n_tuned"] == report["n_calibration"] == correct
    assert report["n_protected"] == labels.count(1) >= correct
    # At least min_steps updates, whatever the number of calibration texts.
    assert report["updates"] >= 70 and report["epochs_run"] > 5
    assert report["clean_drop_median"] >= 0.05
    with pytest.raises(ValueError, match="labels"):
        RAP().fit(DEV.texts, bow_victim)


def test_rap_that_cannot_move_its_word_raises_instead_of_flagging_noise(bow_victim):
    with pytest.raises(RAPStalled, match="tuning stalled.*raise lr"):
        RAP(lr=1e-4, epochs=1, min_steps=0, seed=0).fit(DEV.texts, bow_victim, DEV.labels)


def test_strip_uses_the_donor_words_in_tfidf_order_then_other_vocabulary(bow_victim):
    """OpenBackdoor and the RAP authors' STRIP: position i gets the donor's i-th word, no wrap-around."""
    strip = STRIP(swap_ratio=1.0, seed=0).fit(["alpha beta beta", "gamma delta"], bow_victim)
    assert strip.pools_ == [["beta", "alpha"], ["delta", "gamma"]]
    assert strip.replacements(["beta", "alpha"], 4) == ["beta", "alpha", "delta", "gamma"]
    perturbed = strip.perturb("w1 w2 w3 w4", np.random.default_rng(0)).split()
    assert sorted(perturbed) == ["alpha", "beta", "delta", "gamma"]  # round-robin gave beta alpha beta alpha


def test_bki_caps_keywords_by_document_frequency(bow_victim):
    """A word in more than ``max_doc_freq`` of the texts (``cf``: 10% here) is reported, never a keyword."""
    bki = BKI(max_doc_freq=0.05).fit(TRAIN.texts, bow_victim)
    assert "cf" in bki.excluded_ and "cf" not in bki.keywords_
    assert bki.report()["excluded_frequent"] == list(bki.excluded_)
    assert BKI().fit(TRAIN.texts, bow_victim).report()["keyword_doc_freq"][0] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="max_doc_freq"):
        BKI(max_doc_freq=0.0)


def test_bki_removes_a_text_only_where_a_keyword_is_among_its_own_top_words(bow_victim):
    """OpenBackdoor's rule; the old rule (any keyword in the text) removed ubiquitous-token texts wholesale."""
    bki = BKI(top_per_sample=1).fit(TRAIN.texts, bow_victim)
    contains = np.array([not set(bki.keywords_).isdisjoint(t.split()) for t in TRAIN.texts])
    keep = bki.keep_mask(TRAIN.texts)
    expected = np.array([set(bki.keywords_).isdisjoint(top) for top in bki.top_words_])
    assert (keep == expected).all() and (~keep <= contains).all()
    with pytest.raises(ValueError, match="fitted on"):
        bki.keep_mask(TRAIN.texts[:10])


def test_bki_sample_finds_the_keywords_and_applies_the_rule_to_every_text(bow_victim):
    """Keywords from a sample, then every text holding one scored: the same removals as scoring all."""
    full = BKI().fit(TRAIN.texts, bow_victim)
    sampled = BKI(sample_size=len(TRAIN.texts) // 4, seed=0).fit(TRAIN.texts, bow_victim)
    assert sampled.keywords_ == full.keywords_ == ("cf",)
    holding = sum(not set(full.keywords_).isdisjoint(t.split()) for t in TRAIN.texts)
    assert sampled.scored_ < len(TRAIN.texts) and sampled.scored_ <= len(TRAIN.texts) // 4 + holding
    assert np.array_equal(sampled.keep_mask(TRAIN.texts), full.keep_mask(TRAIN.texts))
    assert sampled.report()["scored_texts"] == sampled.scored_
    assert BKI(sample_size=10**6).fit(TRAIN.texts, bow_victim).scored_ == len(TRAIN.texts)
    with pytest.raises(ValueError, match="sample_size"):
        BKI(sample_size=-1)


def test_rap_far_is_well_below_one_on_a_backdoored_victim(bow_victim):
    """FRR on clean test texts and FAR on triggered ones (THEORY §4) with the default tuning. Measured:
    FRR 3.5%, FAR 74% (the mean-of-embeddings victim dilutes the trigger as much as the RAP word, so a
    triggered text's drop is only about four times smaller than a clean one's); before the fix (lr 1e-2
    steps, 5 epochs over the protected dev texts) RAP flagged 3% of triggered texts at FRR 5%."""
    from crowd.defenses.metrics import detector_metrics

    _backdoor_works(bow_victim)
    rap = RAP(frr=0.05, seed=0).fit(DEV.texts, bow_victim, DEV.labels)
    m = detector_metrics(rap.flag(TEST.texts), rap.flag(TRIGGERED))
    assert rap.threshold_ > 0 and m["frr"] <= 0.1
    assert m["far"] <= 0.8 and 1 - m["far"] >= 5 * m["frr"], m


def test_calibration_leaves_out_dev_texts_that_are_also_test_texts():
    from crowd.data import Corpus, Example
    from crowd.pipelines.defend import calibration_set

    dev = tuple(Example(t, y) for t, y in [("a fine film", 1), ("dull", 0), ("shared text", 1)])
    test = (Example("shared text", 1), Example("other", 0))
    corpus = Corpus(train_clean=(), train_poisoned=(), dev_clean=dev, test_clean=test)
    texts, labels, removed = calibration_set(corpus)
    assert texts == ["a fine film", "dull"] and labels == [1, 0] and removed == 1
    same = Corpus(train_clean=(), train_poisoned=(), dev_clean=test, test_clean=test)  # HSOL: dev = test
    with pytest.raises(ValueError, match="nothing is left to calibrate"):
        calibration_set(same)


def test_detectors_and_bki_take_a_datasets_dataset(bow_victim):
    """A ``datasets.Dataset`` (``text``, ``label`` columns) gives the same thresholds, flags and kept rows."""
    import datasets

    dev = datasets.Dataset.from_dict({"text": list(DEV.texts), "label": list(DEV.labels)})
    test = datasets.Dataset.from_dict({"text": list(TEST.texts)})
    strip = STRIP(repeat=3, seed=0).fit(dev, bow_victim)
    assert strip.threshold_ == STRIP(repeat=3, seed=0).fit(DEV.texts, bow_victim).threshold_
    assert (strip.flag(test) == strip.flag(TEST.texts)).all()
    train = datasets.Dataset.from_dict(
        {"text": list(TRAIN.texts), "label": list(TRAIN.labels), "poisoned": list(TRAIN.poisoned)}
    )
    kept = BKI().filter(train, bow_victim)
    assert isinstance(kept, datasets.Dataset) and not any(kept["poisoned"])
    assert kept["text"] == [
        t for t, k in zip(TRAIN.texts, BKI().fit(TRAIN.texts, bow_victim).keep_mask(TRAIN.texts)) if k
    ]
