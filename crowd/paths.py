"""Where data and caches live.

Datasets are never shipped with the project. They are read from a data root given
explicitly (a ``--data`` flag) or through the ``CROWD_DATA`` environment variable;
its layout is that of the shared data folder (``sst2/``, ``offenseval/``, ``hsol/``,
``openbackdoor_poison/``, ``counter_fitting/`` ...). Users with a network may use
hub names instead where a loader supports them.
"""

from __future__ import annotations

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


def cache_subdir(env: str, name: str) -> Path:
    """A cache kind's folder: ``$env`` when set, else ``cache_dir() / name`` (not created here)."""
    value = os.environ.get(env)
    return Path(value).expanduser() if value else cache_dir() / name
