"""Benchmark scripts; run them from the repository root (``python benchmarks/X.py`` or ``python -m benchmarks.X``)."""
