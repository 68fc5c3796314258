"""Pre-generated paraphrases (SCPN syntax, STRAP style) as a lookup from clean text.

SynBkd and StyleBkd need large generators. Users who have one pass any callable
``texts -> list[str | None]`` (e.g. wrapping an SCPN or STRAP model loaded with
``transformers``). Everyone else uses a :class:`ParaphraseTable` built from files
that pair each clean text with its paraphrase *exactly* (row alignment that is
checked, never guessed):

- :func:`table_from_openbackdoor`: an OpenBackdoor poison folder. ``train-poison``
  row ``i`` is the poisoned ``train-clean`` row ``i``; ``dev/test-poison`` are the
  non-target rows of ``dev/test-clean`` in order.
- :func:`table_from_aligned`: a file that is the transformed version of a clean
  split row by row (StyleAttack's ``transfer/STYLE/DATASET`` files; HiddenKiller's
  SCPN ``train.tsv``, whose unchanged rows are not paraphrases and are ignored).
  Raises if lengths or labels show the rows are not aligned.

Texts are matched by :func:`crowd.data.normalize.match_key` (tokenisation-blind),
because copies of SST-2 differ in how parentheses are written. A text that is not
in the table gets ``None``: the attack reports it instead of keeping it clean.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crowd.data.example import Example
from crowd.data.formats import DataFormatError, read_rows
from crowd.data.normalize import DEFAULT, Normalization, match_key


@dataclass(frozen=True, eq=False)
class ParaphraseTable:
    """``match_key(clean text) -> paraphrase``; the first pair wins for duplicate clean texts."""

    pairs: Mapping[str, str]
    source: str
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[str, str]], source: str, notes: Sequence[str] = ()
    ) -> ParaphraseTable:
        table: dict[str, str] = {}
        for clean, paraphrase in pairs:
            table.setdefault(match_key(clean), paraphrase)
        return cls(table, source, tuple(notes))

    def __call__(self, texts: Sequence[str]) -> list[str | None]:
        return [self.pairs.get(match_key(t)) for t in texts]

    def __len__(self) -> int:
        return len(self.pairs)

    def describe(self) -> dict[str, object]:
        h = hashlib.sha256()
        for key in sorted(self.pairs):
            h.update(key.encode("utf-8") + b"\t" + self.pairs[key].encode("utf-8") + b"\n")
        return {
            "type": "ParaphraseTable",
            "source": self.source,
            "n_pairs": len(self.pairs),
            "sha256": h.hexdigest(),
            "notes": list(self.notes),
        }


def table_from_openbackdoor(
    folder: str | os.PathLike[str], target_label: int = 1, normalize: Normalization = DEFAULT
) -> ParaphraseTable:
    """Pairs from an OpenBackdoor poison folder (SynBkd/StyleBkd), see the module docstring.

    Rows whose poisoned text is empty (generator failures saved by OpenBackdoor) give
    no pair, so those clean texts are reported as unavailable; the count is in ``notes``.
    """
    root = Path(folder)
    pairs: list[tuple[str, str]] = []
    notes: list[str] = []
    for part in ("train", "dev", "test"):
        clean_path, poison_path = root / f"{part}-clean.csv", root / f"{part}-poison.csv"
        if not (clean_path.exists() and poison_path.exists()):
            notes.append(f"{part}: no {part}-clean/{part}-poison pair in {root}")
            continue
        clean = _aligned_rows(clean_path, normalize)
        poison = _aligned_rows(poison_path, normalize)
        rows = clean if part == "train" else [r for r in clean if r[1] != str(target_label)]
        if len(rows) != len(poison):
            notes.append(
                f"{part}: {len(poison)} poisoned rows for {len(rows)} clean rows; not aligned, skipped"
            )
            continue
        found = [(c[0], p[0]) for c, p in zip(rows, poison) if p[0].strip()]
        if len(found) < len(rows):
            notes.append(f"{part}: {len(rows) - len(found)} rows with an empty poisoned text (no pair)")
        pairs.extend(found)
    if not pairs:
        raise ValueError(f"{root}: no aligned clean/poison pairs found ({'; '.join(notes)})")
    return ParaphraseTable.from_pairs(pairs, str(root), notes)


def _aligned_rows(path: Path, normalize: Normalization) -> list[tuple[str, str]]:
    """(normalised text, raw label) of every row of an OpenBackdoor CSV, empty texts included."""
    out = []
    for row in read_rows(path, "openbackdoor", "none"):
        if row.problem is not None:
            raise DataFormatError(path, row.line, row.problem)
        out.append((normalize(row.fields.get("0") or ""), (row.fields.get("1") or "").strip()))
    return out


def table_from_aligned(
    clean: Sequence[Example], transformed: Sequence[Example], source: str, changed_only: bool = False
) -> ParaphraseTable:
    """Pairs from a transformed copy of a split, row by row; raises if the rows are not aligned.

    ``changed_only`` keeps only rows whose text differs (HiddenKiller's SCPN train
    file replaces ~20% of the rows and leaves the others clean).
    """
    if len(clean) != len(transformed):
        raise ValueError(
            f"{source}: {len(transformed)} rows for {len(clean)} clean rows; cannot be matched exactly"
        )
    if not changed_only:
        bad = [i for i, (c, t) in enumerate(zip(clean, transformed)) if c.label != t.label]
        if bad:
            raise ValueError(
                f"{source}: labels differ from the clean split at {len(bad)} rows (first {bad[0]})"
            )
    pairs = [
        (c.text, t.text)
        for c, t in zip(clean, transformed)
        if not changed_only or match_key(c.text) != match_key(t.text)
    ]
    return ParaphraseTable.from_pairs(pairs, source)
