"""Low-level readers: each yields raw rows with their line numbers, nothing more.

Formats (``format=`` of :func:`crowd.data.load_file`):

- ``"tsv"``: header line, then one row per line. ``quoting="none"`` (default)
  splits lines on tabs and never treats ``"`` specially (the HiddenKiller /
  StyleAttack files contain unbalanced quotes); when the header has two columns a
  row with extra tabs is split on its *last* tab. ``quoting="csv"`` reads
  double-quoted fields CSV-style (the HSOL file). CRLF or LF line ends; fields
  are stripped of surrounding spaces (OffensEval writes ``TEXT <TAB> 0``).
- ``"csv"``: comma-separated with a header, CSV quoting.
- ``"openbackdoor"``: OpenBackdoor's saved CSVs, header ``,0,1,2`` = row index,
  text, label, poison label.
- ``"jsonl"``: one JSON object per line.
- ``"davidson"``: the raw Davidson et al. (2017) ``labeled_data.csv``.

Files ending in ``.gz`` are decompressed transparently.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("tsv", "csv", "openbackdoor", "jsonl", "davidson")
OPENBACKDOOR_HEADER = ["", "0", "1", "2"]


class DataFormatError(ValueError):
    """A file, or a row of it, is not what it was claimed to be. The message names file and line."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path, self.line, self.reason = str(path), line, message
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class RawRow:
    """One data row: its first line number and field values by column name (``None`` if missing)."""

    line: int
    fields: dict[str, str | None]
    problem: str | None = None


def infer_format(path: Path) -> str:
    """Format from the file name (``.tsv``, ``.csv``, ``.jsonl``/``.json``, optionally ``.gz``)."""
    name = path.name.lower().removesuffix(".gz")
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    found = {"tsv": "tsv", "csv": "csv", "jsonl": "jsonl", "json": "jsonl"}.get(suffix)
    if found is None:
        raise DataFormatError(path, None, f"cannot infer the format from the name; pass one of {FORMATS}")
    if found == "csv" and _first_line(path).rstrip("\r\n") == ",0,1,2":
        return "openbackdoor"
    return found


def open_text(path: Path) -> io.TextIOBase:
    """Open as UTF-8 text with universal newlines off (``newline=""``), gunzipping ``.gz`` files."""
    with open(path, "rb") as f:
        magic = f.read(2)
    gz_name = path.name.lower().endswith(".gz")
    if (magic == b"\x1f\x8b") != gz_name:
        state = "is gzip-compressed but not named .gz" if not gz_name else "is named .gz but is not gzip"
        raise DataFormatError(path, None, f"file {state}")
    if gz_name:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _first_line(path: Path) -> str:
    with open_text(path) as f:
        return f.readline()


def read_tsv_plain(path: Path) -> Iterator[RawRow]:
    """TSV without quoting; the first line is the header."""
    with open_text(path) as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise DataFormatError(path, None, "file is empty (no header line)")
    header = [h.strip() for h in lines[0].rstrip("\r").split("\t")]
    if len(header) < 2:
        raise DataFormatError(path, 1, f"header {lines[0]!r} has no tab: is this really a TSV file?")
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line.strip():
            yield RawRow(number, {}, "empty line")
            continue
        parts = line.rsplit("\t", 1) if len(header) == 2 else line.split("\t")
        yield _row(number, header, [p.strip() for p in parts])


def read_delimited(path: Path, delimiter: str) -> Iterator[RawRow]:
    """CSV-quoted rows (``csv`` module); line numbers are those where each record starts."""
    with open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise DataFormatError(path, None, "file is empty (no header line)")
            if len(header) < 2:
                kind = "tab" if delimiter == "\t" else "comma"
                raise DataFormatError(path, 1, f"header {header!r} has no {kind}: wrong format?")
            start = reader.line_num + 1
            for record in reader:
                if not any(r.strip() for r in record):
                    yield RawRow(start, {}, "empty line")
                else:
                    yield _row(start, header, [r.strip() for r in record])
                start = reader.line_num + 1
        except csv.Error as e:
            raise DataFormatError(path, reader.line_num, f"malformed CSV ({e})") from e


def _row(number: int, header: list[str], parts: list[str]) -> RawRow:
    fields: dict[str, str | None] = {h: None for h in header}
    for name, value in zip(header, parts):
        fields[name] = value
    problem = None
    if len(parts) > len(header):
        problem = f"{len(parts)} fields but the header has {len(header)}"
    elif len(parts) < len(header):
        problem = f"missing field(s): {len(parts)} of {len(header)}"
    return RawRow(number, fields, problem)


def read_jsonl(path: Path) -> Iterator[RawRow]:
    """JSON Lines; every non-blank line must be a JSON object."""
    with open_text(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(path, number, f"not valid JSON ({e.msg}): is this JSON Lines?") from e
            if not isinstance(obj, dict):
                raise DataFormatError(path, number, "expected a JSON object per line")
            fields = {k: (None if v is None else str(v)) for k, v in obj.items()}
            yield RawRow(number, fields)


def read_rows(path: Path, format: str, quoting: str) -> Iterator[RawRow]:
    """Raw rows of ``path`` in ``format`` (see the module docstring)."""
    if format == "tsv":
        if quoting not in ("none", "csv"):
            raise ValueError(f"quoting must be 'none' or 'csv', got {quoting!r}")
        return read_tsv_plain(path) if quoting == "none" else read_delimited(path, "\t")
    if format in ("csv", "davidson"):
        return read_delimited(path, ",")
    if format == "openbackdoor":
        if _first_line(path).rstrip("\r\n") != ",0,1,2":
            raise DataFormatError(path, 1, "expected OpenBackdoor's CSV header ',0,1,2'")
        return read_delimited(path, ",")
    if format == "jsonl":
        return read_jsonl(path)
    raise ValueError(f"unknown format {format!r}; expected one of {FORMATS}")
