"""Kept models of the ``static``, ``head`` and ``bow+head`` learners (THEORY.md §3, "A certificate on a new
text").

``fit`` returns one state per copy (named numpy arrays); ``predict`` must give a row the same logits, bit for
bit on the CPU, alone or among any other rows, and a state written with safetensors and read back must predict
the same bits. ``fit_predict`` is ``predict`` after ``fit``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from crowd.testing.states import saved_and_loaded
from crowd.train import BagOfWords, Ensemble, HeadOnly, StaticBag
from crowd.train.data import FitRequest, ModelInputs

KINDS = ["static", "static-hidden", "head", "head-cached", "bow+head"]
BOW_LENGTH, MAX_LENGTH = 16, 24
SUBJECT = 37  # the subject row's position among its companions


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> str:
    """A GloVe-format table of random 50-d vectors over the toy vocabulary (no download)."""
    from crowd.testing.toy_task import TRIGGER, WORDS

    gen = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("vectors") / "toy.txt"
    lines = [" ".join([w, *(f"{v:.6f}" for v in gen.normal(size=50))]) for w in (*WORDS, TRIGGER)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def learner_and_encoder(kind: str, tiny_bert, vectors: str):
    """``(learner, encoder, model_name)`` of ``kind``, trained in about a second."""
    head = HeadOnly(
        dtype="fp32",
        pooling="mean",
        lr=1e-2,
        epochs=3,
        batch_size=8,
        max_length=MAX_LENGTH,
        feature_cache=kind == "head-cached",
        inference_batch_size=4,
    )
    if kind.startswith("static"):
        hidden = 16 if kind == "static-hidden" else 0
        learner = StaticBag(vectors=vectors, max_length=MAX_LENGTH, epochs=3, batch_size=8, hidden=hidden)
        return learner, learner.encoder(), "unused"
    if kind == "bow+head":
        learner = Ensemble(BagOfWords(max_length=BOW_LENGTH), head)
        return learner, learner.encoder(str(tiny_bert)), str(tiny_bert)
    return head, head.encoder(str(tiny_bert)), str(tiny_bert)


@pytest.fixture(scope="module", params=KINDS)
def kept(request, tiny_bert, vectors):
    """``(kind, learner, encoder, model_name, copies, states)``: two copies of the toy task, fitted."""
    from crowd.testing.toy_task import copy_maker, keyword_task

    torch.set_num_threads(1)
    learner, encoder, model_name = learner_and_encoder(request.param, tiny_bert, vectors)
    task = keyword_task(n_train=64, n_test=20, seed=0)
    make_copy = copy_maker(task, encoder, flip=0.1, seed=0)
    copies = [make_copy(j) for j in range(2)]
    states = learner.fit(FitRequest(model_name, copies, [0, 1], seed=0, device="cpu", num_labels=2))
    return request.param, learner, encoder, model_name, copies, states


def predict(kept, states, inputs) -> np.ndarray:
    _, learner, _, model_name, _, _ = kept
    return learner.predict(model_name, states, inputs, "cpu", 2)


def random_texts(n: int, seed: int) -> list[str]:
    """Texts of 0 to 40 toy words (longer than ``max_length``), some with unknown words."""
    from crowd.testing.toy_task import TRIGGER, WORDS

    gen = np.random.default_rng(seed)
    bank = [*WORDS, TRIGGER, "qqzx", "zzyv"]
    return [" ".join(gen.choice(bank, size=int(gen.integers(0, 41)))) for _ in range(n)]


def test_the_learner_keeps_its_models(kept):
    kind, learner, _, _, copies, states = kept
    assert learner.keepable
    assert len(states) == len(copies)
    names = {
        "static": {"w0", "b0"},
        "static-hidden": {"w0", "b0", "w1", "b1"},
        "head": {"weight", "bias"},
        "head-cached": {"weight", "bias"},
    }.get(kind)
    for state in states:
        if names is not None:
            assert set(state) == names
        else:
            assert {"head.weight", "head.bias", "bow.present", "bow.coef"} <= set(state)
            assert all(n.startswith(("bow.", "head.")) for n in state)
        for name, a in state.items():
            assert isinstance(a, np.ndarray) and a.flags.c_contiguous, name
            assert a.dtype != object, name
            if not name.startswith("bow."):  # torch weights
                assert a.dtype == np.float32, name


def test_fit_predict_is_predict_after_fit(kept):
    _, learner, _, model_name, copies, states = kept
    together = learner.fit_predict(FitRequest(model_name, copies, [0, 1], seed=0, device="cpu", num_labels=2))
    apart = predict(kept, states, [c.test for c in copies])
    assert together.shape == (2, 20, 2) and together.dtype == np.float32
    assert together.tobytes() == apart.tobytes()


def test_a_rows_logits_do_not_depend_on_its_companions(kept):
    """A row alone vs the same row at position 37 among 300 random others (other lengths, unknown words, empty
    texts), also with wider padding where the learner allows it, beside another model: the same bits."""
    kind, _, encoder, _, _, states = kept
    texts = random_texts(300, seed=1)
    for subject in ["film good cf plot", *random_texts(2, seed=2)]:
        ids, mask = encoder.encode_texts([subject])
        alone = [predict(kept, [s], [ModelInputs(ids, mask)])[0, 0] for s in states]
        among = texts[:SUBJECT] + [subject] + texts[SUBJECT:]
        many_ids, many_mask = encoder.encode_texts(among)
        inputs = [ModelInputs(many_ids, many_mask)]
        if kind != "bow+head":  # the pair encoder's width is fixed; the others read up to max_length columns
            pad = ((0, 0), (0, 9))
            inputs.append(ModelInputs(np.pad(many_ids, pad), np.pad(many_mask, pad)))
        for x in inputs:
            backwards = ModelInputs(x.ids[::-1].copy(), x.mask[::-1].copy())  # model 1: other positions
            both = predict(kept, states, [x, backwards])
            assert both.shape == (2, len(among), 2) and np.isfinite(both).all()
            placed, mirrored = both[0, SUBJECT], both[1, len(among) - 1 - SUBJECT]
            assert placed.tobytes() == alone[0].tobytes(), (kind, subject, placed, alone[0])
            assert mirrored.tobytes() == alone[1].tobytes(), (kind, subject, mirrored, alone[1])


def test_saved_states_predict_the_same_bits(kept, tmp_path):
    """Each state written with ``safetensors.numpy.save_file`` and read back predicts bit-identical logits,
    with a learner built afresh from the same settings (``predict`` needs no training rows)."""
    _, learner, _, model_name, copies, states = kept
    inputs = [c.test for c in copies]
    want = predict(kept, states, inputs)
    loaded = saved_and_loaded(states, tmp_path)
    fresh = dataclasses.replace(learner)
    got = fresh.predict(model_name, loaded, inputs, "cpu", 2)
    assert got.tobytes() == want.tobytes()


def test_predict_reads_cached_features_without_the_encoder(tiny_bert, vectors, monkeypatch):
    """With ``feature_cache`` on, a kept head asked about texts seen before reads their features back: no
    encoder is loaded, and the logits are the bits computed cold."""
    from crowd.testing.toy_task import copy_maker, keyword_task
    from crowd.train import frozen as frozen_module

    torch.set_num_threads(1)
    learner, encoder, model_name = learner_and_encoder("head-cached", tiny_bert, vectors)
    task = keyword_task(n_train=40, n_test=12, seed=5)
    copies = [copy_maker(task, encoder, flip=0.1, seed=5)(j) for j in range(2)]
    states = learner.fit(FitRequest(model_name, copies, [0, 1], seed=0, device="cpu", num_labels=2))
    inputs = [c.test for c in copies]
    cold = learner.predict(model_name, states, inputs, "cpu", 2)

    def no_encoder(*args, **kwargs):
        raise AssertionError("features of rows already cached must not load the encoder")

    monkeypatch.setattr(frozen_module, "load_model", no_encoder)
    assert learner.predict(model_name, states, inputs, "cpu", 2).tobytes() == cold.tobytes()


def test_feature_cache_key_names_the_device_and_the_computed_dtype(tiny_bert, tmp_path):
    """A shard holds features of one device type and the dtype the encoder really computed in: bf16 settings
    run in fp32 on the CPU (same shard as fp32 there), and CUDA features never reach a CPU run."""
    from crowd.train.feature_cache import FeatureCache
    from crowd.train.frozen import FrozenFeatures

    cache = FeatureCache(tmp_path)

    def key(device: str, dtype: str) -> dict:
        frozen = FrozenFeatures(str(tiny_bert), 2, torch.device(device), "mean", dtype, 24, 64, cache)
        return frozen.key

    cpu, cpu_bf16 = key("cpu", "fp32"), key("cpu", "bf16")
    cuda, cuda_bf16 = key("cuda", "fp32"), key("cuda", "bf16")
    assert (cpu["device"], cpu["dtype"]) == ("cpu", "fp32") and cpu_bf16 == cpu
    assert (cuda["device"], cuda["dtype"]) == ("cuda", "fp32") and key("cuda:1", "fp32") == cuda
    assert (cuda_bf16["device"], cuda_bf16["dtype"]) == ("cuda", "bf16")
    folders = {cache.shard(k).folder for k in (cpu, cuda, cuda_bf16)}
    assert len(folders) == 3


@pytest.mark.parametrize("width", [50, 384, 768])
def test_linear_rows_gives_a_row_the_same_bits_among_any_rows(width):
    """The layer both torch learners predict with, at real feature widths (GloVe 50-d, MiniLM, BERT-base)."""
    from crowd.train.common import linear_rows

    gen = np.random.default_rng(width)
    x = gen.normal(size=(300, width)).astype(np.float32)
    weight = (gen.normal(size=(width, 3)) * 0.1).astype(np.float32)
    bias = gen.normal(size=3).astype(np.float32)
    out = linear_rows(x, weight, bias)
    assert out.shape == (300, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, x.astype(np.float64) @ weight + bias, rtol=1e-4, atol=1e-5)
    for i in (0, SUBJECT, 299):
        assert linear_rows(x[i : i + 1], weight, bias)[0].tobytes() == out[i].tobytes()
        assert linear_rows(x[::-1], weight, bias)[299 - i].tobytes() == out[i].tobytes()  # other position
        assert linear_rows(x[i::-1], weight, bias)[0].tobytes() == out[i].tobytes()  # first of fewer rows
