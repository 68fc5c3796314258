"""A tiny randomly initialised BERT with the real MiniLM tokenizer, for tests and smoke runs."""

from __future__ import annotations

import os
from pathlib import Path

from crowd.train.models import minilm_path


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
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

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
