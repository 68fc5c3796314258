"""Rows that cannot go stale: each row stores the code version that computed it; the runner recomputes a
row of older code, the renderer marks rows of unknown or older code and rows with re-used votes."""

from __future__ import annotations

from pathlib import Path

from crowd.bench import read_rows, run_benchmark
from crowd.bench.spec import cells, load_bench_config
from crowd.bench.version import cell_modules, code_version
from crowd.io import write_jsonl

CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
QUIET = {"log": lambda _: None}


def test_code_version_follows_the_family_rule():
    config = load_bench_config(str(CONFIGS / "table2.toml"))
    by = {(c.dataset, c.attack.name, c.method): c for c in cells(config, "smoke")}
    rap, strip = by["sst2", "badnets", "rap"], by["sst2", "badnets", "strip"]
    assert "crowd.defenses.rap" in cell_modules(rap.kind, rap.runs, rap.config)
    assert "crowd.victim.model" in cell_modules(rap.kind, rap.runs, rap.config)
    assert "crowd.defenses.rap" not in cell_modules(strip.kind, strip.runs, strip.config)
    assert rap.code_version != strip.code_version and len(rap.code_version) == 12
    # Certified cells: the method's module and the learner's modules, not the victim's.
    crowd_cell = by["sst2", "badnets", "crowd"]
    modules = cell_modules(crowd_cell.kind, crowd_cell.runs, crowd_cell.config)
    assert "crowd.methods.crowd" in modules and "crowd.victim.model" not in modules
    static = code_version("certify", "crowd", {"model": {"learner": "static"}, "attack": {"name": "badnets"}})
    bow = code_version("certify", "crowd", {"model": {"learner": "bow"}, "attack": {"name": "badnets"}})
    assert static != bow
    # The cell id does not depend on the code version.
    assert "crowd.defenses.rap" not in rap.cell_id


def test_the_noise_package_is_hashed_for_the_methods_that_draw_noise():
    """``uses_noise`` (on the method class) decides whether a cell's version covers crowd.noise."""
    from crowd.methods import METHODS

    for name, cls in METHODS.items():
        assert isinstance(cls.uses_noise, bool), name
        modules = cell_modules("certify", name, {"attack": {"name": "badnets"}})
        assert ("crowd.noise" in modules) == cls.uses_noise, name
    assert METHODS["crowd"].uses_noise and not METHODS["textguard"].uses_noise


def test_stale_rows_are_recomputed_unknown_rows_kept_and_marked(data_root, tmp_path):
    config = str(CONFIGS / "table3.toml")
    first = run_benchmark(config, tmp_path, "smoke", **QUIET)
    n = len(first.cells)
    assert first.executed == n >= 2
    current = {c.cell_id: c.code_version for c in first.cells}
    rows = read_rows(tmp_path)
    assert all(r["code_version"] == current[r["cell_id"]] for r in rows)
    assert "Marks after a method" not in (tmp_path / "table3.md").read_text()

    # One row from older code, one from before code versions existed.
    old, unknown, *others = rows
    old["code_version"] = "000000000000"
    del unknown["code_version"]
    write_jsonl(tmp_path / "rows.jsonl", [old, unknown, *others])
    page = run_benchmark(config, tmp_path, "smoke", max_cells=0, **QUIET).out / "table3.md"
    text = page.read_text()
    assert "[old code]" in text and "[unverified]" in text and "not verified against today's code" in text

    again = run_benchmark(config, tmp_path, "smoke", **QUIET)
    assert again.executed == 1 and again.skipped == n - 1  # the old row recomputed, the unknown one kept
    by_id = {r["cell_id"]: r for r in read_rows(tmp_path)}
    assert by_id[old["cell_id"]]["code_version"] == current[old["cell_id"]]
    assert by_id[old["cell_id"]]["reused_votes"] == 0  # the older code's votes were not re-used
    assert "code_version" not in by_id[unknown["cell_id"]]
    text = (tmp_path / "table3.md").read_text()
    assert "[old code]" not in text and text.count("[unverified] |") == 1  # one table row

    verified = run_benchmark(config, tmp_path, "smoke", rerun_unverified=True, **QUIET)
    assert verified.executed == 1 and verified.skipped == n - 1  # only the unknown row is recomputed
    by_id = {r["cell_id"]: r for r in read_rows(tmp_path)}
    assert by_id[unknown["cell_id"]]["code_version"] == current[unknown["cell_id"]]
    assert by_id[unknown["cell_id"]]["reused_votes"] == 0  # votes of unknown code are not re-used either
    assert "[unverified]" not in (tmp_path / "table3.md").read_text()


def test_rows_with_reused_votes_are_marked(data_root, tmp_path):
    config = str(CONFIGS / "table3.toml")
    voting = [
        'methods=["crowd", "safer", "crowd-released", "safer-released"]'
    ]  # the methods that store votes
    n = len(run_benchmark(config, tmp_path, "smoke", voting, **QUIET).cells)
    write_jsonl(tmp_path / "rows.jsonl", [])  # the rows are lost, the run folders with their votes stay
    again = run_benchmark(config, tmp_path, "smoke", voting, **QUIET)
    assert again.executed == n and all(r["reused_votes"] > 0 for r in again.rows)
    text = (tmp_path / "table3.md").read_text()
    assert text.count("[reused votes] |") == n and "re-used" in text


def test_the_version_follows_the_code_not_its_layout(tmp_path):
    """Docstrings, comments, formatting, imports (moved into or out of a function) and the file's place do
    not change a version; a changed computation does."""
    from crowd.codehash import files_hash

    def version(name: str, source: str) -> str:
        path = tmp_path / name
        path.write_text(source)
        return files_hash([path])

    base = version(
        "a.py", 'import numpy as np\n\n\ndef f(x):\n    """Twice."""\n    return np.multiply(x, 2)\n'
    )
    same = [
        "def f(x):\n    import numpy as np  # lazy: a reason\n\n    return np.multiply(x, 2)\n",
        '"""A module."""\nfrom __future__ import annotations\n\nimport numpy as np\n\n\ndef f(x):  # note\n'
        "    return np.multiply(\n        x, 2\n    )\n",
        "from typing import TYPE_CHECKING\n\nimport numpy as np\n\nif TYPE_CHECKING:\n    import torch\n\n\n"
        "def f(x):\n    return np.multiply(x, 2)\n",
    ]
    assert [version(f"same{i}.py", s) for i, s in enumerate(same)] == [base] * len(same)
    changed = "import numpy as np\n\n\ndef f(x):\n    return np.multiply(x, 3)\n"
    assert version("changed.py", changed) != base
    assert (
        version("sub_moved.py", "import numpy as np\n\n\ndef f(x):\n    return np.multiply(x, 2)\n") == base
    )
