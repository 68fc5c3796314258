"""All-but-the-top post-processing (Mu & Viswanath, ICLR 2018).

"All-but-the-Top: Simple and Effective Postprocessing for Word Representations": subtract the mean
vector, then remove the projections on the top ``D`` principal directions. CROWD and SAFER apply it with
``D = 8`` to unit-length counter-fitted vectors before measuring cosine similarity; we renormalise the
result to unit length so that dot products are cosines (THEORY §2). The released SAFER code projects
the *uncentred* matrix on the directions and does not renormalise; we follow the paper.
"""

from __future__ import annotations

import numpy as np


def all_but_the_top(vectors: np.ndarray, n_components: int = 8, renormalise: bool = True) -> np.ndarray:
    """Centre ``vectors`` (rows = words), remove the top ``n_components`` principal directions, renormalise.

    Rows are first scaled to unit length (as CROWD/SAFER do). Returns a new float32 array.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"need a non-empty 2-d matrix, got shape {x.shape}")
    if not 0 <= n_components < x.shape[1]:
        raise ValueError(f"n_components must be in [0, {x.shape[1]}), got {n_components}")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    x = x - x.mean(axis=0, keepdims=True)
    if n_components:
        cov = x.T @ x / x.shape[0]
        _, eigvecs = np.linalg.eigh(cov)  # ascending eigenvalues
        top = eigvecs[:, -n_components:]
        x = x - (x @ top) @ top.T
    if renormalise:
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x.astype(np.float32)
