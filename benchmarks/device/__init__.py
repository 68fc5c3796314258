"""The GPU device script and its parts: ``bash benchmarks/device/run.sh`` (docs/gpu.md); each module runs as
``python -m benchmarks.device.X`` from the repository root."""
