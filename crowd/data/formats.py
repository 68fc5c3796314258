"""Low-level readers: each yields raw rows with their line numbers, nothing more.

Formats (``format=`` of :func:`crowd.data.load_file`):

- ``"tsv"``: header line, then one row per line. ``quoting="none"`` (default)
  splits lines on tabs and never treats ``"`` specially (the HiddenKiller /
  StyleAttack files contain unbalanced quotes); when the header has two columns a
  row with extra tabs is split on its *last* tab. ``quoting="csv"`` reads
  double-quoted fields CSV-style (the HSOL file). CRLF, LF or (old Mac) CR-only line ends; fields
  are stripped of surrounding spaces (OffensEval writes ``TEXT <TAB> 0``).
- ``"csv"``: comma-separated with a header, CSV quoting; a field may be as long as the file.
- ``"openbackdoor"``: OpenBackdoor's saved CSVs, header ``,0,1,2`` = row index,
  text, label, poison label.
- ``"jsonl"``: one JSON object per line; the text field must be a JSON string (a number or ``true`` is a
  row problem naming the field, not a text).
- ``"davidson"``: the raw Davidson et al. (2017) ``labeled_data.csv``.

A header of one column is read (its missing ``label`` column is then named by the loader) unless it holds
the other format's separator (a comma in a TSV header, a tab in a CSV one): then the format is wrong.

Line ends may be mixed: CRLF and LF lines, and in a file of LF lines a lone CR (an old Mac line end) where
every piece it separates is a whole row by itself (so the rows are read, in every format alike); any
other lone CR stays inside its line (a stray CR inside a text, read as such: the CSV reader keeps it too).

Files ending in ``.gz`` are decompressed transparently. Files are UTF-8 (a byte-order mark is
ignored); every line is decoded on its own, so a line that is not UTF-8 or holds a NUL byte becomes a
row problem naming that line and column (skippable like any bad row), and a bad header line raises.
"""

from __future__ import annotations

import codecs
import csv
import errno
import gzip
import json
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crowd.data.lines import TextLine, decode_line, split_header, split_lines, split_mixed

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
    """One data row: its first line number and field values by column name (``None`` if missing).

    ``kinds``: the JSON type of JSON Lines values that were not strings (``{"text": "number"}``), whose
    ``fields`` value is their ``str``.
    """

    line: int
    fields: dict[str, str | None]
    problem: str | None = None
    kinds: dict[str, str] = field(default_factory=dict)


def check_file(path: Path) -> None:
    """Raise ``FileNotFoundError`` in one line naming ``path`` unless it is a regular file: absent, a folder,
    a broken symbolic link, a symbolic link loop, or a FIFO or device (which reading would block on)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        state = (
            f"is a broken symbolic link (to {os.readlink(path)})" if os.path.islink(path) else "no such file"
        )
        raise FileNotFoundError(f"{path}: {state}") from None
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        raise FileNotFoundError(
            f"{path}: is a symbolic link loop (its links lead back to themselves)"
        ) from None
    if stat.S_ISDIR(mode):
        raise FileNotFoundError(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise FileNotFoundError(f"{path}: is not a regular file (a FIFO, socket or device); give a data file")


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


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is named ``.gz``; raises if the name and the content disagree."""
    with open(path, "rb") as f:
        data = f.read()
    gz_name = path.name.lower().endswith(".gz")
    if data.startswith(b"\x1f\x8b") != gz_name:
        state = "is gzip-compressed but not named .gz" if not gz_name else "is named .gz but is not gzip"
        raise DataFormatError(path, None, f"file {state}")
    if gz_name:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise DataFormatError(path, None, f"corrupt gzip file ({e})") from None
    return data.removeprefix(codecs.BOM_UTF8)


def read_lines(path: Path) -> list[TextLine]:
    """Every line of ``path`` decoded on its own, so a bad byte is reported with its line and column.

    Lines end at ``\\n`` (a ``\\r`` before it is kept), or at ``\\r`` in a file with no ``\\n`` at all (old
    Mac line ends). A line that is not valid UTF-8 is decoded with replacement characters and carries a
    problem, as does a line holding a NUL byte (binary data).
    """
    chunks = split_lines(read_bytes(path))
    return [decode_line(number, raw) for number, raw in enumerate(chunks, start=1)]


def _first_line(path: Path) -> str:
    lines = split_lines(read_bytes(path))
    return lines[0].decode("utf-8", "replace") if lines else ""


def _header(path: Path, lines: list[TextLine]) -> TextLine:
    """The header line; raises for an empty file or a header that is not clean text."""
    if not lines:
        raise DataFormatError(path, None, "file is empty (no header line)")
    if lines[0].problem is not None:
        raise DataFormatError(path, 1, f"header: {lines[0].problem}")
    return lines[0]


def read_tsv_plain(path: Path) -> Iterator[RawRow]:
    """TSV without quoting; the first line is the header."""
    lines = split_header(read_lines(path), lambda piece: piece.count("\t") + 1)
    first = _header(path, lines)
    header = [h.strip() for h in first.text.rstrip("\r").split("\t")]
    if len(header) < 2 and "," in first.text:
        raise DataFormatError(path, 1, f"header {first.text!r} has no tab: is this really a TSV file?")
    for line in split_mixed(lines[1:], lambda piece: piece.count("\t") >= len(header) - 1):
        text = line.text.rstrip("\r")
        if line.problem is not None:
            yield RawRow(line.number, {}, line.problem)
        elif not text.strip():
            yield RawRow(line.number, {}, "empty line")
        else:
            parts = text.rsplit("\t", 1) if len(header) == 2 else text.split("\t")
            yield _row(line.number, header, [p.strip() for p in parts])


def read_delimited(path: Path, delimiter: str) -> Iterator[RawRow]:
    """CSV-quoted rows (``csv`` module); line numbers are those where each record starts."""
    lines = split_header(read_lines(path), lambda piece: len(_csv_fields(piece, delimiter) or ()))
    _header(path, lines)
    header_width = len(_csv_fields(lines[0].text, delimiter) or ())
    lines = [
        lines[0],
        *split_mixed(lines[1:], lambda p: len(_csv_fields(p, delimiter) or ()) == header_width),
    ]
    problems = {line.number: line.problem for line in lines if line.problem is not None}
    numbers = [line.number for line in lines]  # a line split at lone CRs: its rows keep its number
    _allow_fields(sum(len(line.text) + 1 for line in lines))
    reader = csv.reader((_keep_cr(line.text) + "\n" for line in lines), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        other = "," if delimiter == "\t" else "\t"
        if len(header) < 2 and other in header[0]:
            kind = "tab" if delimiter == "\t" else "comma"
            raise DataFormatError(path, 1, f"header {header!r} has no {kind}: wrong format?")
        start = reader.line_num
        for record in reader:
            first, last = numbers[start], numbers[reader.line_num - 1]
            bad = [problems[n] for n in range(first, last + 1) if n in problems]
            record = [r.replace(_CR, "\r") for r in record]
            if bad:
                yield RawRow(first, {}, bad[0])
            elif not any(r.strip() for r in record):
                yield RawRow(first, {}, "empty line")
            else:
                yield _row(first, header, [r.strip() for r in record])
            start = reader.line_num
    except csv.Error as e:
        raise DataFormatError(path, numbers[reader.line_num - 1], f"malformed CSV ({e})") from e


_CR = "\x00"  # a lone CR inside a line, while the csv module reads it (clean lines hold no NUL byte)


def _keep_cr(text: str) -> str:
    """``text`` with its lone CRs (not a CRLF's) hidden from the csv module, which would take them for line ends."""
    body = text.rstrip("\r")
    return body.replace("\r", _CR) + text[len(body) :]


def _csv_fields(text: str, delimiter: str) -> list[str] | None:
    """``text`` as one CSV record on one line, or ``None`` when it is not one (an open quote, a bad quote)."""
    try:
        records = list(csv.reader([text.rstrip("\r")], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return records[0] if len(records) == 1 else None


def _allow_fields(size: int) -> None:
    """Let the csv module read fields as long as ``size`` characters (its default stops at 128 KiB): no field
    is longer than the file. Only ever raised, never lowered, so concurrent readers cannot shrink it."""
    if size > csv.field_size_limit():
        csv.field_size_limit(size)


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
    """JSON Lines; every non-blank line must be a JSON object (a line that is not is a bad row)."""
    lines = read_lines(path)
    if not any(line.text.strip() for line in lines):
        raise DataFormatError(path, None, "file is empty (no JSON line)")
    for line in split_mixed(lines, _json_object):
        if line.problem is not None:
            yield RawRow(line.number, {}, line.problem)
            continue
        if not line.text.strip():
            continue
        try:
            obj = json.loads(line.text)
        except json.JSONDecodeError as e:
            yield RawRow(line.number, {}, f"not valid JSON ({e.msg}): is this JSON Lines?")
            continue
        if not isinstance(obj, dict):
            yield RawRow(line.number, {}, "expected a JSON object per line")
            continue
        kinds = {
            k: _JSON_KINDS.get(type(v), type(v).__name__) for k, v in obj.items() if not isinstance(v, str)
        }
        yield RawRow(line.number, {k: (None if v is None else str(v)) for k, v in obj.items()}, kinds=kinds)


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


_JSON_KINDS = {
    int: "number",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}


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
