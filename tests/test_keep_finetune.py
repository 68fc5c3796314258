"""Kept models of the fine-tuning learners ``partial`` and ``full`` (THEORY.md §3, "A certificate on a new text").

``fit`` returns one state per copy (float32 named arrays: ``partial`` its trained top, pooler and head, ``full``
every parameter); ``predict`` loads the pretrained model and must give a row the same logits, bit for bit on
the CPU, alone or among any other rows; a state written with safetensors and read back must predict the same
bits. Tiny random BERT (2 layers, dropout 0.1), on the CPU.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from crowd.testing.states import saved_and_loaded
from crowd.train import FullFineTune, PartialFineTune, TrainingInputError
from crowd.train.data import FitRequest, ModelInputs

KINDS = ["partial", "full", "full-loop"]
MAX_LENGTH = 24
SUBJECT = 37  # the subject row's position among its companions


def learner_of(kind: str):
    if kind == "partial":
        return PartialFineTune(
            trainable_layers=1, lr=3e-3, epochs=2, batch_size=8, max_length=MAX_LENGTH, inference_batch_size=4
        )
    grouping = "loop" if kind == "full-loop" else "vmap"
    return FullFineTune(
        dtype="fp32",
        lr=1e-3,
        epochs=1,
        batch_size=8,
        max_length=MAX_LENGTH,
        grouping=grouping,
        inference_batch_size=4,
    )


@pytest.fixture(scope="module")
def encoder(tiny_bert):
    from crowd.train.encode import WordPieceEncoder
    from crowd.train.models import load_tokenizer

    return WordPieceEncoder(load_tokenizer(tiny_bert), MAX_LENGTH)


@pytest.fixture(scope="module", params=KINDS)
def kept(request, tiny_bert, encoder):
    """``(kind, learner, model_name, copies, states)``: two copies of the toy task, fitted."""
    from crowd.testing.toy_task import copy_maker, keyword_task

    torch.set_num_threads(1)
    learner = learner_of(request.param)
    task = keyword_task(n_train=48, n_test=20, seed=0)
    make_copy = copy_maker(task, encoder, flip=0.1, seed=0)
    copies = [make_copy(j) for j in range(2)]
    states = learner.fit(FitRequest(str(tiny_bert), copies, [0, 1], seed=0, device="cpu", num_labels=2))
    return request.param, learner, str(tiny_bert), copies, states


def predict(kept, states, inputs) -> np.ndarray:
    _, learner, model_name, _, _ = kept
    return learner.predict(model_name, states, inputs, "cpu", 2)


def random_texts(n: int, seed: int, words: int | None = None) -> list[str]:
    """Texts of 0 to 40 toy words (longer than ``max_length``; ``words``: that many), some with unknown words."""
    from crowd.testing.toy_task import TRIGGER, WORDS

    gen = np.random.default_rng(seed)
    bank = [*WORDS, TRIGGER, "qqzx", "zzyv"]
    sizes = gen.integers(0, 41, size=n) if words is None else np.full(n, words)
    return [" ".join(gen.choice(bank, size=int(size))) for size in sizes]


def test_states_hold_what_the_copy_trained(kept):
    from crowd.train.common import load_model
    from crowd.train.learners.partial import FROZEN_DIGEST

    kind, learner, model_name, copies, states = kept
    assert learner.keepable and len(states) == len(copies)
    model = load_model(model_name, 2, torch.device("cpu"))
    names = {n for n, _ in model.named_parameters()}
    if kind == "partial":  # the top layer (of 2), the pooler, the head, and the frozen part's digest
        top = {n for n in names if n.startswith(("bert.encoder.layer.1.", "bert.pooler.", "classifier."))}
        names = top | {FROZEN_DIGEST}
    pretrained = dict(model.named_parameters())
    for state in states:
        assert set(state) == names
        for name, a in state.items():
            assert isinstance(a, np.ndarray) and a.flags.c_contiguous, name
            assert a.dtype == (np.uint8 if name == FROZEN_DIGEST else np.float32), name
            if name in pretrained:
                assert a.shape == tuple(pretrained[name].shape)
    embeddings = "bert.embeddings.word_embeddings.weight"
    if kind != "partial":  # every parameter trained, on its own copy
        assert not np.array_equal(states[0][embeddings], states[1][embeddings])


def test_fit_predict_is_predict_after_fit_and_fit_reads_training_rows_only(kept):
    _, learner, model_name, copies, states = kept
    together = learner.fit_predict(FitRequest(model_name, copies, [0, 1], seed=0, device="cpu", num_labels=2))
    apart = predict(kept, states, [c.test for c in copies])
    assert together.shape == (2, 20, 2) and together.dtype == np.float32 and np.isfinite(together).all()
    assert together.tobytes() == apart.tobytes()
    other = [dataclasses.replace(c, test_ids=c.train_ids[:3], test_mask=c.train_mask[:3]) for c in copies]
    again = learner.fit(FitRequest(model_name, other, [0, 1], seed=0, device="cpu", num_labels=2))
    for a, b in zip(states, again):
        assert all(a[n].tobytes() == b[n].tobytes() for n in a)


def test_a_rows_logits_do_not_depend_on_its_companions(kept, encoder):
    """Row alone vs the same row at position 37 among 340 random others (other widths, many of its own, empty
    texts), and with wider padding: the same bits, for each model."""
    _, _, _, _, states = kept
    for k, subject in enumerate(["film good cf plot", random_texts(1, seed=2)[0]]):
        ids, mask = encoder.encode_texts([subject])
        alone = predict(kept, states[k : k + 1], [ModelInputs(ids, mask)])[0, 0]
        texts = random_texts(300, seed=1) + random_texts(40, seed=3, words=len(subject.split()))  # its width
        texts = [texts[i] for i in np.random.default_rng(4).permutation(len(texts))]
        among = texts[:SUBJECT] + [subject] + texts[SUBJECT:]
        many_ids, many_mask = encoder.encode_texts(among)
        widths = many_mask.sum(1)
        assert (widths == widths[SUBJECT]).sum() > 16 and len(np.unique(widths)) > 10
        pad = ((0, 0), (0, 9))
        for x in (
            ModelInputs(many_ids, many_mask),
            ModelInputs(np.pad(many_ids, pad), np.pad(many_mask, pad)),
        ):
            other = 1 - k  # the other model predicts beside it, on other rows
            shuffled = ModelInputs(x.ids[::-1].copy(), x.mask[::-1].copy())
            both = predict(kept, [states[k], states[other]], [x, shuffled])
            assert both.shape == (2, len(among), 2) and np.isfinite(both).all()
            assert both[0, SUBJECT].tobytes() == alone.tobytes(), (k, both[0, SUBJECT], alone)


def test_saved_states_predict_the_same_bits(kept, tmp_path):
    """Each state written with ``safetensors.numpy.save_file`` and read back predicts bit-identical logits,
    with a learner built afresh from the same settings (``predict`` needs no training rows)."""
    kind, learner, model_name, copies, states = kept
    inputs = [c.test for c in copies]
    want = predict(kept, states, inputs)
    loaded = saved_and_loaded(states, tmp_path)
    got = learner_of(kind).predict(model_name, loaded, inputs, "cpu", 2)
    assert got.tobytes() == want.tobytes()


def test_predict_refuses_a_state_of_another_model(kept, tmp_path):
    from crowd.testing import make_tiny_bert

    kind, learner, model_name, copies, states = kept
    inputs = [copies[0].test]
    name = next(n for n in states[0] if n.startswith("classifier."))
    with pytest.raises(TrainingInputError, match="missing"):
        predict(kept, [{n: a for n, a in states[0].items() if n != name}], inputs)
    wrong = dict(states[0]) | {name: np.zeros((3, *states[0][name].shape[1:]), np.float32)}
    with pytest.raises(TrainingInputError, match="shape"):
        predict(kept, [wrong], inputs)
    with pytest.raises(TrainingInputError, match="models for"):
        predict(kept, states, inputs)
    if kind == "partial":  # same architecture, other pretrained weights: the frozen part differs
        other = make_tiny_bert(tmp_path / "other", seed=1)
        with pytest.raises(TrainingInputError, match="another frozen part"):
            learner.predict(str(other), states[:1], inputs, "cpu", 2)
        with pytest.raises(TrainingInputError, match="missing"):
            dataclasses.replace(learner, trainable_layers=2).predict(model_name, states[:1], inputs, "cpu", 2)
