"""crowd: certified defenses for text classifiers against backdoor attacks.

Subpackages are imported on demand; importing ``crowd`` does nothing else
(no downloads, no device choice, no logging set-up).
"""

__version__ = "0.1.0"

__all__ = ["CertifiedClassifier", "TextCertificate", "__version__"]


def __getattr__(name: str):
    """``crowd.CertifiedClassifier`` and ``crowd.TextCertificate``, imported on first use (light: no torch)."""
    if name in ("CertifiedClassifier", "TextCertificate"):
        from crowd.pipelines import classifier  # lazy: importing crowd alone does nothing

        return getattr(classifier, name)
    raise AttributeError(f"module 'crowd' has no attribute {name!r}")
