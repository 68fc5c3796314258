"""Render the device script's rows (``rows.jsonl``) as the Markdown page the README links to.

    python -m benchmarks.device.render benchmarks/results/gpu/rows.jsonl > benchmarks/results/gpu/gpu.md

Tables are rendered from rows only (never edited by hand). A value a row lacks shows as ``–``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from crowd.bench.markdown import table
from crowd.io import read_jsonl

CERTIFY_COLUMNS = (
    ("run", "name"),
    ("status", "status"),
    ("N", "n_copies"),
    ("planned N", "planned_copies"),
    ("wall s", "wall_s"),
    ("copies/s", "copies_per_s"),
    ("est. s for planned N", "extrapolated_s_for_planned"),
    ("CACC", "cacc"),
    ("abstain", "abstain_rate_clean"),
    ("majority acc", "majority_vote_accuracy"),
    ("ASR", "asr"),
    ("majority ASR", "majority_vote_asr"),
    ("budget", "attack_budget"),
    ("cert. acc at budget", "certified_accuracy_at_budget"),
)
SECTIONS = (
    ("(a) Head-only CROWD, MiniLM, full SST-2 BadNets 10 %", "a", None, CERTIFY_COLUMNS),
    (
        "(b) Grouped full fine-tuning vs the naive per-copy loop (MiniLM, clean SST-2, CROWD noise)",
        "b",
        None,
        (
            ("run", "name"),
            ("status", "status"),
            ("copies", "copies"),
            ("seconds", "seconds"),
            ("examples/s", "examples_per_s"),
            ("vs naive fp32", "ratio_vs_naive_b32_fp32"),
            ("vs naive bf16", "ratio_vs_naive_b32_bf16"),
            ("mean copy acc", "mean_copy_accuracy"),
            ("acc, naive's copies", "accuracy_same_copies"),
            ("acc points vs naive fp32", "accuracy_points_vs_naive_b32_fp32"),
        ),
    ),
    (
        "(c) bert-base-sized encoder (random weights: timing only), throughput",
        "c",
        "encoder_throughput",
        (
            ("status", "status"),
            ("rows", "rows"),
            ("rows/s", "rows_per_s"),
            ("tokens/s", "tokens_per_s"),
            ("TFLOP/s", "tflops"),
            ("of bf16 peak", "fraction_of_bf16_peak"),
            ("matmul TFLOP/s (measured)", "matmul_tflops_measured"),
            ("of measured matmul", "fraction_of_measured_matmul"),
        ),
    ),
    ("(c) bert-base-sized encoder, head-only CROWD run", "c", "certify", CERTIFY_COLUMNS),
    ("(d) TextGuard word partitions, full fine-tuning, SST-2 BadNets", "d", None, CERTIFY_COLUMNS),
)


def cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "/")


def section(rows: Sequence[dict], columns) -> str:
    """The Markdown table of ``rows``, one column per ``(title, key)`` of ``columns``, no trailing newline."""
    body = [[cell(r.get(key)) for _, key in columns] for r in rows]
    return table([title for title, _ in columns], body).rstrip("\n")


def _select(rows: Sequence[dict], part: str, kind: str | None) -> list[dict]:
    chosen = [r for r in rows if r.get("part") == part]
    if kind == "encoder_throughput":
        return [r for r in chosen if r.get("name") == kind]
    if kind == "certify":
        return [r for r in chosen if r.get("name") != "encoder_throughput"]
    return chosen


def render(rows: Sequence[dict]) -> str:
    """The page: where and how it ran, one table per part, then every reason a row was not ``ok``."""
    first = rows[0] if rows else {}
    lines = [
        "# Owed GPU figures (benchmarks/device/run.sh)",
        "",
        f"Hardware: {first.get('hardware', '–')}; torch {first.get('torch', '–')}, "
        f"transformers {first.get('transformers', '–')}; scale `{first.get('scale', '–')}`"
        f"{' (CPU dry run: plumbing only, no figure)' if first.get('dry_run') else ''}.",
    ]
    for title, part, kind, columns in SECTIONS:
        chosen = _select(rows, part, kind)
        if chosen:
            lines += ["", f"## {title}", "", section(chosen, columns)]
    notes = [r for r in rows if r.get("status") != "ok" and r.get("reason")]
    if notes:
        lines += ["", "## Not ok", ""]
        lines += [f"- {r.get('part')} / {r.get('name')}: {r.get('status')}: {r['reason']}" for r in notes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(read_jsonl(sys.argv[1])))
