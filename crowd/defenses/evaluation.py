"""What every defense's evaluation shares: the clean dev texts it calibrates on and the per-text rows it writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from crowd.data import Corpus, Example


def texts(examples: Sequence[Example]) -> list[str]:
    return [e.text for e in examples]


def labels(examples: Sequence[Example]) -> list[int]:
    return [e.label for e in examples]


def calibration_set(corpus: Corpus) -> tuple[list[str], list[int], int]:
    """The clean dev texts and labels a defense calibrates on, without any text that also occurs in the
    clean test set (HSOL's upstream dev and test splits share texts), and how many were removed."""
    test = set(texts(corpus.test_clean))
    kept = [e for e in corpus.dev_clean if e.text not in test]
    if corpus.dev_clean and not kept:
        raise ValueError(
            f"every one of the {len(corpus.dev_clean)} dev texts also occurs in the clean test set (HSOL's "
            "upstream dev and test splits are the same texts): nothing is left to calibrate the defense on "
            "without testing on its own calibration texts; subsample the test set (data.max_test) or give a "
            "separate dev split"
        )
    return texts(kept), labels(kept), len(corpus.dev_clean) - len(kept)


def test_rows(
    clean: Sequence[str],
    poison: Sequence[str],
    clean_pred: Sequence[int],
    poison_pred: Sequence[int],
    corpus: Corpus,
    clean_flag: np.ndarray | None = None,
    poison_flag: np.ndarray | None = None,
) -> list[dict]:
    """One row per test text the defended victim saw: split, index, text, label, prediction, flag (or None)."""
    gold = labels(corpus.test_clean)
    rows = [
        {
            "split": "test_clean",
            "index": i,
            "text": text,
            "label": gold[i],
            "pred": int(pred),
            "flagged": None if clean_flag is None else bool(clean_flag[i]),
        }
        for i, (text, pred) in enumerate(zip(clean, clean_pred))
    ]
    rows += [
        {
            "split": "test_poison",
            "index": i,
            "text": text,
            "label": None,
            "pred": int(pred),
            "flagged": None if poison_flag is None else bool(poison_flag[i]),
        }
        for i, (text, pred) in enumerate(zip(poison, poison_pred))
    ]
    return rows
