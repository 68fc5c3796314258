"""Trained victims kept on disk (``crowd.train.victim_store``): a second fit with the same inputs loads the
stored parameters and predicts exactly as the trained victim; any changed input is a miss."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from safetensors.torch import load_file  # noqa: E402

from crowd.pipelines.config import DataConfig  # noqa: E402
from crowd.pipelines.defend import DefendConfig, DefenseConfig, run_defend  # noqa: E402
from crowd.testing import toy_backdoor as toy  # noqa: E402
from crowd.train.victim import Victim, VictimConfig  # noqa: E402
from crowd.train.victim_store import VictimStore, victim_key  # noqa: E402

TRAIN = toy.poisoned_train(120, seed=0, poison_rate=0.1)
PROBE = toy.clean_sentences(30, seed=1, purpose="toy-test").texts


def _victim_config(tiny_bert, trainable_layers: int) -> VictimConfig:
    return VictimConfig(
        model=str(tiny_bert),
        epochs=2,
        lr=3e-3,
        warmup_epochs=0,
        device="cpu",
        trainable_layers=trainable_layers,
    )


@pytest.mark.parametrize("trainable_layers", [0, 1])
def test_a_stored_victim_predicts_exactly_as_the_trained_one(tiny_bert, tmp_path, trainable_layers):
    store, config = VictimStore(tmp_path), _victim_config(tiny_bert, trainable_layers)
    trained = Victim(config).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store)
    loaded = Victim(config).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store)
    assert not trained.from_store_ and loaded.from_store_ and store.stats() == {"hits": 1, "misses": 1}
    assert np.array_equal(trained.predict_proba(PROBE), loaded.predict_proba(PROBE))
    fresh = Victim(config).load()
    assert not np.array_equal(fresh.predict_proba(PROBE), loaded.predict_proba(PROBE))
    saved = load_file(str(store.path(victim_key(config, TRAIN.texts, TRAIN.labels, 0))))
    trainable = {n for n, p in trained.model_.named_parameters() if p.requires_grad}
    assert set(saved) == trainable
    assert ("bert.embeddings.word_embeddings.weight" in saved) == (trainable_layers == 0)
    assert {n for n, p in loaded.model_.named_parameters() if p.requires_grad} == trainable


def test_any_changed_input_is_another_victim(tiny_bert):
    config = _victim_config(tiny_bert, 1)
    key = victim_key(config, TRAIN.texts, TRAIN.labels, 0)
    flipped = [1 - TRAIN.labels[0], *TRAIN.labels[1:]]
    others = {
        victim_key(config, TRAIN.texts, flipped, 0),
        victim_key(config, TRAIN.texts, TRAIN.labels, 1),
        victim_key(config, TRAIN.texts[1:], TRAIN.labels[1:], 0),
        victim_key(VictimConfig(**{**config.__dict__, "epochs": 3}), TRAIN.texts, TRAIN.labels, 0),
    }
    assert key not in others and len(others) == 4


def test_run_defend_with_a_store_trains_each_victim_once(tiny_bert, tmp_path):
    config = DefendConfig(
        data=DataConfig("toy", max_train=120, max_dev=30, max_test=30),
        defense=DefenseConfig("bki", {}),
        victim=_victim_config(tiny_bert, 1),
    )
    store = VictimStore(tmp_path / "victims")
    first = run_defend(config, store=store)
    assert store.stats() == {"hits": 0, "misses": 2}  # the undefended victim and BKI's retrained one
    second = run_defend(config, store=store)
    assert store.stats() == {"hits": 2, "misses": 2}
    assert first["defended"] == second["defended"] and first["undefended"] == second["undefended"]


def test_a_damaged_stored_victim_is_named(tiny_bert, tmp_path):
    store, config = VictimStore(tmp_path), _victim_config(tiny_bert, 1)
    store.path(victim_key(config, TRAIN.texts, TRAIN.labels, 0)).write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="not a readable stored victim"):
        Victim(config).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store)
