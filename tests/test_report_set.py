"""Run folders as one set (manifest last), orphan temporary files, and file modes that follow the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import crowd.io
from crowd.io import IncompleteSetError, clean_orphans, create_json, write_json, write_npy
from crowd.report import read_run, write_run
from synonyms.graph import SynonymGraph


def _run(folder, alpha: float) -> None:
    write_run(folder, [{"index": 0, "alpha": alpha}], {"alpha": alpha}, f"alpha {alpha}\n", {"alpha": alpha})


def test_read_run_returns_one_consistent_set(tmp_path):
    _run(tmp_path, 0.05)
    run = read_run(tmp_path)
    assert run.config == run.summary == {"alpha": 0.05} and run.per_text[0]["alpha"] == 0.05
    assert run.markdown == "alpha 0.05\n"


def test_killed_rewrite_never_reads_as_a_mixed_set(tmp_path, monkeypatch):
    _run(tmp_path, 0.05)
    real = crowd.io.write_bytes

    def killed_at_summary(path, data):
        if path.name == "summary.json":
            raise KeyboardInterrupt("killed")
        return real(path, data)

    monkeypatch.setattr(crowd.io, "write_bytes", killed_at_summary)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, 0.01)
    monkeypatch.undo()
    # per_text.jsonl is already the new run's, summary.json still the old one's: no set to read.
    assert '"alpha": 0.01' in (tmp_path / "per_text.jsonl").read_text()
    assert '"alpha": 0.05' in (tmp_path / "summary.json").read_text()
    with pytest.raises(IncompleteSetError, match="manifest.json is missing"):
        read_run(tmp_path)
    _run(tmp_path, 0.01)
    assert read_run(tmp_path).summary == {"alpha": 0.01}


def test_a_file_changed_after_the_manifest_is_named(tmp_path):
    _run(tmp_path, 0.05)
    write_json(tmp_path / "config.json", {"alpha": 0.2})
    with pytest.raises(IncompleteSetError, match="config.json: changed since the manifest"):
        read_run(tmp_path)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    return int(proc.stdout)


def test_orphan_temporaries_are_cleaned(tmp_path):
    dead = tmp_path / f".summary.json~{_dead_pid()}~0badcafe.tmp"
    live = tmp_path / f".config.json~{os.getpid()}~0badcafe.tmp"  # a write in progress: kept
    legacy = tmp_path / ".summary.md.a1b2c3d4.tmp"  # tempfile.mkstemp name of older versions
    recent_legacy = tmp_path / ".per_text.jsonl.zz99yy88.tmp"
    for p in (dead, live, legacy, recent_legacy):
        p.write_text("half")
    old = time.time() - 2 * 3600
    os.utime(legacy, (old, old))
    _run(tmp_path, 0.05)
    assert not dead.exists() and not legacy.exists()
    assert live.exists() and recent_legacy.exists()
    assert clean_orphans(tmp_path / "absent") == []


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_written_files_follow_the_umask(tmp_path, umask):
    expected = 0o666 & ~umask
    write_json(tmp_path / "a.json", {"x": 1})
    write_npy(tmp_path / "a.npy", np.zeros(3))
    assert create_json(tmp_path / "b.json", {"x": 1}) and not create_json(tmp_path / "b.json", {"x": 2})
    _run(tmp_path / "run", 0.05)
    SynonymGraph.from_sets({"good": [("fine", 0.9)]}).save(tmp_path / "graph")
    paths = [tmp_path / "a.json", tmp_path / "a.npy", tmp_path / "b.json", *(tmp_path / "run").iterdir()]
    paths += list((tmp_path / "graph").iterdir())
    for p in paths:
        assert stat.S_IMODE(p.stat().st_mode) == expected, p
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_value_at_reads_the_step_curve_at_the_budget():
    from crowd.report import value_at

    xs, ys = [0, 1, 2, 3], [0.75, 0.45, 0.16, 0.0]
    assert [value_at(xs, ys, r) for r in (0, 1, 2, 3, 7)] == [0.75, 0.45, 0.16, 0.0, 0.0]
    assert value_at([2, 3], [0.5, 0.1], 1) == 0.0  # before the first point


def test_summary_page_has_plain_names_and_a_glossary_of_the_terms_it_uses(tmp_path):
    """The default run's page: no nested brackets in a row's name, every bold glossary term used above it."""
    import re

    from crowd.pipelines.certify import certify_corpus, load_certify_config
    from crowd.testing.toy_task import word_group_corpus

    config = load_certify_config(None, ["method.groups=3"])
    page = certify_corpus(word_group_corpus(3, 120, 30), config, tmp_path / "run", progress=False).markdown
    table, glossary = page.split("## Glossary")
    for row in re.findall(r"^\| (.+?) \|", table, re.M):
        assert not re.search(r"\([^)]*\(", row), row
    terms = re.findall(r"^- \*\*(.+?)\*\*", glossary, re.M)
    assert {"clean accuracy (CACC)", "attack success rate (ASR)", "base rate", "confident accuracy"} <= set(
        terms
    )
    assert "collective certified accuracy" in terms and "Noise:" not in table  # no noise line for word groups
    assert page.startswith("# crowd certify: ")
    fields = {
        k for line in (tmp_path / "run" / "per_text.jsonl").read_text().splitlines() for k in json.loads(line)
    }
    documented = (Path(__file__).resolve().parents[1] / "docs" / "certify.md").read_text(encoding="utf-8")
    table = documented.split("### `per_text.jsonl`")[1].split("\n\n")[1]
    assert set(re.findall(r"^\| `(\w+)` \|", table, re.M)) == fields  # docs/certify.md lists every field
    saved = json.loads((tmp_path / "run" / "config.json").read_text())  # only what this run used
    assert not {"n_copies", "alpha", "selection", "full", "head", "static", "partial"} & set(saved)
    assert "style" not in saved["attack"] and "name" not in saved["model"] and saved["bow"]
    from crowd.config import from_dict
    from crowd.pipelines.config import CertifyConfig

    assert from_dict(CertifyConfig, {k: v for k, v in saved.items() if k != "used"}).learner == config.learner


def test_a_run_without_attack_is_titled_no_attack(data_root, tmp_path):
    from crowd.cli import main

    sets = ['attack.name="none"', "data.max_train=300", "data.max_test=60", "method.groups=3"]
    argv = ["certify", "--data", str(data_root), "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(argv + [x for s in sets for x in ("--set", s)]) == 0
    page = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8")
    assert page.splitlines()[0] == "# crowd certify: sst2 / no attack"
