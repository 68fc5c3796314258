"""The static-vector learner's trainer by its first name: :class:`StaticBagTrainer`, which lives in
:mod:`crowd.train.static_bag` (torch).

``import crowd.train.static`` does not import torch; naming ``StaticBagTrainer`` here imports the trainer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crowd.train.static_bag import StaticBagTrainer

__all__ = ["StaticBagTrainer"]


def __getattr__(name: str):
    if name != "StaticBagTrainer":
        raise AttributeError(f"module 'crowd.train.static' has no attribute {name!r}")
    from crowd.train.static_bag import StaticBagTrainer  # lazy: this module is named without torch

    return StaticBagTrainer
