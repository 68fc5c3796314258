"""Time the README's commands from a fresh clone: wall seconds and CPU seconds, one row per command.

Run: ``python benchmarks/bench_commands.py [--only install,main,crowd,tests]`` with ``$CROWD_DATA`` set, on a
machine with nothing else running (each row records the 1-minute load average at its start). The repository
is cloned (committed files only) into a temporary folder beside ``$CROWD_DATA``'s parent layout (``../shared``
linked), and each command runs there exactly as the README writes it, with a fresh ``$CROWD_CACHE`` (cold
caches: the synonym graph and CROWD's distributions are built, not read). Rows go to
``benchmarks/results/commands/rows.jsonl`` (one per command, replaced when re-measured) and carry the hash of
``crowd/configs/default.toml``, so a change of the defaults shows which figures are stale; the README's
``<!-- bench:commands -->`` block is rendered from them by ``python benchmarks/readme_tables.py --write``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from crowd.bench.runner import upsert_row
from crowd.report import hardware

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "commands"
DEFAULTS = ROOT / "crowd" / "configs" / "default.toml"

# name -> (what the README calls it, the command as the README writes it, run in the clone)
COMMANDS = {
    "install": ("install", "bash .ci/install"),
    "main": ("main job", ". .venv/bin/activate && CROWD_DATA=../shared/data crowd certify"),
    "crowd": (
        "CROWD (1,000 copies)",
        ". .venv/bin/activate && CROWD_DATA=../shared/data crowd certify --set 'method.name=\"crowd\"' "
        "--set 'model.learner=\"static\"' --set n_copies=1000 --out runs/crowd",
    ),
    "tests": ("tests", ". .venv/bin/activate && CROWD_DATA=../shared/data python -m pytest -q -n auto"),
}


def defaults_sha() -> str:
    """The hash a row carries: the built-in default config it was measured with."""
    return hashlib.sha256(DEFAULTS.read_bytes()).hexdigest()[:16]


def measure(name: str, clone: Path, env: dict[str, str]) -> dict:
    """Run one command in ``clone``; its wall time, its children's CPU time and peak memory."""
    label, command = COMMANDS[name]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.monotonic()
    done = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{name}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {
        "cell_id": name,
        "label": label,
        "command": command,
        "wall_s": round(wall, 1),
        "cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 1),
        "peak_rss_gib": round(after.ru_maxrss / 2**20, 2),  # the largest child so far (KiB on Linux)
        "load_1min_at_start": round(load, 2),
        "hardware": hardware(),
        "defaults_sha": defaults_sha(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "date": datetime.date.today().isoformat(),
        "last_line": (done.stdout.strip().splitlines() or [""])[-1][:200],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(COMMANDS), help="comma-separated: " + ", ".join(COMMANDS))
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(COMMANDS))
    if unknown:
        raise SystemExit(f"--only: unknown command(s) {unknown}; expected some of {list(COMMANDS)}")
    data = os.environ.get("CROWD_DATA")
    if not data or not Path(data).is_dir():
        raise SystemExit("set CROWD_DATA to the shared data folder (the clone links it as ../shared/data)")
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crowd-commands-"))
    clone = work / "main"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (work / "shared").symlink_to(Path(data).resolve().parent)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CROWD_DATA")}
    env["CROWD_CACHE"] = str(work / "cache")  # cold: nothing built by earlier runs is read
    if "install" not in names:  # the other commands need the clone's .venv: install it, unmeasured
        subprocess.run(["bash", ".ci/install"], cwd=clone, env=env, check=True, capture_output=True)
    try:
        for name in ["install", *[n for n in names if n != "install"]] if "install" in names else names:
            row = measure(name, clone, env)
            upsert_row(OUT, row)
            print(f"{name}: {row['wall_s']} s wall, {row['cpu_s']} CPU-s, load {row['load_1min_at_start']}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
