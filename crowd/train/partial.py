"""Partial fine-tuning of the victim: the frozen lower layers run once per text, the top layers train from their states.

With ``VictimConfig.trainable_layers = k > 0`` the embeddings and the lower
``L - k`` transformer layers of a BERT-style encoder (``base_model.embeddings``,
``base_model.encoder.layer``) are frozen. Their output is then a deterministic
function of the text, computed once in eval mode (no dropout) and kept in a
:class:`StateCache`; every epoch trains the top ``k`` layers, the pooler and the
head from these cached states. The frozen and the trained parts stay one Hugging
Face model, so inference (probabilities, [CLS] vectors, logits from input
embeddings for RAP) runs the whole model as before and equals
``top(bottom(text))`` up to floating-point rounding (checked in tests).

Memory: fp32, each text at its own token length (no padding): SST-2's 6,920
training texts at ``max_length = 64`` under MiniLM (hidden 384) take about
0.3 GB. The cut is done by temporarily swapping modules of the model
(:func:`layer_range`), so any ``encoder.layer``-style architecture works.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator, Sequence

import torch


class _FromStates(torch.nn.Module):
    """Stands in for the embedding module: hands the given ``inputs_embeds`` (hidden states) on unchanged."""

    def forward(self, input_ids=None, inputs_embeds=None, **kwargs):
        return inputs_embeds


def encoder_layers(model) -> torch.nn.ModuleList:
    """The transformer layers ``base_model.encoder.layer``; ``ValueError`` for other architectures."""
    base = model.base_model
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not isinstance(layers, torch.nn.ModuleList) or not hasattr(base, "embeddings"):
        raise ValueError(
            "victim.trainable_layers > 0 needs a BERT-style encoder (base_model.embeddings and "
            f"base_model.encoder.layer); {type(model).__name__} has none: use trainable_layers = 0"
        )
    return layers


def freeze_bottom(model, trainable_layers: int) -> int:
    """Freeze the embeddings and all but the top ``trainable_layers`` layers; returns the first trained layer."""
    layers = encoder_layers(model)
    if trainable_layers > len(layers):
        raise ValueError(
            f"victim.trainable_layers = {trainable_layers} exceeds the model's {len(layers)} transformer layers"
        )
    cut = len(layers) - trainable_layers
    for module in [model.base_model.embeddings, *layers[:cut]]:
        module.requires_grad_(False)
    return cut


@contextlib.contextmanager
def layer_range(model, start: int, stop: int | None, from_states: bool) -> Iterator[None]:
    """Inside, ``model`` runs only ``layers[start:stop]``; with ``from_states`` its ``inputs_embeds`` are taken
    as the hidden states entering layer ``start`` (the embedding module is skipped). Restored on exit."""
    base = model.base_model
    layers, embeddings = encoder_layers(model), base.embeddings
    base.encoder.layer = layers[start:stop]
    if from_states:
        base.embeddings = _FromStates()
    try:
        yield
    finally:
        base.encoder.layer = layers
        base.embeddings = embeddings


class StateCache:
    """Hidden states leaving the frozen part, one per distinct text, for one ``key`` (model, length, cut, device).

    States live on the CPU in fp32 as one flat ``[tokens + 1, hidden]`` tensor (the last
    row is zeros, used for padding); text ``r`` occupies ``offsets[r] : offsets[r] + lengths[r]``.
    A victim retrained on a subset of the same texts (BKI) reuses them. Which texts were
    computed together depends only on the calls made, so a pipeline stays reproducible.
    """

    def __init__(self) -> None:
        self.computed = 0  # texts whose states were computed (not found in the cache)
        self._reset(None)

    def _reset(self, key: Hashable | None) -> None:
        self.key = key
        self._row: dict[str, int] = {}
        self._flat = torch.zeros(0, 0)
        self._offsets = torch.zeros(0, dtype=torch.long)
        self._lengths = torch.zeros(0, dtype=torch.long)

    @property
    def nbytes(self) -> int:
        return self._flat.numel() * self._flat.element_size()

    def rows(
        self, key: Hashable, texts: Sequence[str], compute: Callable[[list[str]], list[torch.Tensor]]
    ) -> torch.Tensor:
        """Row of each text (``int64``); ``compute(missing)`` gives ``[length, hidden]`` states of new texts."""
        if key != self.key:
            self._reset(key)
        missing = [t for t in dict.fromkeys(texts) if t not in self._row]
        if missing:
            self._append(missing, compute(missing))
        return torch.as_tensor([self._row[t] for t in texts], dtype=torch.long)

    def _append(self, texts: list[str], states: list[torch.Tensor]) -> None:
        lengths = torch.as_tensor([len(s) for s in states], dtype=torch.long)
        body = self._flat[:-1] if len(self._flat) else self._flat.new_zeros(0, states[0].shape[1])
        start = len(body)
        self._offsets = torch.cat([self._offsets, start + torch.cumsum(lengths, 0) - lengths])
        self._lengths = torch.cat([self._lengths, lengths])
        hidden = states[0].shape[1]
        self._flat = torch.cat([body, *[s.float().cpu() for s in states], torch.zeros(1, hidden)])
        for t in texts:
            self._row[t] = len(self._row)
        self.computed += len(texts)

    def batch(self, rows: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """States ``[B, width, hidden]`` of ``rows`` padded with zeros to the longest, and the attention mask."""
        lengths = self._lengths[rows]
        positions = torch.arange(int(lengths.max()))
        mask = positions[None, :] < lengths[:, None]
        index = torch.where(mask, self._offsets[rows, None] + positions[None, :], len(self._flat) - 1)
        return self._flat[index].to(device), mask.long().to(device)
