"""Every ``crowd certify`` and ``crowd bench`` command shown in README.md and docs/ runs, at a tiny scale.

Each documented command is run as written, with overrides appended that shrink it (a tiny BERT, a few dozen
texts, a few copies): its own keys and values must be valid and its pipeline must run end to end.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from crowd.bench.resources import build_resources
from crowd.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documented(subcommand: str) -> list[tuple[str, list[str]]]:
    found = []
    for path in DOCS:
        for block in re.findall(r"```(?:bash|sh)\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            for line in block.splitlines():
                for part in line.split("&&"):
                    if not re.match(r"\s*([A-Z_]+=\S+\s+)*crowd ", part):
                        continue
                    words = shlex.split(part.split(" #")[0])
                    words = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
                    if words[:2] == ["crowd", subcommand] and "..." not in words and "cuda" not in part:
                        found.append((f"{path.name}: {part.strip()}", words[1:]))
    return found


def _out(args: list[str], tmp_path: Path) -> list[str]:
    args = list(args)
    if "--out" in args:
        i = args.index("--out")
        args[i + 1] = str(tmp_path / "out")
    else:
        args += ["--out", str(tmp_path / "out")]
    return args


CERTIFY = documented("certify")
BENCH = documented("bench")


def test_the_docs_show_commands():
    assert len(CERTIFY) >= 2 and len(BENCH) >= 2


@pytest.mark.parametrize("where, args", CERTIFY, ids=[w for w, _ in CERTIFY])
def test_documented_certify_command_runs(where, args, tiny_bert, data_root, tmp_path):
    shrink = [
        "--set", "data.max_train=80", "--set", "data.max_test=16", "--set", "n_copies=4",
        "--set", "allow_uncertifiable=true",
        "--set", f'model.name="{tiny_bert}"', "--set", 'model.device="cpu"', "--set", 'head.dtype="fp32"',
        "--set", "head.max_length=24", "--no-progress",
    ]  # fmt: skip
    if any(re.search(r'method\.name="(crowd|safer)"', a) for a in args):
        graph = build_resources(tmp_path / "res", {"tiny_graph"})["tiny_graph"]
        shrink += ["--set", f'method.graph="{graph}"']
    assert main([*_out(_without(args, shrink), tmp_path), *shrink]) == 0, where
    check_certify_run(tmp_path / "out")


SHORTCUTS = {"--n-copies": "n_copies", "--device": "model.device", "--data": "data.data_root"}


def _without(args: list[str], shrink: list[str]) -> list[str]:
    """``args`` less the settings of the keys ``shrink`` sets (crowd certify refuses a key set twice)."""
    keys = {value.split("=", 1)[0].strip() for flag, value in zip(shrink, shrink[1:]) if flag == "--set"}
    out, i = [], 0
    while i < len(args):
        flag, value = args[i], args[i + 1] if i + 1 < len(args) else ""
        if (flag == "--set" and value.split("=", 1)[0].strip() in keys) or SHORTCUTS.get(flag) in keys:
            i += 2
            continue
        out.append(flag)
        i += 1
    return out


def check_certify_run(out: Path) -> None:
    """The numbers of a shrunk documented run: sizes as asked, and every rate equal to what per_text.jsonl says."""
    s = json.loads((out / "summary.json").read_text())
    rows = [json.loads(line) for line in (out / "per_text.jsonl").read_text().splitlines()]
    clean = [r for r in rows if r["split"] == "clean"]
    poison = [r for r in rows if r["split"] == "poison"]
    assert (s["n_train"], s["n_test_clean"], len(clean)) == (80, 16, 16)
    assert (
        s["n_poisoned_train"] == round(s["poison_rate"] * 80) and s["label_flips"] >= 1
    )  # dirty-label BadNets
    assert len(poison) == s["n_test_poison_non_target"] >= 1
    deterministic = s["alpha"] == 0.0
    for r in rows:  # a smoothing method's N votes all count; a word group may abstain
        assert sum(r["counts"]) == s["n_copies"] or (deterministic and sum(r["counts"]) <= s["n_copies"])
    correct = [r["prediction"] == r["label"] and not r["abstained"] for r in clean]
    assert s["cacc"] == pytest.approx(sum(correct) / 16)
    assert s["asr"] == pytest.approx(sum(r["prediction"] == s["target_label"] for r in poison) / len(poison))
    radii = [a["certified_accuracy"] for a in s["curve"]]
    assert radii == sorted(radii, reverse=True) and radii[0] <= s["cacc"]
    if s["certificate"] == "textguard":  # the default run: BadNets' one trigger word touches one group
        assert s["attack_budget"] == 1 and s["not_covered_reason"] is None
        assert s["certified_accuracy_at_budget"] == s["curve"][1]["certified_accuracy"]
        assert s["label_flips_note"].startswith(f"label flips: {s['label_flips']} rows, not covered")
    else:  # synonym smoothing cannot express BadNets' inserted word
        assert s["attack_budget"] is None and "non-synonym" in s["not_covered_reason"]


@pytest.mark.parametrize("where, args", BENCH, ids=[w for w, _ in BENCH])
def test_documented_bench_command_parses_and_renders(where, args, tmp_path):
    assert main([*_out(args, tmp_path), "--render-only"]) == 0, where


def test_readme_config_block_is_a_valid_config(tmp_path):
    from crowd.pipelines.config import load_certify_config

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "[method]" in b]
    (tmp_path / "config.toml").write_text(block, encoding="utf-8")
    config = load_certify_config(str(tmp_path / "config.toml"))
    assert config.method.name == "textguard" and config.model.learner == "bow"
    assert (
        config.method.groups == 9
        and config.method.empty == "abstain"
        and config.method.class_weight == "balanced"
    )
    assert config.learner.ngram_max == 1 and config.learner.nb and config.learner.vectors == "glove-6b-50d"
