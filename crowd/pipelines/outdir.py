"""The output folder of ``crowd certify``, checked before the corpus is loaded or anything is written.

A run writes (see :func:`crowd.pipelines.report.write_report` and :mod:`crowd.train.votes`)::

    per_text.jsonl  summary.json  summary.md  config.json     one set, listed in manifest.json
    manifest.json   curve.png
    votes/votes.json  votes/votes/copy_NNNNNN.npy  votes/votes/copy_NNNNNN.logits.npy
    model/models.json  model/models/model_NNNNNN.safetensors  model/manifest.json   the kept classifier

The folder may be absent, empty, or hold only these (a previous run of crowd, which then resumes). Anything
else (a file, a folder that cannot be written, a file crowd did not write, or a report file changed since
crowd wrote it, e.g. the user's own ``summary.md``) is refused in one line, so a run never overwrites or
mixes with the user's files. Temporary files of crowd's atomic writes (``.NAME~PID~HEX.tmp``) are allowed:
a killed run leaves them, and the next run removes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from pathlib import Path

from crowd.io import MANIFEST
from crowd.report import RUN_FILES

PLOTS = ("curve.png",)
VOTES = "votes"
MODEL = "model"  # the kept classifier (crowd.train.model_store)
_MODEL_FILE = re.compile(r"^model_\d{6}\.safetensors$")
_VOTE_FILE = re.compile(r"^copy_\d{6}(\.logits)?\.npy$")
_TEMPORARY = re.compile(r"^\..+(~\d+~[0-9a-f]+|\.[A-Za-z0-9_]{8})\.tmp$")  # crowd.io's temporaries


def check_out_folder(out: str | os.PathLike[str]) -> Path:
    """``out`` as a path; ``ValueError`` (one line naming the folder) unless a run may write there."""
    path = Path(out)
    where = f"out folder {path}"
    if path.exists() and not path.is_dir():
        raise ValueError(f"{where}: is a file, not a folder; give --out a folder")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"{where}: {existing} is a file, not a folder; give --out a folder")
    problem = _unwritable(existing)
    if problem:
        raise ValueError(f"{where}: {existing} cannot be written ({problem}); choose another --out")
    if path.is_dir():
        foreign = _foreign(path)
        if foreign:
            raise ValueError(
                f"{where}: holds {foreign}, which crowd did not write; "
                "choose a new --out folder or move the file away"
            )
    return path


def _unwritable(folder: Path) -> str:
    """Why no file can be created in ``folder`` ('' when one can): a real try, so read-only mounts count."""
    probe = folder / f".crowd-write-check~{os.getpid()}~{secrets.token_hex(4)}.tmp"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        return e.strerror or str(e)
    probe.unlink(missing_ok=True)
    return ""


def _foreign(folder: Path) -> str:
    """The first thing in ``folder`` a crowd run did not write, as a description ('' when there is none)."""
    listed = _manifest_files(folder)
    if listed is None:
        return f"{MANIFEST} (not a crowd run manifest)"
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if _TEMPORARY.match(name) or name == MANIFEST:
            continue
        if name == VOTES and entry.is_dir():
            inside = _foreign_votes(entry)
            if inside:
                return inside
        elif name == MODEL and entry.is_dir():
            inside = _foreign_model(entry)
            if inside:
                return inside
        elif name in RUN_FILES and entry.is_file():
            if name not in listed:
                return f"{name} (not listed in a crowd {MANIFEST})"
            if hashlib.sha256(entry.read_bytes()).hexdigest() != listed[name]:
                return f"{name} (changed since crowd wrote it)"
        elif not (name in PLOTS and entry.is_file() and listed):
            return name
    return ""


def _manifest_files(folder: Path) -> dict[str, str] | None:
    """``{name: sha256}`` of the run manifest in ``folder`` (empty without one); ``None`` if not crowd's."""
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        listing = json.loads(path.read_text(encoding="utf-8"))["files"]
        return {name: entry["sha256"] for name, entry in listing.items()}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None


def _foreign_votes(folder: Path) -> str:
    """The first entry of a vote folder that :class:`crowd.train.VoteStore` does not write ('' if none)."""
    for entry in sorted(folder.iterdir()):
        if _TEMPORARY.match(entry.name) or (entry.name == "votes.json" and entry.is_file()):
            continue
        if entry.name != VOTES or not entry.is_dir():
            return f"{VOTES}/{entry.name}"
        for vote in entry.iterdir():
            if not (_VOTE_FILE.match(vote.name) or _TEMPORARY.match(vote.name)) or not vote.is_file():
                return f"{VOTES}/{VOTES}/{vote.name}"
    return ""


def _foreign_model(folder: Path) -> str:
    """The first entry of a model folder that :class:`crowd.train.model_store.ModelStore` does not write."""
    for entry in sorted(folder.iterdir()):
        if _TEMPORARY.match(entry.name) or (
            entry.name in ("models.json", "manifest.json") and entry.is_file()
        ):
            continue
        if entry.name not in ("models", "graph") or not entry.is_dir():
            return f"{MODEL}/{entry.name}"
        allowed = _MODEL_FILE.match if entry.name == "models" else ("graph.npz", "graph.json").__contains__
        for inner in entry.iterdir():
            if not (allowed(inner.name) or _TEMPORARY.match(inner.name)) or not inner.is_file():
                return f"{MODEL}/{entry.name}/{inner.name}"
    return ""
