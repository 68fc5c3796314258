"""Trained victims kept on disk (``crowd.victim.store``): a second fit with the same inputs loads the
stored parameters and predicts exactly as the trained victim; any changed input is a miss."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from crowd.bench.version import DEFEND
from crowd.data import toy
from crowd.pipelines.config import DataConfig
from crowd.pipelines.defend import DefendConfig, DefenseConfig, run_defend
from crowd.victim import Victim, VictimConfig, VictimStore, victim_key
from crowd.victim.store import VICTIM_CODE, victim_code

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
    assert (
        not trained.from_store_
        and loaded.from_store_
        and store.stats() == {"hits": 1, "misses": 1, "stale": 0}
    )
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
    assert store.stats() == {
        "hits": 0,
        "misses": 2,
        "stale": 0,
    }  # the undefended victim and BKI's retrained one
    second = run_defend(config, store=store)
    assert store.stats() == {"hits": 2, "misses": 2, "stale": 0}
    assert first["defended"] == second["defended"] and first["undefended"] == second["undefended"]


def test_a_damaged_stored_victim_is_named(tiny_bert, tmp_path):
    store, config = VictimStore(tmp_path), _victim_config(tiny_bert, 1)
    store.path(victim_key(config, TRAIN.texts, TRAIN.labels, 0)).write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="not a readable stored victim"):
        Victim(config).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store)


def test_a_best_epoch_victim_keeps_its_choice_and_has_its_own_key(tiny_bert, tmp_path):
    """``select = "best"`` hashes the dev texts and stores the epoch kept; ``"last"`` keeps its old key."""
    from dataclasses import asdict, replace

    from crowd.data import Corpus, Example

    rows = tuple(Example(t, y) for t, y in zip(TRAIN.texts, TRAIN.labels))
    dev = tuple(Example(t, 0) for t in PROBE[:10])
    corpus = Corpus(rows, rows, dev, tuple(Example("cf " + e.text, 1, True, 0) for e in dev), (), ())
    last = _victim_config(tiny_bert, 1)
    best = replace(last, select="best")
    store = VictimStore(tmp_path)
    trained = Victim(best).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store, dev=corpus)
    loaded = Victim(best).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store, dev=corpus)
    assert loaded.from_store_ and (loaded.epoch_, loaded.epoch_scores_) == (
        trained.epoch_,
        trained.epoch_scores_,
    )
    assert np.array_equal(loaded.predict_proba(PROBE), trained.predict_proba(PROBE))
    other_dev = replace(corpus, dev_clean=dev[:5])
    assert (
        Victim(best).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store, dev=other_dev).from_store_ is False
    )
    assert "select" in asdict(last)  # and yet a "last" key hashes the settings without it:
    assert victim_key(last, TRAIN.texts, TRAIN.labels, 0) == _key_without_select(last)


def _key_without_select(config) -> str:
    import hashlib
    import json
    from dataclasses import asdict

    from crowd.train.feature_cache import model_identity
    from crowd.victim.store import FORMAT_VERSION

    settings = {k: v for k, v in asdict(config).items() if k != "select"}
    # hashed under the names of victims stored before the fine-tuning settings were shared
    settings["bf16"], settings["eval_batch_size"] = (
        settings.pop("dtype") == "bf16",
        settings.pop("inference_batch_size"),
    )
    settings["model"], settings["device"] = model_identity(config.model), "cpu"
    h = hashlib.sha256(json.dumps([FORMAT_VERSION, settings, 0], sort_keys=True).encode())
    h.update(json.dumps(list(TRAIN.texts), ensure_ascii=False).encode("utf-8"))
    h.update(json.dumps([int(y) for y in TRAIN.labels]).encode())
    return h.hexdigest()


def _rewrite_metadata(path, **changes):
    """Store the same tensors again with the file's metadata changed (a value of None drops the field)."""
    metadata = {**_metadata(path), **changes}
    save_file(load_file(str(path)), str(path), metadata={k: v for k, v in metadata.items() if v is not None})


def test_a_victim_trained_by_other_victim_code_is_trained_again(tiny_bert, tmp_path):
    store, config = VictimStore(tmp_path), _victim_config(tiny_bert, 1)
    trained = Victim(config).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store)
    path = store.path(victim_key(config, TRAIN.texts, TRAIN.labels, 0))
    assert load_file(str(path)) and _metadata(path)["code"] == victim_code()
    _rewrite_metadata(path, code="0" * 12)  # as if an earlier version of the victim code had trained it
    again = Victim(config).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store)
    assert not again.from_store_ and store.stats() == {"hits": 0, "misses": 2, "stale": 1}
    assert _metadata(path)["code"] == victim_code()  # overwritten by today's code
    assert np.array_equal(trained.predict_proba(PROBE), again.predict_proba(PROBE))


def test_a_victim_stored_before_code_versions_is_reused(tiny_bert, tmp_path):
    store, config = VictimStore(tmp_path), _victim_config(tiny_bert, 1)
    Victim(config).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store)
    _rewrite_metadata(store.path(victim_key(config, TRAIN.texts, TRAIN.labels, 0)), code=None)
    assert Victim(config).fit(TRAIN.texts, TRAIN.labels, seed=0, store=store).from_store_


def test_the_victim_code_is_part_of_every_defend_rows_version():
    assert set(VICTIM_CODE) <= set(DEFEND)


def _metadata(path):
    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}
