"""Kept models through safetensors and back, for the learners' round-trip tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from safetensors import numpy as safetensors_numpy

from crowd.train.data import ModelState


def saved_and_loaded(states: Sequence[ModelState], folder: Path) -> list[ModelState]:
    """Each state written with ``safetensors.numpy.save_file`` into ``folder`` and read back, after checking
    that every array came back with its name, dtype and values."""
    loaded = []
    for k, state in enumerate(states):
        path = Path(folder) / f"model-{k}.safetensors"
        safetensors_numpy.save_file(state, str(path))
        back = safetensors_numpy.load_file(str(path))
        assert set(back) == set(state)
        for name in state:
            assert back[name].dtype == state[name].dtype and np.array_equal(back[name], state[name])
        loaded.append(back)
    return loaded
