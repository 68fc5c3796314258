"""Trained victims kept on disk, so defenses that share a poisoned corpus train its victim once.

A victim is a function of its :class:`~crowd.victim.model.VictimConfig`, the model's files, the
training texts and labels, and the seed. :func:`victim_key` hashes all of them (the model by
:func:`~crowd.train.feature_cache.model_identity`, the content of its ``config.json`` and weights,
so a moved copy of the same files hits and an edited checkpoint misses). The store keeps, per key,
the parameters that training changed (``requires_grad``: the whole model, or only the top layers,
pooler and head of a partial victim) as one safetensors file, written atomically; loading one never
executes code. A victim loaded from the store has exactly the trained weights, so everything
downstream (predictions, defenses) is byte-identical to the run that trained it.

The key does not depend on the code that trains a victim, so each file also records that code's version
(:data:`VICTIM_CODE`, hashed by :func:`crowd.codehash.modules_version`). A stored victim whose version
differs from today's counts as absent: it is trained again and overwritten, so a fix to victim training
never reaches a benchmark row through a victim trained before it. Files written before versions were
recorded carry none and are reused as they are (delete the folder to retrain them).

The folder is ``$CROWD_VICTIM_CACHE`` if set, else ``crowd.paths.cache_dir() / "victims"``.
``crowd bench`` uses it for every empirical cell; :func:`crowd.pipelines.defend.run_defend` takes
a store as an argument.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save

from crowd.codehash import modules_version
from crowd.io import write_bytes
from crowd.paths import cache_subdir
from crowd.train.common import resolve_device
from crowd.train.feature_cache import model_identity
from crowd.train.models import resolve_model

# a crowd.victim.model.Victim / VictimConfig (that module imports this one)
Victim = Any
VictimConfig = Any

CACHE_ENV = "CROWD_VICTIM_CACHE"
FORMAT_VERSION = 1
# the code that trains a victim (crowd.bench.version's DEFEND list names the same modules)
VICTIM_CODE = ("crowd.victim.model", "crowd.train.fine_tuning", "crowd.train.partial", "crowd.train.common")


def victim_key(
    config: VictimConfig, texts: Sequence[str], labels: Sequence[int], seed: int, dev: Any = None
) -> str:
    """sha256 of everything a trained victim depends on (the device too: CPU and CUDA training differ).

    ``dev``: the victim's ``(dev texts, dev labels, clean count)`` when it selects its epoch on them
    (``select = "best"``); a ``select = "last"`` victim hashes as it did before ``select`` existed.
    """
    settings = asdict(config)
    # hashed under the names victims were stored with before the fine-tuning settings were shared
    settings["bf16"] = settings.pop("dtype") == "bf16"
    settings["eval_batch_size"] = settings.pop("inference_batch_size")
    model = resolve_model(config.model)
    settings["model"] = model_identity(model) if Path(model).is_dir() else model
    settings["device"] = str(resolve_device(config.device).type)
    if settings.get("select") == "last":
        del settings["select"]  # the keys of victims stored before the option existed
    h = hashlib.sha256(json.dumps([FORMAT_VERSION, settings, int(seed)], sort_keys=True).encode())
    h.update(json.dumps(list(texts), ensure_ascii=False).encode("utf-8"))
    h.update(json.dumps([int(y) for y in labels]).encode())
    if dev is not None:
        dev_texts, dev_labels, n_clean = dev
        h.update(json.dumps([list(dev_texts), [int(y) for y in dev_labels], int(n_clean)]).encode("utf-8"))
    return h.hexdigest()


class VictimStore:
    """A folder of trained victims' parameters, one ``<key>.safetensors`` per victim."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else cache_subdir(CACHE_ENV, "victims")
        self.hits = 0
        self.misses = 0
        self.stale = 0  # misses because the stored victim was trained by other victim code

    def path(self, key: str) -> Path:
        return self.root / f"{key}.safetensors"

    def load(self, key: str, victim: Victim) -> bool:
        """Give the (freshly ``load()``-ed) ``victim`` the stored parameters; False when none are stored or
        the stored ones were trained by other victim code (:data:`VICTIM_CODE`)."""
        path = self.path(key)
        if not path.is_file():
            self.misses += 1
            return False
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata() or {}
            # a file stored before versions were recorded has no "code" and is reused
            if metadata.get("code") not in (None, victim_code()):
                self.stale += 1
                self.misses += 1
                return False
            tensors = load_file(str(path))
            selection = json.loads(metadata.get("selection", "null"))
        except Exception as e:  # safetensors raises its own error types
            raise ValueError(f"{path}: not a readable stored victim ({e}); delete the file to retrain") from e
        params = dict(victim.model_.named_parameters())
        unknown = sorted(set(tensors) - set(params))
        if unknown:
            raise ValueError(
                f"{path}: parameters {unknown[:3]} are not in the victim's model; delete the file"
            )
        with torch.no_grad():
            for name, value in tensors.items():
                params[name].copy_(value.to(params[name].device))
        if selection is not None:
            victim.epoch_, victim.epoch_scores_ = selection["epoch"], selection["dev_scores"]
        self.hits += 1
        return True

    def save(self, key: str, victim: Victim) -> Path:
        """Store the parameters training changed (``requires_grad``), atomically."""
        tensors = {
            name: p.detach().cpu().contiguous()
            for name, p in victim.model_.named_parameters()
            if p.requires_grad
        }
        self.root.mkdir(parents=True, exist_ok=True)
        metadata = {"format": str(FORMAT_VERSION), "code": victim_code()}
        if getattr(victim, "epoch_scores_", None):  # select = "best": what chose the epoch kept
            metadata["selection"] = json.dumps({"epoch": victim.epoch_, "dev_scores": victim.epoch_scores_})
        return write_bytes(self.path(key), save(tensors, metadata=metadata))

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "stale": self.stale}


def victim_code() -> str:
    """The version of the code that trains a victim (:data:`VICTIM_CODE`)."""
    return modules_version(VICTIM_CODE)
