"""Prepare ``carry/`` for a GPU machine that has torch and transformers but no network and no crowd deps.

Writes into the git-ignored folder ``carry/`` (pass it in the device tool's ``carry`` list):

* ``carry/minilm``: all-MiniLM-L6-v2 as bf16 safetensors with its tokenizer (about 45 MB); point
  ``CROWD_MINILM`` at it and the ``minilm`` alias resolves there;
* ``carry/graph``: the default synonym graph (prebuilt here; loading it needs numpy only, not gensim);
* ``carry/cache/noise``: CROWD's exact substitution distributions over that graph (about 0.7 MB; computing
  them takes about a minute of quadrature, which the device then skips);
* ``carry/data``: the data files the runs need, copied from ``$CROWD_DATA`` (never committed).

On the device, from the repository root, ``bash benchmarks/device/run.sh`` uses all of it (docs/gpu.md).
By hand::

    export PYTHONPATH=. CROWD_DATA=carry/data CROWD_MINILM=carry/minilm CROWD_CACHE=/tmp/crowd-cache
    mkdir -p /tmp/crowd-cache && cp -r carry/cache/. /tmp/crowd-cache/
    python -m crowd certify --set 'method.graph="carry/graph"' --set n_copies=1000 --out $OUT/run

The total must stay under the tool's 64 MiB per call (about 47 MiB with the defaults): pick the data folders
accordingly.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import torch

from crowd.noise import CrowdNoise
from crowd.noise.synonym_graph import default_graph
from crowd.paths import cache_dir, require_data_root
from crowd.train.models import load_classifier, load_tokenizer

DEFAULT_DATA = ("sst2/clean_hiddenkiller",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="carry")
    parser.add_argument(
        "--data", nargs="*", default=list(DEFAULT_DATA), help="folders under $CROWD_DATA to copy"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    model = load_classifier("minilm", 2).base_model.to(torch.bfloat16)
    model.save_pretrained(out / "minilm")
    load_tokenizer("minilm").save_pretrained(out / "minilm")
    graph = default_graph()
    graph.save(out / "graph")
    carry_distributions(graph, out / "cache" / "noise")
    root = require_data_root()
    for rel in args.data:
        shutil.copytree(root / rel, out / "data" / rel, dirs_exist_ok=True)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {size / 2**20:.1f} MiB (the device tool carries at most 64 MiB per call)")
    return 0


def carry_distributions(graph, folder: Path) -> None:
    """CROWD's distributions for every row of ``graph`` in ``folder``, named as the device's cache looks them
    up. Files of the local cache that fit the graph's shape are copied first, so a graph whose distributions
    were computed here before costs no quadrature."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((cache_dir() / "noise").glob("crowd_pi_v*.npy")):
        if np.load(path, mmap_mode="r", allow_pickle=False).shape == graph.indices.shape:
            shutil.copy2(path, folder)
    CrowdNoise(graph, folder, progress=True).precompute()


if __name__ == "__main__":
    raise SystemExit(main())
