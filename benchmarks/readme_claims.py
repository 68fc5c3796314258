"""Figures the README's prose quotes from the benchmark rows, each checked against the rows.

The tables between ``<!-- bench:NAME -->`` markers are rendered from the rows (``readme_tables.py``); the
sentences around them quote single figures ("ASR 99 → 16 %"). Each :class:`Claim` below is one such phrase:
its words with ``{}`` where a figure stands, and for each figure the row field it comes from. ``check``
fills the figures from today's rows and looks for the phrase in the README (whitespace-insensitive), so
a re-run that changes a quoted figure, or an edit of the prose, fails the check until both agree.

A figure is named ``"TABLE: DATASET | ATTACK | METHOD | FIELD"``: TABLE a results folder under
``benchmarks/results`` (its config's cpu-scale cells), ATTACK the attack as the table's rows name it
(``badnets``, ``badnets (dirty)``), with ``@RATE`` when the table has several rates, FIELD a row field
(``detector.n_calibration`` reaches into a nested one). Fractions (every field ≤ 1 that is not a count)
are printed as percentages with ``digits`` decimals; counts as integers with thousands separators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowd.bench.render import index_rows
from crowd.bench.runner import read_rows
from crowd.bench.spec import cells, load_bench_config

ROOT = Path(__file__).resolve().parent.parent
COUNTS = ("n_", "kept", "removed", "attack_budget", "updates")


@dataclass(frozen=True)
class Claim:
    text: str
    figures: tuple[str, ...]
    digits: int = 0


def T2(dataset: str, attack: str, method: str, field: str) -> str:
    return f"table2: {dataset} | {attack} | {method} | {field}"


CLAIMS: tuple[Claim, ...] = ()


def rows_of(table: str, scale: str = "cpu") -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """The table's current rows by (dataset, attack as rows name it, method); ``attack@rate`` keys too."""
    config = load_bench_config(str(ROOT / "benchmarks" / "configs" / f"{table}.toml"))
    grid = cells(config, scale)
    rows = index_rows(read_rows(ROOT / "benchmarks" / "results" / table))
    out: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for c in grid:
        if c.cell_id in rows:
            out[c.dataset, c.attack.row_name, c.method] = rows[c.cell_id]
            out[c.dataset, f"{c.attack.row_name}@{c.rate:g}", c.method] = rows[c.cell_id]
    return out


def figure(name: str, digits: int, tables: Callable[[str], Mapping]) -> str:
    table, rest = name.split(":", 1)
    dataset, attack, method, field = (part.strip() for part in rest.split("|"))
    row = tables(table.strip()).get((dataset, attack, method))
    if row is None:
        raise KeyError(f"no row for {name}")
    value: Any = row
    for key in field.split("."):
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if field.split(".")[-1].startswith(COUNTS) or (isinstance(value, int) and value > 1):
        return f"{int(value):,}"
    return f"{100 * value:.{digits}f}"


def check(readme: str, claims: Sequence[Claim] = CLAIMS) -> list[str]:
    """The claims whose filled phrase is not in ``readme``, each with the phrase the rows give."""
    cache: dict[str, Mapping] = {}

    def tables(name: str) -> Mapping:
        if name not in cache:
            cache[name] = rows_of(name)
        return cache[name]

    flat = _flat(readme)
    wrong = []
    for claim in claims:
        phrase = claim.text.format(*(figure(f, claim.digits, tables) for f in claim.figures))
        if _flat(phrase) not in flat:
            wrong.append(f"README lacks {phrase!r} (from {', '.join(claim.figures)})")
    return wrong


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)
