"""Regenerate the golden ``per_text.jsonl`` files of tests/test_golden.py (run from the repository root).

``python tests/golden/make_golden.py [METHOD ...]``: the named methods only (default: every method).
Only run this when a change is MEANT to change the votes or certificates; say why in the commit.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from test_golden import GOLDEN, METHODS, run_method, write_corpus  # noqa: E402


def main() -> None:
    from crowd.testing import make_tiny_bert

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = write_corpus(tmp / "corpus")
        bert = make_tiny_bert(tmp / "bert")
        for method in sys.argv[1:] or METHODS:
            out = run_method(method, corpus, bert, tmp / method)
            shutil.copy(out / "per_text.jsonl", GOLDEN / f"{method}.jsonl")
            print("wrote", GOLDEN / f"{method}.jsonl")


if __name__ == "__main__":
    main()
