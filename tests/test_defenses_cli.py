"""``crowd defend`` end to end on the toy corpus with the tiny BERT (outputs and config checks)."""

from __future__ import annotations

import json

import pytest

from crowd.cli import main
from crowd.pipelines.defend import DefenseConfig, build_defense


def test_unknown_defense_param_is_named():
    with pytest.raises(ValueError, match="frrr"):
        build_defense(DefenseConfig(name="strip", params={"frrr": 0.1}), seed=0)
    with pytest.raises(ValueError, match="known"):
        build_defense(DefenseConfig(name="nope"), seed=0)


def check_detector_metrics(summary: dict, out, target: int = 1) -> None:
    """FRR, FAR, CACC and ASR of a detector are rates in [0, 1] that equal the counts in predictions.jsonl."""
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    clean = [r for r in rows if r["split"] == "test_clean"]
    poison = [r for r in rows if r["split"] == "test_poison"]
    assert (len(clean), len(poison)) == (summary["n_test_clean"], summary["n_test_poison"]) and poison
    d = summary["defended"]
    assert 0.0 <= d["frr"] <= 1.0 and 0.0 <= d["far"] <= 1.0
    assert d["frr"] == pytest.approx(sum(r["flagged"] for r in clean) / len(clean))
    assert d["far"] == pytest.approx(sum(not r["flagged"] for r in poison) / len(poison))
    # a rejected input is wrong (clean) or a failed attack (poisoned)
    assert d["cacc"] == pytest.approx(
        sum(r["pred"] == r["label"] and not r["flagged"] for r in clean) / len(clean)
    )
    assert d["asr"] == pytest.approx(
        sum(r["pred"] == target and not r["flagged"] for r in poison) / len(poison)
    )


def test_cli_writes_outputs(tiny_bert, tmp_path, capsys):
    out = tmp_path / "run"
    sets = [
        "data.dataset=toy",
        "data.max_train=400",
        "data.max_dev=40",
        "data.max_test=100",
        f"victim.model={tiny_bert}",
        "victim.epochs=10",
        "victim.lr=3e-3",
        "victim.batch_size=16",
        "victim.warmup_epochs=0",
        "victim.device=cpu",
        "defense.name=strip",
        "defense.params.frr=0.05",
    ]
    argv = ["defend", "--out", str(out)] + [x for s in sets for x in ("--set", s)]
    assert main(argv + ["--no-victim-store"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("crowd defend: starting")  # before the imports
    assert "crowd defend: victim: " in err and "victim epoch 10/10" in err  # announced, then its epochs
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads((out / "config.json").read_text())["defense"]["params"] == {"frr": 0.05}
    assert (
        len((out / "predictions.jsonl").read_text().splitlines())
        == summary["n_test_clean"] + summary["n_test_poison"]
    )
    assert "| defended |" in (out / "summary.md").read_text()
    # the victim learnt the toy corpus's sentiment (a constant classifier scores about 0.5) and its backdoor
    undefended = summary["undefended"]
    assert undefended["cacc"] >= 0.65
    assert undefended["asr"] >= undefended["base_rate"] + 0.3
    check_detector_metrics(summary, out)
    assert summary["defended"]["frr"] <= 0.2  # calibrated on clean dev texts at FRR 0.05
    # RAP cannot move this tiny BERT's saturated outputs: the run stops with the reason, no RAP row.
    rap = ["defend", "--out", str(tmp_path / "rap")] + [
        x for s in sets[:-2] + ["defense.name=rap", "defense.params.frr=0.05"] for x in ("--set", s)
    ]
    capsys.readouterr()
    assert main(rap) == 2
    assert "rap: tuning stalled" in capsys.readouterr().err
    assert not (tmp_path / "rap" / "summary.json").exists()
