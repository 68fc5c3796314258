"""Runner semantics: rows resume, a failing cell becomes an error row, rendering reads only rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crowd.bench import read_rows, run_benchmark
from crowd.bench.render import render

CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
QUIET = {"log": lambda _: None}


TWO = ['methods=["crowd", "safer"]']  # two of table3's methods: the runner's mechanics, not the table


def test_rows_resume_and_rerun_executes_nothing(data_root, tmp_path):
    first = run_benchmark(str(CONFIGS / "table3.toml"), tmp_path, "smoke", TWO, **QUIET)
    assert first.executed == 2
    before = (tmp_path / "rows.jsonl").read_text()
    again = run_benchmark(str(CONFIGS / "table3.toml"), tmp_path, "smoke", TWO, **QUIET)
    assert again.executed == 0 and again.skipped == 2
    assert (tmp_path / "rows.jsonl").read_text() == before
    # A different setting is a different cell: it runs, and the old rows stay in the file.
    third = run_benchmark(
        str(CONFIGS / "table3.toml"), tmp_path, "smoke", TWO, certify_overrides=["n_copies=5"], **QUIET
    )
    assert third.executed == 2 and len(read_rows(tmp_path)) == 4
    assert all(r["n_copies"] == 5 for r in third.rows)


def test_max_cells_leaves_pending_cells_and_resumes(data_root, tmp_path):
    config = str(CONFIGS / "table3.toml")
    sets = ["smoke.rates=[0.05, 0.1]", *TWO]
    partial = run_benchmark(config, tmp_path, "smoke", sets, max_cells=1, **QUIET)
    assert partial.executed == 1 and len(partial.rows) == 1
    assert (tmp_path / "table3.md").read_text().count(" pending |") == 3 * 6  # 6 metric cells per missing row
    rest = run_benchmark(config, tmp_path, "smoke", sets, **QUIET)
    assert rest.executed == 3 and rest.skipped == 1


def test_failing_cell_is_an_error_row_and_the_table_goes_on(data_root, tmp_path):
    # OffensEval has no exactly matchable SynBkd paraphrases: that cell fails, the SST-2 cell still runs.
    sets = ['smoke.datasets=["sst2", "offenseval"]', 'smoke.attacks=["synbkd"]', 'smoke.methods=["crowd"]']
    run = run_benchmark(str(CONFIGS / "table2.toml"), tmp_path, "smoke", sets, **QUIET)
    by_dataset = {r["dataset"]: r for r in run.rows}
    assert by_dataset["sst2"]["status"] == "ok"
    assert by_dataset["offenseval"]["status"] == "error"
    assert "no exactly matching pre-generated paraphrases" in by_dataset["offenseval"]["error"]
    assert by_dataset["offenseval"]["traceback"]
    page = (tmp_path / "table2.md").read_text()
    assert "| offenseval | synbkd (0.1) | — | crowd | error |" in page and "Cells that failed" in page
    assert "87.64 / 20.63 / 72.91" in page  # the paper's CROWD numbers on SST-2 SynBkd, beside ours
    # Error rows are final unless retried; retrying re-runs only them.
    assert run_benchmark(str(CONFIGS / "table2.toml"), tmp_path, "smoke", sets, **QUIET).executed == 0
    retry = run_benchmark(str(CONFIGS / "table2.toml"), tmp_path, "smoke", sets, retry_errors=True, **QUIET)
    assert retry.executed == 1 and len(read_rows(tmp_path)) == 2


def test_rendering_is_a_function_of_the_rows(data_root, tmp_path):
    run = run_benchmark(str(CONFIGS / "wang.toml"), tmp_path, "smoke", **QUIET)
    (row,) = run.rows
    assert row["certificate"] == "l0" and row["method_params"]["beta_token"] == 0.9
    assert render(run) == (tmp_path / "wang.md").read_text()
    edited = dict(row, cacc=0.5)
    assert "| 50.0 |" in render(run.__class__(**{**run.__dict__, "rows": (edited,)}))
    json.dumps(row)  # rows are plain JSON


def test_cli_script(data_root, tmp_path, capsys):
    import runpy
    import sys

    argv = sys.argv
    sys.argv = ["run.py", str(CONFIGS / "wang.toml"), "--out", str(tmp_path), "--render-only"]
    try:
        runpy.run_path(str(CONFIGS.parent / "run.py"), run_name="__main__")
    except SystemExit as e:
        assert e.code == 0
    finally:
        sys.argv = argv
    assert "0 cells executed" in capsys.readouterr().out and (tmp_path / "wang.md").exists()


def _upsert_many(out: str, start: int, barrier) -> None:
    from crowd.bench.runner import upsert_row

    barrier.wait()  # both processes write at once
    for i in range(start, start + 150):
        upsert_row(Path(out), {"cell_id": f"c{i}", "status": "ok", "pad": "x" * 2000})


def test_two_processes_writing_one_rows_file_lose_nothing(tmp_path):
    import multiprocessing

    from crowd.bench.runner import read_rows

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [context.Process(target=_upsert_many, args=(str(tmp_path), s, barrier)) for s in (0, 150)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert sorted(r["cell_id"] for r in read_rows(tmp_path)) == sorted(f"c{i}" for i in range(300))


def test_a_defense_that_cannot_run_stops_the_run_before_any_cell(data_root, tmp_path):
    # Out-of-range settings (or a missing extra) are the same for every cell: one error, no error rows.
    sets = ['smoke.methods=["none", "strip"]', "smoke.rates=[0.1]"]
    config, bad = str(CONFIGS / "figure2.toml"), ["defense.params.frr=2"]
    with pytest.raises(ValueError, match=r"/strip/\w+: .*frr must be in \[0, 1\).*; no cell was run"):
        run_benchmark(config, tmp_path, "smoke", sets, defend_overrides=bad, **QUIET)
    assert read_rows(tmp_path) == []
