"""Pages drawn from a results folder's committed rows: nothing runs, nothing but the page and its plots is written.

:func:`render_table` renders ``<name>.md`` from ``rows.jsonl`` and the config alone (what ``crowd bench CONFIG
--out DIR --scale SCALE --render-only`` writes), :func:`write_table` writes the page and the layout's plots.
:func:`committed_rows` gathers what they draw from, including the rows of the tables a config's ``plot_with``
names (the ``wordgroups`` frontier), and :func:`paper_numbers` the published numbers a config names.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowd.bench.render import render, write_outputs
from crowd.bench.spec import BenchConfig, Cell, cells, load_bench_config
from crowd.pipelines.outdir import ROWS, bench_rows


@dataclass(frozen=True)
class Rows:
    """What a page and its plots are drawn from (the fields of :class:`crowd.bench.runner.BenchRun` that
    rendering reads): the config, its cells at one scale, the rows of those cells, the results folder, the
    published numbers and the rows of the tables ``plot_with`` names."""

    config: BenchConfig
    cells: tuple[Cell, ...]
    rows: tuple[dict[str, Any], ...]
    out: Path
    paper: dict[str, Any]
    plot_with_rows: tuple[dict[str, Any], ...] = ()


def current_rows(config: BenchConfig, results_dir: str | Path, scale: str) -> tuple[tuple[Cell, ...], tuple]:
    """``(cells, rows)``: the config's cells at ``scale`` and the rows of ``results_dir/rows.jsonl`` that
    belong to them (rows of cells the config no longer has are left out, as ``crowd bench`` leaves them out)."""
    grid = tuple(cells(config, scale))
    current = {c.cell_id for c in grid}
    path = Path(results_dir) / ROWS
    return grid, tuple(r for r in (bench_rows(path) if path.exists() else []) if r["cell_id"] in current)


def plot_with_rows(config: BenchConfig, results_dir: str | Path, scale: str) -> tuple[dict[str, Any], ...]:
    """The current rows of the configs ``config.plot_with`` names, from the results folders beside
    ``results_dir`` named after them (same scale)."""
    rows: list[dict[str, Any]] = []
    for path in config.plot_with:
        other = load_bench_config(path)
        rows += current_rows(other, Path(results_dir).parent / other.name, scale)[1]
    return tuple(rows)


def committed_rows(config_path: str | Path, results_dir: str | Path, scale: str = "cpu") -> Rows:
    """What the page of ``results_dir`` is drawn from at ``scale``; nothing runs."""
    config = load_bench_config(str(config_path))
    grid, rows = current_rows(config, results_dir, scale)
    paper = paper_numbers(config_path, config.paper)
    return Rows(config, grid, rows, Path(results_dir), paper, plot_with_rows(config, results_dir, scale))


def paper_numbers(config_path: str | Path, name: str) -> dict[str, Any]:
    """Published numbers (``paper = "FILE.toml"`` of a bench config, relative to it): dataset → attack@rate → method."""
    if not name:
        return {}
    return tomllib.loads((Path(config_path).parent / name).read_text(encoding="utf-8-sig"))


def render_table(config_path: str | Path, results_dir: str | Path, scale: str = "cpu") -> str:
    """The Markdown page of ``results_dir`` rendered from its rows (provenance marks included), as
    ``crowd bench CONFIG --out DIR --scale SCALE --render-only`` writes it to ``DIR/<name>.md``."""
    return render(committed_rows(config_path, results_dir, scale))


def write_table(config_path: str | Path, results_dir: str | Path, scale: str = "cpu") -> None:
    """Write ``results_dir/<name>.md`` and the layout's plots from the rows (no cell runs)."""
    write_outputs(committed_rows(config_path, results_dir, scale))
