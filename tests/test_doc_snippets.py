"""Every ```python block in README.md and docs/ runs as written (```text blocks are API listings, not run).

Each block runs in a fresh namespace, in its own empty working folder (what it writes stays there), with the
shared data folder as ``$CROWD_DATA``; a block that needs a name must define or import it itself.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def snippets() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text[: match.start()].count("\n") + 1
            found.append((f"{path.name}:{line}", match.group(1)))
    return found


SNIPPETS = snippets()


def test_the_docs_have_runnable_snippets():
    assert {where.split(":")[0] for where, _ in SNIPPETS} >= {"README.md", "attacks.md", "data.md"}


@pytest.mark.parametrize("where, code", SNIPPETS, ids=[w for w, _ in SNIPPETS])
def test_snippet_runs(where, code, data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("CROWD_DATA", str(data_root.resolve()))  # before chdir: it may be relative
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, where, "exec"), {"__name__": "__doc_snippet__"})
    assert printed.getvalue().strip(), f"{where}: a snippet shows what it computed"
    last = printed.getvalue().strip().splitlines()[-1]
    assert "None" not in last.split(), (
        f"{where}: its last line prints None ({last}): what it documents is unknown"
    )
    assert os.getcwd() == str(tmp_path)
