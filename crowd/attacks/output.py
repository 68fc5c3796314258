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
``manifest.json``: the corpus manifest plus the SHA-256 of every file written.
Same corpus, same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from crowd.data.corpus import Corpus
from crowd.data.example import Example
from crowd.io import write_json, write_text


def openbackdoor_csv(examples: Sequence[Example]) -> str:
    """The CSV text OpenBackdoor's ``save_poison_data`` writes for these rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["", "0", "1", "2"])
    for i, e in enumerate(examples):
        writer.writerow([i, e.text, e.label, int(e.poisoned)])
    return buffer.getvalue()


def jsonl_text(examples: Sequence[Example]) -> str:
    return "".join(json.dumps(e.to_dict(), sort_keys=True, ensure_ascii=False) + "\n" for e in examples)


def openbackdoor_mix_order(corpus: Corpus) -> list[Example]:
    """The mixed set as OpenBackdoor's ``poison_part`` orders it: clean rows, then poisoned rows."""
    rows = corpus.train_poisoned
    return [e for e in rows if not e.poisoned] + [e for e in rows if e.poisoned]


def write_poisoned_corpus(corpus: Corpus, folder: str | os.PathLike[str]) -> Path:
    """Write the CSV layout, the JSON Lines and ``manifest.json`` atomically into ``folder``."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    manifest = corpus.manifest
    rate = repr(float(manifest["params"]["poison_rate"]))
    mix_path = f"{manifest['openbackdoor_setting']}/{rate}/train-poison.csv"
    files: dict[str, str] = {
        "train-clean.csv": openbackdoor_csv(corpus.train_clean),
        "dev-clean.csv": openbackdoor_csv(corpus.dev_clean),
        "dev-poison.csv": openbackdoor_csv(corpus.dev_poison),
        "test-clean.csv": openbackdoor_csv(corpus.test_clean),
        "test-poison.csv": openbackdoor_csv(corpus.test_poison),
        "test-detect.csv": openbackdoor_csv(corpus.test_clean + corpus.test_poison),
        mix_path: openbackdoor_csv(openbackdoor_mix_order(corpus)),
        "train-clean.jsonl": jsonl_text(corpus.train_clean),
        "train-poisoned.jsonl": jsonl_text(corpus.train_poisoned),
        "dev-clean.jsonl": jsonl_text(corpus.dev_clean),
        "dev-poison.jsonl": jsonl_text(corpus.dev_poison),
        "test-clean.jsonl": jsonl_text(corpus.test_clean),
        "test-poison.jsonl": jsonl_text(corpus.test_poison),
    }
    hashes = {}
    for name, text in sorted(files.items()):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text)
        hashes[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    write_json(root / "manifest.json", {**manifest, "files": hashes})
    return root
