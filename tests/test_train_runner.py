"""run_votes: per-copy vote files, resume after a kill, sharding over gloo ranks, early errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

LEARNER = dict(dtype="fp32", pooling="mean", lr=1e-2, epochs=5, copies_per_group=4)


def toy_copies(model_dir, seed: int = 0):
    from crowd.testing.toy_task import copy_maker, keyword_task
    from crowd.train.encode import WordPieceEncoder
    from crowd.train.models import load_tokenizer

    task = keyword_task(n_train=300, n_test=80, seed=seed)
    return task, copy_maker(task, WordPieceEncoder(load_tokenizer(model_dir), 24), flip=0.1, seed=seed)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    torch.set_num_threads(1)


def run(tiny_bert, folder, n_copies, make_copy, learner=None):
    from crowd.train import HeadOnly, run_votes

    learner = learner or HeadOnly(**LEARNER)
    return run_votes(make_copy, n_copies, learner, str(tiny_bert), folder, 0, "cpu", "toy", 2, progress=False)


def test_end_to_end_twenty_copies_under_a_minute(tiny_bert, tmp_path):
    task, make_copy = toy_copies(tiny_bert)
    start = time.perf_counter()
    votes = run(tiny_bert, tmp_path / "votes", 20, make_copy)
    elapsed = time.perf_counter() - start
    assert votes.shape == (20, 80)
    majority = (votes.mean(axis=0) > 0.5).astype(int)
    assert (majority == task.test_labels).mean() > 0.75
    names = os.listdir(tmp_path / "votes" / "votes")
    assert sum(n.endswith(".logits.npy") for n in names) == 20 and len(names) == 40  # votes + logits
    assert elapsed < 60, f"N=20 took {elapsed:.1f} s"


def test_resume_after_kill_equals_uninterrupted(tiny_bert, tmp_path):
    _, make_copy = toy_copies(tiny_bert)
    reference = run(tiny_bert, tmp_path / "full", 10, make_copy)

    def dies_at_copy_8(j):
        if j >= 8:
            raise KeyboardInterrupt("killed")
        return make_copy(j)

    with pytest.raises(KeyboardInterrupt):
        run(tiny_bert, tmp_path / "resumed", 10, dies_at_copy_8)
    assert len([n for n in os.listdir(tmp_path / "resumed" / "votes") if not n.endswith(".logits.npy")]) == 8
    built = []

    def recording(j):
        built.append(j)
        return make_copy(j)

    resumed = run(tiny_bert, tmp_path / "resumed", 10, recording)
    assert sorted(set(built)) == [0, 8, 9]  # copy 0 is built once to check inputs
    np.testing.assert_array_equal(resumed, reference)


def test_full_fine_tune_resume_equals_uninterrupted(tiny_bert, tmp_path):
    from crowd.train import FullFineTune

    _, make_copy = toy_copies(tiny_bert)
    learner = FullFineTune(dtype="fp32", lr=2e-3, epochs=1, batch_size=32, copies_per_group=2)
    reference = run(tiny_bert, tmp_path / "full", 4, make_copy, learner)

    def dies_at_copy_2(j):
        if j >= 2:
            raise KeyboardInterrupt("killed")
        return make_copy(j)

    with pytest.raises(KeyboardInterrupt):
        run(tiny_bert, tmp_path / "resumed", 4, dies_at_copy_2, learner)
    np.testing.assert_array_equal(run(tiny_bert, tmp_path / "resumed", 4, make_copy, learner), reference)


def test_other_configuration_refuses_to_resume(tiny_bert, tmp_path):
    from crowd.train import HeadOnly, VoteStoreMismatch

    _, make_copy = toy_copies(tiny_bert)
    run(tiny_bert, tmp_path / "v", 2, make_copy)
    with pytest.raises(VoteStoreMismatch, match="another configuration"):
        run(tiny_bert, tmp_path / "v", 2, make_copy, HeadOnly(**{**LEARNER, "lr": 0.5}))


def test_bad_inputs_fail_before_training(tiny_bert, tmp_path):
    from crowd.train import CopyData, HeadOnly, TrainingInputError, run_votes
    from crowd.train.models import ModelNotFoundError

    _, make_copy = toy_copies(tiny_bert)
    learner = HeadOnly(**LEARNER)
    with pytest.raises(TrainingInputError, match="n_copies"):
        run_votes(make_copy, 0, learner, str(tiny_bert), tmp_path / "a", 0, "cpu", "toy", 2, progress=False)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        run_votes(make_copy, 3, learner, str(tmp_path / "nope"), tmp_path / "b", 0, "cpu", "toy", 2, False)

    def three_labels(j):
        c = make_copy(j)
        return CopyData(c.train_ids, c.train_mask, c.train_labels * 2, c.test_ids, c.test_mask)

    with pytest.raises(TrainingInputError, match=r"labels \[0, 2\] do not fit num_labels=2"):
        run_votes(three_labels, 3, learner, str(tiny_bert), tmp_path / "c", 0, "cpu", "toy", 2, False)
    assert not (tmp_path / "c").exists()


WORKER = """
import sys
import torch
import torch.distributed as dist

torch.set_num_threads(1)
dist.init_process_group("gloo")
sys.path.insert(0, {tests!r})
from test_train_runner import LEARNER, toy_copies
from crowd.train import HeadOnly, run_votes

_, make_copy = toy_copies(sys.argv[1])
run_votes(make_copy, 10, HeadOnly(**LEARNER), sys.argv[1], sys.argv[2], 0, "cpu", "toy", 2, progress=False)
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_two_gloo_ranks_equal_one_rank(tiny_bert, tmp_path):
    _, make_copy = toy_copies(tiny_bert)
    single = run(tiny_bert, tmp_path / "one", 10, make_copy)
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER.format(tests=os.path.dirname(__file__))))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run(
        [*cmd, str(script), str(tiny_bert), str(tmp_path / "two")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    from crowd.train import VoteStore

    store = VoteStore.open(tmp_path / "two", 10)
    np.testing.assert_array_equal(store.load_all(), single)
