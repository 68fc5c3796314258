"""Seeded noisy copies: copy ``j`` is a function of ``(seed, purpose, j)`` only (THEORY §1).

Copies are generated in memory, one vectorised call per copy over the whole corpus; copy ``j`` generated
alone equals copy ``j`` generated among others. Nothing is written to disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

import numpy as np

from crowd.seeding import rng as seeded_rng

T = TypeVar("T")

TRAIN_PURPOSE = "train-noise"
TEST_PURPOSE = "test-noise"


class Noise(Protocol[T]):
    """Anything with ``perturb(data, rng) -> data`` (:class:`SynonymNoise`, :class:`KeepBetaNoise`)."""

    def perturb(self, data: T, rng: np.random.Generator) -> T: ...


def noisy_copy(noise: Noise[T], data: T, seed: int, copy: int, purpose: str = TRAIN_PURPOSE) -> T:
    """Copy ``copy`` of ``data`` under ``noise``, drawn from ``crowd.seeding.rng(seed, purpose, copy)``."""
    return noise.perturb(data, seeded_rng(seed, purpose, copy))


def noisy_copies(
    noise: Noise[T], data: T, seed: int, copies: Iterable[int], purpose: str = TRAIN_PURPOSE
) -> Iterator[T]:
    """The copies ``copies`` of ``data``, lazily, each exactly as :func:`noisy_copy` makes it alone."""
    for j in copies:
        yield noisy_copy(noise, data, seed, j, purpose)
