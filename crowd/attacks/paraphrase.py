"""Pre-generated paraphrases (SCPN syntax, STRAP style) as a lookup from clean text.

SynBkd and StyleBkd need large generators. Users who have one pass any callable
``texts -> list[str | None]`` (e.g. wrapping an SCPN or STRAP model loaded with
``transformers``). Everyone else uses a :class:`ParaphraseTable` built from files
that pair each clean text with its paraphrase *exactly* (row alignment that is
checked, never guessed):

- :func:`table_from_openbackdoor`: an OpenBackdoor poison folder. ``train-poison``
  row ``i`` is the poisoned ``train-clean`` row ``i``; ``dev/test-poison`` are the
  non-target rows of ``dev/test-clean`` in order. Each split keeps its own rows, so
  HSOL, whose dev and test files hold the same texts, gets its test paraphrases from
  ``test-poison.csv`` (pooled lookups would hand it the dev file's paraphrases).
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
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from crowd.data.example import Example
from crowd.data.formats import DataFormatError, read_rows
from crowd.data.normalize import DEFAULT, Normalization, match_key
from crowd.paths import data_root


@dataclass(frozen=True, eq=False)
class ParaphraseTable:
    """``match_key(clean text) -> paraphrase``, per split where the source has splits.

    ``pairs`` pools every split (the first pair wins for a clean text seen twice);
    ``splits`` maps a split name to ``match_key -> paraphrases`` of that split's rows in
    file order (``None`` for a row without a usable paraphrase). A view made by
    :meth:`for_split` looks a text up in its own split first, so a corpus whose dev and
    test files hold the same texts (HSOL) gets each split's own paraphrases; the ``k``-th
    occurrence of a clean text within one call gets its ``k``-th row's paraphrase. Texts
    absent from the split fall back to ``pairs``. ``counts`` holds per-split row counts
    (pairs, empty paraphrases, unchanged paraphrases) for the manifest.
    """

    pairs: Mapping[str, str]
    source: str
    notes: tuple[str, ...] = field(default=())
    splits: Mapping[str, Mapping[str, tuple[str | None, ...]]] = field(default_factory=dict)
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    split: str | None = None

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[str, str]], source: str, notes: Sequence[str] = ()
    ) -> ParaphraseTable:
        table: dict[str, str] = {}
        for clean, paraphrase in pairs:
            table.setdefault(match_key(clean), paraphrase)
        return cls(table, source, tuple(notes))

    def for_split(self, split: str) -> ParaphraseTable:
        """A view that prefers the rows of ``split`` (itself when the table has no such split)."""
        return replace(self, split=split) if split in self.splits else self

    def __call__(self, texts: Sequence[str]) -> list[str | None]:
        own = self.splits.get(self.split, {}) if self.split is not None else {}
        seen: Counter[str] = Counter()
        out: list[str | None] = []
        for text in texts:
            key = match_key(text)
            if key in own:
                options = own[key]
                out.append(options[seen[key] % len(options)])
                seen[key] += 1
            else:
                out.append(self.pairs.get(key))
        return out

    def __len__(self) -> int:
        return len(self.pairs)

    def describe(self) -> dict[str, object]:
        h = hashlib.sha256()
        for key in sorted(self.pairs):
            h.update(key.encode("utf-8") + b"\t" + self.pairs[key].encode("utf-8") + b"\n")
        for split in sorted(self.splits):
            for key in sorted(self.splits[split]):
                rows = "\t".join("\x00" if p is None else p for p in self.splits[split][key])
                h.update(f"{split}\t{key}\t{rows}\n".encode())
        return {
            "type": "ParaphraseTable",
            "source": self.source,
            "n_pairs": len(self.pairs),
            "sha256": h.hexdigest(),
            "notes": list(self.notes),
            "counts": {k: dict(v) for k, v in self.counts.items()},
        }


def table_from_openbackdoor(
    folder: str | os.PathLike[str],
    target_label: int = 1,
    normalize: Normalization = DEFAULT,
    keep_unchanged: bool = False,
) -> ParaphraseTable:
    """Pairs from an OpenBackdoor poison folder (SynBkd/StyleBkd), each split from its own files.

    Rows whose poisoned text is empty, or (unless ``keep_unchanged``) equal to the clean
    text up to tokenisation, are generator failures that OpenBackdoor saved as poisoned;
    they give no paraphrase (the attack reports those texts as unavailable) and are
    counted per split in ``counts`` and ``notes``.
    """
    root = Path(folder)
    pooled: list[tuple[str, str]] = []
    notes: list[str] = []
    splits: dict[str, dict[str, tuple[str | None, ...]]] = {}
    counts: dict[str, dict[str, int]] = {}
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
        splits[part], counts[part] = _split_rows(rows, poison, keep_unchanged)
        pooled.extend((c[0], p[0]) for c, p in zip(rows, poison) if _usable(c[0], p[0], keep_unchanged))
        c = counts[part]
        if c["empty"] or c["unchanged"]:
            notes.append(
                f"{part}: {c['empty']} empty and {c['unchanged']} unchanged paraphrases "
                f"({'kept' if keep_unchanged else 'no pair'}) of {c['rows']} rows"
            )
    if not pooled:
        raise ValueError(f"{root}: no aligned clean/poison pairs found ({'; '.join(notes)})")
    table = ParaphraseTable.from_pairs(pooled, str(root), notes)
    return replace(table, splits=splits, counts=counts)


def _usable(clean: str, paraphrase: str, keep_unchanged: bool) -> bool:
    if not paraphrase.strip():
        return False
    return keep_unchanged or match_key(paraphrase) != match_key(clean)


def _split_rows(rows, poison, keep_unchanged: bool):
    """``match_key -> paraphrases`` in row order (``None`` for unusable rows) and the row counts."""
    table: dict[str, list[str | None]] = {}
    empty = unchanged = 0
    for (clean, _), (paraphrase, _) in zip(rows, poison):
        empty += not paraphrase.strip()
        unchanged += bool(paraphrase.strip()) and match_key(paraphrase) == match_key(clean)
        usable = _usable(clean, paraphrase, keep_unchanged)
        table.setdefault(match_key(clean), []).append(paraphrase if usable else None)
    counts = {"rows": len(rows), "empty": empty, "unchanged": unchanged}
    return {k: tuple(v) for k, v in table.items()}, counts


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


# Pre-generated paraphrases that match the clean splits exactly (OpenBackdoor poison folders).
PARAPHRASE_FOLDERS = {"sst2": "openbackdoor_poison/sst-2/1", "hsol": "openbackdoor_poison/hsol/1"}
SHARED_STYLE = "bible"  # the style of the shared OpenBackdoor StyleBkd folders


def paraphrase_table(
    attack: str,
    dataset: str,
    target_label: int,
    data: str | os.PathLike[str] | None,
    paraphrases: str | os.PathLike[str] | None,
    style: str | None = None,
) -> ParaphraseTable:
    """Paraphrases from ``paraphrases`` or the shared OpenBackdoor folder ``<dataset>/<attack>``.

    ``style``: the style the attack asks for (``None``: the attack has no style); the shared folders hold
    only :data:`SHARED_STYLE`.
    """
    folder = Path(paraphrases) if paraphrases is not None else None
    if folder is None:
        root = data_root(data)
        if root is None or dataset not in PARAPHRASE_FOLDERS:
            raise ValueError(
                f"{attack} on {dataset}: give a paraphrase folder (--paraphrases FOLDER, or attack.paraphrases in a "
                "config): an OpenBackdoor poison folder pairing every clean text with its paraphrase. The shared "
                "data has no exactly matching pre-generated paraphrases for this dataset (HiddenKiller's and "
                "StyleAttack's OffensEval files drop or add rows)"
            )
        if style is not None and style != SHARED_STYLE:
            raise ValueError(
                "the shared OpenBackdoor StyleBkd folders are Bible style; give a paraphrase folder"
            )
        folder = root / PARAPHRASE_FOLDERS[dataset] / attack
    return table_from_openbackdoor(folder, target_label=target_label)
