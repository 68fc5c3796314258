"""Atomic file writes for the ``synonyms`` package (which must not import ``crowd``); ``crowd.io`` uses them.

A file is written to a temporary sibling ``.<name>~<pid>~<random>.tmp`` and renamed into place, so a reader
sees the old content or the new, never half of it. The temporary file is created with ``os.open(...,
0o666)``, so the result has the permissions the process's umask gives (``tempfile.mkstemp`` would make it
0600). :func:`clean_orphans` removes temporary files that a killed writer left behind.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_TMP = re.compile(r"^\..+~(\d+)~[0-9a-f]+\.tmp$")
_LEGACY_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # tempfile.mkstemp names of older versions
LEGACY_MAX_AGE_S = 3600.0


def _temporary(path: Path) -> tuple[int, Path]:
    """Create a new temporary sibling of ``path`` (mode 0o666 minus the umask); ``(fd, tmp path)``."""
    while True:
        tmp = path.with_name(f".{path.name}~{os.getpid()}~{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


def _write_temporary(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write`` on a temporary binary file next to ``path``, then rename it into place."""
    path = Path(path)
    tmp = _write_temporary(path, write)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_create(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> bool:
    """Create ``path`` with complete content only if it does not exist; ``False`` if it already did.

    Race-free: of several processes creating the same path at once exactly one succeeds, and nobody
    ever reads a partial file (the content is written first, then hard-linked into place). Where the
    filesystem has no hard links an exclusive ``open(path, "x")`` is used: still exclusive, but a reader
    may then briefly see the file incomplete.
    """
    path = Path(path)
    if path.exists():
        return False
    tmp = _write_temporary(path, write)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some network or FUSE filesystems)
        try:
            with open(path, "xb") as f:
                f.write(tmp.read_bytes())
            return True
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)


def clean_orphans(folder: str | os.PathLike[str], min_age_s: float = 0.0) -> list[Path]:
    """Remove temporary files of killed writers directly in ``folder``; returns what was removed.

    A temporary file is an orphan when the process named in it no longer runs on this machine (and its
    last change is at least ``min_age_s`` old), or, for the unnamed temporaries of older versions, when it
    is older than an hour. With ``min_age_s = 0`` only call it on a folder whose writers all run on this
    machine; a folder shared by several nodes (a vote folder under multi-node ``torchrun``) needs an age
    no write takes (a pid dead here may be a live writer on another node).
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TMP.match(p.name)
        if m and (_alive(int(m.group(1))) or (min_age_s > 0 and _age(p) < min_age_s)):
            continue
        legacy_stale = _LEGACY_TMP.match(p.name) and time.time() - p.stat().st_mtime > LEGACY_MAX_AGE_S
        if (m or legacy_stale) and p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _age(path: Path) -> float:
    """Seconds since ``path`` last changed (0 if it is gone)."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
