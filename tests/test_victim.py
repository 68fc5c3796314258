"""The undefended victim on the conftest tiny BERT: training, probabilities, [CLS] vectors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from crowd.train.common import length_batches  # noqa: E402
from crowd.train.victim import Victim, VictimConfig  # noqa: E402


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
