"""Content-addressed, memory-mapped cache of frozen-encoder features, shared by copies, groups and runs.

A frozen encoder maps one input row (word-piece ids and attention mask, after truncation) to one
pooled feature vector. Noise that leaves most texts unchanged (DPA partitions, word partitions,
different methods or benchmark cells over one corpus, a rerun) asks for the same rows again and
again; this cache computes each row once and keeps it on disk.

**Keys.** A *shard* holds the rows of one ``(model identity, pooling, max_length, dtype, device)``: its
folder name is a sha256 of those settings (:func:`shard_key`). ``dtype`` is what the encoder really computed
in (``bf16`` only on CUDA: :func:`crowd.train.frozen.effective_dtype`) and ``device`` the kind of device
(``cpu``, ``cuda``), so features encoded on CUDA, batched, are never read back by a CPU run, whose
features are a function of the row alone. A row is addressed by the first 16
bytes of the sha256 of its attended ids and mask, trimmed after the last attended position
(:func:`row_digests`). The model identity (:func:`model_identity`) is a sha256 over the bytes of
the model directory's ``config.json`` and, for every weights file in it (``*.safetensors``,
``*.bin``, ``*.pt``, ``*.pth`` and their ``*.index.json``), its name, size and content sha256; so a
retrained or edited checkpoint gets a new shard, while a copy of the same files on another machine
(other path, other mtime) shares it. Content hashes are memoised in the process by
``(path, size, mtime)``; hashing costs ~0.2 s for MiniLM (90 MB).

**Layout and crash safety**: see :mod:`crowd.train.feature_shard`.

**Reproducibility.** On the CPU :mod:`crowd.train.frozen` encodes every row by itself, so a row's
features are a function of the row (and the shard's settings) alone, stored or recomputed. On CUDA
rows are batched, and a batch may change the last bits of a row's features; there the first
computation of a row is the stored one, and every later use reads those bytes. Votes from a cold
and a warm cache are identical (tested). Format 2: rows encoded alone on the CPU (format 1 stored
CPU rows computed in batches, whose last bits depended on the rows beside them).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from crowd.paths import cache_subdir
from crowd.train.feature_shard import DIGEST_BYTES, FeatureShard

CACHE_ENV = "CROWD_FEATURE_CACHE"
FORMAT_VERSION = 2
DEFAULT_MAX_BYTES = 8 * 2**30
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".index.json")


def default_root() -> Path:
    """``$CROWD_FEATURE_CACHE`` if set, else ``crowd.paths.cache_dir() / "features"``."""

    return cache_subdir(CACHE_ENV, "features")


@dataclass
class CacheStats:
    """Counts of distinct rows asked for and found, and the size of the shards touched."""

    requested: int = 0
    hits: int = 0
    misses: int = 0
    written: int = 0
    rows_on_disk: int = 0
    bytes_on_disk: int = 0
    full: bool = False

    @property
    def hit_rate(self) -> float:
        return self.hits / self.requested if self.requested else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "hit_rate": round(self.hit_rate, 4)}

    def __str__(self) -> str:
        return (
            f"feature cache: {self.hits}/{self.requested} rows hit ({100 * self.hit_rate:.1f}%), "
            f"{self.written} written, {self.rows_on_disk} rows / {self.bytes_on_disk / 2**20:.1f} MiB on disk"
            + (" (size limit reached)" if self.full else "")
        )


_STATS: dict[Path, CacheStats] = {}


def cache_stats() -> CacheStats:
    """Totals over every shard this process has used (for summaries: print it or ``as_dict()``)."""
    total = CacheStats()
    for s in _STATS.values():
        for name in ("requested", "hits", "misses", "written", "rows_on_disk", "bytes_on_disk"):
            setattr(total, name, getattr(total, name) + getattr(s, name))
        total.full = total.full or s.full
    return total


def reset_cache_stats() -> None:
    """Forget the counts of :func:`cache_stats` (the files stay)."""
    _STATS.clear()


@lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def model_identity(model_dir: str | os.PathLike[str]) -> str:
    """sha256 of ``config.json``'s bytes and of each weights file's name, size and content."""
    folder = Path(model_dir)
    config = folder / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{folder} has no config.json: cannot identify the model for the cache")
    h = hashlib.sha256(config.read_bytes())
    weights = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    if not weights:
        raise FileNotFoundError(f"{folder} has no weights file ({', '.join(_WEIGHT_SUFFIXES)})")
    for p in weights:
        st = p.stat()
        h.update(
            f"{p.name}:{st.st_size}:{_file_sha256(str(p.resolve()), st.st_size, st.st_mtime_ns)}".encode()
        )
    return h.hexdigest()


def shard_key(identity: str, pooling: str, max_length: int, dtype: str, device: str) -> dict:
    """The settings that define a shard (its folder name is their hash): ``dtype`` the one the encoder
    computed in, ``device`` the device type it ran on (``"cpu"``, ``"cuda"``)."""
    return {
        "format": FORMAT_VERSION,
        "model": identity,
        "pooling": pooling,
        "max_length": int(max_length),
        "dtype": dtype,
        "device": device,
    }


def attended_widths(mask: np.ndarray) -> np.ndarray:
    """Per row, one past the last attended position (0 for an empty row)."""
    mask = np.asarray(mask) != 0
    return np.where(mask.any(axis=1), mask.shape[1] - np.argmax(mask[:, ::-1], axis=1), 0)


def row_digests(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(n, 16)`` uint8: sha256 of each row's ids (zeroed where unattended) and mask, trimmed."""
    ids, mask = np.asarray(ids), np.asarray(mask) != 0
    attended = attended_widths(mask)
    ids32 = np.where(mask, ids, 0).astype("<i4")
    out = np.empty((len(ids), DIGEST_BYTES), dtype=np.uint8)
    for i, width in enumerate(attended.tolist()):
        h = hashlib.sha256(ids32[i, :width].tobytes())
        h.update(mask[i, :width].astype(np.uint8).tobytes())
        out[i] = np.frombuffer(h.digest()[:DIGEST_BYTES], dtype=np.uint8)
    return out


class FeatureCache:
    """Shards under ``root`` (default :func:`default_root`); ``max_bytes`` caps each shard's feature file.

    Past the cap, rows are still computed and returned but no longer stored (``stats.full``).
    """

    def __init__(
        self, root: str | os.PathLike[str] | None = None, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.max_bytes = int(max_bytes)

    def shard(self, key: dict) -> FeatureShard:
        name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        return FeatureShard(self.root / name, key)

    def features(
        self, key: dict, digests: np.ndarray, compute: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Features ``(n, H)`` float32 of rows ``digests``; ``compute(indices)`` makes the missing ones.

        ``digests`` should be distinct (the stats count rows). Computed rows are stored and the
        stored bytes are what is returned, for every row.
        """
        if len(digests) == 0:
            raise ValueError("no rows to look up")
        shard = self.shard(key)
        stats = _STATS.setdefault(shard.folder, CacheStats())
        positions = shard.lookup(digests)
        missing = np.flatnonzero(positions < 0)
        stats.requested += len(digests)
        stats.hits += len(digests) - len(missing)
        stats.misses += len(missing)
        fresh = None
        if len(missing):
            fresh = np.ascontiguousarray(compute(missing), dtype=np.float32)
            try:
                stored, written, full = shard.append(digests[missing], fresh, self.max_bytes)
            except OSError as e:  # disk full, read-only folder: go on without storing
                warnings.warn(f"feature cache {shard.folder} not written ({e})", stacklevel=2)
                stored, written, full = np.full(len(missing), -1, dtype=np.int64), 0, False
            stats.written += written
            if full and not stats.full:
                warnings.warn(f"feature cache {shard.folder} reached {self.max_bytes} bytes", stacklevel=2)
            stats.full = stats.full or full
            positions[missing] = stored
        stats.rows_on_disk, stats.bytes_on_disk = shard.count, shard.nbytes() if shard.count else 0
        hidden = shard.hidden if shard.hidden is not None else fresh.shape[1]
        out = np.empty((len(digests), hidden), dtype=np.float32)
        have = positions >= 0
        if have.any():
            out[have] = shard.read(positions[have])
        if fresh is not None:
            unstored = positions[missing] < 0
            out[missing[unstored]] = fresh[unstored]
        return out
