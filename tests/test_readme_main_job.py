"""The README's block of the main job's report is what `crowd certify` with the built-in default prints."""

from __future__ import annotations

import re
from pathlib import Path

from crowd.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_readme_block_equals_the_main_job_s_report(data_root, tmp_path, capsys):
    assert main(["certify", "--data", str(data_root), "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err  # never silent: a line before the imports, then each stage, then the bar
    stages = ["crowd certify: starting", "crowd certify: loading sst2", "6920 training texts", "training 7 models"]
    assert [err.index(s) for s in stages] == sorted(err.index(s) for s in stages)
    assert "models: 100%" in err
    page = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The main job's result")[1]
    (block,) = re.findall(r"```\n(\| metric \| value \|.*?)```", section, re.S)[:1]
    for line in block.strip().splitlines():
        assert line in page.splitlines(), f"README's main-job line is not in the report: {line}"
    numbers = set(re.findall(r"\d+\.\d %", section.split("```")[2].split("\n\n")[1]))  # the prose under it
    shown = {n.replace(" ", "") for n in numbers}
    assert shown <= set(re.findall(r"\d+\.\d%", page)), shown - set(re.findall(r"\d+\.\d%", page))
