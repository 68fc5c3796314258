"""How every ``crowd`` subcommand prints numbers: rates as percentages with one decimal (``98.1%``)."""

from __future__ import annotations


def percent(value: float | None) -> str:
    """``0.9811`` → ``"98.1%"``; ``None`` (undefined, e.g. ASR without poisoned texts) → ``"n/a"``."""
    return "n/a" if value is None else f"{100 * value:.1f}%"
