"""Compact summaries of a benchmark's rows, for the README: one pivot table per layout (the layout's
``summary`` in ``crowd.bench.render.LAYOUTS``).

The full tables (``<name>.md`` beside the rows) carry every column, the settings footer and the
notes; a summary keeps the headline figures of each cell in one line per corpus and attack, so a
reader sees a whole table at a glance. ``benchmarks/readme_tables.py`` writes them into the README
between ``<!-- bench:NAME -->`` markers, and a test checks that the README says what the rows say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crowd.bench.grid import Cell
from crowd.bench.markdown import cert_at, certifies, status, table
from crowd.bench.version import DEFAULT_LEARNER

Row = Mapping[str, Any]


def whole(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.0f}"


def one(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.1f}"


def _pivot(
    cells: Sequence[Cell],
    rows: Mapping[str, Row],
    row_of: Callable[[Cell], str],
    col_of: Callable[[Cell], str],
    value: Callable[[Cell, Row], str],
    corner: str,
) -> str:
    """One line per ``row_of(cell)``, one column per ``col_of(cell)``, in cell order; lines with no row left out."""
    lines: dict[str, dict[str, str]] = {}
    columns: list[str] = []
    for c in cells:
        col = col_of(c)
        if col not in columns:
            columns.append(col)
        r = rows.get(c.cell_id)
        lines.setdefault(row_of(c), {})[col] = status(r) or value(c, r)
    body = [
        [name, *(got.get(col, "—") for col in columns)]
        for name, got in lines.items()
        if any(v != "pending" for v in got.values())
    ]
    return table([corner, *columns], body)


def _attack(c: Cell) -> str:
    return f"{c.dataset} {c.attack.row_name}"


def _cacc_asr(r: Row) -> str:
    return f"{whole(r.get('cacc'))} / {whole(r.get('asr'))}"


def headline(r: Row) -> float | None:
    """The certified accuracy a summary shows: on non-target texts (THEORY §4), all texts for older rows."""
    value = r.get("certified_accuracy_non_target_at_budget")
    return r.get("certified_accuracy_at_budget") if value is None else value


def _with_certificate(c: Cell, r: Row) -> str:
    """``CACC / ASR``, and for a certified method whose certificate covers the attack ``(certified on non-target
    texts @budget)``."""
    text = _cacc_asr(r)
    if certifies(c, r) and not r.get("not_covered_reason") and r.get("attack_budget") is not None:
        text += f" ({whole(headline(r))} @{r['attack_budget']})"
    return text


def table2(cells: Sequence[Cell], rows: Mapping[str, Row]) -> str:
    return _pivot(cells, rows, _attack, lambda c: c.method, _with_certificate, "corpus / attack")


def triggers(cells: Sequence[Cell], rows: Mapping[str, Row]) -> str:
    """Per corpus and trigger size and per group count: budget, certified accuracy on non-target texts (in the
    reference world in brackets), CACC and base rate of the observed world."""
    by = {(c.dataset, c.attack.label, c.method): rows.get(c.cell_id) for c in cells}
    variants = [m for m in dict.fromkeys(c.method for c in cells) if not m.endswith("ref")]
    header = ["corpus / trigger"]
    header += [f"{m}: budget: non-target certified (ref.)" for m in variants]
    header += [f"{m}: CACC / base rate" for m in variants]
    body = []
    for dataset, label in dict.fromkeys((c.dataset, c.attack.label) for c in cells):
        got = {m: by.get((dataset, label, m)) for m in variants}
        if all(status(r) for r in got.values()):
            continue
        certified, accuracy = [], []
        for m, r in got.items():
            if status(r):
                certified.append(status(r))
                accuracy.append(status(r))
                continue
            ref = by.get((dataset, label, f"{m}ref"))
            ref_text = status(ref) or one(headline(ref))
            certified.append(f"{r.get('attack_budget')}: {one(headline(r))} ({ref_text})")
            accuracy.append(f"{one(r.get('cacc'))} / {one(r.get('base_rate'))}")
        body.append([f"{dataset} {label}", *certified, *accuracy])
    return table(header, body)


def table3(cells: Sequence[Cell], rows: Mapping[str, Row]) -> str:
    """Per poison rate, each method's CACC / ASR and certified accuracy at radius 1, training side (``train``,
    ``—`` for a classifier without one) and test side (``test``)."""

    def value(c: Cell, r: Row) -> str:
        train = whole(cert_at(r, 1)) if r.get("certificate") not in ("test_tv", "ciss") else "—"
        return f"{_cacc_asr(r)}; r=1: train {train}, test {whole(cert_at(r, 1, 'test_side_curve'))}"

    return _pivot(
        cells, rows, lambda c: f"{c.attack.name} {c.rate:g}", lambda c: c.method, value, "attack rate"
    )


def figure2(cells: Sequence[Cell], rows: Mapping[str, Row]) -> str:
    return _pivot(
        cells, rows, lambda c: c.method, lambda c: f"rate {c.rate:g}", lambda c, r: _cacc_asr(r), "method"
    )


def curve(cells: Sequence[Cell], rows: Mapping[str, Row]) -> str:
    """Per corpus, each method's CACC / ASR and, for certified ones, confident and at-budget accuracy."""

    def value(c: Cell, r: Row) -> str:
        if c.kind == "defend":
            return _cacc_asr(r)
        at = (
            "not covered"
            if r.get("not_covered_reason")
            else f"{whole(headline(r))} @{r.get('attack_budget')}"
        )
        text = f"{_cacc_asr(r)}; confident {whole(r.get('confident_accuracy'))}; at budget {at}"
        if "test_side_certificate" in r:  # the test side: triggered texts whose clean text is certified
            value = r.get("test_side_certified_accuracy_at_budget")
            text += f"; test side {'not covered' if value is None else whole(value)}"
        return text

    return _pivot(cells, rows, lambda c: c.dataset, lambda c: c.method, value, "corpus")


def wordgroups(cells: Sequence[Cell], rows: Mapping[str, Row]) -> str:
    """One line per corpus, attack, learner and world, one column per group count (plurality cells; run-off
    cells are in the full table): non-target certified accuracy at the budget (collective) / CACC."""

    def value(c: Cell, r: Row) -> str:
        if r.get("not_covered_reason"):
            return f"not covered / {whole(r.get('cacc'))}"
        collective = r.get("collective_certified_accuracy_non_target_at_budget")
        return f"{one(headline(r))} ({one(collective)}) / {one(r.get('cacc'))}"

    def row_key(c: Cell) -> str:
        learner = c.config.get("model", {}).get("learner", DEFAULT_LEARNER)
        method = c.config.get("method", {})
        off = [f"{key} {method[key]}" for key in ("empty", "class_weight") if key in method]
        world = c.config.get("world", "observed")
        return f"{c.dataset} {c.attack.label or c.attack.name}, {', '.join([learner, *off])}, {world}"

    plurality = [
        c for c in cells if c.config.get("method", {}).get("aggregation", "plurality") == "plurality"
    ]
    datasets = list(dict.fromkeys(c.dataset for c in cells))
    attacks = list(dict.fromkeys(c.attack.label or c.attack.name for c in cells))

    def position(c: Cell) -> tuple:  # reference world first, corpora and attacks in config order, then m
        return (
            c.config.get("world", "observed") != "reference",
            datasets.index(c.dataset),
            attacks.index(c.attack.label or c.attack.name),
            c.config.get("model", {}).get("learner", DEFAULT_LEARNER),
            c.config["method"]["groups"],
        )

    def column(c: Cell) -> str:
        return f"m = {c.config['method']['groups']}"

    return _pivot(
        sorted(plurality, key=position), rows, row_key, column, value, "corpus, attack, learner, world"
    )
