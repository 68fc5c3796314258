"""Training a :class:`~crowd.ciss.model.CissNet` as CISS does: noisy-latent classification plus an IBP term.

CISS (Zhao et al., ICML 2022) trains the classifier on ``z + σ·ε`` with cross-entropy and adds, per text,
``relu(B(x) − R_soft(x) + margin)``: the IBP bound ``B`` on how far a substitution moves ``z`` must stay a
margin below a differentiable stand-in for the certified radius, ``R_soft = σ/2 (Φ⁻¹(p_y) − Φ⁻¹(p_other))``
read off the softmax of the noisy logits. Its weight grows linearly from 0 after a classification-only
warm-up; with it, as in Jia et al. (2019), the synonym box of the first layer grows from the text alone to
the full sets (``eps`` of :meth:`~crowd.ciss.model.CissNet.latent_box`). Simplified here (see docs/certify.md): one run instead of a separate pre-training run, no gate on
the previous epoch's accuracy, no reconstruction decoder and no BERT on top of ``z``.

Deterministic on a CPU: every draw comes from one ``torch.Generator`` seeded from ``settings.seed``, and
training runs on one CPU thread (:func:`crowd.train.common.one_thread`). With two intra-op threads, two fits
of SST-2's 6,920 texts already differed in the first epoch's loss (0.683995 against 0.682516) while 1,500 texts
agreed: some kernel's reduction order depends on how the threads split the work.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from crowd.ciss.model import CissNet, Encoded, latent_bound
from crowd.ciss.settings import CissSettings
from crowd.seeding import torch_seed
from crowd.train.common import one_thread
from crowd.train.static_vectors import FIRST_WORD


def soft_radius(logits: torch.Tensor, labels: torch.Tensor, sigma: float, clip: float) -> torch.Tensor:
    """``σ/2 (Φ⁻¹(p_y) − Φ⁻¹(max_{c≠y} p_c))`` per text, probabilities clipped to ``[1 − clip, clip]``."""
    probs = logits.softmax(-1)
    p_true = probs.gather(1, labels[:, None]).squeeze(1).clamp(1 - clip, clip)
    others = probs.masked_fill(F.one_hot(labels, probs.shape[1]).bool(), -1.0)
    p_other = others.max(1).values.clamp(1 - clip, clip)
    return sigma / 2 * (torch.special.ndtri(p_true) - torch.special.ndtri(p_other))


def ramp(step: int, warmup_steps: int, ramp_steps: int) -> float:
    """0 during the warm-up, then linear up to 1 over the ramp, then 1."""
    if step < warmup_steps:
        return 0.0
    if ramp_steps <= 0:
        return 1.0
    return min(1.0, (step - warmup_steps + 1) / ramp_steps)


def train(
    data: Encoded, labels: np.ndarray, num_labels: int, settings: CissSettings, progress: bool = False
) -> tuple[CissNet, list[dict[str, float]]]:
    """A trained network and one summary per epoch (mean loss terms, training accuracy on noisy latents)."""
    with one_thread():
        return _train(data, labels, num_labels, settings, progress)


def _train(
    data: Encoded, labels: np.ndarray, num_labels: int, settings: CissSettings, progress: bool
) -> tuple[CissNet, list[dict[str, float]]]:
    gen = torch.Generator().manual_seed(torch_seed(settings.seed, "ciss-train"))
    learn = data.table_rows[data.table_rows >= FIRST_WORD] if settings.learn_vectors else None
    net = CissNet(data.dim, settings.hidden_dim, settings.latent_dim, settings.kernel, num_labels, gen, learn)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    n = len(y_all)
    per_epoch = -(-n // settings.batch_size)
    warmup, ramp_steps = per_epoch * settings.warmup_epochs, per_epoch * settings.ramp_epochs
    history, step = [], 0
    for epoch in range(settings.epochs):
        order = torch.randperm(n, generator=gen).numpy()
        sums = np.zeros(5)
        for start in range(0, n, settings.batch_size):
            rows = order[start : start + settings.batch_size]
            y = y_all[rows]
            share = ramp(step, warmup, ramp_steps)
            box = net.latent_box(data.batch(rows, torch.float32), eps=share)
            noise = torch.randn(box.val.shape, generator=gen) * settings.sigma
            logits = net.classify(box.val + noise)
            ce = F.cross_entropy(logits, y)
            bound = latent_bound(box)
            radius = soft_radius(logits, y, settings.sigma, settings.soft_clip)
            gap = F.relu(bound - radius + settings.radius_margin)
            weight = share * settings.robust_coef
            loss = ce + weight * gap.mean() if weight > 0 else ce
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            correct = float((logits.argmax(1) == y).sum())
            sums += [
                float(ce.detach()) * len(rows),
                float(gap.detach().sum()),
                float(bound.detach().sum()),
                correct,
                share,
            ]
        history.append(_summary(epoch, sums, n, per_epoch))
        if progress:
            print(f"ciss epoch {epoch + 1}/{settings.epochs}: {history[-1]}", flush=True)
    net.eval()
    return net, history


def _summary(epoch: int, sums: np.ndarray, n: int, batches: int) -> dict[str, float]:
    return {
        "epoch": epoch + 1,
        "cross_entropy": round(float(sums[0]) / n, 6),
        "robust_gap": round(float(sums[1]) / n, 6),
        "bound_mean": round(float(sums[2]) / n, 6),
        "train_accuracy_noisy": round(float(sums[3]) / n, 6),
        "ramp_mean": round(float(sums[4]) / batches, 6),
    }
