"""The kept classifier in use: folder size, load time, ``certify`` throughput, and ``crowd predict`` cold.

Classifiers (each trained once by ``crowd certify`` on full SST-2 with BadNets, the models kept in
``WORK/NAME/model``; a finished one is reused):

* ``main``: the main job (word partitions, 9 groups, the ``bow`` learner with NB-LR and GloVe);
* ``crowd-static-1000``: CROWD, 1,000 noisy copies, the ``static`` learner (the README's CROWD command);
* ``dpa-50``: DPA, 50 partitions, ``bow`` (the run's defaults: NB-LR and GloVe);
* ``textguard-partial-9``: word partitions, 9 groups, the ``partial`` learner (MiniLM's top 2 layers).

For each, in a fresh process per measurement with 1 and with 2 threads (``OMP_NUM_THREADS``, torch's threads):
``load_s`` (``CertifiedClassifier.load``), ``texts_per_s`` at batch 1 (texts certified one call each) and at
batch 1,000 (SST-2 test texts, one call). Then ``echo "a fine film" | crowd predict --model DIR``, cold, wall
time. Ratios: every throughput against the main job's at batch 1,000 on 1 thread, measured in the same run.

    CROWD_DATA=../shared/data python benchmarks/bench_classifier.py --out benchmarks/results/bench_classifier_cpu.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from crowd.io import upsert_jsonl
from crowd.report import hardware

ROOT = Path(__file__).resolve().parent.parent
CLASSIFIERS = {
    "main": [],
    "crowd-static-1000": ['method.name="crowd"', 'model.learner="static"', "n_copies=1000"],
    "dpa-50": ['method.name="dpa"', "method.partitions=50"],
    "textguard-partial-9": ["method.groups=9", 'model.learner="partial"'],
}
BATCH_ONE_TEXTS = 100  # texts certified one call each
MEASURE = r"""
import json, sys, time
start = time.perf_counter()
from crowd.pipelines.classifier import CertifiedClassifier
from crowd.data.datasets import load_dataset
folder, batch, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
clf = CertifiedClassifier.load(folder)
load_s = time.perf_counter() - t0
texts = [e.text for e in load_dataset("sst2", "test")][:n]
clf.certify(texts[:1])  # warm-up: a first call pays for lazy set-up (the encoder, the noise tables)
t0 = time.perf_counter()
if batch == 1:
    for t in texts:
        clf.certify([t])
else:
    for i in range(0, len(texts), batch):
        clf.certify(texts[i : i + batch])
seconds = time.perf_counter() - t0
print(json.dumps({"load_s": load_s, "texts": len(texts), "seconds": seconds, "import_and_load_s": t0 - start}))
"""


def settings_key(name: str) -> str:
    """What a kept classifier was trained from: the built-in defaults' hash and the classifier's overrides."""
    defaults = hashlib.sha256((ROOT / "crowd" / "configs" / "default.toml").read_bytes()).hexdigest()[:16]
    return json.dumps({"defaults_sha": defaults, "overrides": CLASSIFIERS[name]}, sort_keys=True)


def train(name: str, work: Path) -> Path:
    """``WORK/NAME/model``, trained by ``crowd certify`` unless a sealed one trained from today's defaults and
    the same overrides is there (``WORK/NAME/settings.json``); a stale one is trained again."""
    out = work / name
    marker = out / "settings.json"
    stale = not marker.exists() or marker.read_text(encoding="utf-8") != settings_key(name)
    if stale and out.exists():
        shutil.rmtree(out)
    if not (out / "model" / "manifest.json").exists():
        sets = [a for s in CLASSIFIERS[name] for a in ("--set", s)]
        subprocess.run(
            [sys.executable, "-m", "crowd", "certify", "--no-progress", "--out", str(out), *sets], check=True
        )
        marker.write_text(settings_key(name), encoding="utf-8")
    return out / "model"


def measure(folder: Path, threads: int, batch: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    n = BATCH_ONE_TEXTS if batch == 1 else 1000
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(folder), str(batch), str(n)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_predict(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["crowd", "predict", "--model", str(folder)],
        input="a fine film\n",
        capture_output=True,
        check=True,
        text=True,
    )
    return time.perf_counter() - start


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", required=True, help="rows (JSON Lines), one per classifier x threads x batch"
    )
    parser.add_argument("--work", default="runs/bench_classifier", help="where the classifiers are trained")
    parser.add_argument("--only", nargs="*", default=list(CLASSIFIERS), help="classifiers to measure")
    args = parser.parse_args()
    work = Path(args.work)
    rows = []
    for name in args.only:
        folder = train(name, work)
        manifest = json.loads((folder / "manifest.json").read_text())
        for threads in (1, 2):
            for batch in (1, 1000):
                m = measure(folder, threads, batch)
                row = {
                    "classifier": name,
                    "threads": threads,
                    "batch": batch,
                    "models": manifest["n_models"],
                    "learner": manifest["learner"],
                    "method": manifest["method"],
                    "folder_bytes": folder_bytes(folder),
                    "load_s": round(m["load_s"], 4),
                    "texts_per_s": round(m["texts"] / m["seconds"], 2),
                    "texts": m["texts"],
                    "hardware": hardware(),
                    "date": time.strftime("%Y-%m-%d"),
                }
                if threads == 1 and batch == 1:
                    row["predict_cold_s"] = round(cold_predict(folder), 3)
                rows.append(row)
                upsert_jsonl(args.out, row, ("classifier", "threads", "batch"))
                print(json.dumps(row), flush=True)
    base = next((r for r in rows if (r["classifier"], r["threads"], r["batch"]) == ("main", 1, 1000)), None)
    for r in rows if base else ():  # ratios within this run only
        r["ratio_to_main_1000_1"] = round(r["texts_per_s"] / base["texts_per_s"], 4)
        upsert_jsonl(args.out, r, ("classifier", "threads", "batch"))


if __name__ == "__main__":
    main()
