"""The install is pinned: CI and the README install requirements/lock.txt, and the README states its versions."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def versions_module():
    spec = importlib.util.spec_from_file_location("versions", ROOT / "requirements" / "versions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_states_the_pinned_and_oldest_versions():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = versions_module().MARKERS
    assert readme.split(start, 1)[1].split(end, 1)[0].strip() == versions_module().line()


def test_ci_installs_the_lock_and_the_lock_pins_every_dependency():
    install = (ROOT / ".ci" / "install").read_text(encoding="utf-8")
    assert "constraints-requirements/lock.txt" not in install and "requirements/lock.txt" in install
    assert '-c "$constraints"' in install
    lock = versions_module().pins(ROOT / "requirements" / "lock.txt")
    oldest = versions_module().pins(ROOT / "requirements" / "oldest.txt")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    direct = re.findall(r'^\s*"([A-Za-z0-9_.-]+)>=([^"]+)"', block, re.M)
    assert direct, "no dependencies with lower bounds in pyproject.toml"
    for name, floor in direct:
        assert name.lower() in lock, f"{name} is not pinned in requirements/lock.txt"
        assert oldest.get(name.lower(), "").startswith(floor.split(",")[0]), (
            f"{name}: oldest.txt is not at {floor}"
        )
