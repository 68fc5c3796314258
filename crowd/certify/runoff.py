"""Run-off Election over an ensemble's logits (Rezaei, Banihashem, Chegini & Feizi, ICML 2023, "Run-Off
Election: Improved Provable Defense against Data Poisoning Attacks").

Threat (THEORY §3(c), §3(d)): the adversary may replace the logits of at most ``r`` models by anything (one
inserted/deleted example for DPA, one added/removed word type for word partitions, changes one model).

Prediction, from a ``(models, classes)`` logits array:

1. round 1: each model votes its argmax (ties to the smallest class index); the two classes with most votes
   (ties to the smaller index) are the finalists;
2. round 2: each model votes for the finalist it scores higher (equal logits: the smaller index); the
   finalist with more votes wins (tie: the smaller index).

Both rounds break logit ties towards the smaller index, so a model acts exactly as the strict ranking sorted
by (−logit, index): only strict rankings matter, and the adversary can produce any of them.

Abstentions (THEORY §3(d)): a model whose logits row is all NaN abstains in both rounds: it casts no round-1
vote and no head-to-head preference. If every model abstains the text abstains (label ``None``). The
adversary may also turn a model's ranking into an abstention or the reverse; such a change moves any one
count by at most one, so every bound below still holds, and silencing all ``V`` voters is a fourth way
(cost ``V``).

Radius: a lower bound on the number of changed models needed to change the winner ``w`` (opponent ``o``),
minus one. A change happens only in one of three ways; a changed model moves each count by at most one vote:

* **same final, ``w`` loses**: the head-to-head gap ``h(w, o) = P[w ≻ o] − P[o ≻ w] − 1[o < w]`` (``P[a ≻ b]``:
  models ranking ``a`` above ``b``) must become negative; only models ranking ``w`` above ``o`` help, by 2
  each, so cost ``≥ ⌊h(w, o)/2⌋ + 1``;
* **new opponent ``c`` wins**: ``c`` must pass ``o`` in round 1 (gap ``n_o − n_c − 1[c < o]``; a changed
  model closes it by at most 2 if it voted ``o``, else 1) AND beat ``w`` head to head (``h(w, c)``; at most
  2 if the model ranked ``w`` above ``c``, else 0; an abstaining model that starts voting ``c ≻ w`` is worth
  (1, 1)). The fewest models meeting both needs, given how many models of each of the five kinds exist, is
  solved exactly (the (2, 2) kind dominates; then every count of (1, 2) models is tried, with the (1, 1)
  models the head-to-head still needs, (2, 0) before single steps for round 1);
* **``w`` out in round 1**: two classes ``a, b`` must both pass ``w``: the gaps ``g_x = n_w − n_x − 1[x < w]``
  must drop by ``R_x = max(g_x + 1, 0)``; one change lowers each gap by at most 2 and their sum by at most
  3, so cost ``≥ max(⌈R_a/2⌉, ⌈R_b/2⌉, ⌈(R_a + R_b)/3⌉)`` (the paper's dynamic programme in closed form),
  smallest for the two smallest ``R``.

The certified radius is the smallest of these costs minus one (deterministic, ``alpha = 0``). The second
case is tighter than the paper's ``max`` of the two separate gaps (that version was tight in 1,691 of the
1,715 three-class configurations below). Checked against exact enumeration (tests/test_certify_enumeration.py): over every
multiset of strict rankings of 2 or 3 classes by 1 to 7 models (1,750 configurations) and of 4 classes by
1 to 3 models (2,924) the radius never exceeds the brute-force radius and equals it in 100% of them (a
one-off run over 4 classes by 4 models, 17,550 more, was also 100% tight). Not proven tight in general.
With abstentions (tests/test_certify_abstain.py: every multiset of rankings and abstentions of 1 to 6 models
over 2 or 3 classes, and of 1 to 3 models over 4 classes; 5,073 configurations) the radius never exceeds the
brute-force radius and equals it in every configuration where some model votes (measured, 5,058 of 5,058;
a one-off run over 3 classes by up to 8 models, 6,426 voting configurations, was also 100% tight).
Run-off does not dominate plurality: neither the prediction nor the radius is always the larger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crowd.certify.certificate import Certificate


@dataclass(frozen=True)
class RunoffTally:
    """One text's run-off tally: round-1 ``counts``, the two ``finalists`` (round-1 order) and the ``winner``."""

    counts: tuple[int, ...]
    finalists: tuple[int, int]
    winner: int

    @property
    def opponent(self) -> int:
        """The finalist that lost round 2."""
        a, b = self.finalists
        return b if self.winner == a else a


@dataclass(frozen=True)
class _Ballots:
    """Per-model ballots: round-1 vote ``first[m]`` (-1: abstains) and ``prefers[m, a, b]`` (model ``m`` puts
    ``a`` above ``b``; all false for an abstaining model)."""

    first: np.ndarray
    prefers: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.first[self.first >= 0], minlength=self.prefers.shape[1])

    @property
    def voters(self) -> int:
        return int(np.sum(self.first >= 0))

    def head(self, w: int, c: int) -> int:
        """Head-to-head gap: ``w`` beats ``c`` in round 2 iff this is ``>= 0``."""
        pairwise = self.prefers[:, [w, c], [c, w]].sum(axis=0)
        return int(pairwise[0] - pairwise[1] - (c < w))


def _ballots(logits: np.ndarray) -> _Ballots:
    arr = np.asarray(logits, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 2:
        raise ValueError(f"logits must be (models >= 1, classes >= 2), got shape {arr.shape}")
    abstains = np.all(np.isnan(arr), axis=1)
    if not np.all(np.isfinite(arr[~abstains])):
        raise ValueError("logits must be finite (no NaN or inf), except all-NaN rows of abstaining models")
    idx = np.arange(arr.shape[1])
    above = arr[:, :, None] > arr[:, None, :]  # false wherever a NaN is compared
    tied_lower = (arr[:, :, None] == arr[:, None, :]) & (idx[:, None] < idx[None, :])
    first = np.where(abstains, -1, np.argmax(np.nan_to_num(arr), axis=1))
    return _Ballots(first=first, prefers=above | tied_lower)


def _tally(ballots: _Ballots) -> RunoffTally:
    counts = ballots.counts
    first, second = (int(c) for c in np.argsort(-counts, kind="stable")[:2])
    winner = first if ballots.head(first, second) >= 0 else second
    return RunoffTally(tuple(int(c) for c in counts), (first, second), winner)


def _voted(logits: np.ndarray) -> _Ballots:
    ballots = _ballots(logits)
    if ballots.voters == 0:
        raise ValueError("every model abstained (all-NaN logits): the text abstains, it has no winner")
    return ballots


def runoff_tally(logits: np.ndarray) -> RunoffTally:
    """Tally both rounds for one text's ``(models, classes)`` logits (tie rules in the module docstring).

    All-NaN rows abstain; raises ``ValueError`` when every model abstains.
    """
    return _tally(_voted(logits))


def runoff_predict(logits: np.ndarray) -> int:
    """The run-off winner for one text's ``(models, classes)`` logits (at least one model must vote)."""
    return runoff_tally(logits).winner


def _ceil_half(x: int) -> int:
    return -(-x // 2)


def _cost_eliminated(counts: np.ndarray, w: int) -> float:
    """Lower bound on the changes that put two classes above ``w`` in round 1 (inf with two classes)."""
    need = [max(int(counts[w] - counts[x] - (x < w)) + 1, 0) for x in range(counts.size) if x != w]
    if len(need) < 2:
        return float("inf")
    r_a, r_b = sorted(need)[:2]
    return max(_ceil_half(r_a), _ceil_half(r_b), -(-(r_a + r_b) // 3))


def _cost_new_opponent(ballots: _Ballots, w: int, o: int, c: int) -> float:
    """Lower bound on the changes that make ``c`` pass ``o`` in round 1 AND beat ``w`` head to head.

    A changed model lowers the round-1 gap ``n_o − n_c − 1[c < o]`` by at most 2 if it voted ``o`` (else 1)
    and the head-to-head gap by at most 2 if it preferred ``w`` to ``c``, by 1 if it abstained (it may start
    voting ``c ≻ w``), else 0. Fewest models meeting both needs: the (2, 2) kind first (it dominates), then
    for every number of (1, 2) models the (1, 1) abstainers the head-to-head still needs, then (2, 0)
    before single steps for what round 1 still needs; the smallest total over that number.
    """
    counts = ballots.counts
    need_r1 = max(int(counts[o] - counts[c] - (c < o)) + 1, 0)
    need_head = max(ballots.head(w, c) + 1, 0)
    voting, from_o, prefers_w = ballots.first >= 0, ballots.first == o, ballots.prefers[:, w, c]
    n_both, n_r1 = int(np.sum(from_o & prefers_w)), int(np.sum(from_o & ~prefers_w))
    n_head, n_abst = int(np.sum(~from_o & prefers_w)), int(np.sum(~voting))
    n_rest = int(np.sum(voting & ~from_o & ~prefers_w))
    both = min(n_both, max(_ceil_half(need_r1), _ceil_half(need_head)))
    need_r1, need_head = max(need_r1 - 2 * both, 0), max(need_head - 2 * both, 0)
    head = np.arange(n_head + 1)  # (1, 2) models used
    abst = np.maximum(need_head - 2 * head, 0)  # (1, 1) models the head-to-head still needs
    rest = np.maximum(need_r1 - head - abst, 0)
    double = np.minimum(n_r1, -(-rest // 2))
    single = np.maximum(rest - 2 * double, 0)
    ok = (abst <= n_abst) & (single <= (n_head - head) + (n_abst - abst) + n_rest)
    if not ok.any():
        return float("inf")
    return both + int(np.min((head + abst + double + single)[ok]))


def runoff_costs(logits: np.ndarray) -> dict[str, float]:
    """Lower bounds on the changed models needed for each way of changing the winner (module docstring)."""
    return _costs(_voted(logits))


def _costs(ballots: _Ballots) -> dict[str, float]:
    tally = _tally(ballots)
    w, o = tally.winner, tally.opponent
    others = [c for c in range(ballots.prefers.shape[1]) if c not in (w, o)]
    return {
        "same_final": ballots.head(w, o) // 2 + 1,
        "new_opponent": min((_cost_new_opponent(ballots, w, o, c) for c in others), default=float("inf")),
        "eliminated": _cost_eliminated(ballots.counts, w),
        "all_abstain": ballots.voters,
    }


def runoff_radius(logits: np.ndarray) -> int:
    """Certified number of models whose logits may change arbitrarily without changing the run-off winner.

    A change may also make a model abstain (all-NaN row) or vote again. Deterministic; unit: that of the
    aggregation (changed models = inserted/deleted examples for DPA, distinct word types for word
    partitions). Always ``>= 0``; at least one model must vote.
    """
    return int(min(_costs(_voted(logits)).values())) - 1


def _fewest(helps: np.ndarray, need: int) -> float:
    """Fewest buckets whose helps (largest first) sum to ``need``; inf when all of them fall short."""
    if need <= 0:
        return 0
    spent = np.cumsum(np.sort(helps)[::-1])
    at = int(np.searchsorted(spent, need, side="left"))
    return at + 1 if at < spent.size else float("inf")


def runoff_fa_costs(logits: np.ndarray, bucket_models: Sequence[Sequence[int]]) -> dict[str, float]:
    """Lower bounds on the corrupted buckets needed for each way of changing the run-off winner, when bucket
    ``b`` reaches the models ``bucket_models[b]`` (Finite Aggregation, :func:`crowd.certify.fa_bucket_models`).

    Each way of :func:`runoff_costs` needs some gaps to fall; a changed model lowers each by at most its own
    cap (below), so a set of buckets lowers it by at most the sum of the caps of the models its buckets reach,
    a model reached twice counted twice. The fewest buckets whose largest sums reach a gap bound that way;
    where a way needs several gaps at once, the largest of their bounds. Caps per model, ``w`` the winner:
    head to head ``w`` vs ``c``: 2 if it ranks ``w`` above ``c``, 1 if it abstains, else 0; round 1, ``c``
    passing ``x``: 2 if it voted ``x``, 0 if it voted ``c``, else 1 (an abstainer starting to vote counts 1);
    two classes ``a, b`` passing ``w``: per gap 2 if it voted ``w``, 0 if it voted that class, else 1, and
    their sum 3 if it voted ``w``, else 1; silencing every voter: its own vote.
    """
    ballots = _voted(logits)
    n_models, n_classes = ballots.prefers.shape[:2]
    incidence = np.zeros((len(bucket_models), n_models), dtype=np.int64)
    for b, models in enumerate(bucket_models):
        incidence[b, list(models)] = 1
    tally = _tally(ballots)
    w, o = tally.winner, tally.opponent
    first, abstains, counts = ballots.first, (ballots.first < 0).astype(np.int64), ballots.counts

    def head_caps(c: int) -> np.ndarray:
        return incidence @ (2 * ballots.prefers[:, w, c].astype(np.int64) + abstains)

    def round1_caps(x: int, c: int) -> np.ndarray:  # c passing x in round 1
        return incidence @ np.where(first == x, 2, np.where(first == c, 0, 1))

    def gap(x: int, c: int) -> int:  # how much n_x − n_c − 1[c < x] must fall for c to pass x
        return max(int(counts[x] - counts[c] - (c < x)) + 1, 0)

    others = [c for c in range(n_classes) if c not in (w, o)]
    new_opponent = [
        max(_fewest(round1_caps(o, c), gap(o, c)), _fewest(head_caps(c), ballots.head(w, c) + 1))
        for c in others
    ]
    rivals = [c for c in range(n_classes) if c != w]
    eliminated = [
        max(
            _fewest(round1_caps(w, a), gap(w, a)),
            _fewest(round1_caps(w, b), gap(w, b)),
            _fewest(incidence @ np.where(first == w, 3, 1), gap(w, a) + gap(w, b)),
        )
        for i, a in enumerate(rivals)
        for b in rivals[i + 1 :]
    ]
    return {
        "same_final": _fewest(head_caps(o), ballots.head(w, o) + 1),
        "new_opponent": min(new_opponent, default=float("inf")),
        "eliminated": min(eliminated, default=float("inf")),
        "all_abstain": _fewest(incidence @ (1 - abstains), ballots.voters),
    }


def runoff_fa_radius(logits: np.ndarray, bucket_models: Sequence[Sequence[int]]) -> int:
    """Certified number of corrupted buckets (:func:`runoff_fa_costs`) that leave the run-off winner, below
    the number of buckets. With two classes the run-off elects the plurality winner and this is exactly
    :func:`crowd.certify.fa_radius`."""
    return int(min(min(runoff_fa_costs(logits, bucket_models).values()), len(bucket_models))) - 1


def runoff_certificates(
    logits: np.ndarray,
    radius_key: str = "dpa",
    noise: str = "partition aggregation, run-off election",
    bucket_models: Sequence[Sequence[int]] | None = None,
) -> list[Certificate]:
    """Deterministic run-off certificates (``alpha = 0``) from ``(texts, models, classes)`` logits.

    ``radii[radius_key]`` is :func:`runoff_radius` in the aggregation's unit (``"dpa"``: inserted/deleted
    training examples; ``"textguard"``: distinct word types); ``counts`` are the round-1 votes. A model whose
    row is all NaN abstains on that text; a text on which every model abstains gets an abstaining
    certificate (``label`` ``None``, empty ``radii``, ``top_class`` 0). With ``bucket_models`` (Finite
    Aggregation: the models each bucket feeds) the radius counts buckets, :func:`runoff_fa_radius`.
    """
    arr = np.asarray(logits, dtype=float)
    if arr.ndim != 3:
        raise ValueError(f"logits must be (texts, models, classes), got shape {arr.shape}")
    return [_certificate(row, radius_key, noise, bucket_models) for row in arr]


def _certificate(
    logits: np.ndarray, radius_key: str, noise: str, bucket_models: Sequence[Sequence[int]] | None
) -> Certificate:
    ballots = _ballots(logits)
    tally = _tally(ballots) if ballots.voters else None
    if tally is not None:
        radius = (
            int(min(_costs(ballots).values())) - 1
            if bucket_models is None
            else runoff_fa_radius(logits, bucket_models)
        )
    return Certificate(
        label=None if tally is None else tally.winner,
        top_class=0 if tally is None else tally.winner,
        p_lower=None,
        p_upper_runner_up=None,
        counts=tuple(int(c) for c in ballots.counts),
        alpha=0.0,
        method="runoff",
        noise=noise,
        radii={} if tally is None else {radius_key: radius},
    )


def ranking_logits(rankings: Sequence[Sequence[int]]) -> np.ndarray:
    """``(models, classes)`` logits whose per-model strict ranking (best first) is ``rankings[i]``."""
    ranks = np.asarray(rankings, dtype=np.int64)
    logits = np.empty(ranks.shape, dtype=float)
    rows = np.arange(ranks.shape[0])[:, None]
    logits[rows, ranks] = np.arange(ranks.shape[1], 0, -1, dtype=float)
    return logits
