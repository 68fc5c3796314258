"""CROWD's beta-weighted substitution: the Beta fit, the literal sampler and its exact distribution.

CROWD (Sun, Sen, Ruan) replaces a word ``w`` whose perturbation set is ``S_w = {c_1..c_m}`` (``w`` itself
included, similarity ``s_w = 1``) as the released code ``data_util.WordSubstitude.beta_distribution`` does:

1. fit ``Beta(a, b)`` by the method of moments over the list ``{s_j}``:
   ``a = μ(μ(1-μ)/σ² - 1)``, ``b = (1-μ)(μ(1-μ)/σ² - 1)`` with ``σ²`` the population variance (``np.var``);
2. draw ``u_j ~ Beta(a, b)`` independently for every candidate;
3. return ``c_j`` with ``j = argmax_j u_j s_j``.

The induced distribution over candidates is (THEORY §2c)
``π_w(j) = ∫ f_{u s_j}(t) Π_{k≠j} F_{u s_k}(t) dt`` with ``f_{u s}(t) = f_Beta(t/s)/s`` on ``[0, s]``.
:func:`induced_probs` evaluates it by tanh-sinh quadrature on each interval between consecutive distinct
similarities, in log space, so that the Beta's endpoint singularities (``a < 1`` or ``b < 1``) and the kinks
at ``t = s_k`` are integrated accurately (checked against adaptive QUADPACK in the tests).

Degenerate cases (the released code produces NaNs or crashes in all of them):

- similarities are clipped to ``[0, 1]`` first (float rounding can give ``1.0000001``; a candidate with
  ``s ≤ 0`` has ``u s ≤ 0 < u_w``, so clipping it to 0 changes no draw's winner, only the fit);
- one candidate: the word is always kept, ``π = (1)``;
- zero variance (all similarities equal 1): every weight is an i.i.d. draw, so the argmax is uniform;
- ``σ² ≥ μ(1-μ)`` (only possible when every clipped similarity is 0 or 1): no Beta has these moments; we use
  ``Beta(1, 1)``, which gives the limit of every i.i.d. continuous choice: uniform over the candidates with
  ``s = 1``, zero for those with ``s = 0``;
- fitted shapes below :data:`MIN_SHAPE` are raised to it (the Beta is then two near-atoms at 0 and 1, which
  neither floating-point sampling nor quadrature resolves). The reference sampler uses the same shapes, so
  the distribution we sample and certify with is exactly the one this module defines.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betaln, log_expit
from tqdm.auto import tqdm

MIN_SHAPE = 0.02
QUAD_TOL = 1e-6
_TS_STEP = 0.25
_TS_RANGE = 7.0
_MAX_LEVEL = 6
_CHUNK_ELEMENTS = 2_000_000


def clip_similarities(sims: np.ndarray) -> np.ndarray:
    """Similarities as float64 clipped to ``[0, 1]`` (see the module docstring)."""
    return np.clip(np.asarray(sims, dtype=np.float64), 0.0, 1.0)


def fit_beta(sims: np.ndarray) -> tuple[float, float] | None:
    """Moment-fitted ``(a, b)`` over one perturbation set's similarities, or ``None`` if uniform-argmax.

    ``None`` means the draw is decided by i.i.d. weights: one candidate, zero variance or invalid moments
    (``Beta(1, 1)`` is used then, see the module docstring).
    """
    s = clip_similarities(sims)
    if len(s) < 2:
        return None
    mu, var = float(s.mean()), float(s.var())
    if var <= 0.0 or var >= mu * (1.0 - mu):
        return None
    common = mu * (1.0 - mu) / var - 1.0
    return max(mu * common, MIN_SHAPE), max((1.0 - mu) * common, MIN_SHAPE)


def sample_beta_argmax(sims: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` draws of the winning index by the literal procedure (independent Beta draws, argmax).

    Reference implementation of the released code (minus its normalisation by the sum, which does not
    change the argmax of non-negative weights), used to check :func:`induced_probs`.
    """
    s = clip_similarities(sims)
    shapes = fit_beta(s)
    a, b = shapes if shapes is not None else (1.0, 1.0)
    u = rng.beta(a, b, size=(size, len(s)))
    return np.argmax(u * s, axis=1)


def node_range(a: float, b: float) -> float:
    """Half-width ``Y`` of the tanh-sinh grid: the nodes reach within ``exp(-π sinh Y)`` of the piece ends.

    The mass a Beta puts within ``d`` of an end scales like ``d^a`` or ``d^b``, so ``π sinh Y · min(a, b)
    ≥ 35`` leaves less than ``e^-35`` of it beyond the last node; rounded up to a multiple of 1/2.
    """
    y = np.arcsinh(35.0 / (np.pi * min(a, b, 1.0)))
    return float(min(np.ceil(2 * y) / 2, _TS_RANGE))


def _tanh_sinh_nodes(level: int, y_range: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tanh-sinh nodes new at ``level`` as ``(log x, log(1-x), log(dx/dy · h))`` on ``[0, 1]``.

    Level 0 has every multiple of ``h_0``; level ``l > 0`` the odd multiples of ``h_0 / 2**l``, so that
    ``I_l = I_{l-1} / 2 + (sum over the new nodes)`` is the estimate with step ``h_0 / 2**l``.
    """
    h = _TS_STEP / 2**level
    n = int(np.floor(y_range / h))
    k = np.arange(-n, n + 1)
    y = (k if level == 0 else k[k % 2 != 0]) * h
    u = np.pi * np.sinh(y)
    log_x, log_1mx = log_expit(u), log_expit(-u)
    log_w = log_x + log_1mx + np.log(np.pi * np.cosh(y) * h)
    return log_x, log_1mx, log_w


def _log_cdf(a: np.ndarray, b: np.ndarray, log_z: np.ndarray, log_1mz: np.ndarray) -> np.ndarray:
    """``log I_z(a, b)`` (1-d arrays) computed from whichever of ``z`` and ``1 - z`` is accurate."""
    z = np.exp(log_z)
    low = z <= 0.5
    out = np.empty_like(z)
    with np.errstate(divide="ignore"):
        out[low] = np.log(betainc(a[low], b[low], z[low]))
        high = ~low
        out[high] = np.log1p(-betainc(b[high], a[high], np.exp(log_1mz[high])))
    return np.maximum(out, -1e4)


def _pieces(s: np.ndarray) -> dict[str, np.ndarray]:
    """Logs of the pieces ``[s_(i-1), s_(i)]`` between sorted similarities ``s`` (ascending, ``(R, m)``)."""
    lower = np.concatenate([np.zeros((len(s), 1)), s[:, :-1]], axis=1)
    m = s.shape[1]
    active = (np.arange(m)[None, :] >= np.arange(m)[:, None])[None] & (s[:, None, :] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "length": s - lower,
            "log_len": np.log(s - lower)[:, :, None],
            "log_lower": np.log(lower)[:, :, None],
            "log_s": np.log(s)[:, None, None, :],
            # log(s_k - s_i) per (piece i, candidate k): -inf when equal, NaN (masked) when k is inactive
            "gap": np.log(s[:, None, :] - s[:, :, None])[:, :, None, :],
            # k is active on piece i when s_k >= s_i, i.e. its CDF is still below 1 there
            "active": active[:, :, None, :] & ((s - lower) > 0)[:, :, None, None],
        }


def _piece_sums(
    pc: dict[str, np.ndarray], a: np.ndarray, b: np.ndarray, level: int, y_range: float
) -> np.ndarray:
    """Σ over pieces and this level's nodes of ``f_j(t) Π_{k≠j} F_k(t) dt`` for every sorted candidate ``j``."""
    log_x, log_1mx, log_w = _tanh_sinh_nodes(level, y_range)
    log_len, log_s = pc["log_len"], pc["log_s"]
    with np.errstate(invalid="ignore"):
        log_t = np.logaddexp(pc["log_lower"], log_len + log_x)[:, :, :, None]  # (R, piece, node, 1)
        log_z = log_t - log_s
        log_1mz = np.logaddexp(pc["gap"], (log_len + log_1mx)[:, :, :, None]) - log_s
        aa, bb = a[:, None, None, None], b[:, None, None, None]
        shape = np.broadcast_shapes(log_z.shape, log_1mz.shape, pc["active"].shape)
        act = np.broadcast_to(pc["active"], shape)
        log_cdf = np.zeros(shape)
        log_cdf[act] = _log_cdf(*(np.broadcast_to(v, shape)[act] for v in (aa, bb, log_z, log_1mz)))
        log_pdf = (aa - 1) * log_z + (bb - 1) * log_1mz - betaln(aa, bb) - log_s
        log_f = log_pdf + log_cdf.sum(axis=3, keepdims=True) - log_cdf + (log_len + log_w)[:, :, :, None]
    with np.errstate(over="ignore"):
        vals = np.exp(np.where(pc["active"], log_f, -np.inf))
    return np.nan_to_num(vals).sum(axis=(1, 2))


def _group_probs(sims: np.ndarray, a: np.ndarray, b: np.ndarray, y_range: float) -> np.ndarray:
    """π for ``R`` rows of ``m`` candidates each (``sims`` is ``(R, m)`` clipped, valid Beta shapes).

    Halves the tanh-sinh step until successive estimates agree to :data:`QUAD_TOL` in every entry.
    """
    order = np.argsort(sims, axis=1)
    pc = _pieces(np.take_along_axis(sims, order, axis=1))
    est = _piece_sums(pc, a, b, 0, y_range)
    todo = np.arange(len(sims))
    for level in range(1, _MAX_LEVEL + 1):
        sub = {k: v[todo] for k, v in pc.items()}
        new = est[todo] / 2 + _piece_sums(sub, a[todo], b[todo], level, y_range)
        done = np.abs(new - est[todo]).max(axis=1) <= QUAD_TOL
        est[todo] = new
        todo = todo[~done]
        if len(todo) == 0:
            break
    probs = np.empty_like(est)
    np.put_along_axis(probs, order, est, axis=1)
    return probs


def uniform_argmax_probs(sims: np.ndarray) -> np.ndarray:
    """π when the weights are i.i.d. (degenerate fits): uniform over the candidates of largest similarity."""
    s = clip_similarities(sims)
    top = s == s.max()
    return top / top.sum()


def induced_probs(sims: np.ndarray) -> np.ndarray:
    """Exact ``π_w`` for one perturbation set with similarities ``sims`` (the word's own first)."""
    s = clip_similarities(sims)
    shapes = fit_beta(s)
    if shapes is None:
        return uniform_argmax_probs(s)
    a, b = shapes
    p = _group_probs(s[None, :], np.array([a]), np.array([b]), node_range(a, b))[0]
    return p / p.sum()


def induced_probs_csr(
    indptr: np.ndarray, sims: np.ndarray, rows: np.ndarray | None = None, progress: bool = False
) -> np.ndarray:
    """``π`` for the CSR rows ``rows`` (default all) of a graph, as an array aligned with ``sims``.

    Entries of rows not asked for are NaN. Rows are batched by set size so the quadrature runs vectorised
    over many rows at once (about :data:`_CHUNK_ELEMENTS` array elements per batch). ``progress`` shows a
    bar (stderr) counting the rows done; it changes nothing in the result.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    s_all = clip_similarities(sims)
    out = np.full(len(s_all), np.nan)
    rows = np.arange(len(indptr) - 1) if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
    bar = _bar(progress, len(rows))
    fits = {}
    for r in rows:
        s = s_all[indptr[r] : indptr[r + 1]]
        shapes = fit_beta(s)
        if shapes is None:
            out[indptr[r] : indptr[r + 1]] = uniform_argmax_probs(s)
        else:
            fits[r] = shapes
    bar(len(rows) - len(fits))
    keys = {r: (int(indptr[r + 1] - indptr[r]), node_range(*fits[r])) for r in fits}
    for m, y_range in sorted(set(keys.values())):
        group = np.array([r for r in fits if keys[r] == (m, y_range)], dtype=np.int64)
        step = max(1, _CHUNK_ELEMENTS // int(m * m * 4 * y_range / _TS_STEP))
        for lo in range(0, len(group), step):
            chunk = group[lo : lo + step]
            cols = indptr[chunk][:, None] + np.arange(m)[None, :]
            ab = np.array([fits[r] for r in chunk])
            p = _group_probs(s_all[cols], ab[:, 0], ab[:, 1], y_range)
            out[cols] = p / p.sum(axis=1, keepdims=True)
            bar(len(chunk))
    bar(None)
    return out


def _bar(enabled: bool, total: int):
    """``update(n)`` of a tqdm bar on stderr (``update(None)`` closes it), or a no-op when disabled."""
    if not enabled:
        return lambda n: None
    bar = tqdm(total=total, desc="CROWD substitution distributions (exact quadrature)", unit=" words")

    def update(n: int | None) -> None:
        if n is None:
            bar.close()
        else:
            bar.update(n)

    return update
