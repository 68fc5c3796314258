"""Every owed GPU figure in one run: parts a-d of :mod:`scales`, each under its own time budget.

Called by ``benchmarks/device/run.sh`` (see docs/gpu.md). The total budget (``--budget``, default 570 s on a
GPU, so one 10-minute device command holds it with room to spare) is shared among the selected parts in
proportion to their weights; time a part leaves unused goes to the parts after it. A part whose share is
below its minimum is skipped with the reason logged; a part that reaches its share is stopped (see
:mod:`parts`). Rows are appended to ``OUT/rows.jsonl`` as they are made; at the end ``OUT/gpu.md`` renders
them, ``OUT/runs.tar.gz`` holds each ``crowd certify`` run's summary, ``OUT/run.log`` every line; on a GPU
the rows and the page are also copied to ``benchmarks/results/gpu/`` for committing.

Without CUDA it stops at once (exit 2) unless ``--dry-run`` (or ``CROWD_DEVICE_DRY=1``): then every part
runs at a tiny scale on the CPU (tiny BERTs, a small synonym graph, 160 SST-2 texts) to test the plumbing.
Exit status: 0 when every row is ok, partial, skipped or stopped at its limit; 1 when a part failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from benchmarks.device.parts import RESERVE_S, ROOT, RUNNERS, Run, last_line, run_child, worker
from benchmarks.device.render import render
from benchmarks.device.scales import DRY, GPU, PARTS, Scale
from crowd.io import read_jsonl
from crowd.report import hardware

OUT_FILES = ("rows.jsonl", "run.log", "gpu.md", "runs.tar.gz")
RUN_FILES = ("summary.json", "summary.md", "config.json", "curve.png")


def fail(message: str) -> None:
    print(f"device script: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny CPU mode (also CROWD_DEVICE_DRY=1)")
    parser.add_argument("--parts", default="a,b,c,d", help="comma-separated subset of a,b,c,d")
    parser.add_argument("--budget", type=float, help="total seconds (default 570 on a GPU, 900 dry)")
    parser.add_argument("--out", default=os.environ.get("OUT") or "runs/device", help="rows, page, log")
    parser.add_argument("--work", help="scratch folder (default /tmp/crowd-device[-dry])")
    parser.add_argument("--carry", default="carry", help="folder written by prepare_carry.py")
    parser.add_argument("--results", help="copy rows and page here (default benchmarks/results/gpu on a GPU)")
    args = parser.parse_args(argv)
    args.dry_run = args.dry_run or os.environ.get("CROWD_DEVICE_DRY") == "1"
    keys = [k.strip() for k in args.parts.split(",") if k.strip()]
    if not keys or set(keys) - set(PARTS):
        parser.error(f"--parts: choose from {', '.join(PARTS)}, got {args.parts!r}")
    args.keys = list(dict.fromkeys(keys))
    return args


def preflight(dry: bool) -> dict:
    """Versions and hardware; exits (status 2) with a clear message when CUDA is missing and not dry."""
    try:
        import torch  # lazy: a missing torch gets this script's message (exit 2), not a traceback
        import transformers  # lazy: a missing transformers gets this script's message (exit 2), not a traceback
    except ImportError as e:
        fail(f"cannot import {e.name}: install torch (a CUDA build) and transformers first")
    if not dry and not torch.cuda.is_available():
        fail(
            f"CUDA is not available (torch {torch.__version__}, CUDA build {torch.version.cuda}): this script "
            "measures GPU figures. Install a CUDA build of torch on a machine with an NVIDIA GPU, or run "
            "`bash benchmarks/device/run.sh --dry-run` (or CROWD_DEVICE_DRY=1) for the tiny CPU mode."
        )
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda,
        "hardware": hardware(),
    }


def environment(args: argparse.Namespace, scale: Scale, work: Path) -> str | None:
    """Set the environment every child inherits; returns the synonym graph path (``None``: the default)."""
    carry = Path(args.carry)
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env["CROWD_CACHE"], env["CROWD_FEATURE_CACHE"] = str(work / "cache"), str(work / "features")
    os.environ.update(env)
    if scale is DRY:
        return str(work / "graph")
    for var, sub in (("CROWD_DATA", "data"), ("CROWD_MINILM", "minilm")):
        if not os.environ.get(var) and (carry / sub).is_dir():
            os.environ[var] = str((carry / sub).resolve())
    if (carry / "cache").is_dir():  # CROWD's exact substitution distributions, computed once in prepare_carry
        shutil.copytree(carry / "cache", work / "cache", dirs_exist_ok=True)
    return str((carry / "graph").resolve()) if (carry / "graph").is_dir() else None


def check_inputs(scale: Scale) -> None:
    """Fail before any work when the data or (on a GPU) the MiniLM is missing."""
    data = os.environ.get("CROWD_DATA")
    if not data or not (Path(data) / "sst2" / "clean_hiddenkiller" / "train.tsv").is_file():
        fail(
            f"no SST-2 under CROWD_DATA={data!r} (expected sst2/clean_hiddenkiller/train.tsv): set CROWD_DATA "
            "or run `python -m benchmarks.device.prepare_carry` first and keep carry/ beside the repository"
        )
    if scale is GPU:
        from crowd.train.models import (  # lazy: torch and transformers, imported after preflight checked them
            ModelNotFoundError,
            check_model,
        )

        try:
            check_model("minilm")
        except ModelNotFoundError as e:
            fail(f"{e} (set CROWD_MINILM, or run prepare_carry.py and keep carry/minilm)")


def make_run(args: argparse.Namespace, started: float) -> Run:
    scale = DRY if args.dry_run else GPU
    info = preflight(args.dry_run)
    work = Path(args.work or f"/tmp/crowd-device{'-dry' if args.dry_run else ''}").resolve()
    out = Path(args.out).resolve()
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    for name in OUT_FILES:
        (out / name).unlink(missing_ok=True)
    graph = environment(args, scale, work)
    check_inputs(scale)
    total = scale.total_s if args.budget is None else args.budget
    common = {
        **info,
        "scale": scale.name,
        "dry_run": scale is DRY,
        "budget_total_s": total,
        "commit": commit(),
    }
    return Run(scale, out, work, dict(os.environ), graph, started, started + total, common)


def commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def setup(run: Run, keys: list[str]) -> bool:
    """Dry: the tiny models and graph every part uses; GPU: the random bert-base for part c."""
    if run.scale is GPU and "c" not in keys or run.left() - RESERVE_S < min(PARTS[k].min_s for k in keys):
        return True  # nothing to set up, or no part can run anyway (each is skipped with its reason)
    flag = ["--bert-base"] if run.scale is GPU else []
    out = run_child(run, "setup", worker("setup", run, *flag), min(180.0, run.left() - RESERVE_S))
    if out.rc != 0:
        why = "limit reached" if out.rc is None else last_line(out.log)
        run.add({"part": "setup", "name": "setup", "status": "error", "reason": f"setup failed: {why}"})
    return out.rc == 0


def run_parts(run: Run, keys: list[str]) -> None:
    """Each part gets its weight's share of the time left; below its minimum it is skipped."""
    for i, key in enumerate(keys):
        part = PARTS[key]
        share = (run.left() - RESERVE_S) * part.weight / sum(PARTS[k].weight for k in keys[i:])
        if share < part.min_s:
            reason = f"budget gone: {max(share, 0):.0f} s left for it, it needs at least {part.min_s:.0f} s"
            run.add({"part": key, "name": key, "status": "skipped", "reason": reason})
            continue
        run.say(f"part {key} ({part.title}): budget {share:.0f} s")
        try:
            RUNNERS[key](run, share)
        except Exception as e:  # one broken part must not cost the others their figures
            run.add({"part": key, "name": key, "status": "error", "reason": f"{type(e).__name__}: {e}"})


def finish(run: Run, results: Path | None) -> int:
    """Render the page, archive the run summaries, copy rows and page to ``results``; the exit status."""
    rows_path = run.out / "rows.jsonl"
    rows = read_jsonl(rows_path) if rows_path.exists() else []
    (run.out / "gpu.md").write_text(render(rows), encoding="utf-8")
    with tarfile.open(run.out / "runs.tar.gz", "w:gz") as tar:
        for folder in sorted(p for p in run.work.iterdir() if (p / "summary.json").is_file()):
            for name in RUN_FILES:
                if (folder / name).is_file():
                    tar.add(folder / name, arcname=f"{folder.name}/{name}")
    if results is not None and rows:
        results.mkdir(parents=True, exist_ok=True)
        for name in ("rows.jsonl", "gpu.md"):
            shutil.copyfile(run.out / name, results / name)
    errors = [r for r in rows if r.get("status") == "error"]
    run.say(f"done: {len(rows)} rows, {len(errors)} errors; {run.out}/gpu.md")
    return 1 if errors else 0


def stopped(signum, frame) -> None:
    """SIGTERM: unwind (the running child's process group is stopped on the way), then write what is done."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse(argv)
    run = make_run(args, started)
    signal.signal(signal.SIGTERM, stopped)
    budget = f"budget {run.deadline - started:.0f} s"
    run.say(f"scale {run.scale.name}, parts {','.join(args.keys)}, {budget}; {run.common['hardware']}")
    default = None if run.scale is DRY else ROOT / "benchmarks" / "results" / "gpu"
    try:
        if setup(run, args.keys):
            run_parts(run, args.keys)
    except KeyboardInterrupt as e:
        run.add({"part": "all", "name": "script", "status": "error", "reason": f"stopped from outside ({e})"})
    return finish(run, Path(args.results) if args.results else default)


if __name__ == "__main__":
    raise SystemExit(main())
