"""Run a benchmark table or figure: the same as ``crowd bench`` (kept for existing scripts).

python benchmarks/run.py benchmarks/configs/table3.toml --out benchmarks/results/table3 --scale cpu
"""

from __future__ import annotations

import sys

from crowd.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
