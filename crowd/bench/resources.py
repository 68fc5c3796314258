"""Small stand-ins the smoke scale (and the tests) run on: a tiny BERT, a tiny causal LM and a tiny synonym graph.

Built once into ``<out>/_resources`` and named in bench config tables as ``{ resource = "tiny_bert" }``
(``tiny_lm``, ``tiny_graph``). They exercise the whole pipeline in seconds on a
CPU; their numbers mean nothing about the methods.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel

from crowd.train.models import minilm_path
from synonyms import SynonymGraph

# A handful of frequent SST-2/OffensEval/HSOL words and near-synonyms, for smoke runs only.
TINY_SETS = {
    "good": [("great", 0.9), ("fine", 0.85), ("nice", 0.82)],
    "great": [("good", 0.9), ("terrific", 0.86)],
    "bad": [("awful", 0.86), ("poor", 0.84), ("terrible", 0.83)],
    "film": [("movie", 0.95)],
    "movie": [("film", 0.95)],
    "funny": [("amusing", 0.84), ("hilarious", 0.82)],
    "story": [("tale", 0.83)],
    "people": [("folks", 0.81)],
    "stupid": [("dumb", 0.88), ("idiotic", 0.83)],
}


def build_resources(folder: Path, names: Iterable[str]) -> dict[str, str]:
    """Build (or reuse) each named resource under ``folder``; returns name -> path."""
    builders = {"tiny_bert": _tiny_bert, "tiny_lm": _tiny_lm, "tiny_graph": _tiny_graph}
    out = {}
    for name in sorted(set(names)):
        path = folder / name
        if not (path / "config.json").exists() and not (path / "graph.json").exists():
            builders[name](path)
        out[name] = str(path)
    return out


def _tiny_bert(path: Path) -> None:
    make_tiny_bert(path)


def make_tiny_bert(
    directory: str | os.PathLike[str],
    num_labels: int = 2,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    seed: int = 0,
) -> Path:
    """Write a tiny randomly initialised ``BertForSequenceClassification`` with the MiniLM tokenizer.

    Real architecture and real tokenizer (bert-base-uncased vocabulary), a few
    hundred thousand parameters: what the tests train on the CPU.
    """
    directory = Path(directory)
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=128,
        num_labels=num_labels,
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def _tiny_lm(path: Path) -> None:
    """A randomly initialised 2-layer GPT-2 with the MiniLM (BERT) tokenizer."""
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    torch.manual_seed(0)
    special = {  # GPT-2's own ids (50256) lie outside the BERT vocabulary: use the tokenizer's
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = GPT2Config(
        vocab_size=tokenizer.vocab_size, n_positions=128, n_embd=32, n_layer=2, n_head=2, **special
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)


def _tiny_graph(path: Path) -> None:

    SynonymGraph.from_sets(TINY_SETS, metadata={"source": "crowd.bench smoke graph"}).save(path)
