"""``crowd poison`` end to end on the shared SST-2 (skipped without $CROWD_DATA)."""

from __future__ import annotations

import json

import pytest

from crowd.cli import main
from crowd.methods import word_group


@pytest.mark.parametrize(
    ("attack", "extra"),
    [
        ("badnets", ["--num-triggers", "4", "--triggers", "cf,mn,bb,tq"]),
        ("addsent", []),
        ("synbkd", []),
    ],
)
def test_poison_cli_writes_layout_and_is_reproducible(data_root, tmp_path, attack, extra):
    args = ["poison", "--dataset", "sst2", "--attack", attack, "--rate", "0.1", "--target", "1"]
    args += ["--seed", "0", "--data", str(data_root), *extra]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    manifest = json.loads((tmp_path / "a/manifest.json").read_text())
    assert manifest["train"]["n_poisoned"] == 692 and manifest["openbackdoor_setting"] == "mix"
    assert (tmp_path / "a/mix/0.1/train-poison.csv").exists()
    for name in manifest["files"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    budget = json.loads((tmp_path / "a/budget.json").read_text())
    assert budget["n_poisoned"] == 692
    assert budget["n_label_flips"] == manifest["train"]["n_label_flips"] > 0  # dirty-label: flips counted
    # word partitions' exact budget for stated m (train and test side); the old word-type count is gone
    assert "trigger_words" not in budget and budget["word_groups_order"] == "keep"
    assert set(budget["word_groups_touched"]) == {
        str(m) for m in (3, 5, 6, 7, 8, 9, 10, 12, 14, 15, 16, 18, 20, 21, 24, 27, 30, 45)
    }
    inserted = {"badnets": ["cf", "mn", "bb", "tq"], "addsent": ["I", "watch", "this", "3D", "movie"]}
    for m, touched in budget["word_groups_touched"].items():
        if attack in inserted:  # every inserted word changes its group's sub-texts
            assert touched == len({word_group(w, int(m)) for w in inserted[attack]})
        else:  # a paraphrase rewrites many words
            assert touched >= min(int(m), 3)


def test_poison_cli_reports_missing_paraphrases(data_root, tmp_path, capsys):
    code = main(
        [
            "poison",
            "--dataset",
            "offenseval",
            "--attack",
            "synbkd",
            "--data",
            str(data_root),
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2 and "--paraphrases" in capsys.readouterr().err


def test_poison_badnets_defaults_to_crowd_certify_s_trigger():
    """One default attack: `crowd poison --attack badnets` without --triggers inserts the built-in run's word."""
    import argparse

    from crowd.commands import poison

    parser = argparse.ArgumentParser()
    poison.add_arguments(parser)
    args = parser.parse_args(["--dataset", "sst2", "--attack", "badnets", "--out", "x"])
    assert poison.build_attack(args).triggers == ("cf",)
    args = parser.parse_args(
        ["--dataset", "sst2", "--attack", "badnets", "--out", "x", "--triggers", "mn,bb"]
    )
    assert poison.build_attack(args).triggers == ("mn", "bb")
