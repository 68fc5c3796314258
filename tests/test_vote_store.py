"""Vote folders: exclusive creation of votes.json, checked vote files, progress bars of run_votes."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import numpy as np
import pytest

from crowd.train import (
    HeadOnly,
    VoteStore,
    VoteStoreMismatch,
    run_votes,
    runner,
)
from crowd.train.votes import VoteFileError

LEARNER = dict(dtype="fp32", pooling="mean", lr=1e-2, epochs=2, copies_per_group=3)


def test_second_config_refused_even_inside_the_race_window(tmp_path, monkeypatch):
    VoteStore(tmp_path, 4, 10, "config-a")
    real_exists = Path.exists
    # The second run checks for votes.json before the first one's write is visible (the race window).
    monkeypatch.setattr(Path, "exists", lambda p: False if p.name == "votes.json" else real_exists(p))
    with pytest.raises(VoteStoreMismatch, match="another configuration"):
        VoteStore(tmp_path, 4, 10, "config-b")
    monkeypatch.undo()
    assert VoteStore.open(tmp_path, 4).fingerprint == "config-a"


def _open_store(args) -> str:
    folder, fingerprint, barrier = args
    barrier.wait()
    try:
        VoteStore(folder, 4, 10, fingerprint)
        return "ok"
    except VoteStoreMismatch:
        return "refused"


def test_runs_started_together_exactly_one_wins(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for round_ in range(5):
        folder = tmp_path / f"r{round_}"
        barrier = ctx.Barrier(4)
        procs = [ctx.Process(target=_race_child, args=(folder, f"cfg{k}", barrier, k)) for k in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        outcomes = sorted((folder.parent / f"{folder.name}.out{k}").read_text() for k in range(4))
        assert outcomes == ["ok", "refused", "refused", "refused"], outcomes


def _race_child(folder: Path, fingerprint: str, barrier, k: int) -> None:
    result = _open_store((folder, fingerprint, barrier))
    (folder.parent / f"{folder.name}.out{k}").write_text(result)


@pytest.mark.parametrize(
    "array, problem",
    [
        (np.zeros(10, dtype=np.float64), "dtype float64, expected int32"),
        (np.zeros(9, dtype=np.int32), r"shape \(9,\), expected \(10,\)"),
        (np.array([0] * 9 + [2], dtype=np.int32), r"labels 0..2 outside 0..1"),
        (np.array([-2] + [0] * 9, dtype=np.int32), r"labels -2..0 outside 0..1 \(or -1, abstain\)"),
    ],
)
def test_bad_vote_files_are_named(tmp_path, array, problem):
    store = VoteStore(tmp_path, 2, 10, "cfg", num_labels=2)
    store.write(0, np.zeros(10, dtype=np.int32))
    np.save(store.path(1), array)
    with pytest.raises(VoteFileError, match=re.escape(str(store.path(1))) + ": " + problem):
        store.load_all()


def test_unreadable_vote_file_and_meta_are_named(tmp_path):
    store = VoteStore(tmp_path, 1, 10, "cfg", num_labels=2)
    store.path(0).write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(VoteFileError, match="copy_000000.npy: not a readable"):
        store.load_all()
    (tmp_path / "votes.json").write_text('{"fingerprint": 3}')
    with pytest.raises(VoteFileError, match="votes.json: expected"):
        VoteStore.open(tmp_path, 1)


def _toy(tiny_bert):
    from crowd.testing.toy_task import copy_maker, keyword_task
    from crowd.train.encode import WordPieceEncoder
    from crowd.train.models import load_tokenizer

    task = keyword_task(n_train=120, n_test=30, seed=0)
    return copy_maker(task, WordPieceEncoder(load_tokenizer(tiny_bert), 16), flip=0.1, seed=0)


def test_bad_stored_vote_fails_before_training(tiny_bert, tmp_path):
    make_copy = _toy(tiny_bert)
    built = []

    def recording(j):
        built.append(j)
        return make_copy(j)

    learner = HeadOnly(**LEARNER)
    run_votes(make_copy, 3, learner, str(tiny_bert), tmp_path, 0, "cpu", "toy", 2, progress=False)
    np.save(VoteStore.open(tmp_path, 3).path(1), np.full(30, 7, dtype=np.int32))
    with pytest.raises(VoteFileError, match="copy_000001.npy: labels 7..7 outside 0..1"):
        run_votes(recording, 6, learner, str(tiny_bert), tmp_path, 0, "cpu", "toy", 2, progress=False)
    assert built == [0]  # only the input check ran


class ReportingHeadOnly(HeadOnly):
    """HeadOnly that reports its group's work through the optional ``progress`` callback."""

    calls: list = []

    def fit_predict(self, request, progress=None):
        progress(0, 4)
        votes = super().fit_predict(request)
        for done in (2, 4):
            progress(done, 4)
            ReportingHeadOnly.calls.append(done)
        return votes


def test_progress_bar_counts_models_and_moves_inside_a_group(tiny_bert, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner._Progress, "QUIET_S", 0.0)  # this toy's groups take less than the quiet start
    make_copy = _toy(tiny_bert)
    learner = ReportingHeadOnly(**LEARNER)  # 3 copies per group: 2 groups
    run_votes(make_copy, 6, learner, str(tiny_bert), tmp_path, 0, "cpu", "toy", 2, progress=True)
    err = capsys.readouterr().err
    assert ReportingHeadOnly.calls == [2, 4, 2, 4]  # the callback reached the learner, once per group
    shown = [int(n) for n in re.findall(r"models:\s+\d+%\|[^|]*\| (\d+)/6 ", err)]
    assert shown == sorted(shown) and shown[-1] == 6  # never backwards, ends at all models
    assert 1 in shown or 2 in shown  # the first group's work shows before the group is stored (3/6)
    assert "group" not in err and len(re.findall(r"models: 100%", err)) == 1
    assert "model/s" in err or "s/model" in err  # a rate in models
    run_votes(make_copy, 6, learner, str(tiny_bert), tmp_path, 0, "cpu", "toy", 2, progress=True)
    err = capsys.readouterr().err
    assert "models: all 6 already stored" in err and "100%" not in err
