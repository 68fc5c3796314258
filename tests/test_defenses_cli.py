"""``crowd defend`` end to end on the toy corpus with the tiny BERT (outputs and config checks)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from crowd.cli import main  # noqa: E402
from crowd.pipelines.defend import DefenseConfig, build_defense  # noqa: E402


def test_unknown_defense_param_is_named():
    with pytest.raises(ValueError, match="frrr"):
        build_defense(DefenseConfig(name="strip", params={"frrr": 0.1}), seed=0)
    with pytest.raises(ValueError, match="known"):
        build_defense(DefenseConfig(name="nope"), seed=0)


def test_cli_writes_outputs(tiny_bert, tmp_path):
    out = tmp_path / "run"
    sets = [
        "data.dataset=toy",
        "data.max_train=120",
        "data.max_dev=40",
        "data.max_test=40",
        f"victim.model={tiny_bert}",
        "victim.epochs=2",
        "victim.lr=3e-3",
        "victim.warmup_epochs=0",
        "victim.device=cpu",
        "defense.name=rap",
        "defense.params.frr=0.05",
    ]
    argv = ["defend", "--out", str(out)] + [x for s in sets for x in ("--set", s)]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"cacc", "asr", "frr", "far"} <= set(summary["defended"])
    assert json.loads((out / "config.json").read_text())["defense"]["params"] == {"frr": 0.05}
    assert (
        len((out / "predictions.jsonl").read_text().splitlines())
        == summary["n_test_clean"] + summary["n_test_poison"]
    )
    assert "| defended |" in (out / "summary.md").read_text()
