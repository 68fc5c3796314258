import numpy as np
import pytest

from crowd.text import PAD, WordCorpus


def test_round_trip_and_vocab_order():
    c = WordCorpus.from_texts(["a good film", "", "bad film ."], vocab=["film"])

    assert c.vocab[0] == "film"
    assert c.texts() == ["a good film", "", "bad film ."]
    assert c.words(2) == ["bad", "film", "."]
    assert list(c.lengths) == [3, 0, 3]


def test_fixed_length_truncates_pads_and_inverts():
    c = WordCorpus.from_texts(["a b c d", "e", ""])
    m = c.to_fixed_length(3)
    assert m.shape == (3, 3)
    assert list(m[0]) == [c.word_id("a"), c.word_id("b"), c.word_id("c")]
    assert list(m[1]) == [c.word_id("e"), PAD, PAD]
    assert list(m[2]) == [PAD] * 3
    back = WordCorpus.from_fixed_length(m, c.vocab)
    assert back.texts() == ["a b c", "e", ""]


def test_insertion_shifts_coordinates():
    clean = WordCorpus.from_texts(["the film is good"])
    poisoned = WordCorpus.from_texts(["the cf film is good"], vocab=clean.vocab)
    diff = clean.to_fixed_length(6) != poisoned.to_fixed_length(6)
    assert diff.sum() == 4  # cf, film, is, good all moved one place


def test_with_ids_and_subset():
    c = WordCorpus.from_texts(["x y", "z"])
    ids = c.ids.copy()
    ids[0] = c.word_id("z")
    assert c.with_ids(ids).texts() == ["z y", "z"]
    assert c.subset([1, 0]).texts() == ["z", "x y"]
    with pytest.raises(ValueError):
        c.with_ids(np.zeros(5))
