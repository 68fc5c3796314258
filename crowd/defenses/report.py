"""Writing a ``crowd defend`` run: per-text JSON Lines, summary JSON, Markdown summary, resolved config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crowd.config import to_dict
from crowd.io import write_json, write_jsonl, write_text


def markdown(summary: dict[str, Any]) -> str:
    lines = [f"# crowd defend: {summary['defense']}", ""]
    lines += [
        f"Training texts {summary['n_train']} ({summary['n_poison_train']} poisoned); test "
        f"{summary['n_test_clean']} clean, {summary['n_test_poison']} poisoned (non-target).",
        "",
    ]
    lines += ["| victim | CACC | ASR | FRR | FAR |", "|---|---|---|---|---|"]
    for key in ("undefended", "defended"):
        m = summary[key]
        cells = [m.get(k) for k in ("cacc", "asr", "frr", "far")]
        lines.append(f"| {key} | " + " | ".join("—" if c is None else f"{c:.4f}" for c in cells) + " |")
    if "filter" in summary:
        f = summary["filter"]
        lines += [
            "",
            f"BKI keywords {f['keywords']}: removed {f['removed_poisoned']} poisoned and "
            f"{f['removed_clean']} clean training texts.",
        ]
    lines += ["", "Timings: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["timings"].items()), ""]
    return "\n".join(lines)


def write_outputs(out: Path, config, summary: dict[str, Any], rows: list[dict]) -> None:
    from crowd.report import hardware

    out.mkdir(parents=True, exist_ok=True)
    summary = dict(summary, hardware=hardware())
    write_json(out / "config.json", to_dict(config))
    write_jsonl(out / "predictions.jsonl", rows)
    write_json(out / "summary.json", summary)
    write_text(out / "summary.md", markdown(summary))
