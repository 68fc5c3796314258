"""Every committed benchmark page says what its rows say today, provenance marks included.

``benchmarks/results/NAME/NAME.md`` is rendered by ``crowd bench`` from ``rows.jsonl`` and the config
``benchmarks/configs/NAME.toml`` (cpu scale). A page committed without re-rendering after the code changed
hides marks the renderer would print now (``[old code]``: the row's ``code_version`` differs from today's
code; ``[unverified]``: the row predates code versions), so each page must equal a fresh render of its rows.

The render reads only the rows, the config and the source files (for today's code versions): no clock, no
machine. Code versions hash syntax trees (:mod:`crowd.codehash`), whose layout differs between Python minor
versions, so the marks are those of the project's interpreter. When this fails, re-render (no cell runs):

    python benchmarks/render_tables.py NAME   # = crowd bench benchmarks/configs/NAME.toml
                                              #   --out benchmarks/results/NAME --scale cpu --render-only
"""

from __future__ import annotations

import dataclasses
import difflib
import struct
from pathlib import Path

import pytest

from crowd.bench.pages import committed_rows, render_table
from crowd.bench.plots import frontier_name
from crowd.bench.render import render

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CONFIGS = ROOT / "benchmarks" / "configs"
PAGES = sorted(p.parent.name for p in RESULTS.glob("*/*.md") if p.stem == p.parent.name)


def test_every_results_page_has_a_config():
    assert {"table2", "wordgroups", "wordgroups_fa", "figure2"} <= set(PAGES)
    assert all((CONFIGS / f"{name}.toml").exists() for name in PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_committed_page_equals_a_fresh_render_of_its_rows(name):
    committed = (RESULTS / name / f"{name}.md").read_text(encoding="utf-8")
    fresh = render_table(CONFIGS / f"{name}.toml", RESULTS / name)
    if committed != fresh:
        diff = "\n".join(
            list(difflib.unified_diff(committed.splitlines(), fresh.splitlines(), lineterm=""))[:40]
        )
        pytest.fail(
            f"benchmarks/results/{name}/{name}.md differs from a render of its rows; re-render it with "
            f"`python benchmarks/render_tables.py {name}`\n{diff}"
        )


def test_a_row_without_a_code_version_is_marked_unverified():
    # The committed word-group rows all carry a code version; take it from one and render.
    run = committed_rows(CONFIGS / "wordgroups.toml", RESULTS / "wordgroups")
    assert all("code_version" in r for r in run.rows)
    first = {k: v for k, v in run.rows[0].items() if k != "code_version"}
    page = render(dataclasses.replace(run, rows=(first, *run.rows[1:])))
    marked = [line for line in page.splitlines() if line.startswith("| ") and "[unverified" in line]
    assert len(marked) == 1 and f"| {first['method']} [unverified] |" in marked[0]
    assert "`[unverified]`: written before rows carried a `code_version`" in page
    assert "[unverified" not in render(run)


@pytest.mark.parametrize("name", ("wordgroups", "wordgroups_fa"))
def test_word_partition_pages_link_their_committed_frontier_plot(name):
    page = (RESULTS / name / f"{name}.md").read_text(encoding="utf-8")
    plot = frontier_name(name)
    assert f"[{plot}]({plot})" in page
    png = (RESULTS / name / plot).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        chunks.append(png[at + 4 : at + 8])
        at += 12 + length
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(chunks), chunks  # no version, no timestamp


def _row(
    dataset, label, groups, spread, cacc, cert, learner="bow", vectors=None, world="reference", **params
):
    method = {"name": "textguard", "groups": groups, "spread": spread, "aggregation": "plurality"}
    method |= {"empty": "abstain", "class_weight": "balanced"} | params
    return {
        "cell_id": f"cpu/{dataset}/{label}/{groups}/{spread}/{learner}/{vectors}/{world}/{params}",
        "status": "ok",
        "dataset": dataset,
        "attack_label": label,
        "method_params": method,
        "world": world,
        "learner": learner,
        "config": {"bow": {"vectors": vectors}} if vectors else {},
        "cacc": cacc,
        "certified_accuracy_non_target_at_budget": cert,
    }


def test_frontier_points_are_reference_world_rows_by_learner_spread_and_k():
    from crowd.bench.plots import frontier_point

    assert frontier_point(_row("sst2", "dirty 1 word", 14, 2, 0.75, 0.3, vectors="glove-6b-50d")) == (
        ("sst2", "dirty 1 word"),
        ("bow+vectors", 2),
        7,
        0.75,
        0.3,
    )
    assert frontier_point(_row("hsol", "dirty 4 words", 9, None, 0.8, 0.0, learner="head"))[1:3] == (
        ("head", 1),
        9,
    )
    left_out = [
        _row("sst2", "dirty 1 word", 9, 1, 0.7, 0.4, world="observed"),
        _row("sst2", "clean-label (OpenBackdoor)", 9, 1, 0.7, 0.4),
        _row("sst2", "dirty 1 word", 9, 1, 0.7, 0.4, aggregation="runoff"),
        _row("sst2", "dirty 1 word", 9, 1, 0.7, 0.4, empty="placeholder"),
        _row("sst2", "dirty 1 word", 9, 1, 0.7, None),
        {**_row("sst2", "dirty 1 word", 9, 1, 0.7, 0.4), "status": "error"},
        {**_row("sst2", "dirty 1 word", 9, 1, 0.7, 0.4), "method_params": {"name": "dpa", "partitions": 9}},
    ]
    assert [frontier_point(r) for r in left_out] == [None] * len(left_out)


def test_frontier_plot_draws_the_run_s_rows_and_its_plot_with_tables(tmp_path):
    from crowd.bench.pages import Rows, committed_rows
    from crowd.bench.render import frontier, frontier_link, render
    from crowd.bench.spec import load_bench_config

    config = load_bench_config(str(CONFIGS / "wordgroups_fa.toml"))
    assert config.plot_with == (str(CONFIGS / "wordgroups.toml"),)  # relative to the config
    rows = tuple(
        _row(d, "dirty 1 word", k, 1, 0.7 + k / 100, k / 20) for d in ("sst2", "hsol") for k in (5, 9)
    )
    run = Rows(config, (), rows, tmp_path / "wordgroups_fa", {})
    (tmp_path / "wordgroups_fa").mkdir()
    # no results folder beside it: only the run's own rows
    assert committed_rows(CONFIGS / "wordgroups_fa.toml", tmp_path / "wordgroups_fa").plot_with_rows == ()
    plot = frontier_name("wordgroups_fa")
    assert frontier(run) == [tmp_path / "wordgroups_fa" / plot]
    assert (tmp_path / "wordgroups_fa" / plot).read_bytes().startswith(b"\x89PNG")
    assert f"[{plot}]({plot})" in frontier_link(run) and "rows of wordgroups" in frontier_link(run)
    empty = Rows(config, (), (), tmp_path / "none", {})
    assert frontier(empty) == [] and frontier_link(empty) == "" and plot not in render(empty)
