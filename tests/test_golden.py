"""Byte-identical ``per_text.jsonl`` for every certified method on a fixed tiny configuration.

The golden files were written before the orchestration layer was restructured; a change that alters them
changes votes or certificates and must say why (regenerate with ``python tests/golden/make_golden.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).parent / "golden"
POSITIVE = ["good", "great", "fine", "nice", "superb"]
NEGATIVE = ["bad", "awful", "poor", "dull", "weak"]
FILLER = ["the", "film", "movie", "story", "plot", "acting", "was", "is", "really", "quite"]
METHODS = {
    "crowd": ['method.name="crowd"', "n_copies=6"],
    "safer": ['method.name="safer"', "n_copies=6"],
    "wang": ['method.name="wang"', "method.beta_token=0.95", "method.beta_label=0.95", "n_copies=6"],
    "dpa": ['method.name="dpa"', "method.partitions=4"],
    # word partitions with 3 groups and their defaults (empty sub-texts abstain, balanced class weights)
    "textguard": ['method.name="textguard"', "method.groups=3"],
}


def sentences(n: int, seed: int) -> list[tuple[str, int]]:
    g = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = int(g.integers(2))
        words = list(g.choice(FILLER, size=3))
        for _ in range(2):
            words.insert(int(g.integers(len(words) + 1)), str(g.choice(POSITIVE if label else NEGATIVE)))
        rows.append((" ".join(words), label))
    return rows


def write_corpus(folder: Path) -> Path:
    from synonyms import SynonymGraph

    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", 120, 10), ("test", 30, 11)):
        lines = ["sentence\tlabel"] + [f"{t}\t{y}" for t, y in sentences(n, seed)]
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sets = {
        "good": [("great", 0.9), ("fine", 0.85), ("nice", 0.82)],
        "great": [("good", 0.9), ("superb", 0.88)],
        "bad": [("awful", 0.86), ("poor", 0.84)],
        "film": [("movie", 0.95)],
        "movie": [("film", 0.95)],
    }
    SynonymGraph.from_sets(sets).save(folder / "graph")
    return folder


def run_method(method: str, corpus: Path, bert: Path, out: Path) -> Path:
    from crowd.pipelines.certify import load_certify_config, run_certify

    config = load_certify_config(
        None,
        [
            f'data.dataset="{corpus}"',
            "attack.triggers=[]",  # the attack of the golden files: BadNets drawing from cf mn bb tq
            f'model.name="{bert}"',
            'model.device="cpu"',
            'model.learner="head"',  # the golden files were made with MiniLM-style heads on the tiny BERT
            "head.epochs=5",
            "head.lr=0.01",
            "head.max_length=16",
            "head.copies_per_group=3",
            'head.dtype="fp32"',
            'head.pooling="mean"',
            *METHODS[method],
            *([f'method.graph="{corpus / "graph"}"'] if method in ("crowd", "safer") else []),
        ],
    )
    run_certify(config, out, progress=False)
    return out


@pytest.mark.parametrize("method", list(METHODS))
def test_per_text_is_byte_identical_to_golden(method, tiny_bert, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    out = run_method(method, corpus, tiny_bert, tmp_path / method)
    assert (out / "per_text.jsonl").read_bytes() == (GOLDEN / f"{method}.jsonl").read_bytes()
