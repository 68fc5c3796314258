"""``crowd defend``: metrics a reader needs, warnings, parameter checks before training, the documented example."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from crowd.cli import main
from crowd.defenses.metrics import attack_metrics, victim_warnings
from crowd.pipelines.defend import DefendConfig, DefenseConfig, build_defense, run_defend
from crowd.victim import VictimConfig

DOCS = Path(__file__).resolve().parents[1] / "docs" / "defenses.md"


def test_attack_metrics_report_the_base_rate_beside_asr():
    labels = [0, 0, 0, 0, 1, 1]
    clean_pred = [1, 0, 0, 0, 1, 1]  # one clean negative already called positive
    m = attack_metrics(clean_pred, labels, [1, 1, 0], target=1)
    assert m["base_rate"] == pytest.approx(0.25) and m["asr"] == pytest.approx(2 / 3)
    assert m["n_test_poison"] == 3 and m["n_test_clean_non_target"] == 4
    flagged = attack_metrics(
        clean_pred, labels, [1, 1, 0], 1, np.array([1, 0, 0, 0, 0, 0], bool), np.array([1, 0, 0], bool)
    )
    assert flagged["base_rate"] == 0.0 and flagged["asr"] == pytest.approx(1 / 3)
    assert flagged["cacc"] == pytest.approx(5 / 6)  # the rejected clean text was wrong anyway


def test_warnings_for_an_unlearnt_backdoor_and_a_degenerate_victim():
    assert victim_warnings({"asr": 0.98, "base_rate": 0.1}, [0, 1, 0, 1]) == []
    (unlearnt,) = victim_warnings({"asr": 0.14, "base_rate": 0.1}, [0, 1, 0, 1])
    assert "not learnt" in unlearnt
    (degenerate,) = victim_warnings({"asr": 0.9, "base_rate": 0.1}, [1] * 19 + [0])
    assert "degenerate" in degenerate and "95.0%" in degenerate


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("strip", {"prob_range": [-0.1, -0.3]}, "unknown key.*prob_range"),
        ("strip", {"frr": 1.5}, "frr"),
        ("rap", {"prob_range": [0.1, 0.3]}, "prob_range"),
        ("onion", {"max_clean_drop": 2.0}, "max_clean_drop"),
        ("bki", {"max_doc_freq": 0.0}, "max_doc_freq"),
    ],
)
def test_defense_parameters_are_checked_before_any_training(tmp_path, name, params, message):
    """The victim model does not exist: an error about it would mean training started first."""
    config = DefendConfig(
        defense=DefenseConfig(name, params),
        victim=VictimConfig(model=str(tmp_path / "no-such-model"), device="cpu"),
    )
    with pytest.raises(ValueError, match=message):
        run_defend(config)


def test_rap_protects_the_attack_target_by_default():
    assert build_defense(DefenseConfig("rap"), seed=0, target_label=0).target_label == 0
    assert build_defense(DefenseConfig("rap", {"target_label": 1}), seed=0, target_label=0).target_label == 1


def _documented_example() -> tuple[str, list[list[str]]]:
    text = DOCS.read_text()
    toml = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    commands = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    return toml, [shlex.split(line)[1:] for line in commands.splitlines() if line.startswith("crowd defend")]


def test_documented_example_runs_at_tiny_scale(tiny_bert, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CROWD_VICTIM_CACHE", str(tmp_path / "victims"))
    toml, commands = _documented_example()
    assert len(commands) == 3
    (tmp_path / "defend.toml").write_text(toml)
    tiny = ["data.dataset=toy", "data.max_train=120", "data.max_dev=40", "data.max_test=40"]
    tiny += [f"victim.model={tiny_bert}", "victim.epochs=2", "victim.lr=3e-3", "victim.warmup_epochs=0"]
    tiny += ["victim.device=cpu"]
    for i, argv in enumerate(commands):
        argv = [str(tmp_path / a) if a in ("defend.toml",) or a.startswith("runs/") else a for a in argv]
        assert main(argv + [x for s in tiny for x in ("--set", s)]) == 0
        out = Path(argv[argv.index("--out") + 1])
        summary = json.loads((out / "summary.json").read_text())
        assert {"cacc", "asr", "base_rate", "n_test_poison"} <= set(summary["defended"])
        assert isinstance(summary["warnings"], list)
        assert summary["victim_from_store"] == (i > 0)  # one corpus, one victim: trained once
        if summary["defense"] in ("rap", "strip"):
            assert {"frr", "far", "threshold"} <= set(summary["defended"])
        if summary["defense"] == "bki":
            assert {"keywords", "keyword_doc_freq", "excluded_frequent"} <= set(summary["filter"])
    printed = capsys.readouterr().out
    assert printed.count("base rate") >= 3
    assert printed.count("victim loaded from the victim store") == 2
    again = [*argv, "--no-victim-store", *[x for s in tiny for x in ("--set", s)]]
    assert main(again) == 0
    assert json.loads((out / "summary.json").read_text())["victim_from_store"] is False
