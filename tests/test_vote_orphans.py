"""Temporary vote files a SIGKILL left behind are removed when the next run opens the vote folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from crowd.train import VoteStore


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    return int(proc.stdout)


def test_a_killed_writer_leaves_a_temporary_that_the_next_start_removes(tmp_path):
    folder = tmp_path / "votes"
    killed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, signal, numpy as np\n"
            "from crowd.train import VoteStore\n"
            "store = VoteStore(os.environ['FOLDER'], 4, 3, 'fp')\n"
            "store.write(0, np.zeros(3))\n"
            "from crowd.io import write_npy\n"
            "write_npy(store.path(3), type('Kill', (), {'__array__': lambda self, *a, **k: os.kill(os.getpid(), signal.SIGKILL)})())\n",
        ],
        env={**os.environ, "FOLDER": str(folder)},
    )
    assert killed.wait(timeout=60) == -9
    left = [p.name for p in (folder / "votes").iterdir()]
    assert len(left) == 2 and any(n.startswith(".copy_000003.npy~") and n.endswith(".tmp") for n in left)
    store = VoteStore(folder, 4, 3, "fp")
    assert [p.name for p in (folder / "votes").iterdir()] == ["copy_000000.npy"]
    assert store.missing() == [1, 2, 3]


def test_only_crowds_own_orphans_are_removed(tmp_path):
    votes = tmp_path / "votes"
    votes.mkdir()
    orphan = votes / f".copy_000003.npy~{dead_pid()}~0badcafe.tmp"
    top_orphan = tmp_path / f".votes.json~{dead_pid()}~12ab34cd.tmp"
    live = votes / f".copy_000004.npy~{os.getpid()}~0badcafe.tmp"  # a write in progress: kept
    users = [votes / "notes.tmp", votes / ".copy_000005.npy.tmp", votes / "copy~1~ab.tmp"]
    for p in (orphan, top_orphan, live, *users):
        p.write_bytes(b"half")
    VoteStore(tmp_path, 6, 3, "fp")
    assert not orphan.exists() and not top_orphan.exists()
    assert live.exists() and all(p.exists() for p in users)


def test_torchrun_on_one_machine_cleans_like_one_process(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    (tmp_path / "votes").mkdir()
    orphan = tmp_path / "votes" / f".copy_000001.npy~{dead_pid()}~0badcafe.tmp"
    orphan.write_bytes(b"half")
    VoteStore(tmp_path, 3, 3, "fp")
    assert not orphan.exists()


def test_torchrun_over_several_machines_removes_only_old_orphans(tmp_path, monkeypatch):
    """Ranks on other machines share the folder: a dead pid here may be a live writer there."""
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    votes = tmp_path / "votes"
    votes.mkdir()
    fresh = votes / f".copy_000001.npy~{dead_pid()}~0badcafe.tmp"
    old = votes / f".copy_000002.npy~{dead_pid()}~0badcafe.tmp"
    for p in (fresh, old):
        p.write_bytes(b"half")
    past = time.time() - 2 * 3600
    os.utime(old, (past, past))
    VoteStore(tmp_path, 3, 3, "fp").write(0, np.zeros(3))
    assert fresh.exists() and not old.exists()
