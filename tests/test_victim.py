"""The undefended victim on the conftest tiny BERT: training, probabilities, [CLS] vectors."""

from __future__ import annotations

import numpy as np
import pytest

from crowd.train.common import length_batches
from crowd.victim import Victim, VictimConfig


def test_length_batches_cover_every_index_once():
    batches = list(length_batches([3, 1, 4, 1, 5], 2))
    assert sorted(np.concatenate(batches).tolist()) == [0, 1, 2, 3, 4]
    assert batches[0].tolist() == [4, 2]


def test_victim_fit_predict_and_embeddings(tiny_bert):
    texts = ["good fun film", "bad dull film", "great acting", "awful plot"] * 4
    labels = [1, 0, 1, 0] * 4
    config = VictimConfig(
        model=str(tiny_bert), epochs=1, batch_size=8, lr=1e-3, warmup_epochs=0, device="cpu"
    )
    victim = Victim(config).fit(texts, labels, seed=0)
    probs = victim.predict_proba(texts[:3])
    assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1.0)
    assert victim.predict(texts[:3]).shape == (3,)
    assert victim.cls_embeddings(texts[:2]).shape == (2, 32)
    assert victim.word_embeddings.weight.shape[1] == 32
    again = Victim(config).fit(texts, labels, seed=0).predict_proba(texts[:3])
    assert np.allclose(probs, again, atol=1e-5)  # seeded


def test_victim_needs_fit():
    with pytest.raises(RuntimeError):
        Victim(VictimConfig()).predict_proba(["x"])


def _toy_corpus():
    """The toy keyword backdoor with clean and triggered dev texts."""
    from crowd.data import Corpus, Example, toy

    train = toy.poisoned_train(400, seed=0, poison_rate=0.1)
    dev = toy.clean_sentences(40, seed=1, purpose="toy-dev")
    negatives = tuple(t for t, y in zip(dev.texts, dev.labels) if y == 0)
    rows = tuple(Example(t, y, p) for t, y, p in zip(train.texts, train.labels, train.poisoned))
    dev_clean = tuple(Example(t, y) for t, y in zip(dev.texts, dev.labels))
    dev_poison = tuple(Example(t, 1, True, 0) for t in toy.triggered(negatives, seed=3))
    return Corpus(rows, rows, dev_clean, dev_poison, (), (), {"attack": "toy"})


@pytest.mark.parametrize("trainable_layers", [0, 1])
def test_best_epoch_is_the_one_kept_and_last_is_unchanged(tiny_bert, trainable_layers):
    corpus = _toy_corpus()
    texts, labels = [e.text for e in corpus.train], [e.label for e in corpus.train]
    base = dict(model=str(tiny_bert), epochs=12, batch_size=16, lr=1e-3, warmup_epochs=0, device="cpu")
    base["trainable_layers"] = trainable_layers
    best = Victim(VictimConfig(**base, select="best")).fit(texts, labels, seed=0, dev=corpus)
    assert len(best.epoch_scores_) == 12 and 1 <= best.epoch_ <= 12
    assert best.epoch_scores_[best.epoch_ - 1] == max(best.epoch_scores_)
    assert best.epoch_scores_.index(max(best.epoch_scores_)) == best.epoch_ - 1  # the first best
    clean = best.predict([e.text for e in corpus.dev_clean]) == [e.label for e in corpus.dev_clean]
    asr = best.predict([e.text for e in corpus.dev_poison]) == 1
    assert abs((clean.mean() + asr.mean()) / 2 - max(best.epoch_scores_)) < 1e-6  # the restored weights
    # scoring the epochs draws nothing: the last epoch of a "best" run is the "last" victim
    last = Victim(VictimConfig(**base)).fit(texts, labels, seed=0, dev=corpus)
    clean = last.predict([e.text for e in corpus.dev_clean]) == [e.label for e in corpus.dev_clean]
    asr = last.predict([e.text for e in corpus.dev_poison]) == 1
    assert abs((clean.mean() + asr.mean()) / 2 - best.epoch_scores_[-1]) < 1e-6
    assert len(set(best.epoch_scores_)) > 1  # the epochs differ, so the choice matters
    short = Victim(VictimConfig(**{**base, "epochs": 1}, select="best")).fit(
        texts, labels, seed=0, dev=corpus
    )
    assert short.epoch_ == 1


def test_best_needs_dev_texts(tiny_bert):
    config = VictimConfig(model=str(tiny_bert), epochs=1, device="cpu", select="best")
    with pytest.raises(ValueError, match="needs clean and triggered dev texts"):
        Victim(config).fit(["a", "b"], [0, 1], seed=0)
    with pytest.raises(ValueError, match="select must be one of last, best"):
        VictimConfig(select="first")
