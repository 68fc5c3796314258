"""Train N noisy copies, store each copy's votes as it finishes, resume, shard over ranks.

Layout of a vote folder::

    votes.json                 fingerprint, n_test (written once; a different fingerprint refuses)
    votes/copy_000123.npy      int32 (n_test,) predicted labels of copy 123 on its noisy test texts

Copies are trained in fixed groups: group ``g`` is copies ``g*K .. g*K+K-1``
(``K = learner.copies_per_group``). With ``torch.distributed`` initialised (e.g.
launched by ``torchrun``), rank ``r`` of ``W`` trains groups ``g`` with
``g % W == r``. Group composition depends only on the copy index, so a resumed
run or a run on another number of ranks trains every group exactly as an
uninterrupted single-rank run would. All ranks write into the same folder, which
must be on a filesystem they share; at the end every rank waits at a barrier and
loads all votes (initialise the process group with a ``timeout`` longer than the
slowest rank's lag).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from crowd.io import write_json, write_npy
from crowd.train.common import check_model
from crowd.train.data import CopyData, Learner, TrainingInputError, check_group


class VoteStoreMismatch(ValueError):
    """A vote folder that holds votes of another configuration."""


def fingerprint_of(*parts: object) -> str:
    """A short stable hash of JSON-serialisable parts (configs as dicts, names, seeds)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def learner_fingerprint(learner: Learner) -> dict:
    """The learner's class and configuration, as recorded in the fingerprint."""
    return {"learner": type(learner).__name__, **dataclasses.asdict(learner)}


class VoteStore:
    """One atomic ``.npy`` file per finished copy in ``folder/votes``."""

    def __init__(self, folder: str | os.PathLike[str], n_copies: int, n_test: int, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.n_copies = n_copies
        self.n_test = n_test
        self.fingerprint = fingerprint
        meta_path = self.folder / "votes.json"
        meta = {"fingerprint": fingerprint, "n_test": n_test}
        if meta_path.exists():
            found = json.loads(meta_path.read_text(encoding="utf-8"))
            if found != meta:
                raise VoteStoreMismatch(
                    f"{self.folder} holds votes of another configuration ({found} != {meta}); "
                    "use a new folder, or delete this one to start over"
                )
        else:
            (self.folder / "votes").mkdir(parents=True, exist_ok=True)
            write_json(meta_path, meta)

    @classmethod
    def open(cls, folder: str | os.PathLike[str], n_copies: int) -> VoteStore:
        """An existing vote folder, whatever its fingerprint (for reading votes back)."""
        meta_path = Path(folder) / "votes.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{folder} is not a vote folder (no votes.json)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return cls(folder, n_copies, meta["n_test"], meta["fingerprint"])

    def path(self, index: int) -> Path:
        return self.folder / "votes" / f"copy_{index:06d}.npy"

    def missing(self) -> list[int]:
        """Copy indices ``< n_copies`` without a votes file."""
        present = set(os.listdir(self.folder / "votes"))
        return [j for j in range(self.n_copies) if self.path(j).name not in present]

    def write(self, index: int, votes: np.ndarray) -> None:
        votes = np.asarray(votes, dtype=np.int32)
        if votes.shape != (self.n_test,):
            raise ValueError(f"copy {index}: expected {self.n_test} votes, got shape {votes.shape}")
        write_npy(self.path(index), votes)

    def load_all(self) -> np.ndarray:
        """``(n_copies, n_test)`` int32 votes; raises if any copy is missing."""
        missing = self.missing()
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} copies have no votes yet in {self.folder}, e.g. {missing[:5]}"
            )
        return np.stack([np.load(self.path(j)) for j in range(self.n_copies)])


def copy_groups(n_copies: int, copies_per_group: int) -> list[list[int]]:
    """Fixed blocks of copy indices: ``[[0..K-1], [K..2K-1], ...]``."""
    return [list(range(s, min(s + copies_per_group, n_copies))) for s in range(0, n_copies, copies_per_group)]


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` of an initialised ``torch.distributed`` group, else ``(0, 1)``."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_device() -> str:
    """``cuda:LOCAL_RANK`` when CUDA is available (``torchrun`` sets ``LOCAL_RANK``), else ``cpu``."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return "cpu"


def run_votes(
    make_copy: Callable[[int], CopyData],
    n_copies: int,
    learner: Learner,
    model_name: str,
    store_folder: str | os.PathLike[str],
    seed: int,
    device: str,
    fingerprint: str,
    num_labels: int,
    progress: bool = True,
) -> np.ndarray:
    """Votes ``(n_copies, n_test)`` int32: row ``j`` = the model trained on copy ``j`` on its test texts.

    Bad input (``n_copies < 1``, an unknown model, labels outside ``0..num_labels-1``,
    a folder of another configuration) raises before any training. Finished
    copies found in ``store_folder`` are not recomputed. ``fingerprint``
    identifies the data and noise; the learner's configuration, the model, the
    seed and ``num_labels`` are added to it here.
    """
    if n_copies < 1:
        raise TrainingInputError(f"n_copies must be at least 1, got {n_copies}")
    check_model(model_name)
    first = make_copy(0)
    check_group([first], [0], num_labels)
    full = fingerprint_of(fingerprint, learner_fingerprint(learner), str(model_name), seed, num_labels)
    store = VoteStore(store_folder, n_copies, first.n_test, full)
    rank, world = rank_and_world()
    mine = copy_groups(n_copies, learner.copies_per_group)[rank::world]
    missing = set(store.missing())
    todo = [g for g in mine if missing.intersection(g)]
    bar = _progress(sum(map(len, mine)), sum(map(len, mine)) - sum(map(len, todo)), progress and rank == 0)
    for group in todo:
        copies = [first if j == 0 else make_copy(j) for j in group]
        logits = learner.fit_predict(model_name, copies, group, seed, device, num_labels)
        votes = logits.argmax(-1).astype(np.int32)  # ties to the smallest class index
        for j, row in zip(group, votes):
            store.write(j, row)
        bar.update(len(group))
    bar.close()
    _barrier(world)
    return store.load_all()


def _progress(total: int, done: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc="copies", unit="copy", disable=not enabled)


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
