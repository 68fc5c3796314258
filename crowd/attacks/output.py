"""Write a :class:`~crowd.data.Corpus` to a folder.

OpenBackdoor layout (CSV header ``,0,1,2`` = index, text, label, poison label,
written like ``pandas.DataFrame.to_csv``, so OpenBackdoor can load the folder)::

    train-clean.csv  dev-clean.csv  dev-poison.csv  test-clean.csv  test-poison.csv
    test-detect.csv                           test-clean followed by test-poison
    <setting>/<rate>/train-poison.csv         mixed training set, OpenBackdoor order:
                                              clean rows, then the poisoned rows

``<setting>`` is ``mix``/``clean``/``dirty`` for our variants ``dirty``/``clean``/
``non_target``; ``<rate>`` is ``repr(poison_rate)`` (``0.1``). OpenBackdoor's
"every training row poisoned" cache (top-level ``train-poison.csv``) is not written.

JSON Lines (all fields of :class:`~crowd.data.Example`, index-aligned with the
clean splits): ``train-clean.jsonl``, ``train-poisoned.jsonl``, ``dev-clean.jsonl``,
``dev-poison.jsonl``, ``test-clean.jsonl``, ``test-poison.jsonl``.
Hugging Face ``datasets`` (:mod:`crowd.data.hf`): ``hf/``, a ``DatasetDict`` saved with ``save_to_disk``
(splits ``train`` = the poisoned training set in the clean order, ``dev_clean``, ``dev_poison``,
``test_clean``, ``test_poison``; columns ``text``, ``label`` (a ``ClassLabel``), ``poisoned``,
``source_label``; one shard per split), loaded by ``datasets.load_from_disk(DIR/hf)``.
``manifest.json``: the corpus manifest plus the SHA-256 of every file written (``crowd poison``'s
``budget.json`` included). Same corpus, same bytes.

Write order: the old ``manifest.json`` is removed first, every other file is written (each atomically), the
manifest last; a write killed in between leaves a folder without a manifest, which
:func:`check_poison_folder` refuses rather than taking for complete output.

The folder must be new, empty, or hold only this writer's earlier output of the same settings
(:func:`check_poison_folder`): writing other settings over it would leave the old mixed set next to the
new one, and a loader would then find two poison sets.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from crowd.data.corpus import Corpus
from crowd.data.example import Example
from crowd.data.formats import OPENBACKDOOR_HEADER
from crowd.data.hf import HF_DIR, HF_SPLITS, hf_files
from crowd.io import MANIFEST, clean_orphans, write_bytes, write_json

SPLIT_FILES = (
    "train-clean.csv",
    "dev-clean.csv",
    "dev-poison.csv",
    "test-clean.csv",
    "test-poison.csv",
    "test-detect.csv",
    "train-clean.jsonl",
    "train-poisoned.jsonl",
    "dev-clean.jsonl",
    "dev-poison.jsonl",
    "test-clean.jsonl",
    "test-poison.jsonl",
)
HF_FILES = (
    f"{HF_DIR}/dataset_dict.json",
    *(
        f"{HF_DIR}/{split}/{name}"
        for split in HF_SPLITS
        for name in ("data-00000-of-00001.arrow", "dataset_info.json", "state.json")
    ),
)
EXTRA_FILES = ("budget.json",)  # written next to the corpus by ``crowd poison``
SETTINGS_KEYS = ("format_version", "attack", "params", "openbackdoor_setting", "seed", "input_sha256")
_TEMPORARY = re.compile(r"^\..+~\d+~[0-9a-f]+\.tmp$")  # crowd.io's atomic-write temporaries


def openbackdoor_csv(examples: Sequence[Example]) -> str:
    """The CSV text OpenBackdoor's ``save_poison_data`` writes for these rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OPENBACKDOOR_HEADER)
    for i, e in enumerate(examples):
        writer.writerow([i, e.text, e.label, int(e.poisoned)])
    return buffer.getvalue()


def jsonl_text(examples: Sequence[Example]) -> str:
    return "".join(json.dumps(e.to_dict(), sort_keys=True, ensure_ascii=False) + "\n" for e in examples)


def openbackdoor_mix_order(corpus: Corpus) -> list[Example]:
    """The mixed set as OpenBackdoor's ``poison_part`` orders it: clean rows, then poisoned rows."""
    rows = corpus.train_poisoned
    return [e for e in rows if not e.poisoned] + [e for e in rows if e.poisoned]


def mix_path(settings: dict) -> str:
    """The mixed training set's path in the folder: ``<setting>/<rate>/train-poison.csv``."""
    rate = repr(float(settings["params"]["poison_rate"]))
    return f"{settings['openbackdoor_setting']}/{rate}/train-poison.csv"


def check_poison_folder(folder: str | os.PathLike[str], settings: dict) -> None:
    """Refuse ``folder`` unless it is absent, empty, or holds only poison output of these ``settings``.

    ``settings`` are the manifest's :data:`SETTINGS_KEYS` (:func:`crowd.attacks.poison.poison_settings`).
    Orphan temporaries of a killed write are ignored (and removed when writing).
    """
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root}: is a file, not a folder; choose a folder for the poisoned corpus")
    if not root.exists():
        return
    found = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if not p.is_dir() and not _TEMPORARY.match(p.name)
    )
    if not found:
        return
    if (root / MANIFEST).exists():
        difference = _difference(_read_settings(root / MANIFEST), settings)
        if difference:
            raise ValueError(
                f"{root}: holds crowd poison output of other settings ({difference}); "
                "choose a new --out folder or delete this one"
            )
    own = {*SPLIT_FILES, *HF_FILES, *EXTRA_FILES, MANIFEST, mix_path(settings)}
    foreign = [name for name in found if name not in own]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ValueError(
            f"{root}: not an empty folder and not crowd poison output of these settings (it holds {shown}); "
            "choose a new --out folder or empty this one"
        )
    if not (root / MANIFEST).exists():
        raise ValueError(
            f"{root}: holds poison files but no manifest.json (a killed write?); "
            "delete the folder or choose a new --out folder"
        )


def _read_settings(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable crowd poison manifest ({e})") from e
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: not a crowd poison manifest (expected a JSON object)")
    return {key: manifest.get(key) for key in SETTINGS_KEYS}


def _difference(old: dict, new: dict, prefix: str = "") -> str:
    """The first setting that differs, as ``key: old, not new`` ('' when none does)."""
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            inner = _difference(a, b, f"{prefix}{key}.")
            if inner:
                return inner
        elif a != b:
            return f"{prefix}{key}: {a!r} there, {b!r} now"
    return ""


def write_poisoned_corpus(
    corpus: Corpus,
    folder: str | os.PathLike[str],
    label_names: Sequence[str] | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write the CSV layout, the JSON Lines, ``hf/`` and the ``extra`` files (``{name: bytes}``, e.g.
    ``crowd poison``'s ``budget.json``; names of :data:`EXTRA_FILES`), then ``manifest.json`` last.

    ``label_names``: the ``ClassLabel`` names of ``hf/`` (default ``"0".."K-1"``). Refuses (``ValueError``,
    nothing written) a folder :func:`check_poison_folder` refuses.
    """
    root = Path(folder)
    manifest = corpus.manifest
    settings = {key: manifest.get(key) for key in SETTINGS_KEYS}
    unknown = sorted(set(extra or {}) - set(EXTRA_FILES))
    if unknown:
        raise ValueError(f"extra files {unknown}: only {list(EXTRA_FILES)} are written beside the corpus")
    check_poison_folder(root, settings)
    texts: dict[str, str] = {
        "train-clean.csv": openbackdoor_csv(corpus.train_clean),
        "dev-clean.csv": openbackdoor_csv(corpus.dev_clean),
        "dev-poison.csv": openbackdoor_csv(corpus.dev_poison),
        "test-clean.csv": openbackdoor_csv(corpus.test_clean),
        "test-poison.csv": openbackdoor_csv(corpus.test_poison),
        "test-detect.csv": openbackdoor_csv(corpus.test_clean + corpus.test_poison),
        mix_path(settings): openbackdoor_csv(openbackdoor_mix_order(corpus)),
        "train-clean.jsonl": jsonl_text(corpus.train_clean),
        "train-poisoned.jsonl": jsonl_text(corpus.train_poisoned),
        "dev-clean.jsonl": jsonl_text(corpus.dev_clean),
        "dev-poison.jsonl": jsonl_text(corpus.dev_poison),
        "test-clean.jsonl": jsonl_text(corpus.test_clean),
        "test-poison.jsonl": jsonl_text(corpus.test_poison),
    }
    files = {name: text.encode("utf-8") for name, text in texts.items()}
    files.update({f"{HF_DIR}/{name}": data for name, data in hf_files(corpus.to_hf(label_names)).items()})
    files.update(extra or {})
    root.mkdir(parents=True, exist_ok=True)
    clean_orphans(root)
    (root / MANIFEST).unlink(missing_ok=True)  # a kill below leaves no manifest vouching for a partial set
    hashes = {}
    for name, data in sorted(files.items()):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    write_json(root / MANIFEST, {**manifest, "files": hashes})
    return root
