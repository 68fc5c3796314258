"""docs/extending.md's claim: a new attack is one class plus one registry line, and every command runs it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from crowd.attacks import ATTACKS, Attack
from crowd.attacks.factory import make_attack
from crowd.cli import main
from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.corpus import prepare_corpus


@dataclass(frozen=True, kw_only=True)
class Suffix(Attack):
    """Append ``word`` to every poisoned text (a trivial but real transform)."""

    name = "suffix"
    word: str = "zzqx"

    def apply(self, texts: Sequence[str], generator: np.random.Generator) -> list[str | None]:
        return [f"{text} {self.word}" for text in texts]


@pytest.fixture
def suffix(monkeypatch):
    monkeypatch.setitem(ATTACKS, Suffix.name, Suffix)  # the one registry line, undone after the test
    return Suffix


def test_the_default_from_settings_passes_the_common_keys(suffix):
    attack = make_attack("suffix", "sst2", target_label=0, poison_rate=0.2, variant="clean")
    assert attack == Suffix(target_label=0, poison_rate=0.2, variant="clean")
    assert not (Suffix.needs_graph or Suffix.needs_paraphrases)


def test_a_registered_attack_poisons_a_real_corpus_through_the_pipeline(suffix, data_root):
    data = DataConfig(dataset="sst2", data_root=str(data_root), max_train=200, max_test=40)
    corpus = prepare_corpus(data, AttackConfig(name="suffix", poison_rate=0.1), seed=0)
    poisoned = [e for e in corpus.train_poisoned if e.poisoned]
    assert len(poisoned) == 20 and corpus.manifest["attack"] == "suffix"
    assert all(e.text.endswith(" zzqx") and e.label == 1 for e in poisoned)
    assert corpus.test_poison and all(e.text.endswith(" zzqx") for e in corpus.test_poison)
    clean = [e for e in corpus.train_poisoned if not e.poisoned]
    assert not any(e.text.endswith("zzqx") for e in clean)


def test_crowd_poison_runs_a_registered_attack(suffix, data_root, tmp_path):
    args = ["poison", "--dataset", "sst2", "--attack", "suffix", "--rate", "0.05", "--data", str(data_root)]
    assert main([*args, "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["attack"] == "suffix" and manifest["params"]["word"] == "zzqx"
    budget = json.loads((tmp_path / "budget.json").read_text())
    n = manifest["train"]["n_poisoned"]
    assert n > 0 and budget["word_insertions"] == n and budget["max_word_insertions"] == 1
