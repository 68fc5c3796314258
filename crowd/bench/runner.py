"""Run a benchmark's cells into ``rows.jsonl`` (resuming), then render its tables and plots.

Each cell becomes one row keyed by its :attr:`Cell.cell_id`; after every cell the
whole rows file is rewritten atomically (:func:`crowd.io.upsert_jsonl`), so it is
always complete. A cell that already has a row is skipped, unless the row's ``code_version``
(:mod:`crowd.bench.version`: a hash of the source files that compute it) differs from today's:
then it is computed again. A row without ``code_version`` (written before it existed) is kept and
rendered as "not verified against today's code", unless ``rerun_unverified=True`` (``crowd bench
--rerun-unverified``) computes it again. A cell that raises is
recorded as an *error row* (``status = "error"``, the exception's type, message and
the last lines of the traceback) and the table goes on; error rows are retried
only with ``retry_errors=True``. Certified cells keep their run folder under
``runs/``, so an interrupted cell also resumes from its stored votes.

Before anything is written, the cell selection is checked (a scale that selects no cell, a negative
``max_cells``: one-line errors naming the key) and so is the out folder
(:func:`crowd.pipelines.outdir.check_out_folder`: new, empty or crowd bench's own results, never another
command's output or the user's files); ``rows.jsonl`` is then created at once, so the folder is recognised as
bench's even before its first row. Then every cell about to run has its settings checked
(:func:`preflight`): a defense whose settings are out of range or whose extra is not installed stops the run
with the cell's id and the reason before any cell runs, instead of becoming an error row per cell (which would
also replace that cell's earlier row).
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crowd.bench.cells import VictimCache, certify_cell, ciss_cell, defend_cell
from crowd.bench.pages import paper_numbers, plot_with_rows
from crowd.bench.render import write_outputs
from crowd.bench.resources import build_resources
from crowd.bench.spec import BenchConfig, Cell, cells, load_bench_config, resolve_resources
from crowd.config import from_dict
from crowd.defenses import NO_DEFENSE
from crowd.io import upsert_jsonl
from crowd.pipelines.defend import DefendConfig, build_defense
from crowd.pipelines.outdir import ROWS, bench_rows, check_out_folder

ROWS_FILE = ROWS  # "rows.jsonl"


@dataclass(frozen=True)
class BenchRun:
    """What one invocation did: the current cells, their rows, and how many were executed."""

    config: BenchConfig
    cells: tuple[Cell, ...]
    rows: tuple[dict[str, Any], ...]
    executed: int
    skipped: int
    out: Path
    paper: dict[str, Any] = field(default_factory=dict)
    plot_with_rows: tuple[dict[str, Any], ...] = ()  # rows of the tables ``plot_with`` names (their plots)


def read_rows(out: Path) -> list[dict[str, Any]]:
    """The rows of ``out/rows.jsonl`` (none when absent); ``ValueError`` naming the file and line of a row
    that is not crowd bench's (:func:`crowd.pipelines.outdir.bench_rows`)."""
    path = out / ROWS_FILE
    return bench_rows(path) if path.exists() else []


def upsert_row(out: Path, row: dict[str, Any]) -> None:
    """Replace the row with the same ``cell_id`` (or append) and rewrite the file atomically
    (:func:`crowd.io.upsert_jsonl`).

    The read and the rewrite happen under an exclusive lock on ``rows.jsonl.lock``, so several
    runs over disjoint cells of one table (e.g. ``--set 'cpu.methods=["bki"]'`` beside
    ``["onion"]``) may share a results folder without losing each other's rows.
    """
    upsert_jsonl(out / ROWS_FILE, row, key=("cell_id",))


def _base_row(cell: Cell, config: BenchConfig) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id,
        "table": config.name,
        "scale": cell.scale,
        "dataset": cell.dataset,
        "attack": cell.attack.name,
        "variant": cell.attack.variant,
        "attack_params": dict(cell.attack.params),
        "attack_label": cell.attack.label,
        "poison_rate": cell.rate,
        "method": cell.method,
        "config": cell.config,
    }


def execute_cell(
    cell: Cell, config: BenchConfig, out: Path, resources: dict[str, str], cache, progress: bool
):
    """One row for ``cell``: its metrics (``status = "ok"``) or the error that stopped it."""

    row = _base_row(cell, config)
    row["code_version"] = cell.code_version  # before running: the code that computes the row
    start = time.perf_counter()
    try:
        if cell.kind == "certify":
            result = certify_cell(cell, resources, out / "runs" / cell.slug, progress)
        elif cell.kind == "ciss":
            result = ciss_cell(cell, resources)
        else:
            result = defend_cell(cell, resources, cache)
        row.update({k: v for k, v in result.items() if k not in ("dataset", "attack", "poison_rate")})
        row["status"] = "ok"
    except Exception as e:  # recorded, so one failing cell does not kill the table
        row.update(
            status="error",
            error=f"{type(e).__name__}: {e}",
            traceback=traceback.format_exc().splitlines()[-12:],
        )
    row["wall_s"] = round(time.perf_counter() - start, 2)
    row["peak_rss_gib"] = round(peak_rss_gib(), 3)  # the process's peak so far (a cell alone: its own)
    return row


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, in GiB (Linux reports KiB, macOS bytes)."""

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**30 if sys.platform == "darwin" else peak / 2**20


def run_benchmark(
    config_path: str,
    out: str | Path,
    scale: str = "smoke",
    bench_overrides: Sequence[str] = (),
    certify_overrides: Sequence[str] = (),
    defend_overrides: Sequence[str] = (),
    retry_errors: bool = False,
    rerun_unverified: bool = False,
    max_cells: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> BenchRun:
    """Run every unfinished cell of the benchmark at ``scale`` (at most ``max_cells``), then render."""

    config = load_bench_config(config_path, bench_overrides)
    grid = cells(config, scale, certify_overrides, defend_overrides)
    check_selection(config, scale, grid, config_path, bench_overrides, max_cells)
    out = check_out_folder(out, "bench", config.name)
    out.mkdir(parents=True, exist_ok=True)
    (out / ROWS_FILE).touch()  # never truncates: other runs over disjoint cells may share the file
    resources = build_resources(out / "_resources", set().union(*(c.resources() for c in grid)))
    done = {r["cell_id"]: r for r in read_rows(out)}
    due = [c for c in grid if is_due(done.get(c.cell_id), c, retry_errors, rerun_unverified)]
    preflight(due if max_cells is None else due[:max_cells], resources)
    due_ids = {c.cell_id for c in due}
    executed = skipped = 0
    cache = VictimCache()
    for i, cell in enumerate(grid):
        old = done.get(cell.cell_id)
        if cell.cell_id not in due_ids:
            skipped += 1
            continue
        if max_cells is not None and executed >= max_cells:
            break
        stale = old is not None and is_outdated(old, cell, rerun_unverified)
        why = "was computed by older code" if "code_version" in (old or {}) else "predates code versions"
        log(f"[{i + 1}/{len(grid)}] {cell.cell_id}" + (f" (its row {why})" if stale else ""))
        if stale:  # votes stored by older (or unknown) code must not be re-used
            shutil.rmtree(out / "runs" / cell.slug, ignore_errors=True)
        row = execute_cell(cell, config, out, resources, cache, progress)
        upsert_row(out, row)
        executed += 1
        log(f"    -> {row['status']} in {row['wall_s']} s" + (f": {row['error']}" if "error" in row else ""))
    current = {c.cell_id for c in grid}
    rows = tuple(r for r in read_rows(out) if r["cell_id"] in current)
    paper = paper_numbers(config_path, config.paper)
    run = BenchRun(
        config, tuple(grid), rows, executed, skipped, out, paper, plot_with_rows(config, out, scale)
    )
    write_outputs(run)
    return run


def check_selection(
    config: BenchConfig,
    scale: str,
    grid: Sequence[Cell],
    config_path: str | Path,
    bench_overrides: Sequence[str] = (),
    max_cells: int | None = None,
) -> None:
    """``ValueError`` in one line when nothing could run: a negative ``max_cells``, or a grid of no cell at
    ``scale`` (naming the scale's key that matches none of the benchmark's values, and the ``--set`` that set it)."""
    if max_cells is not None and max_cells < 0:
        raise ValueError(f"max_cells = {max_cells}: must be 0 or more (0 renders the rows and runs no cell)")
    if grid:
        return
    s = config.scale(scale)
    grid_values = {
        "datasets": config.datasets,
        "attacks": [a.row_name for a in config.attacks],
        "rates": sorted({r for a in config.attacks for r in a.rates}),
        "methods": config.methods,
    }
    for key, values in grid_values.items():
        chosen = getattr(s, key)
        if chosen and not set(chosen) & set(values):
            name = f"{scale}.{key}"
            override = next((o for o in bench_overrides if o.split("=", 1)[0].strip() == name), None)
            where = f"--set {override}" if override else f"{config_path}: {name} = {list(chosen)}"
            raise ValueError(
                f"{where}: selects no cell; the benchmark's {key} are {', '.join(map(str, values)) or 'none'}"
            )
    raise ValueError(f"{config_path}: the {scale} scale selects no cell (no dataset, attack, rate or method)")


def is_due(old: dict[str, Any] | None, cell: Cell, retry_errors: bool, rerun_unverified: bool) -> bool:
    """Whether ``cell`` runs: it has no row, its row is stale (older code; no code version, with
    ``rerun_unverified``), or its row is an error row and ``retry_errors`` is set."""
    if old is None or is_outdated(old, cell, rerun_unverified):
        return True
    return old.get("status") != "ok" and retry_errors


def is_outdated(old: dict[str, Any], cell: Cell, rerun_unverified: bool) -> bool:
    """Whether ``old`` is computed again (and its stored votes discarded): older code, or no code version with
    ``rerun_unverified``."""
    return is_stale(old, cell) or (rerun_unverified and "code_version" not in old)


def preflight(due: Sequence[Cell], resources: dict[str, str]) -> None:
    """``ValueError`` naming the cell before any cell runs when a defense cell cannot run at all: its settings
    out of range, an unknown key, or what the defense needs not installed (ONION's offline language model)."""
    for cell in due:
        if cell.kind != "defend" or cell.runs == NO_DEFENSE:
            continue
        try:
            config = from_dict(DefendConfig, resolve_resources(cell.config, resources), cell.cell_id)
            build_defense(config.defense, config.seed, config.attack.target_label)
        except ValueError as e:  # ConfigError is one
            raise ValueError(f"{cell.cell_id}: {e}; no cell was run") from None


def is_stale(row: dict[str, Any], cell: Cell) -> bool:
    """Whether ``row`` was computed by code other than today's (a row without ``code_version`` is not:
    its version is unknown, and it is kept)."""
    stored = row.get("code_version")
    return stored is not None and stored != cell.code_version
