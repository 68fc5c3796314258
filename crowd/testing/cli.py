"""Helpers of the hostile-input tests: what a refused command printed, and what a folder held."""

from __future__ import annotations

import re
from pathlib import Path

_STAGE = re.compile(r"crowd \w+: (?!error: )")  # "crowd X: starting", "crowd X: loading ...": not the error


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path, with its bytes (to show nothing was written)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def error_line(capsys, command: str) -> str:
    """The one line stderr holds besides the command's stage lines (``--no-progress`` keeps them), which must
    be ``crowd COMMAND: error: ...``."""
    lines = [line for line in capsys.readouterr().err.splitlines() if not _STAGE.match(line)]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"crowd {command}: error: "), lines
    return lines[0]
