"""The ``--out`` folder of every crowd command that writes one, checked before the command works or writes.

Each such command (``crowd certify``, ``defend``, ``bench``, ``poison``, ``synonyms build`` and
``import-safer``) calls :func:`check_out_folder` with its name, a key of :data:`OUTPUTS`. The folder may be
absent, empty, or hold only that command's own earlier output, which it then resumes or rewrites. Anything else
is refused in one line naming the folder and the file, so a command never overwrites or mixes with the user's
files or another command's output:

- a file, or a folder in which no file can be created (a real try, so read-only mounts count);
- another command's output: ``out folder R: holds a crowd certify run (per_text.jsonl); choose a new --out
  folder``;
- a file the command does not write, or one it writes that crowd did not write there (the user's ``summary.md``
  or ``graph.json``) or that changed since crowd wrote it.

What each command writes, and what only it writes (how its output is recognised)::

    certify   per_text.jsonl summary.json summary.md config.json: one set, listed in manifest.json with
              SHA-256 (crowd.io.write_set); curve.png; votes/ (crowd.train.votes, with votes.lock); model/ (the kept classifier,
              crowd.train.model_store).  Recognised by per_text.jsonl in manifest.json, votes/votes.json or
              model/models.json.
    defend    config.json predictions.jsonl summary.json summary.md, listed in manifest.json (:func:`sealed`).
              Recognised by predictions.jsonl in manifest.json, or the four files alone (written before
              defend kept a manifest).
    bench     rows.jsonl (and its .lock), _resources/, runs/<cell>/ (certify runs), <table>.md and
              <table>_*.png for the tables of its rows.  Recognised by rows.jsonl or _resources/.
    poison    the corpus of crowd.attacks.output (CSV, JSON Lines, hf/), budget.json, then manifest.json
              last.  Recognised by a manifest.json naming an openbackdoor_setting; its own files and
              settings are checked by crowd.attacks.output.check_poison_folder.
    synonyms  graph.npz graph.json (synonyms.graph.SynonymGraph.save).  Recognised by a graph.json with a
              format_version and a content_sha256 (which graph.npz must match).

Temporary files of crowd's atomic writes (``.NAME~PID~HEX.tmp``) are allowed anywhere: a killed run leaves them,
and the next run removes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowd.io import MANIFEST, describe_os_error, write_json
from crowd.report import RUN_FILES
from synonyms.graph import SynonymGraph

PLOTS = ("curve.png",)
VOTES = "votes"
MODEL = "model"  # the kept classifier (crowd.train.model_store)
DEFEND_FILES = ("config.json", "predictions.jsonl", "summary.json", "summary.md")
ROWS = "rows.jsonl"  # crowd.bench.runner.ROWS_FILE
BENCH_DIRS = ("_resources", "runs")
GRAPH_FILES = ("graph.json", "graph.npz")
_MODEL_FILE = re.compile(r"^model_\d{6}\.safetensors$")
_VOTE_FILE = re.compile(r"^copy_\d{6}(\.logits)?\.npy$")
_TEMPORARY = re.compile(r"^\..+(~\d+~[0-9a-f]+|\.[A-Za-z0-9_]{8})\.tmp$")  # crowd.io's temporaries


def check_out_folder(out: str | os.PathLike[str], command: str = "certify", table: str = "") -> Path:
    """``out`` as a path; ``ValueError`` (one line naming the folder and the file) unless ``command`` may
    write there (see the module docstring). ``table``: the table ``crowd bench`` renders, whose
    ``<table>.md`` and ``<table>_*.png`` are bench's."""
    path = Path(out)
    where = f"out folder {path}"
    try:
        return _check(path, where, command, table)
    except OSError as e:  # a symbolic link loop, a folder this user may not enter or read
        raise ValueError(f"{where}: {describe_os_error(e)}; choose another --out") from e


def _check(path: Path, where: str, command: str, table: str) -> Path:
    _stat_each(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{where}: is a file, not a folder; give --out a folder")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"{where}: {existing} is a file, not a folder; give --out a folder")
    problem = _unwritable(existing)
    if problem:
        raise ValueError(f"{where}: {existing} cannot be written ({problem}); choose another --out")
    if path.is_dir():
        for other, output in OUTPUTS.items():
            mark = output.mark(path) if other != command else ""
            if mark:
                raise ValueError(f"{where}: holds {output.what} ({mark}); choose a new --out folder")
        foreign = OUTPUTS[command].foreign(path, table)
        if foreign:
            raise ValueError(
                f"{where}: holds {foreign}, which crowd did not write; "
                "choose a new --out folder or move the file away"
            )
    return path


@contextlib.contextmanager
def sealed(folder: Path, names: Sequence[str]) -> Iterator[Path]:
    """Write the files ``names`` into ``folder`` in the ``with`` block, then ``manifest.json`` listing their
    SHA-256 (:func:`crowd.io.write_set`'s format). The old manifest goes first, so a write killed in between
    leaves files no manifest vouches for, which the next check refuses rather than trusting."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    yield folder
    listing = {}
    for name in names:
        data = (folder / name).read_bytes()
        listing[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    write_json(folder / MANIFEST, {"format": 1, "files": listing})


def _stat_each(path: Path) -> None:
    """Raise the ``OSError`` of the first of ``path``'s prefixes that cannot be looked at (a symbolic link
    loop, a folder that may not be entered) or that is a broken symbolic link; stop at the first absent one."""
    for prefix in (*reversed(path.parents), path):
        try:
            os.stat(prefix)
        except NotADirectoryError:  # a file on the way: said below, in the caller's words
            return
        except FileNotFoundError as e:
            if os.path.islink(prefix):
                raise FileNotFoundError(
                    e.errno, f"is a broken symbolic link (to {os.readlink(prefix)})", str(prefix)
                ) from e
            return


def _unwritable(folder: Path) -> str:
    """Why no file can be created in ``folder`` ('' when one can): a real try, so read-only mounts count."""
    probe = folder / f".crowd-write-check~{os.getpid()}~{secrets.token_hex(4)}.tmp"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        return e.strerror or str(e)
    probe.unlink(missing_ok=True)
    return ""


def _json(path: Path) -> Any:
    """The JSON value in ``path``; ``None`` when it is absent, unreadable or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


def _manifest_files(folder: Path) -> dict[str, str] | None:
    """``{name: sha256}`` of the run manifest in ``folder`` (empty without one); ``None`` if not crowd's."""
    manifest = _json(folder / MANIFEST) if (folder / MANIFEST).exists() else {"files": {}}
    try:
        return {name: entry["sha256"] for name, entry in manifest["files"].items()}
    except (KeyError, TypeError, AttributeError):
        return None


def _unlisted(entry: Path, listed: dict[str, str]) -> str:
    """Why the set file ``entry`` is not crowd's ('' when the manifest lists it with its SHA-256)."""
    if entry.name not in listed:
        return f"{entry.name} (not listed in a crowd {MANIFEST})"
    if hashlib.sha256(entry.read_bytes()).hexdigest() != listed[entry.name]:
        return f"{entry.name} (changed since crowd wrote it)"
    return ""


def _certify_mark(folder: Path) -> str:
    if "per_text.jsonl" in (_manifest_files(folder) or {}):
        return "per_text.jsonl"
    for mark in (f"{VOTES}/votes.json", f"{MODEL}/models.json"):
        if (folder / mark).is_file():
            return mark
    return ""


def _foreign_certify(folder: Path, table: str = "") -> str:
    """The first thing in ``folder`` a crowd certify run did not write, as a description ('' when none)."""
    return _foreign_set(folder, RUN_FILES, {VOTES: _foreign_votes, MODEL: _foreign_model}, PLOTS)


def _foreign_set(
    folder: Path,
    files: Sequence[str],
    inner: dict[str, Callable[[Path], str]],
    plots: Sequence[str] = (),
    trusted: bool = False,
) -> str:
    """The first thing in ``folder`` that is not one of ``files`` listed with its SHA-256 in the manifest
    (``trusted``: listed or not), a sub-folder that ``inner[name]`` accepts, or a plot beside a manifest."""
    listed = _manifest_files(folder)
    if listed is None:
        return f"{MANIFEST} (not a crowd run manifest)"
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if _TEMPORARY.match(name) or name == MANIFEST:
            continue
        if name in inner and entry.is_dir():
            inside = inner[name](entry)
        elif name in files and entry.is_file():
            inside = "" if trusted else _unlisted(entry, listed)
        elif name in plots and entry.is_file() and listed:
            inside = ""
        else:
            inside = name
        if inside:
            return inside
    return ""


def _foreign_votes(folder: Path) -> str:
    """The first entry of a vote folder that :class:`crowd.train.VoteStore` does not write ('' if none)."""
    for entry in sorted(folder.iterdir()):
        if _TEMPORARY.match(entry.name) or (entry.name in ("votes.json", "votes.lock") and entry.is_file()):
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


def _defend_mark(folder: Path) -> str:
    listed = _manifest_files(folder)
    return "predictions.jsonl" if "predictions.jsonl" in (listed or {}) or _old_defend(folder) else ""


def _old_defend(folder: Path) -> bool:
    """Whether ``folder`` holds a defend run written before defend kept a manifest: its four files alone."""
    if (folder / MANIFEST).exists() or not all((folder / name).is_file() for name in DEFEND_FILES):
        return False
    summary = _json(folder / "summary.json")
    return isinstance(summary, dict) and {"defense", "defended"} <= set(summary)


def _foreign_defend(folder: Path, table: str = "") -> str:
    """The first thing in ``folder`` a crowd defend run did not write ('' when none)."""
    return _foreign_set(folder, DEFEND_FILES, {}, trusted=_old_defend(folder))


def _bench_mark(folder: Path) -> str:
    if (folder / ROWS).is_file():
        return ROWS
    return BENCH_DIRS[0] if (folder / BENCH_DIRS[0]).is_dir() else ""


def _foreign_bench(folder: Path, table: str = "") -> str:
    """The first thing in ``folder`` crowd bench did not write ('' when none); its certify runs are checked too."""
    try:
        rows = bench_rows(folder / ROWS) if (folder / ROWS).is_file() else None
    except NotBenchRows as e:  # not JSON Lines, or rows without a cell_id: not bench's rows.jsonl
        return f"{ROWS} ({'' if e.line is None else f'line {e.line}: '}{e.reason})"
    # Tables and plots only beside bench's rows: without them a <table>.md is the user's.
    tables = set() if rows is None else {table} | {row.get("table") for row in rows if isinstance(row, dict)}
    pages, plots = {f"{t}.md" for t in tables if t}, tuple(f"{t}_" for t in tables if t)
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if _TEMPORARY.match(name) or (name in (ROWS, f"{ROWS}.lock") and entry.is_file()):
            continue
        if name in BENCH_DIRS and entry.is_dir():
            inside = _foreign_runs(entry) if name == "runs" else ""
        elif entry.is_file() and (name in pages or name.endswith(".png") and name.startswith(plots)):
            inside = ""
        else:
            inside = name
        if inside:
            return inside
    return ""


class NotBenchRows(ValueError):
    """A ``rows.jsonl`` that crowd bench did not write; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.line, self.reason = line, reason
        super().__init__(f"{path}{'' if line is None else f':{line}'}: {reason}")


def bench_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of crowd bench's ``rows.jsonl`` at ``path``; :class:`NotBenchRows` naming the file and the
    line of anything else (not UTF-8, not JSON, not an object with a string ``cell_id``)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise NotBenchRows(path, None, f"not UTF-8 text (byte {e.start}), not crowd bench rows") from None
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise NotBenchRows(path, number, f"not valid JSON ({e.msg}), not a crowd bench row") from None
        if not isinstance(row, dict) or not isinstance(row.get("cell_id"), str):
            kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
                type(row), "number"
            )
            found = "an object without a cell_id" if isinstance(row, dict) else f"a JSON {kind}"
            raise NotBenchRows(path, number, f"{found}, not a crowd bench row")
        rows.append(row)
    return rows


def _foreign_runs(folder: Path) -> str:
    """The first thing under bench's ``runs/`` that is not a crowd certify run folder (one per cell)."""
    for entry in sorted(folder.iterdir()):
        inside = _foreign_certify(entry) if entry.is_dir() else entry.name
        if inside:
            return f"runs/{entry.name}" + (f"/{inside}" if entry.is_dir() else "")
    return ""


def _poison_mark(folder: Path) -> str:
    manifest = _json(folder / MANIFEST)
    return MANIFEST if isinstance(manifest, dict) and "openbackdoor_setting" in manifest else ""


def _foreign_poison(folder: Path, table: str = "") -> str:
    """A ``manifest.json`` not crowd poison's ('' otherwise): the rest is checked with the corpus's settings
    (:func:`crowd.attacks.output.check_poison_folder`)."""
    if (folder / MANIFEST).exists() and not _poison_mark(folder):
        return f"{MANIFEST} (not a crowd poison manifest)"
    return ""


def _graph_mark(folder: Path) -> str:
    meta = _json(folder / GRAPH_FILES[0])
    return (
        GRAPH_FILES[0] if isinstance(meta, dict) and {"format_version", "content_sha256"} <= set(meta) else ""
    )


def _foreign_graph(folder: Path, table: str = "") -> str:
    """The first thing in ``folder`` that is not a graph crowd wrote ('' when none)."""
    own = bool(_graph_mark(folder))
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if _TEMPORARY.match(name):
            continue
        if not (own and name in GRAPH_FILES and entry.is_file()):
            return name
        if name == GRAPH_FILES[1] and _graph_changed(folder):
            return f"{name} (changed since crowd wrote it)"
    return ""


def _graph_changed(folder: Path) -> bool:
    """Whether the graph's arrays no longer match the content hash crowd recorded in its ``graph.json``."""
    try:
        SynonymGraph.load(folder)
    except (OSError, ValueError):
        return True
    return False


@dataclass(frozen=True)
class Output:
    """How a command's output folder is recognised (``mark``: what only it writes, '' when absent) and
    checked (``foreign``: the first entry it did not write, '' when none; ``table`` is bench's)."""

    what: str
    mark: Callable[[Path], str]
    foreign: Callable[[Path, str], str]


OUTPUTS: dict[str, Output] = {
    "certify": Output("a crowd certify run", _certify_mark, _foreign_certify),
    "defend": Output("a crowd defend run", _defend_mark, _foreign_defend),
    "bench": Output("crowd bench results", _bench_mark, _foreign_bench),
    "poison": Output("a crowd poison corpus", _poison_mark, _foreign_poison),
    "synonyms": Output("a crowd synonym graph", _graph_mark, _foreign_graph),
}
