"""Settings of a :class:`~crowd.ciss.CissClassifier`: the paper's values, scaled to a CPU where noted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CissSettings:
    """Everything that decides a fitted CISS classifier and its certificates.

    Smoothing and statistics (CISS's certify command: ``--std 1.0 --alpha 0.001``, 50 selection samples):
    ``sigma`` of the Gaussian noise added to the latent ``z``; ``n_selection`` draws choose the class and
    ``n_samples`` independent draws bound its probability (Cohen et al.'s CERTIFY; CISS draws 30,000, the
    default here is 10,000, which still reaches ``Φ⁻¹(p_lower) = 3.20`` against 3.50); ``alpha`` per text.

    Model (CISS ``cnnibp`` with ``--latent_size 100``): frozen ``vectors`` (a table name or a vector file,
    default GloVe 6B 50-d; CISS used BERT's 768-d input embeddings), ``learn_vectors`` (CISS trains its
    embeddings: here an offset is learned for each table row that the training texts or their substitutes
    use; every other word keeps its pretrained vector), ``hidden_dim``, ``latent_dim``,
    convolution width ``kernel`` (odd), texts truncated to ``max_length`` words.

    Training (CISS: Adam, batch 10, classification first, then the IBP term ramped up linearly to 4.0 with
    margin 1.0): ``epochs`` in all, the first ``warmup_epochs`` with cross-entropy only; then
    ``robust_coef`` times ``relu(B - R_soft + radius_margin)`` is added, its weight ramped linearly from 0
    to ``robust_coef`` over ``ramp_epochs`` while the first layer's synonym box grows from the text alone
    to the full set (Jia et al. 2019's ε ramp), then held for the remaining epochs. ``R_soft = σ/2 (Φ⁻¹(p_y) − Φ⁻¹(p_other))`` from the noisy
    logits' softmax clipped to ``[1 − soft_clip, soft_clip]``. ``lr`` (Adam), ``batch_size``, ``seed`` (every
    random draw: initial weights, batch order, training noise, and, with the text, its certification noise).

    ``graph``: a saved synonym graph (``crowd synonyms build --out``); ``None`` = the toolkit's default graph.
    """

    sigma: float = 1.0
    n_samples: int = 10_000
    n_selection: int = 50
    alpha: float = 0.001
    vectors: str = "glove-6b-50d"
    learn_vectors: bool = True
    hidden_dim: int = 100
    latent_dim: int = 100
    kernel: int = 3
    max_length: int = 64
    epochs: int = 10
    warmup_epochs: int = 2
    ramp_epochs: int = 6
    lr: float = 1e-3
    batch_size: int = 32
    robust_coef: float = 4.0
    radius_margin: float = 1.0
    soft_clip: float = 0.99
    seed: int = 0
    graph: str | None = None

    def __post_init__(self) -> None:
        positive = ("sigma", "n_samples", "n_selection", "hidden_dim", "latent_dim", "max_length", "lr")
        for name in (*positive, "batch_size", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not value > 0:
                raise ValueError(f"CissSettings.{name} must be positive, got {value!r}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"CissSettings.alpha must be in (0, 1), got {self.alpha!r}")
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(
                f"CissSettings.kernel must be odd and positive (keeps the length), got {self.kernel}"
            )
        if (
            min(self.warmup_epochs, self.ramp_epochs) < 0
            or self.warmup_epochs + self.ramp_epochs > self.epochs
        ):
            raise ValueError(
                f"CissSettings: warmup_epochs ({self.warmup_epochs}) and ramp_epochs ({self.ramp_epochs}) must be "
                f">= 0 and add up to at most epochs ({self.epochs})"
            )
        if self.robust_coef < 0 or self.radius_margin < 0:
            raise ValueError("CissSettings.robust_coef and radius_margin must be >= 0")
        if not 0.5 < self.soft_clip < 1.0:
            raise ValueError(f"CissSettings.soft_clip must be in (0.5, 1), got {self.soft_clip!r}")
        if self.seed < 0:
            raise ValueError(f"CissSettings.seed must be >= 0, got {self.seed}")
