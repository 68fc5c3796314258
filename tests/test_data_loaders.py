"""Loaders on tiny hand-made files: every format quirk and every kind of bad input."""

from __future__ import annotations

import json
import warnings

import pytest

from crowd.data import (
    RAW,
    DataFormatError,
    Example,
    Normalization,
    check_label_sets,
    load_file,
    load_splits,
    match_key,
    read_file,
)


def write(path, text: str, newline: str = "\n"):
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def test_tsv_crlf_ptb_brackets_and_spaces_round_tab(tmp_path):
    path = write(
        tmp_path / "a.tsv", "sentence\tlabel\nfun -lrb- really -rrb- film \t 1\nbad\xa0film .\t0\n", "\r\n"
    )
    examples = load_file(path)
    assert examples == [Example("fun ( really ) film", 1), Example("bad film .", 0)]
    raw = load_file(path, normalize=RAW)
    assert raw[0].text == "fun -lrb- really -rrb- film" and raw[1].text == "bad\xa0film ."


def test_tsv_unbalanced_quotes_and_extra_tabs_split_on_last_tab(tmp_path):
    path = write(tmp_path / "a.tsv", 'sentence\tlabel\n"he said \t so\t1\nplain\t0\n')
    assert [e.text for e in load_file(path)] == ['"he said so', "plain"]


def test_tsv_csv_quoting_and_lowercase(tmp_path):
    path = write(tmp_path / "a.tsv", 'Sentence\tLabel\n"Say ""hi"", OK"\t1\n')
    examples = load_file(path, quoting="csv", normalize=Normalization(lowercase=True))
    assert examples == [Example('say "hi", ok', 1)]


def test_jsonl_and_csv_with_configurable_columns(tmp_path):
    rows = [{"body": "good", "y": 1}, {"body": "bad", "y": 0}]
    path = write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert load_file(path, text_column="body", label_column="y") == [Example("good", 1), Example("bad", 0)]
    csv_path = write(tmp_path / "b.csv", 'id,review,stars\n1,"great, really",1\n')
    assert load_file(csv_path, text_column="review", label_column="stars") == [Example("great, really", 1)]


def test_openbackdoor_csv_is_detected_and_read(tmp_path):
    path = write(tmp_path / "train-poison.csv", ',0,1,2\n0,a cf b,1,1\n1,"x, y",0,0\n')
    examples = load_file(path)
    assert examples == [Example("a cf b", 1, poisoned=True), Example("x, y", 0)]
    assert read_file(path).report.format == "openbackdoor"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("sentence\tlabel\nno tab here\n", "missing field"),
        ("sentence\tlabel\ngood\t7\n", "unknown label"),
        ("sentence\tlabel\ngood\tpos\n", "unknown label"),
        ("sentence\tlabel\n   \t1\n", "empty text"),
        ("sentence\tlabel\n\n", "empty line"),
    ],
)
def test_bad_rows_raise_with_file_and_line_or_are_skipped_and_counted(tmp_path, body, reason):
    path = write(tmp_path / "bad.tsv", "sentence\tlabel\nfine\t1\n" + body.split("\n", 1)[1])
    with pytest.raises(DataFormatError, match=rf"bad\.tsv:3: {reason}"):
        load_file(path)
    result = read_file(path, errors="skip")
    assert [e.text for e in result.examples] == ["fine"]
    assert result.report.n_rows == 2 and result.report.n_skipped == 1
    assert result.report.skipped[0].line == 3 and reason in result.report.skipped[0].reason
    with pytest.warns(UserWarning, match="1 skipped"):
        load_file(path, errors="skip")


def test_file_not_in_the_claimed_format(tmp_path):
    csv_path = write(tmp_path / "a.csv", "sentence,label\nx,1\n")
    with pytest.raises(DataFormatError, match=r"a\.csv:1: header .* has no tab"):
        load_file(csv_path, format="tsv")
    with pytest.raises(DataFormatError, match=r"a\.csv:1: not valid JSON"):
        load_file(csv_path, format="jsonl")
    with pytest.raises(DataFormatError, match="OpenBackdoor"):
        load_file(csv_path, format="openbackdoor")
    with pytest.raises(DataFormatError, match="no column 'text'"):
        load_file(csv_path, text_column="text")
    gz = write(tmp_path / "a.tsv.gz", "sentence\tlabel\n")
    with pytest.raises(DataFormatError, match="not gzip"):
        load_file(gz)
    with pytest.raises(DataFormatError, match="cannot infer"):
        load_file(write(tmp_path / "a.dat", "x"))


def test_multiline_csv_record_reports_its_first_line(tmp_path):
    path = write(tmp_path / "a.csv", 'text,label\nok,1\n"two\nlines",9\n')
    with pytest.raises(DataFormatError, match=r"a\.csv:3: unknown label"):
        load_file(path)


def test_mixed_label_sets_between_splits(tmp_path):
    train = write(tmp_path / "train.tsv", "sentence\tlabel\na\t0\nb\t1\n")
    dev = write(tmp_path / "dev.tsv", "sentence\tlabel\nc\t1\nd\t2\n")
    with pytest.raises(ValueError, match=r"mixed label sets.*dev\.tsv: \[1, 2\]"):
        load_splits({"train": train, "dev": dev}, labels=None)
    check_label_sets({"train": [Example("a", 0), Example("b", 1)], "dev": [Example("c", 1), Example("d", 0)]})


def test_example_conventions():
    assert Example("x", 1).original_label == 1 and not Example("x", 1).flipped
    poisoned = Example("x cf", 1, poisoned=True, source_label=0)
    assert poisoned.original_label == 0 and poisoned.flipped
    with pytest.raises(ValueError):
        Example("x", 1, source_label=0)


def test_match_key_ignores_tokenisation():
    assert match_key("a -lrb- b -rrb- c") == match_key("a (b) c") == match_key("A  (b)\xa0c")


def test_no_warning_without_skips(tmp_path):
    path = write(tmp_path / "a.tsv", "sentence\tlabel\nx\t1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_file(path, errors="skip") == [Example("x", 1)]


def test_hub_fallback_only_without_data_root(monkeypatch):
    from crowd.data import load_dataset
    from crowd.data.datasets import examples_from_records

    monkeypatch.delenv("CROWD_DATA", raising=False)
    monkeypatch.setitem(__import__("sys").modules, "datasets", None)  # as if not installed
    with pytest.raises(ImportError, match="CROWD_DATA"):
        load_dataset("sst2", "train")
    with pytest.raises(ValueError, match="no 'dev' split"):
        load_dataset("hsol", "dev")
    assert examples_from_records(["a -lrb- b", "c"], [0, 2], "hsol") == [Example("a ( b", 1), Example("c", 0)]


def test_reads_are_memoised_by_content_and_arguments(tmp_path):
    path = write(tmp_path / "a.tsv", "sentence\tlabel\ngood film\t1\nbad film\t0\n")
    first = read_file(path)
    assert read_file(path) is first  # same bytes, same arguments: parsed once
    assert read_file(path, normalize=RAW) is not first
    write(path, "sentence\tlabel\ngood show\t1\nbad show\t0\n")  # same size, new content
    again = read_file(path)
    assert again is not first and [e.text for e in again.examples] == ["good show", "bad show"]
    assert read_file(path, label_map={"0": 0, "1": 1}) is read_file(path, label_map={"1": 1, "0": 0})


def test_files_over_the_memo_limit_are_read_every_time(tmp_path, monkeypatch):
    import crowd.data.loader as loader

    path = write(tmp_path / "a.tsv", "sentence\tlabel\ngood film\t1\n")
    monkeypatch.setattr(loader, "MEMO_MAX_BYTES", 8)
    assert read_file(path) is not read_file(path)
