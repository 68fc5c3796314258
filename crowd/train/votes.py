"""The vote folder of a run: one atomic ``.npy`` file per finished copy, checked when read.

Layout (see :mod:`crowd.train.runner`)::

    votes.json                 fingerprint, n_test (created exclusively, once); sha256: each file's SHA-256
    votes.lock                 the lock held while a writer records a SHA-256 in votes.json
    votes/copy_000123.npy      int32 (n_test,) predicted labels of copy 123
    votes/copy_000123.logits.npy   float32 (n_test, classes) its test logits

Every file's SHA-256 is recorded in ``votes.json`` when it is written and checked when the folder is read: a
vote file that was edited since (or that no run recorded: one killed between the two writes, or a file copied in)
is not reused but counts as missing, so the run computes that copy again, with one warning line naming the file.
A store written before checksums were recorded (no ``sha256`` in its ``votes.json``) is read as before, unchecked.

Opening the folder removes the temporary files of atomic writes that a killed run left behind
(``.copy_000123.npy~PID~HEX.tmp``, :func:`crowd.io.clean_orphans`); nothing else is touched.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path

import numpy as np

from crowd.io import clean_orphans, create_json, locked, write_bytes, write_json

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
        self._warned: set[str] = set()
        meta_path = self.folder / "votes.json"
        meta = {"fingerprint": fingerprint, "n_test": n_test}
        (self.folder / "votes").mkdir(parents=True, exist_ok=True)
        self.removed_orphans = remove_orphans(self.folder)
        if not create_json(meta_path, {**meta, "sha256": {}}):
            found = {k: v for k, v in _read_meta(meta_path).items() if k in meta}
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
        """Copy indices ``< n_copies`` without a votes file, or whose votes or logits file changed since it
        was written (or was never recorded): each such file is named in one warning, once per store."""
        present = set(os.listdir(self.folder / "votes"))
        recorded = self._recorded()
        out = []
        for j in range(self.n_copies):
            if self.path(j).name not in present:
                out.append(j)
                continue
            problem = _copy_problem(self.path(j), self.logits_path(j), recorded)
            if problem:
                out.append(j)
                path, why = problem
                if path.name not in self._warned:
                    self._warned.add(path.name)
                    warnings.warn(f"{path}: {why}; not reused, copy {j} is computed again", stacklevel=2)
        return out

    def _recorded(self) -> dict[str, str] | None:
        """``{file name: SHA-256}`` from ``votes.json``; ``None`` for a store written before checksums."""
        return _read_meta(self.folder / "votes.json").get("sha256")

    def _write_recorded(self, files: dict[Path, bytes]) -> None:
        """Write ``files`` (atomically, in order), then record their SHA-256 in ``votes.json`` under the lock
        (several ranks write into one folder)."""
        for path, data in files.items():
            write_bytes(path, data)
        with locked(self.folder / "votes.lock"):
            meta = _read_meta(self.folder / "votes.json")
            if "sha256" not in meta:  # a store from before checksums: kept as it was, unchecked
                return
            sums = dict(meta["sha256"])
            sums.update({path.name: hashlib.sha256(data).hexdigest() for path, data in files.items()})
            write_json(self.folder / "votes.json", {**meta, "sha256": sums})

    def logits_path(self, index: int) -> Path:
        return self.folder / "votes" / f"copy_{index:06d}.logits.npy"

    def write(self, index: int, votes: np.ndarray, logits: np.ndarray | None = None) -> None:
        """Store copy ``index``: its logits first (when given), then its votes (whose file marks it done)."""
        self.write_many([(index, votes, logits)])

    def write_many(self, copies: list[tuple[int, np.ndarray, np.ndarray | None]]) -> None:
        """Store each ``(index, votes, logits)`` as :meth:`write` does, recording their SHA-256 in
        ``votes.json`` once for them all (a group of copies trained together)."""
        files = {}
        for index, votes, logits in copies:
            votes = np.asarray(votes, dtype=np.int32)
            if votes.shape != (self.n_test,):
                raise ValueError(f"copy {index}: expected {self.n_test} votes, got shape {votes.shape}")
            if logits is not None:
                files[self.logits_path(index)] = _npy_bytes(np.asarray(logits, dtype=np.float32))
            files[self.path(index)] = _npy_bytes(votes)
        self._write_recorded(files)

    def load_all_logits(self) -> np.ndarray:
        """``(n_copies, n_test, classes)`` float32 test logits of every copy (run-off election reads them)."""
        out = []
        recorded = self._recorded()
        for j in range(self.n_copies):
            path = self.logits_path(j)
            why = _untrusted(path, recorded) if path.exists() else ""
            if why:
                raise VoteFileError(f"{path}: {why}; delete it and its votes to recompute copy {j}")
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

    @staticmethod
    def stored(folder: str | os.PathLike[str], n_copies: int) -> int:
        """How many of copies ``0..n_copies-1`` a run would reuse from ``folder`` (:func:`stored_copies`)."""
        return stored_copies(Path(folder), n_copies)

    def check_present(self) -> None:
        """Load and check every vote file already stored (before any training, so bad files fail first);
        files changed since they were written are then named in a warning (:meth:`missing`)."""
        for j in range(self.n_copies):
            if self.path(j).exists():
                self.load(j)
        self.missing()

    def load_all(self) -> np.ndarray:
        """``(n_copies, n_test)`` int32 votes, every file checked; raises if any copy is missing."""
        votes = {j: self.load(j) for j in range(self.n_copies) if self.path(j).exists()}  # bad files first
        missing = self.missing()
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} copies have no (trusted) votes yet in {self.folder}, e.g. {missing[:5]}"
            )
        return np.stack([votes[j] for j in range(self.n_copies)])


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


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def stored_copies(folder: Path, n_copies: int) -> int:
    """How many of copies ``0..n_copies-1`` have votes in ``folder`` that a run would reuse (present, and
    unchanged where ``votes.json`` records checksums); warns of nothing (:meth:`VoteStore.missing` does)."""
    try:
        recorded = _read_meta(folder / "votes.json").get("sha256") if (folder / "votes.json").exists() else {}
    except VoteFileError:  # the store itself says so when it opens the folder
        return 0
    names = [
        (folder / "votes" / f"copy_{j:06d}.npy", folder / "votes" / f"copy_{j:06d}.logits.npy")
        for j in range(n_copies)
    ]
    return sum(votes.exists() and not _copy_problem(votes, logits, recorded) for votes, logits in names)


def _copy_problem(votes: Path, logits: Path, recorded: dict[str, str] | None) -> tuple[Path, str] | None:
    """The first of a copy's stored files (votes, then logits when present) not to be trusted, and why."""
    for path in (votes, logits):
        why = _untrusted(path, recorded) if path is votes or path.exists() else ""
        if why:
            return path, why
    return None


def _untrusted(path: Path, recorded: dict[str, str] | None) -> str:
    """Why the stored file ``path`` is not the one crowd wrote ('' when it is, or the store records no
    checksums: written before they were, read as before)."""
    if recorded is None:
        return ""
    if path.name not in recorded:
        return "no SHA-256 recorded in votes.json (a run killed while storing it, or not written by crowd)"
    if hashlib.sha256(path.read_bytes()).hexdigest() != recorded[path.name]:
        return "changed since crowd wrote it (its SHA-256 differs from the one in votes.json)"
    return ""


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise VoteFileError(f"{path}: not a readable votes.json ({e})") from e
    ok = isinstance(meta, dict) and isinstance(meta.get("fingerprint"), str)
    if not ok or not isinstance(meta.get("n_test"), int) or isinstance(meta.get("n_test"), bool):
        raise VoteFileError(f"{path}: expected {{'fingerprint': str, 'n_test': int}}, found {meta!r}")
    sums = meta.get("sha256", {})
    if not isinstance(sums, dict) or not all(isinstance(v, str) for v in sums.values()):
        raise VoteFileError(f"{path}: 'sha256' must map file names to SHA-256 strings, found {sums!r}")
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
