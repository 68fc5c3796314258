"""The kept models of a certified classifier: one safetensors file per model, sealed by a manifest.

Layout::

    models.json                    the fingerprint of the models (created exclusively, once)
    models/model_000123.safetensors   model 123's named arrays (:data:`crowd.train.data.ModelState`)
    graph/graph.npz, graph.json    the synonym graph of CROWD and SAFER (their test noise), when used
    manifest.json                  written last by :meth:`ModelStore.seal`: the format version, what the
                                   classifier is (method, learner, classes, ...), how many models it uses
                                   (``n_models``: models 0 .. n-1; a run that trained more, e.g. before N
                                   was lowered, keeps the others listed but unused), and the SHA-256 and
                                   size of every other file

Models are written atomically as they finish, so an interrupted fit resumes with the missing ones. Nothing
is pickled: safetensors holds plain arrays and a JSON header. :func:`read_sealed` checks a sealed folder
before any array is used: the manifest's format, then every file against its SHA-256, and that no file is
missing or unlisted; a problem is one :class:`ModelFolderError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from crowd.io import clean_orphans, create_json, write_bytes, write_json
from crowd.train.data import ModelState

FORMAT = 1
"""The folder format this version writes and the newest it reads."""
MANIFEST = "manifest.json"
META = "models.json"
MODELS = "models"


class ModelFolderError(ValueError):
    """A model folder that is not one this version of crowd can trust; the message names the file."""


def model_file(index: int) -> str:
    return f"{MODELS}/model_{index:06d}.safetensors"


class ModelStore:
    """One atomic safetensors file per fitted model in ``folder/models``, for ``n_models`` models.

    ``models.json`` is created exclusively: a folder holding models of another fingerprint (another
    training set, method, learner or seed) is refused, so models of two configurations never mix. The number
    of models is not part of it: a smoothing method's N can grow (the new models are trained) or shrink.
    """

    def __init__(self, folder: str | os.PathLike[str], n_models: int, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.n_models = n_models
        self.fingerprint = fingerprint
        meta = {"fingerprint": fingerprint}
        (self.folder / MODELS).mkdir(parents=True, exist_ok=True)
        for sub in (self.folder, self.folder / MODELS):
            clean_orphans(sub)
        if not create_json(self.folder / META, meta):
            found = _read_json(self.folder / META)
            if found != meta:
                raise ModelFolderError(
                    f"{self.folder}: holds models of another configuration ({found} != {meta}); "
                    "use a new folder, or delete this one to start over"
                )

    def path(self, index: int) -> Path:
        return self.folder / model_file(index)

    def missing(self) -> list[int]:
        """Model indices without a stored file."""
        present = set(os.listdir(self.folder / MODELS))
        return [j for j in range(self.n_models) if Path(model_file(j)).name not in present]

    def write(self, index: int, state: ModelState) -> None:
        write_bytes(self.path(index), save_arrays({k: np.ascontiguousarray(v) for k, v in state.items()}))

    def load(self, index: int) -> ModelState:
        return _arrays(self.path(index), self.path(index).read_bytes())

    def seal(self, manifest: Mapping[str, Any]) -> Path:
        """Write ``manifest.json``: ``manifest`` plus the format and the SHA-256 of every other file."""
        missing = self.missing()
        if missing:
            raise ModelFolderError(
                f"{self.folder}: {len(missing)} models are not stored yet, e.g. {missing[:5]}"
            )
        stored = sorted(
            p.relative_to(self.folder).as_posix()
            for p in self.folder.rglob("*")
            if p.is_file() and p.name != MANIFEST and not p.name.endswith(".tmp")
        )
        files = {n: _digest((self.folder / n).read_bytes()) for n in stored}
        sealed = {"format": FORMAT, **manifest, "n_models": self.n_models, "files": files}
        return write_json(self.folder / MANIFEST, sealed)


def read_sealed(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], list[ModelState]]:
    """``(manifest, states)`` of a sealed model folder, every file checked first (see the module docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(f"{folder}: not a folder (give the folder a fitted classifier was saved to)")
    manifest = _read_json(folder / MANIFEST)
    version = manifest.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFolderError(f"{folder / MANIFEST}: no format version; not a crowd model folder")
    if version > FORMAT:
        raise ModelFolderError(
            f"{folder / MANIFEST}: format {version} is newer than this crowd reads ({FORMAT}); upgrade crowd"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or META not in files:
        raise ModelFolderError(f"{folder / MANIFEST}: no list of files; not a crowd model folder")
    listed = set(files) | {MANIFEST}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in listed:
            raise ModelFolderError(f"{path}: not listed in {folder / MANIFEST} (a foreign or added file)")
    blobs = {}
    for name, want in files.items():
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ModelFolderError(
                f"{path}: listed in the manifest but unreadable ({e.strerror or e})"
            ) from e
        if _digest(data) != want:
            raise ModelFolderError(
                f"{path}: does not match its SHA-256 in {MANIFEST} (truncated or edited since it was saved)"
            )
        blobs[name] = data
    n_models = manifest.get("n_models")
    states = []
    for j in range(n_models if isinstance(n_models, int) else 0):
        name = model_file(j)
        if name not in blobs:
            raise ModelFolderError(f"{folder / name}: model {j} of {n_models} is not in {MANIFEST}")
        states.append(_arrays(folder / name, blobs[name]))
    return manifest, states


def _arrays(path: Path, data: bytes) -> ModelState:
    try:
        return dict(load_arrays(data))
    except (SafetensorError, ValueError) as e:
        raise ModelFolderError(f"{path}: not a readable safetensors file ({e})") from e


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ModelFolderError(f"{path}: missing; not a saved crowd classifier") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFolderError(f"{path}: not readable JSON ({e})") from e
    if not isinstance(found, dict):
        raise ModelFolderError(f"{path}: expected a JSON object")
    return found
