from pathlib import Path

import pytest

from crowd.io import read_jsonl, upsert_jsonl, write_json, write_jsonl, write_text


def test_atomic_writes_leave_no_temporaries(tmp_path):
    write_text(tmp_path / "a.txt", "héllo\n")
    write_json(tmp_path / "b.json", {"x": 1})
    write_jsonl(tmp_path / "c.jsonl", [{"i": 0}, {"i": 1}])
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert read_jsonl(tmp_path / "c.jsonl") == [{"i": 0}, {"i": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.json", "c.jsonl"]


RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
# The benchmark scripts that keep one row per key in a single JSON Lines file, and their keys.
KEYED_RESULTS = {
    "bench_features_cpu.jsonl": ("part",),
    "bench_partitions_cpu.jsonl": ("method", "dataset"),
    "bench_victim_cpu.jsonl": ("part", "dataset", "n_train", "victim"),
    "noise_tv.jsonl": ("dataset",),
}


def test_upsert_jsonl_replaces_the_row_with_the_same_key_and_appends_new_ones(tmp_path):
    path = tmp_path / "rows.jsonl"
    upsert_jsonl(path, {"k": 1, "v": "a"}, key=("k",))
    upsert_jsonl(path, {"k": 2, "v": "b"}, key=("k",))
    upsert_jsonl(path, {"k": 1, "v": "c"}, key=("k",))
    assert read_jsonl(path) == [{"k": 2, "v": "b"}, {"k": 1, "v": "c"}]
    # Keys compare as JSON: a tuple is the list it was saved as, nested key order does not matter.
    upsert_jsonl(path, {"k": (1, {"b": 2, "a": 1}), "v": "d"}, key=("k",))
    upsert_jsonl(path, {"k": [1, {"a": 1, "b": 2}], "v": "e"}, key=("k",))
    assert read_jsonl(path)[-1] == {"k": [1, {"a": 1, "b": 2}], "v": "e"} and len(read_jsonl(path)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl", "rows.jsonl.lock"]


@pytest.mark.parametrize("name", sorted(KEYED_RESULTS))
def test_upsert_jsonl_keeps_the_committed_rows_byte_for_byte(tmp_path, name):
    original = (RESULTS / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(original)
    rows, key = read_jsonl(path), KEYED_RESULTS[name]
    upsert_jsonl(path, rows[-1], key=key)  # re-measuring the last row: the file is unchanged
    assert path.read_bytes() == original
    upsert_jsonl(path, {**rows[0], **{k: "new" for k in key}}, key=key)  # a new row: appended
    assert path.read_bytes().startswith(original) and len(read_jsonl(path)) == len(rows) + 1
