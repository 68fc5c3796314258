"""The README's block of the main job's report is what `crowd certify` with the built-in default prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crowd.cli import main

ROOT = Path(__file__).resolve().parents[1]
NUMERIC = ("numpy", "scipy", "scikit-learn")  # what the main job's figures are computed with (lbfgs, TF-IDF)


def locked_versions_differ() -> list[str]:
    """The numeric packages installed at another version than requirements/lock.txt pins for this Python (the
    README's figures come from the locked set; another set, e.g. the oldest supported one, may move last digits)."""
    from importlib.metadata import version

    from packaging.requirements import Requirement

    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate():
                pins[req.name] = str(req.specifier).removeprefix("==")
    return [f"{p} {version(p)} (lock {pins[p]})" for p in NUMERIC if pins.get(p) and version(p) != pins[p]]


def test_readme_block_equals_the_main_job_s_report(data_root, tmp_path, capsys):
    differ = locked_versions_differ()
    if differ:
        pytest.skip(f"the README's figures are the locked set's; installed: {', '.join(differ)}")
    assert main(["certify", "--data", str(data_root), "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err  # never silent: a line before the imports, then each stage, then the bar
    stages = [
        "crowd certify: starting",
        "crowd certify: loading sst2",
        "6920 training texts",
        "training 9 models",
    ]
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
