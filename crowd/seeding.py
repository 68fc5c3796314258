"""Reproducible random streams.

Every random choice is a function of ``(seed, purpose, *indices)``: copy ``j``'s
training noise is ``rng(seed, "train-noise", j)``, its test noise
``rng(seed, "test-noise", j)``, and so on. Any copy can be regenerated alone, and
no global random state is used.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

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


_M1, _M2, _GOLDEN = (
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
    np.uint64(0x9E3779B97F4A7C15),
)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (a bijection that spreads every input bit over the output)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def text_key(words: Sequence[str]) -> int:
    """A 64-bit key of a text's word sequence (blake2b): the same text has the same key in every corpus."""
    return int.from_bytes(
        hashlib.blake2b("\x1f".join(words).encode("utf-8"), digest_size=8).digest(), "little"
    )


@functools.cache
def stream_key(seed: int, purpose: str, j: int) -> int:
    """A 63-bit key of ``(seed, purpose, j)`` drawn from :func:`rng` (remembered: a kept classifier asks for the
    same N keys on every call)."""
    return int(rng(seed, purpose, j).integers(0, 2**63 - 1))


class TextDraws:
    """Random draws for several texts at once, each a function of ``(seed, purpose, j)``, the text itself,
    the position in it and the draw's number alone: never of the other texts or of the text's place in a
    list. So a noisy copy of a text is the same whatever it is sampled with (a kept classifier's test noise).

    ``keys``: one :func:`text_key` per text. A draw of shape ``(n_texts, L)`` gives entry ``(i, p)`` to text
    ``i``'s position ``p``; a flat draw needs ``owners`` and ``positions`` (text and position of each entry).
    Each entry is SplitMix64's finaliser over the copy's :func:`rng` key, the text's key, the position and the
    draw number (a counter-based generator in the manner of Salmon et al. 2011); :meth:`random` and
    :meth:`integers` follow ``numpy.random.Generator``'s signatures, as the noise samplers call them.
    """

    def __init__(
        self,
        seed: int,
        purpose: str,
        j: int,
        keys: np.ndarray,
        owners: np.ndarray | None = None,
        positions: np.ndarray | None = None,
    ) -> None:
        self.key = np.uint64(stream_key(seed, purpose, j))
        self.keys = np.asarray(keys, dtype=np.uint64)
        self.owners, self.positions = owners, positions
        self.draw = 0

    def _bits(self, size) -> np.ndarray:
        shape = (size,) if isinstance(size, int | np.integer) else tuple(size)
        if len(shape) == 2:
            owner = np.broadcast_to(np.arange(shape[0])[:, None], shape)
            position = np.broadcast_to(np.arange(shape[1])[None, :], shape)
        elif self.owners is not None and len(self.owners) == shape[0]:
            owner, position = self.owners, self.positions
        else:
            raise ValueError(f"draws of shape {shape} need a text and a position for every entry")
        if len(shape) == 2 and shape[0] != len(self.keys):
            raise ValueError(f"draws for {shape[0]} texts, but {len(self.keys)} text keys")
        self.draw += 1
        with np.errstate(over="ignore"):
            x = _mix(self.keys[owner] ^ self.key)
            x = _mix(x + np.asarray(position, dtype=np.uint64) * _GOLDEN + np.uint64(self.draw) * _M2)
        return x

    def random(self, size) -> np.ndarray:
        """Uniforms in ``[0, 1)`` (53 bits), float64."""
        return (self._bits(size) >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)

    def integers(self, low: int, high: int, size) -> np.ndarray:
        """Integers in ``[low, high)``, int64 (64 random bits reduced modulo the range: a bias below
        ``(high - low) / 2**64``)."""
        span = np.uint64(high - low)
        return (self._bits(size) % span).astype(np.int64) + np.int64(low)
