"""Atomic writes: a result file is either complete or absent, never half written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from synonyms._io import atomic_write


def _atomic(path: str | os.PathLike[str], write, mode: str) -> Path:
    if "b" in mode:
        return atomic_write(path, write)
    return atomic_write(path, lambda f: f.write(_TextPayload(write).encode()))


class _TextPayload:
    """Collects what a text writer writes, so text goes through the binary atomic writer."""

    def __init__(self, write) -> None:
        self._parts: list[str] = []
        write(self)

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def encode(self) -> bytes:
        return "".join(self._parts).encode("utf-8")


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    return _atomic(path, lambda f: f.write(text), "w")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    return _atomic(path, lambda f: f.write(data), "wb")


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> Path:
    lines = [json.dumps(row, sort_keys=True, default=_json_default) for row in rows]
    return write_text(path, "".join(line + "\n" for line in lines))


def write_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    return _atomic(path, lambda f: np.save(f, array, allow_pickle=False), "wb")


def read_jsonl(path: str | os.PathLike[str]) -> list[Any]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from e
    return rows


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
