"""Re-render every committed benchmark page and its plots from the rows (no cell runs).

Each ``benchmarks/results/NAME/NAME.md`` with a config ``benchmarks/configs/NAME.toml`` is written again by
:func:`crowd.bench.pages.write_table` (cpu scale), as ``crowd bench ... --scale cpu --render-only`` writes it;
``tests/test_committed_tables.py`` checks that every committed page equals this render, provenance marks
included (a code change a row's ``code_version`` covers turns the row ``[old code]``).

    python benchmarks/render_tables.py              # every page
    python benchmarks/render_tables.py table2 wang  # these pages
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crowd.bench.pages import write_table  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CONFIGS = ROOT / "benchmarks" / "configs"


def pages() -> list[str]:
    """The names of the committed pages that a benchmark config renders."""
    return sorted(
        p.parent.name
        for p in RESULTS.glob("*/*.md")
        if p.stem == p.parent.name and (CONFIGS / f"{p.stem}.toml").exists()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="pages to render (default: every committed page)")
    names = parser.parse_args(argv).names or pages()
    unknown = sorted(set(names) - set(pages()))
    if unknown:
        parser.error(f"no committed page {', '.join(unknown)}; pages: {', '.join(pages())}")
    for name in names:
        write_table(CONFIGS / f"{name}.toml", RESULTS / name)
        print(f"benchmarks/results/{name}/{name}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
