"""Every command that writes a folder refuses another command's output and the user's own files, in one line
and before anything is written (crowd.pipelines.outdir); a bench that would run no cell is an error too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from crowd.attacks import BadNets, poison_corpus, write_poisoned_corpus
from crowd.cli import main
from crowd.data import Example
from crowd.pipelines.outdir import DEFEND_FILES, OUTPUTS, check_out_folder, sealed
from crowd.testing.cli import error_line, snapshot
from synonyms.graph import SynonymGraph
from synonyms.safer import import_safer_table

CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
SMALL = ["--set", "data.max_train=200", "--set", "data.max_test=50"]


@pytest.fixture(scope="module")
def certify_run(data_root, tmp_path_factory) -> Path:
    """A real ``crowd certify`` folder (bow learner, 200 training texts: a few seconds)."""
    out = tmp_path_factory.mktemp("certify") / "run"
    assert main(["certify", *SMALL, "--no-progress", "--out", str(out)]) == 0
    return out


@pytest.fixture()
def run_copy(certify_run, tmp_path) -> Path:
    """A private copy of the certify folder (a failing test cannot spoil another's)."""
    return Path(shutil.copytree(certify_run, tmp_path / "run"))


def defend_config(tmp_path: Path, model: Path) -> Path:
    """A small toy-corpus STRIP run on the tiny BERT (what the command would run were it not refused)."""
    path = tmp_path / "defend.toml"
    path.write_text(
        "seed = 0\n"
        '[data]\ndataset = "toy"\nmax_train = 120\nmax_dev = 20\nmax_test = 40\n'
        f'[victim]\nmodel = "{model}"\nepochs = 1\nlr = 3e-3\nbatch_size = 16\nwarmup_epochs = 0\ndevice = "cpu"\n'
        '[defense]\nname = "strip"\nparams = { frr = 0.1 }\n'
    )
    return path


def defend(config: Path, out: Path) -> int:
    return main(["defend", "--config", str(config), "--out", str(out), "--no-progress", "--no-victim-store"])


# Bug 1: crowd defend over a certify run, or over the user's own summary.md


def test_defend_refuses_a_certify_run_which_then_still_resumes(run_copy, tiny_bert, tmp_path, capsys):
    before = snapshot(run_copy)
    assert defend(defend_config(tmp_path, tiny_bert), run_copy) == 2
    assert error_line(capsys, "defend") == (
        f"crowd defend: error: out folder {run_copy}: holds a crowd certify run (per_text.jsonl); "
        "choose a new --out folder"
    )
    assert snapshot(run_copy) == before
    assert main(["certify", *SMALL, "--no-progress", "--out", str(run_copy)]) == 0  # resumes
    assert "reused" in (run_copy / "summary.json").read_text()


def test_defend_refuses_the_users_summary(tiny_bert, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.md").write_text("my notes")
    assert defend(defend_config(tmp_path, tiny_bert), out) == 2
    line = error_line(capsys, "defend")
    assert f"out folder {out}: holds summary.md (not listed in a crowd manifest.json)" in line
    assert snapshot(out) == {"summary.md": b"my notes"}


def test_defend_rewrites_its_own_run_and_seals_it(tiny_bert, tmp_path, capsys):
    out, config = tmp_path / "defend", defend_config(tmp_path, tiny_bert)
    assert defend(config, out) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(DEFEND_FILES)
    assert defend(config, out) == 0  # its own output: rewritten
    assert main(["certify", *SMALL, "--no-progress", "--out", str(out)]) == 2  # another command's
    assert "holds a crowd defend run (predictions.jsonl)" in error_line(capsys, "certify")
    (out / "summary.md").write_text("edited")
    assert defend(config, out) == 2
    assert "summary.md (changed since crowd wrote it)" in error_line(capsys, "defend")


# Bug 2: crowd bench over a certify run


def test_bench_refuses_a_certify_run(run_copy, capsys):
    before = snapshot(run_copy)
    argv = ["bench", str(CONFIGS / "triggers.toml"), "--scale", "smoke", "--out", str(run_copy)]
    assert main(argv) == 2
    assert error_line(capsys, "bench") == (
        f"crowd bench: error: out folder {run_copy}: holds a crowd certify run (per_text.jsonl); "
        "choose a new --out folder"
    )
    assert snapshot(run_copy) == before


def test_bench_refuses_the_users_file(data_root, tmp_path, capsys):
    (tmp_path / "triggers.md").write_text("my table")
    argv = ["bench", str(CONFIGS / "triggers.toml"), "--scale", "smoke", "--out", str(tmp_path)]
    assert main(argv) == 2
    line = error_line(capsys, "bench")
    assert f"out folder {tmp_path}: holds triggers.md, which crowd did not write" in line
    assert snapshot(tmp_path) == {"triggers.md": b"my table"}


# Bug 3: crowd synonyms build / import-safer over the user's graph.json


def tiny_vectors(tmp_path: Path) -> list[str]:
    """Options of a one-second ``crowd synonyms build`` on eight words."""
    rng = np.random.default_rng(0)
    words = ["good", "great", "bad", "film", "movie", "picture", "cat", "dog"]
    lines = [w + " " + " ".join(f"{x:.4f}" for x in rng.normal(size=8)) for w in words]
    (tmp_path / "v.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "vocab.txt").write_text(" ".join(words))
    return [
        "--vectors", str(tmp_path / "v.txt"), "--vectors-format", "glove", "--vocab-file", str(tmp_path / "vocab.txt"),
        "--epochs", "0", "--pre-components", "0", "--post-components", "0", "--wordnet-synonyms", "no",
        "--min-count", "1", "--no-progress",
    ]  # fmt: skip


def test_synonyms_build_refuses_the_users_graph_json_and_rewrites_its_own(data_root, tmp_path, capsys):
    options = [*tiny_vectors(tmp_path), "--data", str(data_root)]
    out = tmp_path / "g"
    out.mkdir()
    (out / "graph.json").write_text('{"good": ["fine"]}')
    before = snapshot(out)
    assert main(["synonyms", "build", *options, "--out", str(out)]) == 2
    assert error_line(capsys, "synonyms") == (
        f"crowd synonyms: error: out folder {out}: holds graph.json, which crowd did not write; "
        "choose a new --out folder or move the file away"
    )
    assert snapshot(out) == before
    own = tmp_path / "own"
    assert main(["synonyms", "build", *options, "--out", str(own)]) == 0
    assert main(["synonyms", "build", *options, "--out", str(own)]) == 0  # its own graph: rebuilt
    assert len(SynonymGraph.load(own)) == 8


def test_import_safer_refuses_a_certify_run(run_copy, tmp_path, capsys):
    (tmp_path / "t.json").write_text('{"good": ["nice"]}')
    before = snapshot(run_copy)
    assert main(["synonyms", "import-safer", str(tmp_path / "t.json"), "--out", str(run_copy)]) == 2
    assert "holds a crowd certify run (per_text.jsonl)" in error_line(capsys, "synonyms")
    assert snapshot(run_copy) == before


# crowd poison over a certify run (it said "crowd poison output of other settings")


def test_poison_refuses_a_certify_run(run_copy, data_root, capsys):
    before = snapshot(run_copy)
    argv = ["poison", "--dataset", "sst2", "--attack", "badnets", "--data", str(data_root)]
    assert main([*argv, "--out", str(run_copy)]) == 2
    assert error_line(capsys, "poison") == (
        f"crowd poison: error: out folder {run_copy}: holds a crowd certify run (per_text.jsonl); "
        "choose a new --out folder"
    )
    assert snapshot(run_copy) == before


# Bug 4: a bench that would run no cell


def test_bench_with_no_cell_selected_is_an_error_before_any_cell(data_root, tmp_path, capsys):
    out = tmp_path / "bench"
    sets = ["--set", 'smoke.datasets=["nope"]']
    assert main(["bench", str(CONFIGS / "triggers.toml"), "--scale", "smoke", *sets, "--out", str(out)]) == 2
    line = error_line(capsys, "bench")
    assert (
        line.startswith('crowd bench: error: --set smoke.datasets=["nope"]: selects no cell')
        and "sst2" in line
    )
    assert not out.exists()


def test_negative_max_cells_is_an_error(data_root, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["bench", str(CONFIGS / "triggers.toml"), "--scale", "smoke", "--max-cells", "-1"]
    assert main([*argv, "--out", str(out)]) == 2
    assert error_line(capsys, "bench") == (
        "crowd bench: error: --max-cells -1: must be 0 or more (0 renders the rows and runs no cell)"
    )
    assert not out.exists()


# The guard itself: every command recognises every other command's output, and accepts its own


def corpus_texts() -> tuple[list[Example], list[Example], list[Example]]:
    train = [Example(f"the movie number {i} was {'good' if i % 2 else 'bad'}", i % 2) for i in range(40)]
    dev = [Example(f"dev {i} plot", i % 2) for i in range(10)]
    return train, dev, [Example(f"test {i}", i % 2) for i in range(10)]


def fake_outputs(folder: Path, certify_run: Path) -> dict[str, Path]:
    """One folder of each command's output (certify: the real run; the others as their writers write them)."""
    defend_out = folder / "defend"
    with sealed(defend_out, DEFEND_FILES):
        for name in DEFEND_FILES:
            (defend_out / name).write_text(json.dumps({"defense": "strip", "defended": {}}))
    bench_out = folder / "bench"
    bench_out.mkdir()
    (bench_out / "rows.jsonl").write_text(json.dumps({"cell_id": "c", "table": "triggers"}) + "\n")
    (bench_out / "triggers.md").write_text("table")
    (bench_out / "triggers_curves.png").write_bytes(b"png")
    poison_out = write_poisoned_corpus(poison_corpus(BadNets(), *corpus_texts(), seed=0), folder / "poison")
    (folder / "t.json").write_text('{"good": ["nice"]}')
    graph_out = import_safer_table(folder / "t.json").save(folder / "synonyms")
    return {"certify": certify_run, "defend": defend_out, "bench": bench_out, "poison": poison_out,
            "synonyms": graph_out}  # fmt: skip


@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_each_command_accepts_only_its_own_output(certify_run, tmp_path, command):
    folders = fake_outputs(tmp_path, certify_run)
    for kind, folder in folders.items():
        before = snapshot(folder)
        if kind == command:
            check_out_folder(folder, command, "triggers")
        else:
            refusal = rf"^out folder {folder}: holds {OUTPUTS[kind].what} \("
            with pytest.raises(ValueError, match=refusal) as info:
                check_out_folder(folder, command, "triggers")
            assert "\n" not in str(info.value)
        assert snapshot(folder) == before


def test_an_edited_graph_and_a_stray_bench_file_are_refused(tmp_path):
    (tmp_path / "t.json").write_text('{"good": ["nice"], "bad": ["poor"]}')
    graph = import_safer_table(tmp_path / "t.json").save(tmp_path / "g")
    check_out_folder(graph, "synonyms")
    sims = np.array([1.0, 1.0], "float32")
    SynonymGraph(["a", "b"], np.array([0, 1, 2]), np.array([0, 1]), sims).save(tmp_path / "other")
    shutil.copy(tmp_path / "other" / "graph.npz", graph / "graph.npz")
    with pytest.raises(ValueError, match=r"holds graph\.npz \(changed since crowd wrote it\)"):
        check_out_folder(graph, "synonyms")
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "rows.jsonl").write_text("")
    check_out_folder(bench, "bench", "triggers")
    (bench / "runs" / "cell").mkdir(parents=True)
    (bench / "runs" / "cell" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds runs/cell/notes\.txt, which crowd did not write"):
        check_out_folder(bench, "bench", "triggers")
