"""``crowd defend`` with a partially fine-tuned victim (``victim.trainable_layers > 0``) on the toy corpus.

RAP (gradients through the whole model), STRIP and BKI (retrain on the kept texts, reusing the
frozen part's states of the first victim) run against it.
"""

from __future__ import annotations

import pytest
from test_defenses_cli import check_detector_metrics

from crowd.defenses.rap import RAPStalled
from crowd.pipelines.config import DataConfig
from crowd.pipelines.defend import DefendConfig, DefenseConfig, run_defend
from crowd.victim import Victim, VictimConfig


def check_learnt(undefended: dict) -> None:
    """The partial victim learnt the toy sentiment (a constant classifier scores about 0.5) and the backdoor."""
    assert undefended["cacc"] >= 0.56
    assert undefended["asr"] >= undefended["base_rate"] + 0.3


def _config(tiny_bert, name: str, params: dict) -> DefendConfig:
    victim = VictimConfig(
        model=str(tiny_bert),
        epochs=30,
        lr=3e-3,
        batch_size=16,
        warmup_epochs=0,
        device="cpu",
        trainable_layers=1,
    )
    data = DataConfig("toy", max_train=400, max_dev=40, max_test=100)
    return DefendConfig(data=data, defense=DefenseConfig(name, params), victim=victim)


@pytest.mark.parametrize(("name", "params"), [("strip", {"repeat": 2})])
def test_detectors_run_against_a_partial_victim(tiny_bert, tmp_path, name, params):
    summary = run_defend(_config(tiny_bert, name, params), tmp_path / name)
    assert (tmp_path / name / "summary.json").exists()
    check_learnt(summary["undefended"])
    check_detector_metrics(summary, tmp_path / name)


def test_rap_tunes_through_a_partial_victim_and_says_when_the_word_cannot_move(tiny_bert, tmp_path):
    """The tiny BERT saturates (one probability per class), so no RAP word moves it: the run stops with
    the reason after its updates (gradients through the frozen bottom and the trained top), not with a
    threshold set on an unmoved word."""
    with pytest.raises(RAPStalled, match="after 70 updates"):
        run_defend(_config(tiny_bert, "rap", {"epochs": 1, "lr": 1.0}), tmp_path / "rap")


def test_bki_retrain_reuses_the_first_victims_states(tiny_bert, monkeypatch):
    computed: list[int] = []
    original = Victim._bottom_states

    def counting(self, texts, cut):
        computed.append(len(texts))
        return original(self, texts, cut)

    monkeypatch.setattr(Victim, "_bottom_states", counting)
    summary = run_defend(_config(tiny_bert, "bki", {}))
    f = summary["filter"]
    assert len(computed) == 1  # the retrain on the kept texts computed nothing new
    check_learnt(summary["undefended"])
    assert f["kept"] + f["removed_poisoned"] + f["removed_clean"] == summary["n_train"] == 400
    assert 0 <= f["removed_poisoned"] <= summary["n_poison_train"] and f["keywords"]
    for key in ("cacc", "asr", "base_rate"):
        assert 0.0 <= summary["defended"][key] <= 1.0
    assert summary["defended"]["cacc"] >= 0.55  # the retrained victim still learns the sentiment
