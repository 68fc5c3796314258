"""``crowd defend`` with a partially fine-tuned victim (``victim.trainable_layers > 0``) on the toy corpus.

RAP (gradients through the whole model), STRIP and BKI (retrain on the kept texts, reusing the
frozen part's states of the first victim) run against it.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from crowd.pipelines.config import DataConfig  # noqa: E402
from crowd.pipelines.defend import DefendConfig, DefenseConfig, run_defend  # noqa: E402
from crowd.train.victim import Victim, VictimConfig  # noqa: E402


def _config(tiny_bert, name: str, params: dict) -> DefendConfig:
    victim = VictimConfig(
        model=str(tiny_bert), epochs=3, lr=3e-3, warmup_epochs=0, device="cpu", trainable_layers=1
    )
    data = DataConfig("toy", max_train=160, max_dev=40, max_test=40)
    return DefendConfig(data=data, defense=DefenseConfig(name, params), victim=victim)


@pytest.mark.parametrize(("name", "params"), [("rap", {"epochs": 1}), ("strip", {"repeat": 2})])
def test_detectors_run_against_a_partial_victim(tiny_bert, tmp_path, name, params):
    summary = run_defend(_config(tiny_bert, name, params), tmp_path / name)
    assert {"frr", "far", "threshold", "cacc", "asr"} <= set(summary["defended"])
    assert (tmp_path / name / "summary.json").exists()


def test_bki_retrain_reuses_the_first_victims_states(tiny_bert, monkeypatch):
    computed: list[int] = []
    original = Victim._bottom_states

    def counting(self, texts, cut):
        computed.append(len(texts))
        return original(self, texts, cut)

    monkeypatch.setattr(Victim, "_bottom_states", counting)
    summary = run_defend(_config(tiny_bert, "bki", {}))
    assert summary["filter"]["kept"] < summary["n_train"] or summary["filter"]["keywords"]
    assert len(computed) == 1  # the retrain on the kept texts computed nothing new
    assert {"cacc", "asr", "base_rate"} <= set(summary["defended"])
