"""Writing a ``crowd defend`` run: per-text JSON Lines, summary JSON, Markdown summary, resolved config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crowd.config import to_dict
from crowd.io import write_json, write_jsonl, write_text
from crowd.report import hardware


def _cell(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def markdown(summary: dict[str, Any]) -> str:
    lines = [f"# crowd defend: {summary['defense']}", ""]
    lines += [
        f"Training texts {summary['n_train']} ({summary['n_poison_train']} poisoned); test "
        f"{summary['n_test_clean']} clean, {summary['n_test_poison']} poisoned (non-target).",
        "",
    ]
    keys = ("cacc", "asr", "base_rate", "frr", "far", "removal_rate_clean", "removal_rate_poison")
    lines += [
        "| victim | CACC | ASR | base rate | FRR | FAR | removed (clean) | removed (poison) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in ("undefended", "defended"):
        lines.append(f"| {key} | " + " | ".join(_cell(summary[key].get(k)) for k in keys) + " |")
    lines += [
        "",
        "Base rate: clean non-target test texts classified as the target (ASR means little below it).",
    ]
    if "filter" in summary:
        f = summary["filter"]
        lines += [
            "",
            f"BKI keywords {f['keywords']} (document frequency {f['keyword_doc_freq']}; left out as too "
            f"frequent: {f['excluded_frequent']}): removed {f['removed_poisoned']} poisoned and "
            f"{f['removed_clean']} clean training texts.",
        ]
    if "corrector" in summary:
        c = summary["corrector"]
        lines += [
            "",
            f"ONION threshold {c['threshold']:.4g} (chosen on dev: {c['threshold_chosen_on_dev']}); LM {c['lm']}",
        ]
        if c.get("lm_stand_in"):
            lines[-1] += f" ({c['lm_stand_in']})"
    lines += ["", *[f"**Warning**: {w}" for w in summary.get("warnings", [])]]
    lines += ["", "Timings: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["timings"].items()), ""]
    return "\n".join(lines)


def write_outputs(out: Path, config, summary: dict[str, Any], rows: list[dict]) -> None:

    out.mkdir(parents=True, exist_ok=True)
    summary = dict(summary, hardware=hardware())
    write_json(out / "config.json", to_dict(config))
    write_jsonl(out / "predictions.jsonl", rows)
    write_json(out / "summary.json", summary)
    write_text(out / "summary.md", markdown(summary))
