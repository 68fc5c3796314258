"""``crowd poison --out``: refuse a folder holding anything but its own earlier output of the same settings."""

from __future__ import annotations

import json

import pytest

from crowd.attacks import BadNets, poison_corpus, write_poisoned_corpus
from crowd.cli import main
from crowd.data import Example, load_openbackdoor_folder

TRAIN = [Example(f"the movie number {i} was {'good' if i % 2 else 'bad'}", i % 2) for i in range(40)]
DEV = [Example(f"dev text {i} plot", i % 2) for i in range(10)]
TEST = [Example(f"test text {i} story", i % 2) for i in range(10)]


def corpus(rate: float = 0.1, seed: int = 0):
    return poison_corpus(BadNets(poison_rate=rate, target_label=1), TRAIN, DEV, TEST, seed=seed)


def test_same_settings_rewrite_is_idempotent(tmp_path):
    out = write_poisoned_corpus(corpus(), tmp_path / "p")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    write_poisoned_corpus(corpus(), out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(("rate", "seed", "what"), [(0.2, 0, "poison_rate"), (0.1, 1, "seed")])
def test_other_settings_are_refused_and_nothing_is_written(tmp_path, rate, seed, what):
    out = write_poisoned_corpus(corpus(), tmp_path / "p")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match=rf"^{out}: holds crowd poison output of other settings.*{what}"):
        write_poisoned_corpus(corpus(rate, seed), out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert list(load_openbackdoor_folder(out)) == sorted(load_openbackdoor_folder(out))  # one poison set


def test_foreign_files_are_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"not crowd poison output.*notes\.txt"):
        write_poisoned_corpus(corpus(), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_extra_file_next_to_own_output_is_refused(tmp_path):
    out = write_poisoned_corpus(corpus(), tmp_path / "p")
    (out / "mix" / "0.3").mkdir()
    (out / "mix" / "0.3" / "train-poison.csv").write_text(",0,1,2\n0,a,1,1\n")
    with pytest.raises(ValueError, match=r"mix/0\.3/train-poison\.csv"):
        write_poisoned_corpus(corpus(), out)


def test_output_without_manifest_is_refused(tmp_path):
    out = write_poisoned_corpus(corpus(), tmp_path / "p")
    (out / "manifest.json").unlink()
    with pytest.raises(ValueError, match=r"no manifest\.json"):
        write_poisoned_corpus(corpus(), out)


def test_out_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"is a file, not a folder"):
        write_poisoned_corpus(corpus(), tmp_path / "f")


def test_cli_refuses_before_poisoning(data_root, tmp_path, capsys):
    args = ["poison", "--dataset", "sst2", "--attack", "badnets", "--data", str(data_root)]
    (tmp_path / "summary.md").write_text("my notes")
    assert main([*args, "--out", str(tmp_path)]) == 2
    (err,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert str(tmp_path) in err and "summary.md" in err
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


def test_cli_rewrites_own_output_and_refuses_other_rate(data_root, tmp_path, capsys):
    args = ["poison", "--dataset", "sst2", "--attack", "badnets", "--data", str(data_root)]
    out = tmp_path / "p"
    assert main([*args, "--out", str(out)]) == 0
    manifest = (out / "manifest.json").read_bytes()
    assert main([*args, "--out", str(out)]) == 0
    assert (out / "manifest.json").read_bytes() == manifest
    capsys.readouterr()
    assert main([*args, "--rate", "0.2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "poison_rate" in err and not (out / "mix" / "0.2").exists()
    assert json.loads(manifest)["params"]["poison_rate"] == 0.1


@pytest.mark.parametrize("triggers", [",,", " , ", ""])
def test_cli_refuses_empty_trigger_list(data_root, tmp_path, capsys, triggers):
    args = ["poison", "--dataset", "sst2", "--attack", "badnets", "--data", str(data_root)]
    assert main([*args, "--triggers", triggers, "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "--triggers" in err and "no trigger word" in err and not (tmp_path / "p").exists()
