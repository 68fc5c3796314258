"""Parameters with no sensible upper end are refused before any work, with the field and the range named."""

from __future__ import annotations

import pytest

from crowd.cli import main
from crowd.data import Example
from crowd.pipelines.certify import certify_examples, load_certify_config


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("max_radius=1000000000", "max_radius must be in 0..100,000"),
        ("n_copies=1000000000000", "n_copies must be in 1..1,000,000"),
        ("max_radius=-1", "max_radius must be in 0..100,000"),
    ],
)
def test_unbounded_parameters_are_refused(assignment, message, tmp_path, capsys):
    with pytest.raises(ValueError, match=message):
        load_certify_config(None, [assignment])
    assert main(["certify", "--set", assignment, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_more_word_groups_than_words_is_refused_before_training(tmp_path):
    train = [
        Example(text, i % 2) for i, text in enumerate(["good film", "bad film", "a good one", "bad"] * 5)
    ]
    test = [Example("good", 1), Example("bad", 0)]
    config = load_certify_config(None, ['model.learner="bow"', "method.groups=5"])  # 5 word types, 3 groups
    with pytest.raises(
        ValueError, match=r"method.groups = 5: 2 word group\(s\) .* hold no word of any training"
    ):
        certify_examples(train, test, config, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "votes").exists()
    # as many groups as the words can fill: it trains, and each group abstains where a text has no word of it
    report = certify_examples(
        train,
        test,
        load_certify_config(None, ['model.learner="bow"', "method.groups=2"]),
        out=tmp_path / "ok",
        progress=False,
    )
    assert report.summary["n_copies"] == 2


def test_a_device_that_is_not_there_is_refused_before_any_work(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["certify", "--set", 'model.device="cuda"', "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "model.device = 'cuda'" in err and "reaches no cuda device" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_ctrl_c_is_one_line(tmp_path, capsys, monkeypatch):
    import crowd.commands.certify as command

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "run", interrupted)
    assert main(["certify", "--out", str(tmp_path / "x")]) == 130
    assert capsys.readouterr().err.strip().splitlines() == [
        "crowd certify: starting",  # printed before the imports
        "crowd certify: interrupted; the same command resumes from what was stored",
    ]
