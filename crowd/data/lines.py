"""Physical lines of a data file, and where lone CRs (old Mac line ends mixed with LF ones) end rows.

Lines end at ``\\n`` (a ``\\r`` before it is kept), or at ``\\r`` in a file with no ``\\n`` at all. In a file of
LF lines a lone CR ends a row only where every piece it separates is a whole row by itself
(:func:`split_mixed`, :func:`split_header`), so TSV, CSV and JSON Lines read mixed line ends alike and a CR
inside a text stays in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TextLine:
    """One physical line (1-based ``number``) without its ``\\n``; ``problem`` if it is not clean UTF-8 text."""

    number: int
    text: str
    problem: str | None = None


def split_lines(data: bytes) -> list[bytes]:
    """``data`` cut into lines at ``\\n``, or at ``\\r`` when it holds no ``\\n`` (CR-only line ends)."""
    end = b"\n" if b"\n" in data or b"\r" not in data else b"\r"
    chunks = data.split(end)
    if chunks[-1] == b"":
        chunks.pop()
    return chunks


def decode_line(number: int, raw: bytes) -> TextLine:
    """Line ``number`` decoded as UTF-8; not UTF-8 (with replacement characters) or a NUL byte is its problem."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        column = len(raw[: e.start].decode("utf-8", "replace")) + 1
        problem = (
            f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {column}); "
            "save the file as UTF-8 (is it Latin-1, Windows-1252 or UTF-16?)"
        )
        return TextLine(number, raw.decode("utf-8", "replace"), problem)
    if "\x00" in text:
        return TextLine(number, text, f"NUL byte at column {text.index(chr(0)) + 1}: binary data, not text")
    return TextLine(number, text)


def split_header(lines: list[TextLine], width: Callable[[str], int]) -> list[TextLine]:
    """``lines`` with the header line cut at lone CRs when every piece has the header's ``width`` (2 or more
    fields): the header and the first rows of a file whose first line ends are CR-only ones."""
    if not lines or lines[0].problem is not None:
        return lines
    pieces = lines[0].text.rstrip("\r").split("\r")
    if len(pieces) > 1 and width(pieces[0]) >= 2 and all(width(p) == width(pieces[0]) for p in pieces):
        return [TextLine(lines[0].number, p) for p in pieces] + lines[1:]
    return lines


def split_mixed(lines: list[TextLine], is_row: Callable[[str], bool]) -> list[TextLine]:
    """``lines`` with each line that holds lone CRs (mixed line ends: CR-only ones in a file of LF or CRLF
    ones) cut there when every piece ``is_row`` by itself; the pieces keep the line's number. A line whose
    pieces are not all rows keeps its CRs: a CR inside a text."""
    out: list[TextLine] = []
    for line in lines:
        body = line.text.rstrip("\r")
        pieces = body.split("\r")
        if line.problem is None and len(pieces) > 1 and all(p.strip() and is_row(p) for p in pieces):
            out.extend(TextLine(line.number, piece) for piece in pieces)
        else:
            out.append(line)
    return out
