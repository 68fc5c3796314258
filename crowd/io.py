"""Atomic writes: a result file is either complete or absent, never half written.

Files get the permissions the umask gives (like ``open``), not ``tempfile``'s 0600. :func:`create_json`
creates a file only if it does not exist yet (exclusive, race-free); :func:`clean_orphans` removes the
temporary files of killed writers; a write that fails (disk full, no permission) raises an ``OSError`` of the
same kind whose message names the file; :func:`locked` holds an exclusive file lock around a read-change-rewrite.

Sets of files (:func:`write_set`, :func:`read_set`): files that belong together (a run's summary, its
per-text rows and its config) are written each atomically, then ``manifest.json`` last, listing each
file's SHA-256; the old manifest is removed first. A kill in between leaves no manifest (or the old files
with their old manifest), so :func:`read_set` either returns one consistent set or raises naming what is
missing or changed; it never mixes a config of one run with the summary of another. Moving the files into
place one by one cannot be atomic as a set when the folder holds other things too (vote files, plots),
which is why a manifest was chosen over swapping a temporary directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crowd.paths import describe_os_error
from synonyms._io import atomic_create, atomic_write, clean_orphans

MANIFEST = "manifest.json"

__all__ = [
    "MANIFEST",
    "IncompleteSetError",
    "clean_orphans",
    "create_json",
    "describe_os_error",
    "json_bytes",
    "jsonl_bytes",
    "read_jsonl",
    "read_set",
    "upsert_jsonl",
    "write_bytes",
    "write_json",
    "write_jsonl",
    "write_npy",
    "write_set",
    "write_text",
]


def _atomic(path: str | os.PathLike[str], write, mode: str) -> Path:
    with _naming(path):
        if "b" in mode:
            return atomic_write(path, write)
        return atomic_write(path, lambda f: f.write(_TextPayload(write).encode()))


@contextlib.contextmanager
def _naming(path: str | os.PathLike[str]) -> Iterator[None]:
    """Re-raise an ``OSError`` of writing ``path`` (disk full, a file where a folder should be, no
    permission) as the same kind of error whose message names ``path``, not the temporary file or nothing."""
    try:
        yield
    except OSError as e:
        message = f"cannot write {os.fspath(path)}: {e.strerror or e}"
        raise (OSError(e.errno, message) if e.errno is not None else OSError(message)) from e


class _TextPayload:
    """Collects what a text writer writes, so text goes through the binary atomic writer."""

    def __init__(self, write) -> None:
        self._parts: list[str] = []
        write(self)

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def encode(self) -> bytes:
        return "".join(self._parts).encode("utf-8")


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    return _atomic(path, lambda f: f.write(text), "w")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    return _atomic(path, lambda f: f.write(data), "wb")


def json_bytes(obj: Any) -> bytes:
    """``obj`` as the JSON text :func:`write_json` writes (indented, sorted keys), UTF-8."""
    return (json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n").encode("utf-8")


def jsonl_bytes(rows: Iterable[Any]) -> bytes:
    """``rows`` as the JSON Lines text :func:`write_jsonl` writes, UTF-8."""
    lines = [json.dumps(row, sort_keys=True, default=_json_default) for row in rows]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return write_bytes(path, json_bytes(obj))


def create_json(path: str | os.PathLike[str], obj: Any) -> bool:
    """Create ``path`` holding ``obj`` as JSON unless it exists; ``True`` if this call created it.

    Exclusive: of several processes creating the same file at once exactly one gets ``True``, and the
    file is never seen half written (see :func:`synonyms._io.atomic_create`).
    """
    data = json_bytes(obj)
    with _naming(path):
        return atomic_create(path, lambda f: f.write(data))


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> Path:
    return write_bytes(path, jsonl_bytes(rows))


def write_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    return _atomic(path, lambda f: np.save(f, array, allow_pickle=False), "wb")


class IncompleteSetError(ValueError):
    """A set of files without its manifest, or whose files do not match it; the message names them."""


def write_set(folder: str | os.PathLike[str], files: Mapping[str, bytes]) -> Path:
    """Write ``{name: content}`` into ``folder`` as one set, manifest last (see the module docstring).

    Orphan temporary files of an earlier killed write are removed first.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clean_orphans(folder)
    if MANIFEST in files:
        raise ValueError(f"{MANIFEST} is reserved for the set's manifest")
    (folder / MANIFEST).unlink(missing_ok=True)
    for name, data in files.items():
        write_bytes(folder / name, data)
    listing = {name: {"sha256": hashlib.sha256(d).hexdigest(), "bytes": len(d)} for name, d in files.items()}
    write_json(folder / MANIFEST, {"format": 1, "files": listing})
    return folder


def read_set(folder: str | os.PathLike[str]) -> dict[str, bytes]:
    """The files of a set written by :func:`write_set`, checked against its manifest."""
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.exists():
        raise IncompleteSetError(f"{manifest} is missing: the set in {folder} is incomplete (killed write?)")
    try:
        listing = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise IncompleteSetError(f"{manifest}: not a manifest ({e})") from e
    out = {}
    for name, entry in listing.items():
        path = folder / name
        data = path.read_bytes() if path.exists() else None
        if data is None or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            state = "missing" if data is None else "changed since the manifest was written"
            raise IncompleteSetError(f"{path}: {state}; the set in {folder} is inconsistent")
        out[name] = data
    return out


@contextlib.contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock(2)`` on ``path`` (created if absent) for the ``with`` block: writers that
    read, change and rewrite shared files take it so that none loses another's change."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_jsonl(path: str | os.PathLike[str]) -> list[Any]:
    rows = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{path}:{lineno}: not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})"
                ) from None
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from e
    return rows


def upsert_jsonl(path: str | os.PathLike[str], row: Mapping[str, Any], key: Sequence[str]) -> Path:
    """Replace the rows of the JSON Lines file ``path`` whose ``key`` fields equal ``row``'s, append ``row``.

    The other rows keep their order and their bytes; ``row`` goes last; the file is created if absent and
    rewritten atomically, under an exclusive lock on ``path`` + ``.lock`` (:func:`locked`), so writers of
    different rows of one file lose none. Fields are compared as JSON (a tuple equals the list it is saved
    as; key order inside a nested dict does not matter); a field a row lacks compares as ``null``.
    """
    path = Path(path)

    def of(r: Mapping[str, Any]) -> str:
        return json.dumps([r.get(k) for k in key], sort_keys=True, default=_json_default)

    mine = of(row)
    with locked(path.with_name(path.name + ".lock")):
        rows = [r for r in (read_jsonl(path) if path.exists() else []) if of(r) != mine]
        return write_jsonl(path, [*rows, row])


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
