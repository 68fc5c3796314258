"""Certificates for text classifiers against backdoor (poisoning) attacks — THEORY §1, §3, §4.

Statistics only: this package imports numpy and scipy, never torch.

- :mod:`~crowd.certify.bounds`: Clopper–Pearson bounds and guarantee-keeping class selection.
- :mod:`~crowd.certify.lee`: exact ℓ0 thresholds for keep-β noise over several coordinate kinds.
- :mod:`~crowd.certify.lee_multiclass`: the multi-class ℓ0 condition (top vs runner-up).
- :mod:`~crowd.certify.tv`: total-variation certificate for synonym (product) noise.
- :mod:`~crowd.certify.votes`: plurality vote-count radius (DPA and word partitions).
- :mod:`~crowd.certify.dpa`: partition-aggregation radius (aliases of :mod:`~crowd.certify.votes`).
- :mod:`~crowd.certify.runoff`: Run-off Election prediction and radius from per-model logits.
- :mod:`~crowd.certify.finite_aggregation`: Finite Aggregation (DPA with spread ``d``) and its radius.
- :mod:`~crowd.certify.collective`: collective certified accuracy (one trigger, the same groups in every text).
- :mod:`~crowd.certify.certificate`: :class:`Certificate` objects from vote counts.
- :mod:`~crowd.certify.metrics`: certified accuracy curves, confident accuracy, ASR, "not covered".
"""

from crowd.certify.bounds import (
    TopClassBound,
    bound_top_class,
    bound_top_classes,
    clopper_pearson,
    cp_lower,
    cp_upper,
    min_copies_to_certify,
)
from crowd.certify.certificate import (
    Certificate,
    certify_counts,
    certify_rows,
    dpa_certificates,
    lee_radius_fn,
    tv_radius_fn,
)
from crowd.certify.collective import collective_certified_accuracy
from crowd.certify.dpa import dpa_budget, dpa_predict, dpa_radii, dpa_radius
from crowd.certify.finite_aggregation import (
    fa_bucket_models,
    fa_certificates,
    fa_model_buckets,
    fa_predict,
    fa_radius,
    fa_training_sets,
)
from crowd.certify.lee import (
    lee_radii,
    lee_radius,
    lee_threshold,
    lee_threshold_table,
    lee_thresholds,
)
from crowd.certify.lee_multiclass import lee_radius_multiclass
from crowd.certify.metrics import (
    CONFIDENT_ACCURACY_LABEL,
    CurvePoint,
    NotCovered,
    attack_success_rate,
    certified_accuracy,
    certified_accuracy_at_budget,
    certified_accuracy_curve,
    clean_accuracy,
    confident_accuracy,
    poisoned_non_target,
)
from crowd.certify.runoff import (
    RunoffTally,
    ranking_logits,
    runoff_certificates,
    runoff_costs,
    runoff_fa_costs,
    runoff_fa_radius,
    runoff_predict,
    runoff_radius,
    runoff_tally,
)
from crowd.certify.tv import categorical_tv, safer_tv, tv_bound, tv_deltas, tv_radius
from crowd.certify.votes import vote_predict, vote_radii, vote_radius, votes_cast, votes_to_counts

__all__ = [
    "CONFIDENT_ACCURACY_LABEL",
    "Certificate",
    "CurvePoint",
    "NotCovered",
    "RunoffTally",
    "TopClassBound",
    "attack_success_rate",
    "bound_top_class",
    "min_copies_to_certify",
    "bound_top_classes",
    "categorical_tv",
    "certified_accuracy",
    "certified_accuracy_at_budget",
    "certified_accuracy_curve",
    "certify_counts",
    "certify_rows",
    "clean_accuracy",
    "clopper_pearson",
    "collective_certified_accuracy",
    "confident_accuracy",
    "cp_lower",
    "cp_upper",
    "dpa_budget",
    "dpa_certificates",
    "dpa_predict",
    "dpa_radii",
    "dpa_radius",
    "fa_bucket_models",
    "fa_certificates",
    "fa_model_buckets",
    "fa_predict",
    "fa_radius",
    "fa_training_sets",
    "lee_radii",
    "lee_radius",
    "lee_radius_fn",
    "lee_radius_multiclass",
    "lee_threshold",
    "lee_threshold_table",
    "lee_thresholds",
    "poisoned_non_target",
    "ranking_logits",
    "runoff_certificates",
    "runoff_costs",
    "runoff_fa_costs",
    "runoff_fa_radius",
    "runoff_predict",
    "runoff_radius",
    "runoff_tally",
    "safer_tv",
    "tv_bound",
    "tv_deltas",
    "tv_radius",
    "tv_radius_fn",
    "vote_predict",
    "vote_radii",
    "vote_radius",
    "votes_cast",
    "votes_to_counts",
]
