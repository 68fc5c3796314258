"""The vote folder of a run: one atomic ``.npy`` file per finished copy, checked when read.

Layout (see :mod:`crowd.train.runner`)::

    votes.json                 fingerprint, n_test (created exclusively, once)
    votes/copy_000123.npy      int32 (n_test,) predicted labels of copy 123

Opening the folder removes the temporary files of atomic writes that a killed run left behind
(``.copy_000123.npy~PID~HEX.tmp``, :func:`crowd.io.clean_orphans`); nothing else is touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from crowd.io import clean_orphans, create_json, write_npy

SHARED_ORPHAN_AGE_S = 3600.0  # under torchrun, a temporary this old is an orphan whichever node wrote it


class VoteStoreMismatch(ValueError):
    """A vote folder that holds votes of another configuration."""


class VoteFileError(ValueError):
    """A vote file (or ``votes.json``) that is unreadable or not what this run wrote; names the file."""


class VoteStore:
    """One atomic ``.npy`` file per finished copy in ``folder/votes``.

    ``votes.json`` is created exclusively (:func:`crowd.io.create_json`): of two runs started at once
    on the same folder exactly one creates it, the other reads it back and refuses a different
    fingerprint, so votes of two configurations never mix. Every vote file is checked when read:
    int32, shape ``(n_test,)``, values in ``0..num_labels-1`` (when ``num_labels`` is given).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        n_copies: int,
        n_test: int,
        fingerprint: str,
        num_labels: int | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.n_copies = n_copies
        self.n_test = n_test
        self.fingerprint = fingerprint
        self.num_labels = num_labels
        meta_path = self.folder / "votes.json"
        meta = {"fingerprint": fingerprint, "n_test": n_test}
        (self.folder / "votes").mkdir(parents=True, exist_ok=True)
        self.removed_orphans = remove_orphans(self.folder)
        if not create_json(meta_path, meta):
            found = _read_meta(meta_path)
            if found != meta:
                raise VoteStoreMismatch(
                    f"{self.folder} holds votes of another configuration ({found} != {meta}); "
                    "use a new folder, or delete this one to start over"
                )

    @classmethod
    def open(cls, folder: str | os.PathLike[str], n_copies: int, num_labels: int | None = None) -> VoteStore:
        """An existing vote folder, whatever its fingerprint (for reading votes back)."""
        meta_path = Path(folder) / "votes.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{folder} is not a vote folder (no votes.json)")
        meta = _read_meta(meta_path)
        return cls(folder, n_copies, meta["n_test"], meta["fingerprint"], num_labels)

    def path(self, index: int) -> Path:
        return self.folder / "votes" / f"copy_{index:06d}.npy"

    def missing(self) -> list[int]:
        """Copy indices ``< n_copies`` without a votes file."""
        present = set(os.listdir(self.folder / "votes"))
        return [j for j in range(self.n_copies) if self.path(j).name not in present]

    def logits_path(self, index: int) -> Path:
        return self.folder / "votes" / f"copy_{index:06d}.logits.npy"

    def write(self, index: int, votes: np.ndarray, logits: np.ndarray | None = None) -> None:
        """Store copy ``index``: its logits first (when given), then its votes (whose file marks it done)."""
        votes = np.asarray(votes, dtype=np.int32)
        if votes.shape != (self.n_test,):
            raise ValueError(f"copy {index}: expected {self.n_test} votes, got shape {votes.shape}")
        if logits is not None:
            write_npy(self.logits_path(index), np.asarray(logits, dtype=np.float32))
        write_npy(self.path(index), votes)

    def load_all_logits(self) -> np.ndarray:
        """``(n_copies, n_test, classes)`` float32 test logits of every copy (run-off election reads them)."""
        out = []
        for j in range(self.n_copies):
            path = self.logits_path(j)
            try:
                logits = np.load(path, allow_pickle=False)
            except (OSError, ValueError, EOFError) as e:
                raise VoteFileError(
                    f"{path}: no readable logits for copy {j} ({e}); votes stored without logits cannot be "
                    "certified by run-off election: delete the vote folder to recompute"
                ) from e
            if logits.ndim != 2 or logits.shape[0] != self.n_test or logits.dtype != np.float32:
                raise VoteFileError(f"{path}: expected float32 logits of shape ({self.n_test}, classes)")
            out.append(logits)
        return np.stack(out)

    def load(self, index: int) -> np.ndarray:
        """The votes of copy ``index``, checked; :class:`VoteFileError` naming the file otherwise."""
        path = self.path(index)
        try:
            votes = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            raise VoteFileError(f"{path}: not a readable .npy vote file ({e}); delete it to recompute") from e
        problem = _vote_problem(votes, self.n_test, self.num_labels)
        if problem:
            raise VoteFileError(f"{path}: {problem}; delete it to recompute this copy")
        return votes

    def check_present(self) -> None:
        """Load and check every vote file already stored (before any training, so bad files fail first)."""
        missing = set(self.missing())
        for j in range(self.n_copies):
            if j not in missing:
                self.load(j)

    def load_all(self) -> np.ndarray:
        """``(n_copies, n_test)`` int32 votes, every file checked; raises if any copy is missing."""
        missing = self.missing()
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} copies have no votes yet in {self.folder}, e.g. {missing[:5]}"
            )
        return np.stack([self.load(j) for j in range(self.n_copies)])


def remove_orphans(folder: Path) -> list[Path]:
    """Remove temporaries of killed writers in a vote folder and its ``votes/``; returns what was removed.

    A temporary is an orphan when its writer's pid no longer runs here; when ranks run on several machines
    (``torchrun`` with ``WORLD_SIZE`` > ``LOCAL_WORLD_SIZE``) a pid dead here may be a live writer there,
    so it must also be :data:`SHARED_ORPHAN_AGE_S` old.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    shared = world > int(os.environ.get("LOCAL_WORLD_SIZE", "1" if world == 1 else "0"))
    min_age = SHARED_ORPHAN_AGE_S if shared else 0.0
    return [p for sub in (folder, folder / "votes") for p in clean_orphans(sub, min_age)]


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise VoteFileError(f"{path}: not a readable votes.json ({e})") from e
    ok = isinstance(meta, dict) and isinstance(meta.get("fingerprint"), str)
    if not ok or not isinstance(meta.get("n_test"), int) or isinstance(meta.get("n_test"), bool):
        raise VoteFileError(f"{path}: expected {{'fingerprint': str, 'n_test': int}}, found {meta!r}")
    return meta


def _vote_problem(votes: np.ndarray, n_test: int, num_labels: int | None) -> str:
    """Why ``votes`` is not a valid vote row ('' if it is)."""
    if votes.dtype != np.int32:
        return f"dtype {votes.dtype}, expected int32"
    if votes.shape != (n_test,):
        return f"shape {votes.shape}, expected ({n_test},)"
    if num_labels is not None and votes.size and (votes.min() < -1 or votes.max() >= num_labels):
        return f"labels {int(votes.min())}..{int(votes.max())} outside 0..{num_labels - 1} (or -1, abstain)"
    return ""
