"""Where data and caches live.

Caches (synonym graphs, CROWD's distributions, encoder features, victims, ONION scores, converted models, and
matplotlib's font cache) go under ``$CROWD_CACHE`` when it is set, else ``~/.cache/crowd`` (matplotlib's
then stays in its own ``~/.cache/matplotlib``); a kind's own variable (``CROWD_FEATURE_CACHE``, ...) moves
that kind alone.

Datasets are never shipped with the project. They are read from a data root given
explicitly (a ``--data`` flag) or through the ``CROWD_DATA`` environment variable;
its layout is that of the shared data folder (``sst2/``, ``offenseval/``, ``hsol/``,
``openbackdoor_poison/``, ``counter_fitting/`` ...). Users with a network may use
hub names instead where a loader supports them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

DATA_ENV = "CROWD_DATA"
CACHE_ENV = "CROWD_CACHE"


class DataRootError(FileNotFoundError):
    """No data root was given, or the one given does not exist."""


def data_root(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The data root from ``explicit`` or ``$CROWD_DATA``; ``None`` when neither is set.

    Raises :class:`DataRootError` when a root is named but is not a directory.
    """
    value = explicit if explicit is not None else os.environ.get(DATA_ENV)
    if value is None or str(value) == "":
        return None
    root = Path(value).expanduser()
    if not root.is_dir():
        source = "--data" if explicit is not None else f"${DATA_ENV}"
        raise DataRootError(f"{source} points to {root}, which is not a directory")
    return root


def require_data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Like :func:`data_root` but raises a clear error when no root is configured."""
    root = data_root(explicit)
    if root is None:
        raise DataRootError(
            f"no data folder given: pass --data PATH or set {DATA_ENV} to the folder holding "
            "sst2/, offenseval/, hsol/ ... (e.g. the shared data folder)"
        )
    return root


def cache_dir() -> Path:
    """Cache folder for derived artefacts (graphs, converted models): ``$CROWD_CACHE`` or ``~/.cache/crowd``."""
    value = os.environ.get(CACHE_ENV)
    root = Path(value).expanduser() if value else Path.home() / ".cache" / "crowd"
    root.mkdir(parents=True, exist_ok=True)
    return root


def matplotlib_dir() -> Path | None:
    """matplotlib's folder (font cache, config) when ``$CROWD_CACHE`` is set and ``MPLCONFIGDIR`` is not:
    ``$CROWD_CACHE/matplotlib``; else ``None`` (matplotlib's own choice, ``~/.cache/matplotlib``)."""
    if not os.environ.get(CACHE_ENV) or os.environ.get("MPLCONFIGDIR"):
        return None
    return cache_dir() / "matplotlib"


def cache_subdir(env: str, name: str) -> Path:
    """A cache kind's folder: ``$env`` when set, else ``cache_dir() / name`` (not created here)."""
    value = os.environ.get(env)
    return Path(value).expanduser() if value else cache_dir() / name


def describe_os_error(error: OSError) -> str:
    """``error`` as one line naming the path to blame, without ``[Errno N]``.

    A symbolic link loop names the link that loops (``o/loop/sub``: ``o/loop``); a refused permission names
    the existing path that refuses (the folder that may not be searched, or the file or folder itself), not
    the path asked for, which may not exist. Other errors read ``PATH: reason``.
    """
    path, reason = error.filename, error.strerror or str(error)
    if path is None:
        return reason
    path = os.fsdecode(path)
    if error.errno == errno.ELOOP:
        loop = _first_prefix(path, os.stat, errno.ELOOP) or path
        return f"{path}: {'' if loop == path else loop + ' '}is a symbolic link loop (its links lead back to themselves)"
    if error.errno in (errno.EACCES, errno.EPERM):
        hidden = _first_prefix(path, os.lstat, error.errno)
        if hidden is not None:
            return f"{path}: permission denied ({Path(hidden).parent} exists but this user may not look inside it)"
        there = path if os.path.lexists(path) else str(Path(path).parent)
        return f"{path}: permission denied ({there} exists but this user may not {_access(there)} it)"
    if error.filename2 is not None:
        return f"{path} -> {os.fsdecode(error.filename2)}: {reason}"
    return f"{path}: {reason}"


def _first_prefix(path: str, probe, code: int) -> str | None:
    """The first of ``path``'s prefixes (``a``, ``a/b``, ... ``path``) that ``probe`` fails on with ``code``."""
    target = Path(path)
    for prefix in (*reversed(target.parents), target):
        try:
            probe(prefix)
        except OSError as e:
            return str(prefix) if e.errno == code else None
    return None


def _access(path: str) -> str:
    """What this user may not do with the existing ``path``: the first of read, write, enter it refused."""
    for mode, verb in ((os.R_OK, "read"), (os.W_OK, "change"), (os.X_OK, "enter")):
        if not os.access(path, mode) and (mode != os.X_OK or os.path.isdir(path)):
            return verb
    return "use"
