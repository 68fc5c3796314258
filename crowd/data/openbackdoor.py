"""Read a poisoned-data folder written by OpenBackdoor (``poisoner.save_data``) or by us.

Layout (target label ``t``; CSV header ``,0,1,2`` = index, text, label, poison label)::

    train-clean.csv  dev-clean.csv  test-clean.csv     clean splits
    train-poison.csv                                   EVERY training row poisoned (OpenBackdoor's cache)
    dev-poison.csv   test-poison.csv                   non-target rows poisoned, relabelled t
    test-detect.csv                                    test-clean + test-poison
    <setting>/<rate>/train-poison.csv                  mixed training set (setting mix|clean|dirty)

Poisoned rows get ``source_label`` where the folder lets us recover it exactly:
``train-poison`` row ``i`` is ``train-clean`` row ``i``; ``dev/test-poison`` are the
non-target rows of the clean split in order; a mixed set's poisoned rows are
found (by text) in the full ``train-poison`` cache. Otherwise ``None``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from crowd.data.example import Example
from crowd.data.formats import check_file
from crowd.data.loader import read_file
from crowd.data.normalize import DEFAULT, Normalization


def load_openbackdoor_folder(
    folder: str | os.PathLike[str],
    target_label: int = 1,
    normalize: Normalization = DEFAULT,
) -> dict[str, list[Example]]:
    """Every CSV under ``folder`` by relative name without ``.csv`` (e.g. ``"mix/0.1/train-poison"``).

    A folder with two mixed training sets (``mix/0.1/`` and ``mix/0.2/train-poison.csv``) is refused
    (``ValueError`` naming both): which poison set was meant cannot be guessed.
    """
    root = Path(folder)
    if not root.is_dir():
        try:
            check_file(root)
        except FileNotFoundError as e:  # absent, a symbolic link loop, a broken link
            raise FileNotFoundError(f"{e}; expected a folder of OpenBackdoor CSV files") from None
        raise FileNotFoundError(f"{root}: is a file, not a folder")
    mixed = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*/train-poison.csv"))
    if len(mixed) > 1:
        raise ValueError(
            f"{root}: two poison sets, {mixed[0]} and {mixed[1]}"
            f"{f' (and {len(mixed) - 2} more)' if len(mixed) > 2 else ''}; keep one mixed training set per folder"
        )
    splits: dict[str, list[Example]] = {}
    for path in sorted(root.rglob("*.csv")):
        name = path.relative_to(root).as_posix().removesuffix(".csv")
        splits[name] = list(read_file(path, format="openbackdoor", normalize=normalize).examples)
    if not splits:
        raise FileNotFoundError(f"{root} holds no OpenBackdoor CSV files")
    _attach_source_labels(splits, target_label)
    return splits


def _attach_source_labels(splits: dict[str, list[Example]], target: int) -> None:
    clean_train = splits.get("train-clean")
    if clean_train is not None and len(splits.get("train-poison", [])) == len(clean_train):
        splits["train-poison"] = _with_sources(splits["train-poison"], [e.label for e in clean_train])
    for part in ("dev", "test"):
        clean, poison = splits.get(f"{part}-clean"), splits.get(f"{part}-poison")
        if clean is None or poison is None:
            continue
        sources = [e.label for e in clean if e.label != target]
        if len(sources) == len(poison):
            splits[f"{part}-poison"] = _with_sources(poison, sources)
    cache = splits.get("train-poison")
    if cache is None:
        return
    by_text = {e.text: e.source_label for e in reversed(cache)}
    for name in [n for n in splits if n.count("/") == 2 and n.endswith("train-poison")]:
        splits[name] = [
            replace(e, source_label=by_text.get(e.text)) if e.poisoned and e.source_label is None else e
            for e in splits[name]
        ]


def _with_sources(examples: list[Example], sources: list[int]) -> list[Example]:
    return [replace(e, source_label=s) if e.poisoned else e for e, s in zip(examples, sources)]
