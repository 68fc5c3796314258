"""The CISS certificate of one text: Gaussian smoothing of the latent ``z`` against the IBP bound ``B``.

Guarantee (Cohen, Rosenfeld & Kolter 2019, Theorem 1, one class against the rest; CISS, Zhao et al. 2022).
Let ``g(x) = argmax_c P_ε[f(z(x) + σε) = c]`` with ``ε ~ N(0, I)``. ``n_selection`` draws choose the class
``A``; ``n`` further, independent draws count it, and ``p_lower`` is its one-sided Clopper–Pearson bound at
``alpha`` (:func:`crowd.certify.bounds.bound_top_class`, method ``"selection"``). If ``p_lower > 1/2`` then,
with probability at least ``1 − alpha`` over the draws, ``g(x') = A`` for every ``x'`` whose latent lies
within ``R = σ Φ⁻¹(p_lower)`` of ``z(x)`` in ℓ2. IBP gives ``||z(x') − z(x)|| <= B`` for every ``x'`` that
substitutes any words of ``x`` by members of their synonym sets (:mod:`crowd.ciss.model`). So ``B < R``
certifies ``A`` against ALL such substitutions at once: the radius, in synonym substitutions in the test
text, is the number of words of ``x`` that have a substitute. ``p_lower > 1/2`` alone (``B >= R``) is a
confident prediction (radius 0); otherwise the text abstains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import norm

from crowd.certify.bounds import bound_top_class
from crowd.ciss.model import CissNet

ABSTAIN = -1
CHUNK = 4096


@dataclass(frozen=True)
class CissCertificate:
    """One text's smoothed prediction and what certifies it.

    ``label`` (or :data:`ABSTAIN`), ``top_class`` (selected either way), ``p_lower`` /
    ``p_upper_runner_up`` (bounds at ``alpha`` from ``n`` draws), ``gaussian_radius`` ``σ Φ⁻¹(p_lower)``
    in latent ℓ2 (``None`` when abstaining), ``bound`` ``B`` (IBP), ``covered`` (``B < gaussian_radius``:
    certified against every substitution), ``n_substitutable`` (words with a substitute), the ``counts``
    of the ``n`` draws and the ``selection_counts``."""

    label: int
    top_class: int
    p_lower: float
    p_upper_runner_up: float
    gaussian_radius: float | None
    bound: float
    covered: bool
    n_substitutable: int
    counts: tuple[int, ...]
    selection_counts: tuple[int, ...]
    alpha: float
    sigma: float

    @property
    def abstained(self) -> bool:
        return self.label == ABSTAIN

    @property
    def radius(self) -> int | None:
        """Certified radius in synonym substitutions of the test text (``None``: abstained)."""
        if self.abstained:
            return None
        return self.n_substitutable if self.covered else 0


def gaussian_certificate(
    counts: np.ndarray,
    selection_counts: np.ndarray,
    sigma: float,
    alpha: float,
    bound: float,
    n_substitutable: int,
) -> CissCertificate:
    """The certificate from the two samples' class counts and the IBP ``bound`` (module docstring)."""

    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if not bound >= 0:
        raise ValueError(f"bound must be a non-negative number, got {bound}")
    top = bound_top_class(np.asarray(counts), alpha, "selection", np.asarray(selection_counts))
    radius = None if top.abstained else float(sigma * norm.ppf(top.p_lower))
    return CissCertificate(
        label=ABSTAIN if top.abstained else int(top.label),
        top_class=int(top.top_class),
        p_lower=float(top.p_lower),
        p_upper_runner_up=float(top.p_upper_runner_up),
        gaussian_radius=radius,
        bound=float(bound),
        covered=radius is not None and bound < radius,
        n_substitutable=int(n_substitutable),
        counts=tuple(int(c) for c in counts),
        selection_counts=tuple(int(c) for c in selection_counts),
        alpha=alpha,
        sigma=sigma,
    )


def sample_counts(
    net: CissNet, z: torch.Tensor, sigma: float, n: int, generator: torch.Generator, num_labels: int
) -> np.ndarray:
    """Class counts of ``f(z + σε)`` over ``n`` draws of ``ε`` from ``generator`` (``z``: ``(latent,)``)."""
    counts = np.zeros(num_labels, np.int64)
    done = 0
    while done < n:
        size = min(CHUNK, n - done)
        eps = torch.randn((size, z.shape[0]), generator=generator, dtype=z.dtype)
        votes = net.classify(z[None, :] + sigma * eps).argmax(1)
        counts += np.bincount(votes.numpy(), minlength=num_labels)
        done += size
    return counts
