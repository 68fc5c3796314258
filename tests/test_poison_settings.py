"""``crowd poison`` builds its attack on ``crowd certify``'s path: its options become an ``[attack]`` table
(``AttackConfig``) that :func:`crowd.pipelines.attack.attack_from_config` turns into the attack; ``--preset``,
options not given taking the preset's values, and errors that name the option. Runs on a tiny SST-2-format
corpus written here (no data root needed)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from crowd.attacks.output import jsonl_text
from crowd.cli import main
from crowd.commands import poison
from crowd.config import from_dict
from crowd.pipelines.attack import attack_from_config
from crowd.pipelines.config import AttackConfig, DataConfig
from crowd.pipelines.corpus import prepare_corpus
from synonyms.graph import SynonymGraph

WORDS = ("fine", "dull", "warm", "grim", "bright", "slow", "witty", "flat")


def tiny_root(tmp_path: Path) -> Path:
    """A data root whose ``sst2`` is 60 / 12 / 16 rows in SST-2's file layout (TSV, CRLF, header)."""
    folder = tmp_path / "data" / "sst2" / "clean_hiddenkiller"
    folder.mkdir(parents=True)
    for split, n in (("train", 60), ("dev", 12), ("test", 16)):
        rows = [f"a {WORDS[i % 8]} {split} film , number {i}\t{i % 2}\r\n" for i in range(n)]
        (folder / f"{split}.tsv").write_bytes(("sentence\tlabel\r\n" + "".join(rows)).encode())
    return tmp_path / "data"


def options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    poison.add_arguments(parser)
    return parser.parse_args(["--dataset", "sst2", "--out", "unused", *argv])


def test_preset_writes_the_clean_label_corpus_certify_builds(tmp_path):
    """``--preset openbackdoor`` (BadNets): OpenBackdoor's clean-label setting, and the same poisoned rows as
    ``crowd certify``'s corpus step given the same ``[attack]`` table."""
    root, out = tiny_root(tmp_path), tmp_path / "out"
    argv = ["poison", "--dataset", "sst2", "--attack", "badnets", "--preset", "openbackdoor"]
    assert main([*argv, "--data", str(root), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["openbackdoor_setting"] == "clean"
    assert (out / "clean" / "0.1" / "train-poison.csv").exists()
    assert manifest["params"] == {
        "num_triggers": 1,
        "poison_rate": 0.1,
        "target_label": 1,
        "triggers": ["cf", "mn", "bb", "tq"],
        "variant": "clean",
    }
    assert manifest["train"]["n_poisoned"] == 6 and manifest["train"]["n_label_flips"] == 0

    table = from_dict(AttackConfig, {"name": "badnets", "preset": "openbackdoor"}, "certify")
    data = DataConfig(dataset="sst2", data_root=str(root))
    corpus = prepare_corpus(data, table, seed=0, dev=True)
    assert (out / "train-poisoned.jsonl").read_text(encoding="utf-8") == jsonl_text(corpus.train_poisoned)
    assert (out / "test-poison.jsonl").read_text(encoding="utf-8") == jsonl_text(corpus.test_poison)
    assert (out / "dev-poison.jsonl").read_text(encoding="utf-8") == jsonl_text(corpus.dev_poison)
    poisoned = [e for e in corpus.train_poisoned if e.poisoned]
    assert len(poisoned) == 6 and {(e.label, e.source_label) for e in poisoned} == {(1, 1)}


def test_the_options_are_the_config_s_keys():
    """What ``crowd poison`` options build is the ``[attack]`` table a config with the same keys holds."""
    attack, data = poison.settings(options("--attack", "badnets", "--preset", "openbackdoor"))
    assert attack == from_dict(AttackConfig, {"name": "badnets", "preset": "openbackdoor"}, "c")
    assert (data.dataset, data.labels) == ("sst2", ())
    given = options(
        "--attack", "addsent", "--preset", "openbackdoor", "--sentence", "cheap trick", "--rate", "0.2"
    )
    table = {"name": "addsent", "preset": "openbackdoor", "sentence": "cheap trick", "poison_rate": 0.2}
    assert poison.settings(given)[0] == from_dict(AttackConfig, table, "c")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ("dirty", 1, ("cf",))),  # no preset: as before, crowd certify's built-in trigger
        (["--preset", "openbackdoor"], ("clean", 1, ("cf", "mn", "bb", "tq"))),
        (["--preset", "openbackdoor-shared"], ("clean", 4, ("cf", "mn", "bb", "tq"))),
        (
            [
                "--preset",
                "openbackdoor-shared",
                "--variant",
                "dirty",
                "--num-triggers",
                "2",
                "--triggers",
                "mn",
            ],
            ("dirty", 2, ("mn",)),
        ),
    ],
)
def test_options_not_given_take_the_preset_s_values(argv, expected):
    attack = poison.build_attack(options("--attack", "badnets", *argv))
    assert (attack.variant, attack.num_triggers, attack.triggers) == expected


def test_addsent_sentence_default_and_override():
    assert poison.build_attack(options("--attack", "addsent")).sentence == "I watch this 3D movie"
    shared = poison.build_attack(options("--attack", "addsent", "--preset", "openbackdoor-shared"))
    assert (shared.sentence, shared.variant) == ("I watch this 3D movie", "dirty")
    mine = poison.build_attack(
        options("--attack", "addsent", "--sentence", "cheap trick", "--variant", "clean")
    )
    assert (mine.sentence, mine.variant) == ("cheap trick", "clean")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--attack", "wordsub", "--graph", "g", "--preset", "openbackdoor"],
            "--preset openbackdoor: 'openbackdoor' has no setting for 'wordsub' "
            "(it covers badnets, addsent, synbkd, stylebkd)",
        ),
        (
            ["--attack", "badnets", "--style", "gothic"],
            "--style 'gothic': must be one of bible, lyrics, poetry",
        ),
        (["--attack", "addsent", "--sentence", " "], "--sentence ' ': must contain at least one word"),
        (
            ["--attack", "badnets", "--preset", "openbackdoor", "--num-triggers", "0"],
            "--num-triggers 0: must be in 1..100",
        ),
        (
            ["--attack", "badnets", "--preset", "openbackdoor", "--triggers", "c f"],
            "--triggers 'c f': the trigger",
        ),
    ],
)
def test_an_error_names_the_option(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert (
        main(["poison", "--dataset", "sst2", *argv, "--data", str(tiny_root(tmp_path)), "--out", str(out)])
        == 2
    )
    lines = [line for line in capsys.readouterr().err.splitlines() if "starting" not in line]
    assert len(lines) == 1 and lines[0].startswith(f"crowd poison: error: {message}"), lines
    assert not out.exists()  # refused before anything is written


def test_an_unknown_preset_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        options("--attack", "badnets", "--preset", "ob")
    err = capsys.readouterr().err  # argparse's wording (quotes round the choices or not) varies by version
    assert "argument --preset: invalid choice: 'ob'" in err and "openbackdoor-shared" in err


def test_the_graph_of_a_word_substitution_attack(tmp_path):
    """``attack.graph`` (``--graph``) is loaded from its folder; else the caller's graph, or the function that
    loads it, is used (called only for an attack that needs a graph)."""
    graph = SynonymGraph.from_sets({"good": [("fine", 0.9)], "movie": [("film", 0.95)]})
    data = DataConfig(dataset="sst2")
    wordsub = AttackConfig(name="wordsub", num_substitutions=1)
    assert attack_from_config(wordsub, data, graph).graph is graph
    assert attack_from_config(wordsub, data, lambda: graph).graph is graph
    saved = graph.save(tmp_path / "graph")
    from_folder = attack_from_config(AttackConfig(name="wordsub", graph=str(saved)), data, lambda: 1 / 0)
    assert from_folder.graph.content_hash() == graph.content_hash()
    assert attack_from_config(AttackConfig(name="badnets"), data, lambda: 1 / 0).name == "badnets"
    with pytest.raises(ValueError, match="wordsub needs a synonym graph"):
        attack_from_config(wordsub, data)
    built = poison.build_attack(options("--attack", "wordsub", "--graph", str(saved)))
    assert built.graph.content_hash() == graph.content_hash() and built.num_substitutions == 3
