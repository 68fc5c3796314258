"""The README's line of tested versions, generated from the pinned sets (requirements/refresh runs it).

    python requirements/versions.py            print the line
    python requirements/versions.py --readme   write it into README.md between its markers
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("torch", "transformers", "scikit-learn")
MARKERS = ("<!-- versions -->", "<!-- /versions -->")


def pins(path: Path) -> dict[str, str]:
    """``{package: version}`` of a compiled requirements file (the first pin of each package)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if match:
            out.setdefault(match[1].lower(), match[2])
    return out


def python_floor() -> str:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    return spec.removeprefix(">=")


def line() -> str:
    def versions(name: str) -> str:
        found = pins(ROOT / "requirements" / name)
        return ", ".join([f"Python {python_floor()}"] + [f"{p} {found[p]}" for p in SHOWN])

    return (
        f"Tested versions: {versions('lock.txt')} (the pinned set, `requirements/lock.txt`); oldest supported: "
        f"{versions('oldest.txt')} (`requirements/oldest.txt`)."
    )


def write_readme() -> None:
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    start, end = MARKERS
    if start not in text or end not in text:
        raise SystemExit(f"{path}: no {start} ... {end} markers")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{line()}\n{end}{after}", encoding="utf-8")


if __name__ == "__main__":
    write_readme() if "--readme" in sys.argv[1:] else print(line())
