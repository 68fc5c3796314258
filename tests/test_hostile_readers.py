"""Readers agree and name what they refuse (issue #33): a row that loads from TSV and JSON Lines loads from CSV
too, mixed line ends load alike, a split file that is a folder or a symbolic link loop is one line; a path that
loops or may not be entered names the path to blame; a foreign ``rows.jsonl`` is one line, and an edited vote
file is computed again (never reused silently)."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from crowd.cli import main
from crowd.data import DataFormatError, find_split_file, load_openbackdoor_folder, read_file
from crowd.testing.cli import error_line, snapshot
from crowd.train import VoteStore

CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
SMALL = ["--set", "data.max_train=200", "--set", "data.max_test=50"]


def write_rows(folder: Path, name: str, rows: list[tuple[str, int]], ends: list[str]) -> Path:
    """``rows`` in the format of ``name``'s extension, line ``i`` ended by ``ends[i % len(ends)]``."""
    ext = name.rsplit(".", 1)[-1]
    if ext == "jsonl":
        lines = [json.dumps({"text": t, "label": y}) for t, y in rows]
    else:
        sep = "\t" if ext == "tsv" else ","
        lines = [f"sentence{sep}label", *(f"{t}{sep}{y}" for t, y in rows)]
    path = folder / name
    path.write_bytes("".join(line + ends[i % len(ends)] for i, line in enumerate(lines)).encode())
    return path


def loaded(path: Path) -> list[tuple[str, int]]:
    return [(e.text, e.label) for e in read_file(path).examples]


# 1. Readers agree


@pytest.mark.parametrize("ext", ["tsv", "jsonl", "csv"])
def test_a_ten_megabyte_text_loads_in_every_format(tmp_path, ext):
    text = "good " * (2 * 2**20)  # 10 MiB: over the csv module's default field limit (128 KiB)
    path = write_rows(tmp_path, f"big.{ext}", [(text.strip(), 1), ("bad film", 0)], ["\n"])
    assert loaded(path) == [(text.strip(), 1), ("bad film", 0)]


ROWS = [("good film", 1), ("bad film", 0), ("fine plot", 1), ("dull plot", 0), ("great cast", 1)]


@pytest.mark.parametrize("ext", ["tsv", "jsonl", "csv"])
@pytest.mark.parametrize(
    "ends", [["\r\n", "\n", "\r"], ["\r", "\n"], ["\n", "\r\n"], ["\r", "\r", "\r\n"]], ids=repr
)
def test_mixed_line_ends_load_alike_in_every_format(tmp_path, ext, ends):
    assert loaded(write_rows(tmp_path, f"mixed.{ext}", ROWS, ends)) == ROWS


@pytest.mark.parametrize("ext", ["tsv", "csv"])
def test_a_stray_cr_inside_a_text_stays_in_it_in_tsv_and_csv_alike(tmp_path, ext):
    sep = "\t" if ext == "tsv" else ","
    path = tmp_path / f"stray.{ext}"
    path.write_bytes(f"sentence{sep}label\ngood\rfilm{sep}1\nbad film{sep}0\n".encode())
    assert loaded(path) == [("good film", 1), ("bad film", 0)]  # the CR normalised to a space


def test_a_lone_cr_before_what_is_not_a_row_fails_in_one_line(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"text": "good film", "label": 1}\r{"text": "bad\n')
    with pytest.raises(DataFormatError, match=rf"^{path}:1: not valid JSON") as info:
        read_file(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("ext", ["csv", "tsv"])
def test_a_header_without_label_says_no_column_label(tmp_path, ext):
    path = tmp_path / f"train.{ext}"
    path.write_text("text\nhello there\nworld\n")
    with pytest.raises(DataFormatError) as info:
        read_file(path)
    assert str(info.value) == f"{path}:1: no column 'label'; the header has ['text']"


def test_a_tsv_header_read_as_csv_is_still_the_wrong_format(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sentence\tlabel\ngood\t1\n")
    with pytest.raises(DataFormatError, match=r"has no comma: wrong format\?"):
        read_file(path)


def test_certify_on_a_csv_without_label_is_one_line(tmp_path, capsys):
    folder, out = tmp_path / "corpus", tmp_path / "out"
    folder.mkdir()
    for split in ("train", "test"):
        (folder / f"{split}.csv").write_text("text\nhello there\nworld\n")
    assert main(["certify", "--set", f'data.dataset="{folder}"', "--no-progress", "--out", str(out)]) == 2
    assert error_line(capsys, "certify") == (
        f"crowd certify: error: {folder / 'train.csv'}:1: no column 'label'; the header has ['text']"
    )
    assert not out.exists()


def make_split(folder: Path, kind: str) -> str:
    """``folder/train.csv`` as a ``kind`` that is not a file, and the end of the line that names it."""
    path = folder / "train.csv"
    if kind == "folder":
        path.mkdir()
        return "is a folder, not a file"
    if kind == "loop":
        os.symlink("train.csv", path)
        return "is a symbolic link loop (its links lead back to themselves)"
    os.symlink("gone.csv", path)
    return "is a broken symbolic link (to gone.csv)"


@pytest.mark.parametrize("kind", ["folder", "loop", "broken link"])
def test_a_split_that_is_not_a_file_is_one_line(tmp_path, capsys, kind):
    folder, out = tmp_path / "corpus", tmp_path / "out"
    folder.mkdir()
    (folder / "train.tsv").write_text("sentence\tlabel\ngood\t1\nbad\t0\n")  # a real file beside it
    (folder / "test.csv").write_text("text,label\ngood,1\nbad,0\n")
    state = make_split(folder, kind)
    expected = f"^{re.escape(str(folder / 'train.csv'))}: {re.escape(state)}$"
    with pytest.raises(FileNotFoundError, match=expected):
        find_split_file(folder, "train")
    with pytest.raises(FileNotFoundError, match=expected):
        read_file(folder / "train.csv")
    assert main(["certify", "--set", f'data.dataset="{folder}"', "--no-progress", "--out", str(out)]) == 2
    assert error_line(capsys, "certify") == f"crowd certify: error: {folder / 'train.csv'}: {state}"
    assert not out.exists()


def test_an_openbackdoor_folder_that_loops_is_one_line(tmp_path):
    os.symlink("poison", tmp_path / "poison")
    with pytest.raises(FileNotFoundError, match=r"poison: is a symbolic link loop .*; expected a folder"):
        load_openbackdoor_folder(tmp_path / "poison")
    (tmp_path / "csv").mkdir()
    os.symlink("train-clean.csv", tmp_path / "csv" / "train-clean.csv")
    with pytest.raises(FileNotFoundError, match=r"train-clean.csv: is a symbolic link loop"):
        load_openbackdoor_folder(tmp_path / "csv")


# 2. Paths


@pytest.mark.parametrize("inside", ["", "/run"])
def test_out_through_a_symlink_loop_is_one_line(tmp_path, capsys, inside):
    os.symlink("loop", tmp_path / "loop")
    out = f"{tmp_path / 'loop'}{inside}"
    assert main(["certify", *SMALL, "--no-progress", "--out", out]) == 2
    assert error_line(capsys, "certify") == (
        f"crowd certify: error: out folder {out}: {tmp_path / 'loop'}: is a symbolic link loop "
        "(its links lead back to themselves); choose another --out"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop"]


def refuse_inside(monkeypatch, folder: Path) -> None:
    """Make ``folder`` one this user may not enter (as ``chmod 0`` would, had the tests not run as root)."""
    for name in ("stat", "lstat"):
        real = getattr(os, name)

        def guarded(path, *args, _real=real, **kwargs):
            if str(os.fspath(path)).startswith(f"{folder}{os.sep}"):
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, guarded)


def test_out_under_a_folder_that_may_not_be_entered_names_that_folder(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    (locked / "inner").mkdir(parents=True)
    out = locked / "inner" / "run"
    refuse_inside(monkeypatch, locked)
    assert main(["certify", *SMALL, "--no-progress", "--out", str(out)]) == 2
    monkeypatch.undo()
    assert error_line(capsys, "certify") == (
        f"crowd certify: error: out folder {out}: {locked / 'inner'}: permission denied "
        f"({locked} exists but this user may not look inside it); choose another --out"
    )
    assert snapshot(tmp_path) == {}


def test_os_errors_are_one_line_naming_the_path_to_blame(tmp_path, monkeypatch):
    from crowd.io import describe_os_error

    os.symlink("loop", tmp_path / "loop")
    deep = tmp_path / "loop" / "a" / "b"
    assert describe_os_error(OSError(errno.ELOOP, "Too many levels of symbolic links", str(deep))) == (
        f"{deep}: {tmp_path / 'loop'} is a symbolic link loop (its links lead back to themselves)"
    )
    mine = tmp_path / "summary.json"
    mine.write_text("{}")
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.R_OK)
    assert describe_os_error(PermissionError(errno.EACCES, "Permission denied", str(mine))) == (
        f"{mine}: permission denied ({mine} exists but this user may not read it)"
    )
    assert describe_os_error(OSError(errno.EIO, "cannot write x: Input/output error")) == (
        "cannot write x: Input/output error"
    )  # crowd.io's own messages, without "[Errno 5]"


# 3. Written sets: a foreign rows.jsonl, an edited vote file


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"table": "mine"}\n', "line 1: an object without a cell_id, not a crowd bench row"),
        ('{"cell_id": "c"}\n[1, 2]\n', "line 2: a JSON array, not a crowd bench row"),
        ("id,score\n", "line 1: not valid JSON (Expecting value), not a crowd bench row"),
    ],
)
def test_a_foreign_rows_jsonl_is_one_line(data_root, tmp_path, capsys, content, why):
    (tmp_path / "rows.jsonl").write_text(content)
    before = snapshot(tmp_path)
    argv = ["bench", str(CONFIGS / "triggers.toml"), "--scale", "smoke", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert error_line(capsys, "bench") == (
        f"crowd bench: error: out folder {tmp_path}: holds rows.jsonl ({why}), which crowd did not write; "
        "choose a new --out folder or move the file away"
    )
    assert snapshot(tmp_path) == before


def test_vote_files_carry_a_checksum_and_an_edited_one_is_computed_again(tmp_path):
    store = VoteStore(tmp_path, 3, 4, "cfg", num_labels=2)
    for j in range(3):
        store.write(j, np.array([0, 1, 0, j % 2], dtype=np.int32), np.zeros((4, 2), dtype=np.float32))
    sums = json.loads((tmp_path / "votes.json").read_text())["sha256"]
    assert sorted(sums) == [f"copy_00000{j}{kind}.npy" for j in range(3) for kind in (".logits", "")]
    assert store.missing() == []
    np.save(store.path(1), np.array([1, 1, 1, 1], dtype=np.int32))  # valid votes, but not the ones computed
    again = VoteStore(tmp_path, 3, 4, "cfg", num_labels=2)
    with pytest.warns(UserWarning) as caught:
        again.check_present()
        assert again.missing() == [1]
    assert [str(w.message) for w in caught] == [
        f"{store.path(1)}: changed since crowd wrote it (its SHA-256 differs from the one in votes.json); "
        "not reused, copy 1 is computed again"
    ]
    with pytest.raises(FileNotFoundError, match=r"1 copies have no \(trusted\) votes"):
        again.load_all()
    again.write(1, np.array([0, 1, 0, 1], dtype=np.int32), np.zeros((4, 2), dtype=np.float32))
    assert again.missing() == [] and again.load_all()[1].tolist() == [0, 1, 0, 1]


def test_an_old_vote_store_without_checksums_is_read_as_before(tmp_path):
    (tmp_path / "votes").mkdir()
    (tmp_path / "votes.json").write_text(json.dumps({"fingerprint": "cfg", "n_test": 4}))
    np.save(tmp_path / "votes" / "copy_000000.npy", np.array([0, 1, 1, 0], dtype=np.int32))
    store = VoteStore(tmp_path, 2, 4, "cfg", num_labels=2)
    assert store.missing() == [1]
    store.write(1, np.array([1, 1, 1, 0], dtype=np.int32))
    assert "sha256" not in json.loads((tmp_path / "votes.json").read_text())  # stays an old store
    assert store.load_all().tolist() == [[0, 1, 1, 0], [1, 1, 1, 0]]


def test_certify_resumes_bit_identical_after_a_vote_file_was_edited(data_root, tmp_path):
    out = tmp_path / "run"
    assert main(["certify", *SMALL, "--no-progress", "--out", str(out)]) == 0
    first = snapshot(out)
    copy = out / "votes" / "votes" / "copy_000002.npy"
    votes = np.load(copy)
    np.save(
        copy, np.where(votes >= 0, 1 - votes, votes).astype(np.int32)
    )  # valid labels: only the checksum tells
    with pytest.warns(UserWarning, match=r"copy_000002.npy: changed since crowd wrote it") as caught:
        assert main(["certify", *SMALL, "--no-progress", "--out", str(out)]) == 0
    assert len([w for w in caught if "votes.json" in str(w.message)]) == 1
    again = snapshot(out)
    assert again["per_text.jsonl"] == first["per_text.jsonl"]
    assert again["votes/votes/copy_000002.npy"] == first["votes/votes/copy_000002.npy"]
    assert (
        json.loads(again["summary.json"])["reused_votes"]
        == len(list((out / "votes" / "votes").glob("copy_*[0-9].npy"))) - 1
    )


def test_the_vote_lock_is_crowds_own(tmp_path):
    """The vote folder's lock file (taken to record checksums) does not make the run folder foreign."""
    from crowd.pipelines.outdir import check_out_folder

    store = VoteStore(tmp_path / "run" / "votes", 1, 2, "cfg")
    store.write(0, np.array([0, 1], dtype=np.int32))
    assert (tmp_path / "run" / "votes" / "votes.lock").exists()
    assert check_out_folder(tmp_path / "run", "certify") == tmp_path / "run"
