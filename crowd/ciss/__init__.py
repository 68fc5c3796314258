"""ConvexCertify / CISS (Zhao et al., ICML 2022): a test-side certificate against synonym substitutions.

"Certified Robustness Against Natural Language Attacks by Causal Intervention" (Haiteng Zhao, Chang Ma,
Xinshuai Dong, Anh Tuan Luu, Zhi-Hong Deng, Hanwang Zhang), released as ``zhao-ht/ConvexCertify``. A
trained encoder maps a text to a latent ``z``; interval bound propagation over every word's synonym set
bounds how far any substitution can move ``z`` (``B``); Gaussian noise of scale ``σ`` on ``z`` smooths the
classifier, which is then certified against every substitution at once when ``B < σ Φ⁻¹(p_lower)``.

:class:`CissClassifier` (``fit``, ``certify``, ``save`` / ``load``) with :class:`CissSettings`; the encoder
and its bounds are in :mod:`crowd.ciss.model`, training in :mod:`crowd.ciss.train`, the certificate in
:mod:`crowd.ciss.certify`. Our own CPU-sized implementation; docs/certify.md says how it differs.
"""

from crowd.ciss.certify import ABSTAIN, CissCertificate, gaussian_certificate
from crowd.ciss.classifier import CERTIFICATE, UNIT, CissClassifier
from crowd.ciss.settings import CissSettings

__all__ = [
    "ABSTAIN",
    "CERTIFICATE",
    "UNIT",
    "CissCertificate",
    "CissClassifier",
    "CissSettings",
    "gaussian_certificate",
]
