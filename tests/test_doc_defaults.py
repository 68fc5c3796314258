"""docs/training.md's table of learner defaults says what `crowd certify` runs (CertifyConfig's sections)."""

from __future__ import annotations

import re
from pathlib import Path

from crowd.pipelines.config import CertifyConfig

ROOT = Path(__file__).resolve().parents[1]
ROWS = {"lr": "lr", "batch (per copy)": "batch_size", "epochs": "epochs", "max length": "max_length"}
ROWS.update({"copies_per_group": "copies_per_group", "pooling": "pooling"})


def _table() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    block = text.split("## Learners and their defaults")[1].split("\n\n")[2]
    rows = [
        [c.strip() for c in line.strip("|").split("|")] for line in block.splitlines() if line.startswith("|")
    ]
    return {r[0]: r[1:4] for r in rows}


def test_learner_defaults_table_equals_the_config_sections():
    config, table = CertifyConfig(), _table()
    for label, attr in ROWS.items():
        for cell, section in zip(table[label], ("full", "head", "static")):
            value = getattr(getattr(config, section), attr, None)
            if value is None:
                assert cell == "–", (label, section)
                continue
            shown = re.match(r"[\w.\-]+", cell).group(0)
            assert shown == str(value) or float(shown) == float(value), (label, section, cell, value)
