"""Noise distributions for randomized smoothing of text classifiers (THEORY §2).

- :class:`CrowdNoise`: CROWD's beta-weighted synonym substitution (Sun, Sen, Ruan);
- :class:`SaferNoise`: SAFER's uniform synonym substitution (Ye et al. 2020);
- :class:`KeepBetaNoise`, :class:`WangNoise`: keep-β noise on token ids and labels (Wang et al. 2020).

See ``docs/noise.md`` for distributions, degenerate cases and departures from the released code.
"""

from crowd.noise.beta import fit_beta, induced_probs, sample_beta_argmax
from crowd.noise.keep import KeepBetaNoise, WangNoise
from crowd.noise.synonym import CrowdNoise, SaferNoise, SynonymNoise

__all__ = [
    "CrowdNoise",
    "KeepBetaNoise",
    "SaferNoise",
    "SynonymNoise",
    "WangNoise",
    "fit_beta",
    "induced_probs",
    "sample_beta_argmax",
]
