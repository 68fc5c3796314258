"""Hostile input files: every problem is one clear error naming file and line, before any work."""

from __future__ import annotations

import gzip

import pytest

from crowd.data import (
    DataFormatError,
    Example,
    check_label_set,
    corpus_labels,
    label_set,
    load_file,
    read_file,
)


def write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


# -- label sets -------------------------------------------------------------------------------------


def test_stray_label_is_named_with_file_and_line(tmp_path):
    path = write_bytes(tmp_path / "train.tsv", b"sentence\tlabel\na\t0\nb\t1\nc\t7\nd\t7\n")
    examples = load_file(path, labels=None)  # read as-is, checked afterwards
    with pytest.raises(
        DataFormatError, match=r"train\.tsv:4: label 7 is not one of the allowed labels \[0, 1\]"
    ):
        check_label_set(examples)
    with pytest.raises(DataFormatError) as info:
        check_label_set(examples)
    assert info.value.line == 4 and info.value.path == str(path) and "2 example(s)" in str(info.value)
    with pytest.raises(DataFormatError, match=r"train\.tsv:4: unknown label: 7"):
        load_file(path)  # the loader's own check (default labels 0, 1) names the same line


def test_explicit_label_list_and_complete_training_set(tmp_path):
    path = write_bytes(tmp_path / "train.tsv", b"sentence\tlabel\na\t0\nb\t2\nc\t1\n")
    examples = load_file(path, labels=[0, 1, 2])
    assert check_label_set(examples, [0, 1, 2], complete=True) == (0, 1, 2)
    with pytest.raises(DataFormatError, match=r"train\.tsv: label\(s\) \[3\] never occur"):
        check_label_set(examples, [0, 1, 2, 3], complete=True)
    with pytest.raises(ValueError, match="0..K-1"):
        label_set([1, 2])
    with pytest.raises(ValueError, match="integers"):
        label_set([0, True])


def test_examples_without_source_name_where():
    with pytest.raises(DataFormatError, match=r"^sst2 train: label 5"):
        check_label_set([Example("a", 0), Example("b", 5)], where="sst2 train")


def test_source_is_not_part_of_equality_or_dict(tmp_path):
    path = write_bytes(tmp_path / "a.tsv", b"sentence\tlabel\nx\t1\n")
    [example] = load_file(path)
    assert example.source == f"{path}:2"
    assert example == Example("x", 1) and hash(example) == hash(Example("x", 1))
    assert "source" not in example.to_dict() and "source=" not in repr(example)


def test_known_corpora_have_fixed_label_sets():
    assert corpus_labels("sst2") == corpus_labels("offenseval") == corpus_labels("hsol") == (0, 1)


# -- empty and header-only files ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, body, message",
    [
        ("a.tsv", b"", "file is empty"),
        ("a.tsv", b"sentence\tlabel\n", "no data rows"),
        ("a.tsv", b"sentence\tlabel\r\n", "no data rows"),
        ("a.csv", b"text,label\n", "no data rows"),
        ("a.jsonl", b"", "file is empty"),
        ("a.jsonl", b"\n\n", "file is empty"),
    ],
)
def test_empty_and_header_only_files_raise(tmp_path, name, body, message):
    path = write_bytes(tmp_path / name, body)
    for errors in ("raise", "skip"):
        with pytest.raises(DataFormatError, match=rf"{name}: {message}"):
            read_file(path, errors=errors)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_file(tmp_path / "nope.tsv")
    (tmp_path / "d.tsv").mkdir()
    with pytest.raises(FileNotFoundError, match="is a folder"):
        load_file(tmp_path / "d.tsv")


# -- encoding, NUL bytes, bad JSON: row problems, skippable --------------------------------------

LATIN1 = "sentence\tlabel\ngood\t1\ncaf\xe9 bad\t0\nfine\t1\n".encode("latin-1")
NUL = b"sentence\tlabel\ngood\t1\nhel\x00lo\t0\nfine\t1\n"


@pytest.mark.parametrize(
    "body, reason",
    [
        (LATIN1, r"not valid UTF-8 \(byte 0xe9 at column 4\)"),
        (NUL, r"NUL byte at column 4"),
    ],
)
def test_bad_bytes_name_file_and_line_and_can_be_skipped(tmp_path, body, reason):
    path = write_bytes(tmp_path / "a.tsv", body)
    with pytest.raises(DataFormatError, match=rf"a\.tsv:3: {reason}"):
        load_file(path)
    result = read_file(path, errors="skip")
    assert [e.text for e in result.examples] == ["good", "fine"]
    assert result.report.skipped[0].line == 3


def test_bad_bytes_in_csv_and_multiline_record(tmp_path):
    body = 'text,label\nok,1\n"two\nlin\xe9s",0\nfine,0\n'.encode("latin-1")
    path = write_bytes(tmp_path / "a.csv", body)
    with pytest.raises(DataFormatError, match=r"a\.csv:3: not valid UTF-8"):
        load_file(path)
    result = read_file(path, errors="skip")
    assert [e.text for e in result.examples] == ["ok", "fine"] and result.report.skipped[0].line == 3


def test_bad_header_encoding_always_raises(tmp_path):
    path = write_bytes(tmp_path / "a.tsv", "s\xe9ntence\tlabel\nx\t1\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"a\.tsv:1: header: not valid UTF-8"):
        read_file(path, errors="skip")
    utf16 = write_bytes(tmp_path / "b.tsv", "sentence\tlabel\nx\t1\n".encode("utf-16"))
    with pytest.raises(DataFormatError, match=r"b\.tsv:1: header: not valid UTF-8.*UTF-16"):
        load_file(utf16)


def test_bad_json_lines_are_skippable(tmp_path):
    path = write_bytes(
        tmp_path / "a.jsonl", b'{"text": "a", "label": 0}\n{bad\n[1]\n{"text": "b", "label": 1}\n'
    )
    with pytest.raises(DataFormatError, match=r"a\.jsonl:2: not valid JSON"):
        load_file(path)
    result = read_file(path, errors="skip")
    assert [e.text for e in result.examples] == ["a", "b"]
    assert [(s.line, s.reason.split(" (")[0]) for s in result.report.skipped] == [
        (2, "not valid JSON"),
        (3, "expected a JSON object per line"),
    ]


def test_no_usable_row_at_all_raises_even_when_skipping(tmp_path):
    path = write_bytes(tmp_path / "a.tsv", b"sentence\tlabel\nx\t9\ny\tpos\n")
    with pytest.raises(DataFormatError, match=r"a\.tsv:2: none of the 2 data rows could be read"):
        read_file(path, errors="skip")


def test_utf8_bom_is_ignored(tmp_path):
    path = write_bytes(tmp_path / "a.tsv", b"\xef\xbb\xbfsentence\tlabel\nx\t1\n")
    assert load_file(path) == [Example("x", 1)]


def test_corrupt_gzip(tmp_path):
    data = gzip.compress(b"sentence\tlabel\n" + b"x\t1\n" * 1000)
    path = write_bytes(tmp_path / "a.tsv.gz", data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"a\.tsv\.gz: corrupt gzip"):
        load_file(path)
