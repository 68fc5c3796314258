"""Vectorised sampling from many small categorical distributions at once (Walker/Vose alias tables).

A table is a CSR layout of slots: the distribution of block ``r`` lives in slots ``start[r] ..
start[r] + size[r]``. One uniform ``u`` per draw picks slot ``k = ⌊u·size⌋`` and its fractional part
``u·size - k`` (uniform on ``[0, 1)`` and independent of ``k``) decides between the slot's own outcome and
its alias. Cost per draw: one uniform, five gathers, no Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def alias_block(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for one distribution: ``(threshold, alias)`` with slot ``k`` kept w.p. ``threshold[k]``."""
    m = len(probs)
    scaled = np.asarray(probs, dtype=np.float64) * (m / np.sum(probs))
    threshold = np.ones(m)
    alias = np.arange(m)
    small = [k for k in range(m) if scaled[k] < 1.0]
    large = [k for k in range(m) if scaled[k] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        threshold[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return threshold, alias


@dataclass(frozen=True)
class AliasTable:
    """Alias tables for many distributions, each over its own list of integer outcomes.

    ``start``/``size`` index blocks by key (e.g. a vocabulary id); ``threshold``, ``outcome`` and
    ``alias_outcome`` are per slot.
    """

    start: np.ndarray
    size: np.ndarray
    threshold: np.ndarray
    outcome: np.ndarray
    alias_outcome: np.ndarray

    @classmethod
    def build(cls, outcomes: list[np.ndarray], probs: list[np.ndarray]) -> AliasTable:
        """One block per key: ``outcomes[i]`` drawn with probabilities ``probs[i]``."""
        sizes = np.array([len(o) for o in outcomes], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        thresholds, outs, alias_outs = [], [], []
        for o, p in zip(outcomes, probs):
            o = np.asarray(o, dtype=np.int32)
            if len(o) == 1:
                t, a = np.ones(1), np.zeros(1, dtype=np.int64)
            else:
                t, a = alias_block(p)
            thresholds.append(t)
            outs.append(o)
            alias_outs.append(o[a])
        cat = np.concatenate
        return cls(start, sizes.astype(np.float64), cat(thresholds), cat(outs), cat(alias_outs))

    def sample(self, keys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One independent draw for every entry of ``keys`` (int array), using ``len(keys)`` uniforms."""
        x = rng.random(len(keys)) * self.size[keys]
        k = x.astype(np.int64)
        slot = self.start[keys] + k
        keep = (x - k) < self.threshold[slot]
        return np.where(keep, self.outcome[slot], self.alias_outcome[slot])
