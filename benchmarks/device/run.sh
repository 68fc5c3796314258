#!/usr/bin/env bash
# Every owed GPU figure in one run (docs/gpu.md). From the repository root, with carry/ written by
# `python -m benchmarks.device.prepare_carry`:
#
#   bash benchmarks/device/run.sh                 # on a CUDA machine: parts a-d in <= 570 s (--budget S)
#   bash benchmarks/device/run.sh --parts a,c     # a subset; the budget is shared among the parts chosen
#   bash benchmarks/device/run.sh --dry-run       # tiny CPU mode (or CROWD_DEVICE_DRY=1): tests the plumbing
#
# Rows, page, log and run summaries go to $OUT (else runs/device); on a GPU the rows and page are also
# copied to benchmarks/results/gpu/. Without CUDA (and without --dry-run) it exits 2 at once.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null; then
    echo "device script: no $PYTHON on PATH (set PYTHON=/path/to/python)" >&2
    exit 2
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec "$PYTHON" -m benchmarks.device.figures "$@"
