"""Reliability at the edges: settings a run cannot use well are refused or announced before any training."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from crowd.data import Example
from crowd.pipelines.certify import certify_examples, load_certify_config, plan_run
from crowd.pipelines.corpus import given_corpus


def _word_corpus(n_train: int, test_words: int, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Training texts of 8 words drawn from 60 word types; test texts of ``test_words`` words."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(60)]
    train = [Example(" ".join(rng.choice(vocab, 8)), i % 2) for i in range(n_train)]
    test = [Example(" ".join(rng.choice(vocab, test_words)), i % 2) for i in range(20)]
    return train, test


def _plan(train, test, *overrides):
    from crowd.train.settings import BagOfWords

    config = load_certify_config(None, list(overrides))
    corpus = given_corpus(train, test)
    return plan_run(config, corpus, None, BagOfWords().encoder(config.model.name))


def test_more_word_groups_than_word_types_is_refused_with_the_numbers(tmp_path):
    train, test = _word_corpus(200, 8)
    config = load_certify_config(None, ["method.groups=5000"])
    message = (
        "method.groups = 5000 is more than the 60 distinct word types of the training set (200 texts): "
        "each group needs at least one word type; use at most 60 groups"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        certify_examples(train, test, config, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_groups_that_most_test_texts_leave_empty_are_announced_before_training():
    train, test = _word_corpus(200, 3)  # 3 words: at most 3 of 10 groups vote on a test text
    with pytest.warns(UserWarning) as record:
        _plan(train, test, "method.groups=10")
    (message,) = [str(w.message) for w in record]
    assert message.startswith("method.groups = 10: the median test text has words in 3 of the 10 groups")
    assert "100.0% of the test texts have words in fewer than half of the groups" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _plan(train, test, "method.groups=4")  # 3 distinct words of 4 groups: no warning


def test_a_run_of_many_models_states_its_size_before_training(tmp_path, capsys, monkeypatch):
    import crowd.pipelines.certify as pipeline

    train, test = _word_corpus(60, 8)
    config = load_certify_config(None, ["method.groups=3"])
    certify_examples(train, test, config, out=tmp_path / "small", progress=False)
    assert "models to train" not in capsys.readouterr().err  # 3 models: nothing to announce
    monkeypatch.setattr(pipeline, "MANY_MODELS", 2)  # the real threshold is 10,000 models
    certify_examples(train, test, config, out=tmp_path / "run", progress=True)
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "models to train" in line]
    assert err.index(line) < err.index("models:")  # before the training bar
    files = list((tmp_path / "run" / "votes" / "votes").iterdir())
    per_model = sum(f.stat().st_size for f in files) // 3
    assert line.startswith("3 models to train (0 already stored); their votes take 6 files under ")
    assert f", {per_model:,} bytes per model (votes and logits of 20 test texts), " in line


def _folder(tmp_path, n_train: int = 60) -> str:
    train, test = _word_corpus(n_train, 8)
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    for name, rows in (("train", train), ("test", test)):
        lines = ["sentence\tlabel", *(f"{e.text}\t{e.label}" for e in rows)]
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(folder)


def _certify_argv(tmp_path, *extra: str) -> list[str]:
    data = ["--set", f'data.dataset="{_folder(tmp_path)}"', "--set", 'attack.name="none"']
    method = [] if any(a.startswith("method.name=") for a in extra) else ["--set", 'method.name="wang"']
    return ["certify", *data, *method, "--no-progress", *extra]


def test_too_few_copies_for_any_certificate_is_refused_before_training(tmp_path, capsys):
    from crowd.cli import main

    out = tmp_path / "run"
    assert main([*_certify_argv(tmp_path, "--n-copies", "2"), "--out", str(out)]) == 2
    err = capsys.readouterr().err  # the stage lines (--no-progress keeps them) and the one-line error
    assert [line for line in err.splitlines() if "error" in line] == [err.splitlines()[-1]]
    assert "crowd certify: training " not in err and "Traceback" not in err
    assert (
        "n_copies = 2 is too small for any certificate at alpha = 0.05 (bonferroni): even a unanimous vote "
        "abstains; N >= 6 is needed, or pass --allow-uncertifiable (allow_uncertifiable = true) to train anyway"
    ) in err
    assert not out.exists()


def test_allow_uncertifiable_warns_before_training_and_runs(tmp_path, capsys):
    from crowd.cli import main

    out = tmp_path / "run"
    argv = [*_certify_argv(tmp_path, "--n-copies", "2", "--allow-uncertifiable"), "--out", str(out)]
    with pytest.warns(UserWarning, match=r"n_copies = 2 is too small .* N >= 6 is needed; training anyway"):
        assert main(argv) == 0
    assert "N = 2 is too small for any certificate" in (out / "summary.md").read_text()
    saved = (out / "config.json").read_text()
    assert '"allow_uncertifiable": true' in saved


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--set", "n_copies=6", "--n-copies", "8", "--set", "n_copies=7"],
            "--n-copies 8 and --set n_copies=6 both set n_copies; give it once",
        ),
        (
            ["--device", "cpu", "--set", 'model.device="cuda"'],
            '--device cpu and --set model.device="cuda" both set model.device; give it once',
        ),
        (
            ["--set", "data.data_root=/x", "--data", "/y"],
            "--data /y and --set data.data_root=/x both set data.data_root; give it once",
        ),
        (
            ["--set", "n_copies=6", "--set", " n_copies = 7"],
            "--set n_copies=6 and --set  n_copies = 7 give n_copies different values; give it once",
        ),
    ],
)
def test_conflicting_settings_of_one_key_are_refused(argv, message, tmp_path, capsys):
    from crowd.cli import main

    assert main(["certify", *argv, "--no-progress", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "error" in line] == [f"crowd certify: error: {message}"]
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_the_same_value_twice_is_one_setting():
    from crowd.commands.certify import overrides_of

    class Args:
        overrides = ["n_copies=6", "n_copies = 6", "alpha=0.01"]
        data = device = n_copies = None
        allow_uncertifiable = False

    assert overrides_of(Args()) == ["n_copies=6", "n_copies = 6", "alpha=0.01"]


PRESET_FIELDS = ("variant", "num_triggers", "triggers")  # unset: the preset's value (crowd.attacks.factory)


def _table(config) -> dict:
    from crowd.config import to_dict

    table = to_dict(config)
    for key in PRESET_FIELDS:
        table["attack"].pop(key)
    return table


def test_the_dataclass_defaults_are_the_built_in_default():
    from crowd.pipelines.config import CertifyConfig

    assert _table(CertifyConfig()) == _table(load_certify_config(None))


def test_a_config_file_with_some_keys_is_the_default_with_those_keys_changed(tmp_path):
    path = tmp_path / "some.toml"
    path.write_text('n_copies = 30\n[attack]\nname = "none"\n[head]\nepochs = 5\n', encoding="utf-8")
    expected = load_certify_config(None, ["n_copies=30", 'attack.name="none"', "head.epochs=5"])
    assert _table(load_certify_config(str(path))) == _table(expected)
    assert expected.method.name == "textguard" and expected.model.learner == "bow"


PRESET_KEYS = {"variant", "num_triggers", "triggers"}  # unset: the attack preset's value, else the toolkit's


def test_the_attack_defaults_are_the_built_in_default_except_what_a_preset_decides():
    """The attack's dataclass defaults equal default.toml's, except the keys a preset fills: left unset they
    mean "the preset's value" (so `preset = "openbackdoor"` can choose them); the built-in default sets them."""
    from crowd.config import to_dict
    from crowd.pipelines.config import CertifyConfig

    unset, built_in = to_dict(CertifyConfig().attack), to_dict(load_certify_config(None).attack)
    differ = {k for k in built_in if unset[k] != built_in[k]}
    assert differ == PRESET_KEYS and all(unset[k] in (None, []) for k in PRESET_KEYS)
    assert (built_in["variant"], built_in["num_triggers"], built_in["triggers"]) == ("dirty", 1, ["cf"])


def test_certify_help_states_the_built_in_default(capsys):
    from crowd.cli import main

    with pytest.raises(SystemExit):
        main(["certify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    config = load_certify_config(None)
    assert "method textguard (groups = 9, spread = 1, order = keep," in text
    assert f"the {config.model.learner} learner" in text and "badnets" in text


def _refused(capsys, argv: list[str], out) -> str:
    """The one error line of a ``crowd`` command that must fail (exit 2) leaving ``out`` empty or absent."""
    from crowd.cli import main

    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert not out.exists() or not any(out.rglob("*")), sorted(out.rglob("*"))
    return lines[0]


def test_pickled_model_weights_are_refused_before_anything_is_written(tiny_bert, tmp_path, capsys):
    import shutil

    import torch

    from crowd.cli import main

    model = tmp_path / "model"
    shutil.copytree(tiny_bert, model)
    (model / "model.safetensors").unlink()
    torch.save({"weights": torch.zeros(2)}, model / "pytorch_model.bin")  # a pickle
    argv = [*_certify_argv(tmp_path), "--set", f'model.name="{model}"', "--set", 'model.learner="head"']
    line = _refused(capsys, argv, tmp_path / "run")
    assert str(model / "pytorch_model.bin") in line and "pickle" in line and "safetensors" in line
    real = [*_certify_argv(tmp_path), "--set", f'model.name="{tiny_bert}"', "--set", 'model.learner="head"']
    assert main([*real, "--set", 'head.dtype="fp32"', "--out", str(tmp_path / "run")]) == 0  # same --out


def test_a_truncated_graph_file_is_refused_before_anything_is_written(tmp_path, capsys):
    from synonyms import SynonymGraph

    graph = tmp_path / "graph"
    SynonymGraph.from_sets({"good": [("fine", 0.9)]}).save(graph)
    data = (graph / "graph.npz").read_bytes()
    (graph / "graph.npz").write_bytes(data[: len(data) // 2])
    argv = _certify_argv(tmp_path, "--set", 'method.name="crowd"', "--set", f'method.graph="{graph}"')
    line = _refused(capsys, argv, tmp_path / "run")
    assert str(graph / "graph.npz") in line
