from crowd.io import read_jsonl, write_json, write_jsonl, write_text


def test_atomic_writes_leave_no_temporaries(tmp_path):
    write_text(tmp_path / "a.txt", "héllo\n")
    write_json(tmp_path / "b.json", {"x": 1})
    write_jsonl(tmp_path / "c.jsonl", [{"i": 0}, {"i": 1}])
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert read_jsonl(tmp_path / "c.jsonl") == [{"i": 0}, {"i": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.json", "c.jsonl"]
