"""Markdown pieces every table and summary of a benchmark shares: a cell's status, its certificate, a table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crowd.bench.grid import Cell


def cert_at(row: Mapping[str, Any], radius: int, curve_key: str = "curve") -> float | None:
    """Certified accuracy at ``radius`` from a row's curve (``curve_key``: ``"test_side_curve"`` for the test
    side; 0 beyond the stored part of the curve; ``None`` without that curve)."""
    curve = row.get(curve_key)
    if curve is None:
        return None
    values = {p["radius"]: p["certified_accuracy"] for p in curve}
    return values.get(radius, 0.0)


def certifies(c: Cell, row: Mapping[str, Any]) -> bool:
    """Whether a finished cell has a certificate to show: a certified method with more than one model
    (a single model, the static-none baseline, certifies nothing)."""
    return c.kind == "certify" and row.get("n_copies") != 1


def status(row: Mapping[str, Any] | None) -> str | None:
    """``None`` for a finished row, else what to print in its metric cells."""
    if row is None:
        return "pending"
    return None if row.get("status") == "ok" else "error"


def table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"
