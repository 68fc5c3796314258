"""Prepare ``carry/`` for a GPU machine that has torch and transformers but no network and no crowd deps.

Writes into the git-ignored folder ``carry/`` (pass it in the device tool's ``carry`` list):

* ``carry/minilm``: all-MiniLM-L6-v2 as bf16 safetensors with its tokenizer (about 45 MB); point
  ``CROWD_MINILM`` at it and the ``minilm`` alias resolves there;
* ``carry/graph``: the default synonym graph (prebuilt here; loading it needs numpy only, not gensim);
* ``carry/data``: the data files the runs need, copied from ``$CROWD_DATA`` (never committed).

On the device, from the repository root::

    export PYTHONPATH=. CROWD_DATA=carry/data CROWD_MINILM=carry/minilm CROWD_CACHE=/tmp/crowd-cache
    python benchmarks/bench_train.py
    python -m crowd certify --set 'method.graph="carry/graph"' --set n_copies=1000 --out $OUT/run

The total must stay under the tool's 64 MiB per call: pick the data folders accordingly.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

DEFAULT_DATA = ("sst2/clean_hiddenkiller",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="carry")
    parser.add_argument(
        "--data", nargs="*", default=list(DEFAULT_DATA), help="folders under $CROWD_DATA to copy"
    )
    args = parser.parse_args(argv)
    import torch

    from crowd.noise.synonym_graph import default_graph
    from crowd.paths import require_data_root
    from crowd.train.models import load_classifier, load_tokenizer

    out = Path(args.out)
    model = load_classifier("minilm", 2).base_model.to(torch.bfloat16)
    model.save_pretrained(out / "minilm")
    load_tokenizer("minilm").save_pretrained(out / "minilm")
    default_graph().save(out / "graph")
    root = require_data_root()
    for rel in args.data:
        shutil.copytree(root / rel, out / "data" / rel, dirs_exist_ok=True)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {size / 2**20:.1f} MiB (the device tool carries at most 64 MiB per call)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
