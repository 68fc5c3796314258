"""The device script's Python workers, one subprocess each (so a budget can stop one cleanly).

    python -m benchmarks.device.workers setup    --scale gpu|dry --work DIR [--bert-base]
    python -m benchmarks.device.workers finetune --scale gpu|dry --work DIR --rows FILE --model M [--graph G]
    python -m benchmarks.device.workers encoder  --scale gpu|dry --work DIR --rows FILE --model M

``setup`` writes the models the parts need (dry: a tiny BERT, a smaller-than-bert-base stand-in and a small
synonym graph; GPU: a random bert-base-sized ``BertForSequenceClassification(BertConfig())``, no download).
``finetune`` (part b) and ``encoder`` (part c) append one JSON row per finished measurement to ``--rows``, so a
run stopped by its budget keeps what it finished. Units: seconds, examples (training texts x epochs) per
second, FLOP/s in TFLOP/s (1e12).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification

from benchmarks.device.scales import DRY, GPU, Scale
from crowd.train.models import load_tokenizer
from synonyms import SynonymGraph

DRY_WORDS = {
    "good": [("great", 0.9), ("fine", 0.85), ("nice", 0.82)],
    "bad": [("poor", 0.86), ("awful", 0.84)],
    "film": [("movie", 0.95)],
    "movie": [("film", 0.95)],
    "funny": [("amusing", 0.88)],
    "story": [("tale", 0.83)],
}


def setup(scale: Scale, work: Path, bert_base: bool) -> None:
    """Models (and, dry, a synonym graph) under ``work``; nothing is downloaded."""
    work.mkdir(parents=True, exist_ok=True)
    if scale is DRY:
        from crowd.testing import make_tiny_bert  # lazy: the test helpers make the dry run's tiny models only

        make_tiny_bert(work / "tiny_bert")
        make_tiny_bert(work / "bert_base", hidden_size=64, num_layers=2, num_heads=2)
        SynonymGraph.from_sets(DRY_WORDS).save(work / "graph")
    elif bert_base:
        torch.manual_seed(0)
        BertForSequenceClassification(BertConfig(num_labels=2)).save_pretrained(work / "bert_base")
        load_tokenizer("minilm").save_pretrained(work / "bert_base")
    print(f"setup: wrote {sorted(p.name for p in work.iterdir())} in {work}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=("setup", "finetune", "encoder"))
    parser.add_argument("--scale", choices=("gpu", "dry"), required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--rows")
    parser.add_argument("--model")
    parser.add_argument("--graph")
    parser.add_argument("--bert-base", action="store_true")
    args = parser.parse_args(argv)
    scale = GPU if args.scale == "gpu" else DRY
    if args.job == "setup":
        setup(scale, Path(args.work), args.bert_base)
    elif args.job == "finetune":
        from benchmarks.device.finetune_bench import finetune  # lazy: a job imports only its own part

        finetune(scale, args.model, args.graph, args.rows)
    else:
        from benchmarks.device.encoder_bench import encoder  # lazy: a job imports only its own part

        encoder(scale, args.model, args.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
