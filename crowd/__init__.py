"""crowd: certified defenses for text classifiers against backdoor attacks.

Subpackages are imported on demand; importing ``crowd`` does nothing else
(no downloads, no device choice, no logging set-up).
"""

__version__ = "0.1.0"
