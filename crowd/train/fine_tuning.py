"""The fine-tuning settings shared by the ``full`` and ``partial`` learners and the victim, one name each. No torch.

:class:`FineTuning` holds what every fine-tuning run is configured by: ``epochs``, ``lr``, ``batch_size``,
``weight_decay``, ``max_grad_norm``, ``max_length`` (word pieces), ``dtype`` (``"bf16"``: bf16 autocast on
CUDA, fp32 elsewhere; ``"fp32"``) and ``inference_batch_size`` (rows per forward pass when nothing is trained).
:class:`crowd.train.settings.FullFineTune`, :class:`crowd.train.settings.PartialFineTune` and
:class:`crowd.victim.model.VictimConfig` inherit it, so their config tables stay flat (``[full] lr = ...``), and
redeclare a field to change its default. The warm-up is not shared: the learners' ``warmup`` is a fraction of
the steps, the victim's ``warmup_epochs`` a count of epochs (OpenBackdoor's schedule; docs/training.md).

Dataclass inheritance puts a base's fields first; :func:`keep_field_order` gives each subclass back the key
order its table had before the base existed, because that order is written in resolved configs and in the
learner fingerprints of vote stores and kept models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

T = TypeVar("T", bound=type)

DTYPES = ("bf16", "fp32")


@dataclass(frozen=True)
class FineTuning:
    """Fine-tuning settings, defaults CROWD's (AdamW, lr 5e-5, batch 8, 3 epochs, clipping at 1.0)."""

    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 8
    weight_decay: float = 0.0
    max_grad_norm: float | None = 1.0
    max_length: int = 128
    dtype: Literal["bf16", "fp32"] = "bf16"
    inference_batch_size: int = 256

    def check_fine_tuning(self) -> None:
        """Raise ``ValueError`` for a ``dtype`` not in :data:`DTYPES` or a ``max_grad_norm`` that is not > 0."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0 (or unset), got {self.max_grad_norm}")


def keep_field_order(*names: str) -> Callable[[T], T]:
    """Class decorator, above ``@dataclass``: the dataclass's fields listed in the order ``names`` (every field,
    once), so ``dataclasses.fields``, ``asdict`` and the config written back keep a table's historical key order
    whatever its base classes declare first. Construction is by keyword (configs), so ``__init__`` is unchanged."""

    def apply(cls: T) -> T:
        own = {f.name for f in dataclasses.fields(cls)}
        if sorted(names) != sorted(own):
            raise TypeError(
                f"{cls.__name__}: keep_field_order lists {sorted(names)}, the fields are {sorted(own)}"
            )
        every = cls.__dataclass_fields__
        cls.__dataclass_fields__ = {n: every[n] for n in names} | {
            n: f for n, f in every.items() if n not in own
        }
        return cls

    return apply
