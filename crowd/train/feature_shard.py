"""One shard of the feature cache on disk: look up row digests, read rows, append rows safely.

**Layout** (root: ``$CROWD_FEATURE_CACHE`` or ``crowd.paths.cache_dir() / "features"``)::

    <shard>/meta.json      settings and hidden size (written once, atomically)
    <shard>/features.f32   append-only float32 rows, H values each; row i belongs to index entry i
    <shard>/index.npy      (count, 16) uint8 row digests, replaced atomically
    <shard>/lock           flock(2) taken by writers only

**Crash safety.** A writer (under the lock) truncates ``features.f32`` to ``count`` rows (removing
what a killed writer may have left), appends its rows, fsyncs, and only then atomically replaces
``index.npy``. A reader takes ``count`` from the index it loaded and memory-maps only those rows,
which were complete before that index existed: it never sees a half row, whatever was killed when.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from crowd.io import locked, write_json, write_npy

DIGEST_BYTES = 16


class FeatureShard:
    """The rows of one shard: look up digests, read rows (memory-mapped), append rows (locked)."""

    def __init__(self, folder: str | os.PathLike[str], key: dict) -> None:
        self.folder = Path(folder)
        self.key = key
        self._index_stat: tuple | None = None
        self._digests = np.zeros((0, DIGEST_BYTES), np.uint8)
        self._where: dict[bytes, int] = {}
        self.hidden: int | None = None
        self._load_meta()

    def _load_meta(self) -> None:
        meta = self.folder / "meta.json"
        if self.hidden is None and meta.exists():
            found = json.loads(meta.read_text(encoding="utf-8"))
            if found.get("key") != self.key:
                raise ValueError(f"{meta}: holds features of {found.get('key')}, expected {self.key}")
            self.hidden = int(found["hidden"])

    @property
    def count(self) -> int:
        self._refresh()
        return len(self._digests)

    def _refresh(self) -> None:
        path = self.folder / "index.npy"
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self._index_stat:
            self._load_meta()
            digests = np.load(path, allow_pickle=False)
            if digests.ndim != 2 or digests.shape[1] != DIGEST_BYTES or digests.dtype != np.uint8:
                raise ValueError(f"{path}: not a feature-cache index ((n, {DIGEST_BYTES}) uint8)")
            self._digests, self._index_stat = digests, stamp
            self._where = {d.tobytes(): i for i, d in enumerate(digests)}

    def lookup(self, digests: np.ndarray) -> np.ndarray:
        """Row position of each digest in the shard, ``-1`` where absent."""
        self._refresh()
        where = self._where
        return np.fromiter((where.get(d.tobytes(), -1) for d in digests), dtype=np.int64, count=len(digests))

    def read(self, positions: np.ndarray) -> np.ndarray:
        """``(len(positions), H)`` float32 copies of stored rows (positions from :meth:`lookup`)."""
        count = self.count
        if len(positions) == 0:
            return np.zeros((0, self.hidden or 0), np.float32)
        rows = np.memmap(self.folder / "features.f32", dtype="<f4", mode="r", shape=(count, self.hidden))
        return np.asarray(rows[np.asarray(positions)], dtype=np.float32)

    def nbytes(self) -> int:
        """Bytes of the shard's files; another writer's temporary file renamed away meanwhile counts 0."""
        return sum(_size(p) for p in self.folder.glob("*"))

    def append(self, digests: np.ndarray, feats: np.ndarray, max_bytes: int) -> tuple[np.ndarray, int, bool]:
        """Store rows not yet present: (positions of ``digests``, ``-1`` if not stored), rows written, full."""
        feats = np.ascontiguousarray(feats, dtype="<f4")
        self.folder.mkdir(parents=True, exist_ok=True)
        with locked(self.folder / "lock"):
            return self._append_locked(digests, feats, max_bytes)

    def _append_locked(
        self, digests: np.ndarray, feats: np.ndarray, max_bytes: int
    ) -> tuple[np.ndarray, int, bool]:
        self._load_meta()
        if self.hidden is None:
            self.hidden = int(feats.shape[1])
            write_json(self.folder / "meta.json", {"key": self.key, "hidden": self.hidden})
        if feats.shape[1] != self.hidden:
            raise ValueError(f"{self.folder}: rows have {self.hidden} features, got {feats.shape[1]}")
        positions = self.lookup(digests)  # another process may have added some meanwhile
        new = np.flatnonzero(positions < 0)
        new = new[np.unique(digests[new], axis=0, return_index=True)[1]] if len(new) else new
        count, row_bytes = len(self._digests), 4 * self.hidden
        room = max(0, (max_bytes - count * row_bytes) // row_bytes)
        full = len(new) > room
        new = np.sort(new[:room])
        if len(new):
            with open(self.folder / "features.f32", "a+b") as f:
                f.truncate(count * row_bytes)  # drop a tail a killed writer may have left
                f.seek(count * row_bytes)
                f.write(feats[new].tobytes())
                f.flush()
                os.fsync(f.fileno())
            write_npy(self.folder / "index.npy", np.concatenate([self._digests, digests[new]]))
        return self.lookup(digests), len(new), full


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except FileNotFoundError:  # a concurrent writer's temporary file, renamed between glob and stat
        return 0
