"""Reproducible random streams.

Every random choice is a function of ``(seed, purpose, *indices)``: copy ``j``'s
training noise is ``rng(seed, "train-noise", j)``, its test noise
``rng(seed, "test-noise", j)``, and so on. Any copy can be regenerated alone, and
no global random state is used.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _purpose_key(purpose: str) -> int:
    return int.from_bytes(hashlib.sha256(purpose.encode("utf-8")).digest()[:8], "little")


def rng(seed: int, purpose: str, *indices: int) -> np.random.Generator:
    """A ``numpy.random.Generator`` determined by ``seed``, a purpose string and integer indices."""
    if seed < 0 or any(i < 0 for i in indices):
        raise ValueError("seed and indices must be non-negative integers")
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, _purpose_key(purpose), *indices]))
    )


def torch_seed(seed: int, purpose: str, *indices: int) -> int:
    """A 63-bit integer seed for ``torch.Generator.manual_seed`` derived like :func:`rng`."""
    return int(rng(seed, purpose, *indices).integers(0, 2**63 - 1))
