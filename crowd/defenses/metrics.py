"""What a reader needs beside each defense result (THEORY §4): CACC, ASR, base rate, FRR/FAR, warnings.

* **CACC**: accuracy on the clean test texts; a rejected (flagged) clean text counts as an error.
* **ASR**: fraction of the poisoned test texts (made from non-target test texts) classified as
  the target; a rejected poisoned text counts as a failed attack.
* **Base rate**: fraction of the *clean* non-target test texts classified as the target (rejected
  ones excluded). ASR is only meaningful above it: a victim that calls 30% of clean negatives
  positive has "ASR" 30% without any backdoor.
* Detectors: **FRR** (clean test texts flagged) and **FAR** (poisoned test texts not flagged).
* Correctors: **removal rate** (fraction of words removed) on clean and on poisoned texts.

:func:`victim_warnings` names the two ways an undefended victim makes a defense result
meaningless: a backdoor that was not learnt (ASR within 5 points of the base rate) and a
degenerate victim (one class for at least 95% of the clean test texts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

NOT_LEARNT_MARGIN = 0.05
DEGENERATE_SHARE = 0.95


def attack_metrics(
    clean_pred: Sequence[int],
    clean_labels: Sequence[int],
    poison_pred: Sequence[int],
    target: int,
    clean_flag: np.ndarray | None = None,
    poison_flag: np.ndarray | None = None,
) -> dict[str, Any]:
    """CACC, ASR, base rate and counts; flagged (rejected) inputs count as wrong (clean) or failed (poisoned)."""
    clean_pred, labels = np.asarray(clean_pred), np.asarray(clean_labels)
    clean_ok = clean_pred == labels
    to_target = clean_pred == target
    hit = np.asarray(poison_pred) == target
    if clean_flag is not None:
        clean_ok, to_target = clean_ok & ~clean_flag, to_target & ~clean_flag
    if poison_flag is not None:
        hit = hit & ~poison_flag
    non_target = labels != target
    return {
        "cacc": float(clean_ok.mean()) if clean_ok.size else None,
        "asr": float(hit.mean()) if hit.size else None,
        "base_rate": float(to_target[non_target].mean()) if non_target.any() else None,
        "n_test_poison": int(hit.size),
        "n_test_clean_non_target": int(non_target.sum()),
    }


def detector_metrics(clean_flag: np.ndarray, poison_flag: np.ndarray) -> dict[str, Any]:
    """FRR (clean flagged) and FAR (poisoned not flagged)."""
    return {
        "frr": float(clean_flag.mean()) if clean_flag.size else None,
        "far": float((~poison_flag).mean()) if poison_flag.size else None,
    }


def victim_warnings(
    metrics: dict[str, Any], clean_pred: Sequence[int], who: str = "undefended victim"
) -> list[str]:
    """Sentences saying why the results of ``metrics`` should not be read as a defense working."""
    out = []
    asr, base = metrics.get("asr"), metrics.get("base_rate")
    if asr is not None and base is not None and asr - base <= NOT_LEARNT_MARGIN:
        out.append(
            f"{who}: backdoor not learnt (ASR {asr:.3f} within {NOT_LEARNT_MARGIN:.2f} of the base rate "
            f"{base:.3f}); a defense has nothing to remove"
        )
    return out + degenerate_warnings(clean_pred, who)


def degenerate_warnings(clean_pred: Sequence[int], who: str) -> list[str]:
    """A sentence when one class takes at least :data:`DEGENERATE_SHARE` of ``clean_pred`` (else none)."""
    pred = np.asarray(clean_pred)
    if not pred.size:
        return []
    values, counts = np.unique(pred, return_counts=True)
    share = counts.max() / pred.size
    if share < DEGENERATE_SHARE:
        return []
    return [
        f"{who}: degenerate, predicts class {int(values[counts.argmax()])} for {share:.1%} of the clean test texts"
    ]


def removal_rate(original: Sequence[str], corrected: Sequence[str]) -> float:
    """Fraction of the whitespace words of ``original`` that ``corrected`` no longer has."""
    before = sum(len(t.split()) for t in original)
    after = sum(len(t.split()) for t in corrected)
    return (before - after) / before if before else 0.0
