"""The ``--out`` folder of ``crowd certify`` is checked before the corpus is loaded or anything is written."""

from __future__ import annotations

import os

import numpy as np
import pytest

from crowd.cli import main
from crowd.data import Example
from crowd.pipelines.certify import certify_examples, load_certify_config, run_certify
from crowd.pipelines.outdir import check_out_folder
from crowd.testing.cli import snapshot

MISSING_DATA = ["data.dataset='/nonexistent/corpus'"]  # loading it would fail: the out check comes first


def word_corpus(n_train: int = 60, seed: int = 0) -> tuple[list[Example], list[Example]]:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(40)]
    train = [Example(" ".join(rng.choice(vocab, 6)), i % 2) for i in range(n_train)]
    test = [Example(" ".join(rng.choice(vocab, 5)) + " test", i % 2) for i in range(10)]
    return train, test


def test_out_that_is_a_file_is_refused_before_loading(tmp_path):
    out = tmp_path / "results.txt"
    out.write_text("mine")
    with pytest.raises(ValueError, match=rf"^out folder {out}: is a file, not a folder"):
        run_certify(load_certify_config(None, MISSING_DATA), out, progress=False)
    assert out.read_text() == "mine"


def test_out_below_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"f is a file, not a folder"):
        check_out_folder(tmp_path / "f" / "run")


@pytest.mark.parametrize("name", ["notes.txt", "summary.md", "manifest.json"])
def test_a_folder_with_files_crowd_did_not_write_is_refused(tmp_path, name):
    (tmp_path / name).write_text("the user's own file")
    with pytest.raises(ValueError, match=rf"^out folder {tmp_path}: .*{name}") as info:
        run_certify(load_certify_config(None, MISSING_DATA), tmp_path, progress=False)
    assert "\n" not in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_unknown_file_among_the_votes_is_refused(tmp_path):
    (tmp_path / "votes" / "votes").mkdir(parents=True)
    (tmp_path / "votes" / "votes" / "copy_000000.npy").write_bytes(b"")
    check_out_folder(tmp_path)  # crowd's own names: fine
    (tmp_path / "votes" / "votes" / "mine.npy").write_bytes(b"")
    with pytest.raises(ValueError, match=r"votes/votes/mine\.npy"):
        check_out_folder(tmp_path)


def test_unwritable_out_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^out folder /proc/crowd-run: .*cannot be written"):
        check_out_folder("/proc/crowd-run")  # /proc takes no new files, not even from root
    if os.geteuid() != 0:  # root writes whatever the mode bits say
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ValueError, match=r"cannot be written"):
            check_out_folder(locked / "run")


def test_a_previous_run_resumes_and_a_changed_report_is_refused(tmp_path):
    train, test = word_corpus()
    config = load_certify_config(None, ["method.groups=3"])
    out = tmp_path / "run"
    certify_examples(train, test, config, out=out, progress=False)
    assert {"votes", "summary.md", "summary.json", "per_text.jsonl", "config.json", "manifest.json"} <= {
        p.name for p in out.iterdir()
    }
    again = certify_examples(train, test, config, out=out, progress=False)
    assert again.summary["reused_votes"] == 3
    (out / "summary.md").write_text("my edited notes")
    before = snapshot(out)
    with pytest.raises(ValueError, match=r"summary\.md .*changed since crowd wrote it"):
        certify_examples(train, test, config, out=out, progress=False)
    assert snapshot(out) == before


def test_cli_refuses_a_file_as_out_in_one_line(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert main(["certify", "--set", MISSING_DATA[0], "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"crowd certify: error: out folder {out}: is a file, not a folder; give --out a folder"
