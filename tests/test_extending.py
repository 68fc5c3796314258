"""docs/extending.md's claim: a new attack, defense or learner is one class plus one registry line, and the
commands and pipelines run it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from crowd.attacks import ATTACKS, Attack
from crowd.attacks.factory import make_attack
from crowd.cli import main
from crowd.defenses import InputDetector
from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.corpus import prepare_corpus
from crowd.train.bow_encoder import HashedWordEncoder
from crowd.train.settings import _Learner


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


# --- a defense: one class, one registry line (docs/extending.md, "A defense") ---------------------------


@dataclass(frozen=True)
class ConfidenceSettings:
    """``[defense] name = "confidence"``: the threshold flags a fraction ``frr`` of the clean dev texts."""

    frr: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.frr < 1.0:
            raise ValueError(f"frr must be in [0, 1), got {self.frr}")


class Confidence(ConfidenceSettings, InputDetector):
    """Flag inputs the victim is unsure about: statistic = its top class probability (low = suspicious)."""

    name = "confidence"
    paper_note = "a toy detector for the extension test; no paper"

    def statistic(self, texts: Sequence[str]) -> np.ndarray:
        return self.victim_.predict_proba(list(texts)).max(axis=1)


def test_a_registered_defense_runs_through_crowd_defend(monkeypatch, tiny_bert):
    from crowd.defenses import DEFENSES
    from crowd.pipelines.defend import DefendConfig, DefenseConfig, run_defend
    from crowd.victim import VictimConfig

    monkeypatch.setitem(DEFENSES, Confidence.name, Confidence)  # the one registry line
    victim = VictimConfig(model=str(tiny_bert), epochs=2, lr=3e-3, warmup_epochs=0, device="cpu")
    config = DefendConfig(
        data=DataConfig("toy", max_train=120, max_dev=40, max_test=40),
        defense=DefenseConfig("confidence", {"frr": 0.1}),
        victim=victim,
    )
    summary = run_defend(config)
    assert summary["defense"] == "confidence" and summary["detector"]["n_calibration"] == 40
    assert 0.0 <= summary["defended"]["frr"] <= 1.0 and 0.0 <= summary["defended"]["far"] <= 1.0
    with pytest.raises(ValueError, match=r"unknown key\(s\) repeat; allowed: frr"):
        run_defend(dataclasses.replace(config, defense=DefenseConfig("confidence", {"repeat": 5})))
    with pytest.raises(ValueError, match=r"defense.params: frr must be in \[0, 1\), got 1.0"):
        run_defend(dataclasses.replace(config, defense=DefenseConfig("confidence", {"frr": 1})))


# --- a learner: one settings class, one registry line (docs/extending.md, "A learner") --------------------


class PriorTrainer:
    """Predicts each copy's training label frequencies for every test text (log-prior logits)."""

    def __init__(self, **settings) -> None:
        self.settings = settings

    def fit_predict(self, request, progress=None) -> np.ndarray:
        out = []
        for copy in request.copies:
            counts = np.bincount(copy.train_labels, minlength=request.num_labels) + 1.0
            logits = np.log(counts / counts.sum()).astype(np.float32)
            out.append(np.tile(logits, (copy.test_ids.shape[0], 1)))
        return np.stack(out)


@dataclass(frozen=True)
class Prior(_Learner):
    """The class prior of each model's own training set; reads the ``[bow]`` table (no table of its own)."""

    IMPLEMENTATION: ClassVar[str] = f"{__name__}:PriorTrainer"
    SECTIONS: ClassVar[tuple[str, ...]] = ("bow",)
    uses_model: ClassVar[bool] = False
    max_length: int = 64
    copies_per_group: int = 32  # every learner has it: models trained between two writes of the vote store

    @classmethod
    def from_sections(cls, tables):
        return cls(max_length=tables["bow"].max_length)

    def encoder(self, model_name=None):
        return HashedWordEncoder(self.max_length)


def test_a_registered_learner_trains_through_crowd_certify(monkeypatch, tmp_path):
    from crowd.pipelines.certify import certify_corpus, load_certify_config
    from crowd.testing.toy_task import word_group_corpus
    from crowd.train.settings import LEARNERS

    monkeypatch.setitem(LEARNERS, "prior", Prior)  # the one registry line
    config = load_certify_config(
        None, ['method.name="textguard"', "method.groups=3", 'model.learner="prior"']
    )
    assert isinstance(config.learner, Prior)
    corpus = word_group_corpus(3, 120, 30)
    report = certify_corpus(corpus, config, tmp_path / "run", progress=False)
    majority = max(set(e.label for e in corpus.train), key=[e.label for e in corpus.train].count)
    clean = [e.label for e in corpus.test_clean]
    # every group model votes its training set's majority class: CACC is that class's share of the test set
    assert report.summary["cacc"] == pytest.approx(clean.count(majority) / len(clean), abs=1e-9)
