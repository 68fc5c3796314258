"""Every benchmark config's smoke scale runs end to end on the CPU (tiny BERT, tiny LM, tiny graph)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crowd.bench import load_bench_config, run_benchmark
from crowd.bench.spec import cells

CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
NAMES = ("table2", "table3", "figure2", "wang", "wordsub", "timing_bertbase", "triggers")


@pytest.mark.parametrize("name", NAMES)
def test_every_scale_of_every_config_expands(name):
    config = load_bench_config(str(CONFIGS / f"{name}.toml"))
    for scale in ("smoke", "cpu", "full"):
        grid = cells(config, scale)
        assert grid and len({c.cell_id for c in grid}) == len(grid)


@pytest.mark.parametrize("name", NAMES)
def test_smoke_run_renders_table(name, data_root, tmp_path):
    run = run_benchmark(str(CONFIGS / f"{name}.toml"), tmp_path, "smoke", log=lambda _: None)
    assert run.executed == len(run.cells) and len(run.rows) == len(run.cells)
    bad = [r["error"] for r in run.rows if r["status"] != "ok"]
    assert not bad, bad
    page = (tmp_path / f"{name}.md").read_text()
    assert page.startswith("# ") and "pending" not in page and "scale smoke" in page
    for row in run.rows:
        assert row["scale"] == "smoke" and row["hardware"] and row["seed"] == 0
        if row["kind"] == "certify":
            if row["selection"] == "deterministic":  # partition methods: one model per part, no alpha
                assert row["alpha"] == 0.0 and row["n_copies"] in (1, 3, 4, 9)  # 1: the static-none baseline
            else:
                assert row["n_copies"] == 4 and row["alpha"] == 0.05 and "N = 4" in page
    if run.config.layout in ("table3", "curve", "triggers"):
        assert (tmp_path / f"{name}_curves.png").stat().st_size > 0
    if run.config.layout == "figure2":
        assert (tmp_path / f"{name}_sst2_badnets.png").stat().st_size > 0


def test_a_variant_note_replaces_the_method_note_and_stays_out_of_the_config():
    from crowd.bench.render import table2

    config = load_bench_config(str(CONFIGS / "table2.toml"))
    cell = next(c for c in cells(config, "cpu") if c.method == "static-none")
    assert cell.runs == "textguard" and "note" not in cell.config and "static-vector learner" in cell.note
    assert cell.config["method"]["groups"] == 1 and cell.config["model"]["learner"] == "static"
    row = table2([cell], {}, [1])
    assert cell.note in row and "TextGuard, NDSS" not in row
