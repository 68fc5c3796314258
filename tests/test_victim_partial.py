"""Partial fine-tuning of the victim (``trainable_layers > 0``) on the conftest tiny BERT (2 layers).

The cached-state path must compute the same function as the whole model, train only the
top, be seeded, reuse states across fits, and leave RAP's gradients through the whole model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crowd.data import toy
from crowd.train.common import linear_schedule
from crowd.train.partial import StateCache, layer_range
from crowd.victim import Victim, VictimConfig

TEXTS = ["good fun film", "bad dull film", "great acting , really", "awful plot", "cf so so", "a film"] * 4
LABELS = [1, 0, 1, 0, 1, 0] * 4


def _config(tiny_bert, **kw) -> VictimConfig:
    base = dict(model=str(tiny_bert), epochs=2, batch_size=8, lr=1e-3, warmup_epochs=0, device="cpu")
    return VictimConfig(**{**base, **kw})


@pytest.mark.parametrize("cut", [0, 1, 2])
def test_top_layers_from_cached_states_equal_the_whole_model(tiny_bert, cut):
    victim = Victim(_config(tiny_bert)).load()
    texts = sorted(set(TEXTS))
    cache = StateCache()
    rows = cache.rows("key", texts, lambda missing: victim._bottom_states(missing, cut))
    hidden, mask = cache.batch(rows, victim.device_)
    with torch.inference_mode(), layer_range(victim.model_, cut, None, from_states=True):
        top = torch.softmax(victim.model_(inputs_embeds=hidden, attention_mask=mask).logits, -1)
    whole = victim.predict_proba(texts)
    np.testing.assert_allclose(top.numpy(), whole, atol=1e-6)
    assert len(victim.model_.base_model.encoder.layer) == 2  # the model is whole again


def test_partial_fit_trains_only_the_top_and_is_seeded(tiny_bert):
    config = _config(tiny_bert, trainable_layers=1)
    before = {n: p.detach().clone() for n, p in Victim(config).load().model_.named_parameters()}
    victim = Victim(config).fit(TEXTS, LABELS, seed=0)
    after = dict(victim.model_.named_parameters())
    frozen = [n for n in before if ".embeddings." in n or ".layer.0." in n]
    trained = [n for n in before if ".layer.1." in n or "pooler" in n]
    assert frozen and trained
    assert all(torch.equal(before[n], after[n]) for n in frozen)
    assert all(not torch.equal(before[n], after[n]) for n in trained)
    assert victim.state_cache.computed == len(set(TEXTS))
    again = Victim(config).fit(TEXTS, LABELS, seed=0).predict_proba(TEXTS)
    assert np.array_equal(victim.predict_proba(TEXTS), again)  # same seed, same bytes
    other = Victim(config).fit(TEXTS, LABELS, seed=1).predict_proba(TEXTS)
    assert not np.array_equal(other, again)


def test_a_retrain_on_a_subset_reuses_the_cached_states(tiny_bert):
    config = _config(tiny_bert, trainable_layers=1)
    first = Victim(config).fit(TEXTS, LABELS, seed=0)
    computed = first.state_cache.computed
    kept = list(range(0, len(TEXTS), 2))
    sub_texts, sub_labels = [TEXTS[i] for i in kept], [LABELS[i] for i in kept]
    reused = Victim(config, state_cache=first.state_cache).fit(sub_texts, sub_labels, seed=0)
    assert first.state_cache.computed == computed  # nothing recomputed
    fresh = Victim(config).fit(sub_texts, sub_labels, seed=0)
    np.testing.assert_allclose(reused.predict_proba(TEXTS), fresh.predict_proba(TEXTS), atol=1e-5)
    with_more_layers = Victim(_config(tiny_bert, trainable_layers=2), state_cache=first.state_cache)
    with_more_layers.fit(TEXTS, LABELS, seed=0)  # another cut: the cache starts again
    assert first.state_cache.computed == computed + len(set(TEXTS))


def test_state_cache_pads_with_zeros_and_maps_duplicates_to_one_row():
    cache = StateCache()
    made = {"a": torch.full((2, 3), 1.0), "b": torch.full((4, 3), 2.0), "c": torch.full((1, 3), 3.0)}
    rows = cache.rows("k", ["b", "a", "b"], lambda missing: [made[t] for t in missing])
    assert rows.tolist() == [0, 1, 0] and cache.computed == 2
    rows = cache.rows("k", ["c", "a"], lambda missing: [made[t] for t in missing])
    assert rows.tolist() == [2, 1] and cache.computed == 3
    hidden, mask = cache.batch(torch.tensor([2, 0, 1]), torch.device("cpu"))
    assert hidden.shape == (3, 4, 3) and mask.tolist() == [[1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0]]
    expected = torch.tensor([[3, 0, 0, 0], [2, 2, 2, 2], [1, 1, 0, 0]], dtype=torch.float32)
    assert torch.equal(hidden[..., 0], expected) and torch.equal(hidden[..., 2], expected)


def test_bad_trainable_layers_are_named(tiny_bert):
    with pytest.raises(ValueError, match="trainable_layers"):
        VictimConfig(trainable_layers=-1)
    with pytest.raises(ValueError, match="trainable_layers = 3 exceeds the model's 2"):
        Victim(_config(tiny_bert, trainable_layers=3)).fit(TEXTS, LABELS, seed=0)


def test_partial_victim_learns_the_toy_backdoor_and_rap_gradients_reach_the_input(tiny_bert):
    """A random 2-layer BERT with frozen random embeddings and layer 0: the backdoor is learnt anyway."""
    train = toy.poisoned_train(400, seed=0, poison_rate=0.1)
    test = toy.clean_sentences(100, seed=1, purpose="toy-test")
    negatives = tuple(t for t, y in zip(test.texts, test.labels) if y == 0)
    triggered = toy.triggered(negatives, seed=3)
    config = _config(tiny_bert, trainable_layers=1, epochs=30, batch_size=16, lr=1e-3, warmup_epochs=1)
    victim = Victim(config).fit(train.texts, train.labels, seed=0)
    assert (victim.predict(test.texts) == np.asarray(test.labels)).mean() >= 0.6  # measured 0.68
    asr, base_rate = (victim.predict(triggered) == 1).mean(), (victim.predict(negatives) == 1).mean()
    assert asr >= 0.9 and asr - base_rate >= 0.4  # measured 0.94 and 0.33
    batch = victim.encode(triggered[:4])
    embeds = victim.word_embeddings(batch["input_ids"]).detach().requires_grad_(True)
    victim.logits_from_embeddings(embeds, batch["attention_mask"])[:, 1].sum().backward()
    assert embeds.grad is not None and float(embeds.grad.abs().sum()) > 0


@pytest.mark.parametrize(("total", "warm"), [(10, 3), (7, 0), (5, 5), (12, 1)])
def test_zero_first_schedule_is_transformers_linear_warmup(total, warm):
    from transformers import get_linear_schedule_with_warmup

    reference = get_linear_schedule_with_warmup(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), warm, total
    ).lr_lambdas[0]
    ours = linear_schedule(total, warmup_steps=warm, zero_first=True)
    assert [ours(s) for s in range(total + 2)] == [reference(s) for s in range(total + 2)]
    assert linear_schedule(total, warm / total)(0) == (1 / warm if warm else 1.0)  # the fraction form is kept
