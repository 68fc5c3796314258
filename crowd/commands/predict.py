"""``crowd predict --model DIR [--budget T] [--out FILE] [INPUT]``: classify texts with a kept classifier.

INPUT: a text file (one text per line), a ``.jsonl`` file (a ``text`` field per line), a ``.csv`` / ``.tsv``
file (a ``text`` column), or standard input (absent or ``-``; one text per line). Every text is checked
before any is classified: an empty line, bytes that are not UTF-8 text, or a text over ``--max-chars`` is one
error naming the line. Output: one JSON object per text (text, label, radius, unit, certificate, budget,
certified, counts) on standard output or, with ``--out``, in that file (written at once, at the end).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from tqdm.auto import tqdm

from crowd.io import write_text
from crowd.pipelines.classifier import CertifiedClassifier

HELP = (
    "classify texts with a kept certified classifier (crowd certify's OUT/model, or a saved ConvexCertify "
    "classifier): label, radius, certified"
)
MAX_CHARS = 100_000
CHUNK = 1000  # texts per call: the bar advances by chunks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", nargs="?", default="-", help="texts: .txt (a line each), .jsonl, .csv, .tsv or - (stdin)"
    )
    parser.add_argument("--model", required=True, help="a saved classifier folder (e.g. runs/certify/model)")
    parser.add_argument(
        "--budget", type=int, help="certified means radius >= this (default: the training run's budget)"
    )
    parser.add_argument("--out", help="write the JSON lines here instead of standard output")
    parser.add_argument(
        "--column", default="text", help="the text field of .jsonl / column of .csv, .tsv (default: text)"
    )
    parser.add_argument(
        "--max-chars", type=int, default=MAX_CHARS, help=f"longest text accepted (default {MAX_CHARS:,})"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.budget is not None and args.budget < 0:
        raise ValueError(f"--budget must be >= 0, got {args.budget}")
    texts = read_texts(args.input, args.column, args.max_chars)
    clf = load_classifier(args.model)
    records = []
    bar = _bar(len(texts), args.no_progress)
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        records += [{"text": t, **c.as_dict()} for t, c in zip(chunk, clf.certify(chunk, args.budget))]
        bar.update(len(chunk))
    bar.close()
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if args.out:
        write_text(args.out, lines)
        print(f"{len(records)} texts classified -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(lines)
    return 0


def load_classifier(folder: str):
    """The kept classifier in ``folder``: ``crowd certify``'s (:class:`CertifiedClassifier`) or ConvexCertify's
    (:class:`crowd.ciss.CissClassifier`, a folder whose manifest says ``kind = "ciss"``); both certify alike."""
    try:
        kind = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None  # CertifiedClassifier.load says what is wrong with the folder
    if kind == "ciss":
        from crowd.ciss import CissClassifier  # lazy: CISS needs torch; a bow classifier predicts without it

        return CissClassifier.load(folder)
    return CertifiedClassifier.load(folder)


def _bar(total: int, disabled: bool):
    return tqdm(total=total, unit="text", desc="predict", disable=disabled or total <= CHUNK, file=sys.stderr)


def read_texts(source: str, column: str = "text", max_chars: int = MAX_CHARS) -> list[str]:
    """The texts of ``source`` (see the module docstring); ``ValueError`` naming the file and line otherwise."""
    name = "standard input" if source == "-" else source
    data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ValueError(f"{name}: binary data (a NUL byte at offset {nul}); expected UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{name}, line {line}: not UTF-8 text ({e.reason})") from e
    suffix = Path(source).suffix.lower() if source != "-" else ""
    if suffix == ".jsonl":
        rows = _jsonl(text, name, column)
    elif suffix in (".csv", ".tsv"):
        rows = _table(text, name, column, "\t" if suffix == ".tsv" else ",")
    else:
        rows = list(enumerate(text.splitlines(), start=1))
    if not rows:
        raise ValueError(f"{name}: no texts")
    for line, t in rows:
        if not t.strip():
            raise ValueError(f"{name}, line {line}: empty text")
        if len(t) > max_chars:
            raise ValueError(
                f"{name}, line {line}: {len(t):,} characters, more than --max-chars {max_chars:,}"
            )
    return [t for _, t in rows]


def _jsonl(text: str, name: str, column: str) -> list[tuple[int, str]]:
    rows = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            raise ValueError(
                f"{name}, line {line}: empty line (expected a JSON object with a {column!r} field)"
            )
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{name}, line {line}: not JSON ({e.msg})") from e
        if not isinstance(obj, dict) or not isinstance(obj.get(column), str):
            raise ValueError(f"{name}, line {line}: expected a JSON object with a string field {column!r}")
        rows.append((line, obj[column]))
    return rows


def _table(text: str, name: str, column: str, delimiter: str) -> list[tuple[int, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader.fieldnames is None or column not in reader.fieldnames:
        raise ValueError(f"{name}, line 1: no column {column!r} in the header {reader.fieldnames or []}")
    return [(reader.line_num, row[column] or "") for row in reader]
