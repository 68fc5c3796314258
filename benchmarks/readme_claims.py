"""Figures the README's prose quotes from the benchmark rows, each checked against the rows.

The tables between ``<!-- bench:NAME -->`` markers are rendered from the rows (``readme_tables.py``); the
sentences around them quote single figures ("ASR 99 → 16 %"). Each :class:`Claim` below is one such phrase:
its words with ``{}`` where a figure stands, and for each figure the row field it comes from. ``check``
fills the figures from today's rows and looks for the phrase in the README (whitespace-insensitive), so
a re-run that changes a quoted figure, or an edit of the prose, fails the check until both agree.

A figure is named ``"TABLE: DATASET | ATTACK | METHOD | FIELD"``: TABLE a results folder under
``benchmarks/results`` (its config's cpu-scale cells), ATTACK the attack as the table's rows name it
(``badnets``, ``badnets (dirty)``), with ``@RATE`` when the table has several rates, FIELD a row field
(``detector.n_calibration`` reaches into a nested one; ``1-far`` is one minus the field). Fractions (every field ≤ 1 that is not a count)
are printed as percentages with ``digits`` decimals; counts as integers with thousands separators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowd.bench.pages import current_rows
from crowd.bench.render import index_rows
from crowd.bench.spec import BenchConfig, Cell, load_bench_config

ROOT = Path(__file__).resolve().parent.parent
COUNTS = ("n_", "kept", "removed", "attack_budget", "updates")


@dataclass(frozen=True)
class Claim:
    text: str
    figures: tuple[str, ...]
    digits: int = 0


def T2(dataset: str, attack: str, method: str, field: str) -> str:
    return f"table2: {dataset} | {attack} | {method} | {field}"


def F2(rate: str, method: str, field: str) -> str:
    return f"figure2: sst2 | badnets@{rate} | {method} | {field}"


def T3(rate: str, noise: str, field: str) -> str:
    return f"table3: sst2 | badnets@{rate} | {noise} | {field}"


def WG(method: str, field: str = "certified_accuracy_non_target_at_budget", dataset: str = "sst2") -> str:
    return f"wordgroups: {dataset} | badnets (dirty 1 word) | {method} | {field}"


def FA(method: str, field: str = "certified_accuracy_non_target_at_budget", dataset: str = "sst2") -> str:
    return f"wordgroups_fa: {dataset} | badnets (dirty 1 word) | {method} | {field}"


def FA4(method: str, field: str = "certified_accuracy_non_target_at_budget", dataset: str = "sst2") -> str:
    return f"wordgroups_fa: {dataset} | badnets (dirty 4 words) | {method} | {field}"


def TR(dataset: str, words: str, method: str, field: str = "certified_accuracy_non_target_at_budget") -> str:
    return f"triggers: {dataset} | badnets ({words}) | {method} | {field}"


CLAIMS: tuple[Claim, ...] = (
    # Table 2
    Claim(
        "except HSOL's clean-label BadNets (ASR {} % against a base rate of\n{} %): {}–{} % on SST-2, {}–{} % on "
        "OffensEval, {}–{} % on HSOL",
        (
            T2("hsol", "badnets", "none", "asr"),
            T2("hsol", "badnets", "none", "base_rate"),
            T2("sst2", "stylebkd", "none", "asr"),
            T2("sst2", "badnets", "none", "asr"),
            T2("offenseval", "badnets", "none", "asr"),
            T2("offenseval", "addsent", "none", "asr"),
            T2("hsol", "stylebkd", "none", "asr"),
            T2("hsol", "synbkd", "none", "asr"),
        ),
    ),
    Claim(
        "removes exactly the {} poisoned texts\n(ASR {} → {} %",
        (
            T2("sst2", "badnets", "bki", "filter.removed_poisoned"),
            T2("sst2", "badnets", "bki", "undefended_asr"),
            T2("sst2", "badnets", "bki", "asr"),
        ),
    ),
    Claim(
        "({} of the {} poisoned texts and {} clean ones removed; {} → {} %)",
        (
            T2("offenseval", "badnets", "bki", "filter.removed_poisoned"),
            T2("offenseval", "badnets", "bki", "n_poisoned_train"),
            T2("offenseval", "badnets", "bki", "filter.removed_clean"),
            T2("offenseval", "badnets", "bki", "undefended_asr"),
            T2("offenseval", "badnets", "bki", "asr"),
        ),
    ),
    Claim(
        "(SST-2: the {} poisoned\ntexts, {} → {} %, paper 36.3; OffensEval: {} of {}, {} → {} %)",
        (
            T2("sst2", "addsent", "bki", "filter.removed_poisoned"),
            T2("sst2", "addsent", "bki", "undefended_asr"),
            T2("sst2", "addsent", "bki", "asr"),
            T2("offenseval", "addsent", "bki", "filter.removed_poisoned"),
            T2("offenseval", "addsent", "bki", "n_poisoned_train"),
            T2("offenseval", "addsent", "bki", "undefended_asr"),
            T2("offenseval", "addsent", "bki", "asr"),
        ),
    ),
    Claim(
        "`when` on SST-2 SynBkd ({} → {} %), `n't` on SST-2 StyleBkd ({} clean texts removed, {} → {} %)",
        (
            T2("sst2", "synbkd", "bki", "undefended_asr"),
            T2("sst2", "synbkd", "bki", "asr"),
            T2("sst2", "stylebkd", "bki", "filter.removed_clean"),
            T2("sst2", "stylebkd", "bki", "undefended_asr"),
            T2("sst2", "stylebkd", "bki", "asr"),
        ),
    ),
    Claim(
        "BadNets {} → {} %, and\nAddSent, SynBkd and StyleBkd where they were or a few points higher ({} → {}, {} → {}, {} → {} %)",
        tuple(
            T2("hsol", a, "bki", f)
            for a in ("badnets", "addsent", "synbkd", "stylebkd")
            for f in ("undefended_asr", "asr")
        ),
    ),
    Claim(
        "(SST-2: all {} poisoned texts\nand {} clean ones removed, ASR {} → {} % against a base rate of {} %; OffensEval: {} of {} and {} clean\n"
        "ones, {} → {} %) and on HSOL again the slur, which leaves {} %; ONION brings them to {} % (SST-2), {} % (OffensEval,\n"
        "where its threshold removes {} % of the clean texts' words) and {} % (HSOL)",
        (
            T2("sst2", "badnets (dirty)", "bki", "filter.removed_poisoned"),
            T2("sst2", "badnets (dirty)", "bki", "filter.removed_clean"),
            T2("sst2", "badnets (dirty)", "bki", "undefended_asr"),
            T2("sst2", "badnets (dirty)", "bki", "asr"),
            T2("sst2", "badnets (dirty)", "bki", "base_rate"),
            T2("offenseval", "badnets (dirty)", "bki", "filter.removed_poisoned"),
            T2("offenseval", "badnets (dirty)", "bki", "n_poisoned_train"),
            T2("offenseval", "badnets (dirty)", "bki", "filter.removed_clean"),
            T2("offenseval", "badnets (dirty)", "bki", "undefended_asr"),
            T2("offenseval", "badnets (dirty)", "bki", "asr"),
            T2("hsol", "badnets (dirty)", "bki", "asr"),
            T2("sst2", "badnets (dirty)", "onion", "asr"),
            T2("offenseval", "badnets (dirty)", "onion", "asr"),
            T2("offenseval", "badnets (dirty)", "onion", "removal_rate_clean"),
            T2("hsol", "badnets (dirty)", "onion", "asr"),
        ),
    ),
    Claim(
        "cuts SST-2 BadNets\nto {} % and OffensEval BadNets to {} %",
        (T2("sst2", "badnets", "strip", "asr"), T2("offenseval", "badnets", "strip", "asr")),
    ),
    Claim(
        "**ONION** lowers BadNets to {} % on SST-2, {} % on\nOffensEval and {} % on HSOL and OffensEval's AddSent to {} %",
        (
            T2("sst2", "badnets", "onion", "asr"),
            T2("offenseval", "badnets", "onion", "asr"),
            T2("hsol", "badnets", "onion", "asr"),
            T2("offenseval", "addsent", "onion", "asr"),
        ),
    ),
    Claim(
        "OffensEval BadNets {} → {} %, OffensEval AddSent {} → {} %, dirty-label BadNets {} → {} % (SST-2) and\n{} → {} % (OffensEval)",
        (
            T2("offenseval", "badnets", "rap", "undefended_asr"),
            T2("offenseval", "badnets", "rap", "asr"),
            T2("offenseval", "addsent", "rap", "undefended_asr"),
            T2("offenseval", "addsent", "rap", "asr"),
            T2("sst2", "badnets (dirty)", "rap", "undefended_asr"),
            T2("sst2", "badnets (dirty)", "rap", "asr"),
            T2("offenseval", "badnets (dirty)", "rap", "undefended_asr"),
            T2("offenseval", "badnets (dirty)", "rap", "asr"),
        ),
    ),
    Claim(
        "clean-label BadNets ({} → {} %)",
        (T2("sst2", "badnets", "rap", "undefended_asr"), T2("sst2", "badnets", "rap", "asr")),
    ),
    Claim("it even raises SST-2\nStyleBkd to {} %", (T2("sst2", "stylebkd", "onion", "asr"),)),
    Claim("DPA's budget, 2 per poisoned row ({} on SST-2)", (T2("sst2", "badnets", "dpa", "attack_budget"),)),
    Claim(
        "AddSent falls into one group of 3 (certified {} % on SST-2, {} % HSOL, {} %\nOffensEval)",
        tuple(
            T2(d, "addsent", "tg3", "certified_accuracy_non_target_at_budget")
            for d in ("sst2", "hsol", "offenseval")
        ),
    ),
    # Word-group learners and group counts
    Claim(
        "the `bow` group models at m = 9 certify {} % of the clean non-target texts in the reference world (a guarantee\n"
        "against every one-word trigger) and {} % in the observed world, at {}–{} % clean accuracy",
        (WG("bow9ref"), WG("bow9"), WG("bow9ref", "cacc"), WG("bow9", "cacc")),
        digits=1,
    ),
    Claim(
        "(m = 7: {} % at {} %; m = 3: {} % at {} %)",
        (WG("bow7ref"), WG("bow7ref", "cacc"), WG("bow3ref"), WG("bow3ref", "cacc")),
        digits=1,
    ),
    Claim(
        "(`partial`, m = 9) certifies the\nmost on SST-2, {} % at {} %",
        (WG("partial9ref"), WG("partial9ref", "cacc")),
        digits=1,
    ),
    Claim(
        "dropping empty sub-texts and abstaining gives {} % against {} % with a placeholder vote",
        (WG("bow9"), WG("bow9ph")),
        digits=1,
    ),
    Claim(
        "with neither, the\nold setting, {} % at {} % CACC",
        (WG("bow9phnw"), WG("bow9phnw", "cacc")),
        digits=1,
    ),
    # Word partitions against trigger size
    Claim(
        "With one trigger word, 9 groups certify {} % of SST-2's and {} % of HSOL's clean non-target texts "
        "({} and {} % in the reference world",
        (
            TR("sst2", "1 word", "tg9"),
            TR("hsol", "1 word", "tg9"),
            TR("sst2", "1 word", "tg9ref"),
            TR("hsol", "1 word", "tg9ref"),
        ),
        digits=1,
    ),
    # Table 3
    Claim(
        "(CACC {}–{} %, ASR rising with the poison rate from {} % to {}–{} %)",
        (
            T3("0.1", "safer", "cacc"),
            T3("0.01", "crowd", "cacc"),
            T3("0.01", "crowd", "asr"),
            T3("0.1", "crowd", "asr"),
            T3("0.1", "safer", "asr"),
        ),
    ),
    Claim(
        "(the CACC column here: {} / {} / {} / {} and {} / {} / {} / {}",
        tuple(
            T3(rate, noise, "cacc")
            for noise in ("crowd", "safer")
            for rate in ("0.01", "0.02", "0.05", "0.1")
        ),
    ),
    # Figure 2
    Claim(
        "learns the trigger from rate 0.05 on (ASR {} %; {} % and {} % at 0.01 and 0.02",
        (F2("0.05", "none", "asr"), F2("0.01", "none", "asr"), F2("0.02", "none", "asr")),
    ),
    Claim(
        "The fixed RAP, calibrated on the whole dev set ({} texts), flags {} % of the triggered texts at rate 0.1 "
        "(FAR {} %) and none of the 200 clean test texts (ASR {} → {} %)",
        (
            F2("0.1", "rap", "n_dev_calibration"),
            F2("0.1", "rap", "1-far"),
            F2("0.1", "rap", "far"),
            F2("0.1", "rap", "undefended_asr"),
            F2("0.1", "rap", "asr"),
        ),
    ),
    Claim(
        "it flags almost nothing (ASR {} and {} %, as without it)",
        (F2("0.01", "rap", "asr"), F2("0.02", "rap", "asr")),
    ),
    Claim(
        "CROWD's ASR stays low ({}–{} %), as the paper's figure shows, but no lower than `static-none`'s ({}–{} %)",
        (
            F2("0.01", "crowd", "asr"),
            F2("0.1", "crowd", "asr"),
            F2("0.01", "static-none", "asr"),
            F2("0.1", "static-none", "asr"),
        ),
    ),
    Claim(
        "removes exactly the poisoned texts (346 at rate 0.05, 692 at 0.1: ASR 100 → {} and\n{} %)",
        (F2("0.05", "bki", "asr"), F2("0.1", "bki", "asr")),
    ),
    Claim(
        "15 at rate 0.05 (ASR 100 → {} %) but 231 at 0.1\n({} → {} %)",
        (F2("0.05", "onion", "asr"), F2("0.1", "onion", "undefended_asr"), F2("0.1", "onion", "asr")),
    ),
    # Wang et al. and the word-substitution attack
    Claim(
        "counts every changed word-piece coordinate and label ({} on SST-2)",
        ("wang: sst2 | badnets | wang | attack_budget",),
    ),
    Claim(
        "its budget is about three substitutions per poisoned row ({} on\nSST-2)",
        ("wordsub: sst2 | wordsub | crowd | attack_budget",),
    ),
    Claim(
        "the undefended MiniLM victim's ASR is {} / {} / {} % (SST-2 / OffensEval / HSOL) against base rates\nof {} / {} / {} %",
        tuple(
            f"wordsub: {d} | wordsub | none | {f}"
            for f in ("asr", "base_rate")
            for d in ("sst2", "offenseval", "hsol")
        ),
    ),
    # Table 3's test side: ConvexCertify (the ciss cells)
    Claim(
        "certifies\n{} % of the clean texts against every substitution at once at rate 0.01 (CACC {} %)",
        (T3("0.01", "ciss", "certified_accuracy"), T3("0.01", "ciss", "cacc")),
        1,
    ),
    Claim("BadNets' inserted word: CISS's ASR is {} % at rate 0.01", (T3("0.01", "ciss", "asr"),), 0),
    # the word-substitution table's test side
    Claim(
        "SAFER's noise certifies {} / {} / {} % of the triggered non-target texts",
        tuple(
            f"wordsub: {d} | wordsub | safer | test_side_certified_accuracy_at_budget"
            for d in ("sst2", "offenseval", "hsol")
        ),
        1,
    ),
    Claim(
        "ConvexCertify certifies {} % of SST-2's (CACC {} %, ASR {} %)",
        (
            "wordsub: sst2 | wordsub | ciss | test_side_certified_accuracy_at_budget",
            "wordsub: sst2 | wordsub | ciss | cacc",
            "wordsub: sst2 | wordsub | ciss | asr",
        ),
        1,
    ),
    Claim(
        "There ConvexCertify certifies {} % of SST-2's triggered non-target\ntexts at their trigger's size",
        ("wordsub: sst2 | wordsub | ciss | test_side_certified_accuracy_at_budget",),
        1,
    ),
    # The main job's group learner (wordgroups_fa's observed-world rows; bownbveck9d1obs is the main job)
    Claim(
        "certify {} % at {} % CACC with 7 groups and {} % at {} % with 9; NB-LR with the GloVe vector gives {} % at "
        "{} % with 9",
        (
            FA("bowk7d1obs"),
            FA("bowk7d1obs", "cacc"),
            WG("bow9"),
            WG("bow9", "cacc"),
            FA("bownbveck9d1obs"),
            FA("bownbveck9d1obs", "cacc"),
        ),
        1,
    ),
    Claim(
        "groups (`--set method.groups=8`) certify {} % at {} % CACC but class 1 only {} %",
        (
            FA("bownbveck8d1obs"),
            FA("bownbveck8d1obs", "cacc"),
            FA("bownbveck8d1obs", "per_class_certified_accuracy_at_budget.1"),
        ),
        1,
    ),
    # Finite Aggregation over word groups and word vectors (wordgroups_fa)
    Claim(
        "trigger word from {} to {} % at m = 9 (CACC {} %) and from {} to {} % at m = 7 (CACC {} %); on HSOL it\n"
        "moves little (m = 7: {} against {} %)",
        (
            FA("bowk9d1"),
            FA("bowveck9d1"),
            FA("bowveck9d1", "cacc"),
            FA("bowk7d1"),
            FA("bowveck7d1"),
            FA("bowveck7d1", "cacc"),
            FA("bowk7d1", dataset="hsol"),
            FA("bowveck7d1", dataset="hsol"),
        ),
        1,
    ),
    Claim(
        "SST-2, k = 5, from {} % (d = 1) to {} % (d = 2) and {} % (d = 3)",
        (FA("bowk5d1"), FA("bowk5d2"), FA("bowk5d3")),
        1,
    ),
    Claim(
        "with the vectors certifies {} % of SST-2's non-target texts at {} % CACC\nwith 8 groups",
        (FA("bownbveck8d1"), FA("bownbveck8d1", "cacc")),
        1,
    ),
    Claim(
        "falls the same\nway, {}, {} and {} %, and so does the observed world (NB-LR with vectors, k = 5, d = 2: {} % at {} %)",
        (
            FA("bowk5d1", "collective_certified_accuracy_non_target_at_budget"),
            FA("bowk5d2", "collective_certified_accuracy_non_target_at_budget"),
            FA("bowk5d3", "collective_certified_accuracy_non_target_at_budget"),
            FA("bownbveck5d2obs"),
            FA("bownbveck5d2obs", "cacc"),
        ),
        1,
    ),
    Claim(
        "in the observed world it certifies {} % at {} % on SST-2 and {} % at {} % on HSOL",
        (
            FA("bownbveck9d1obs"),
            FA("bownbveck9d1obs", "cacc"),
            FA("bownbveck9d1obs", dataset="hsol"),
            FA("bownbveck9d1obs", "cacc", dataset="hsol"),
        ),
        1,
    ),
    Claim(
        "the best is {} % at {} % (NB-LR with vectors, m = 6), and NB-LR without vectors certifies {} % at {} % (m = 9) "
        "by leaning to the non-target class (class 1: {} %)",
        (
            FA("bownbveck6d1", dataset="hsol"),
            FA("bownbveck6d1", "cacc", dataset="hsol"),
            FA("bownbk9d1", dataset="hsol"),
            FA("bownbk9d1", "cacc", dataset="hsol"),
            FA("bownbk9d1", "per_class_certified_accuracy_at_budget.1", dataset="hsol"),
        ),
        1,
    ),
    Claim(
        "certifies {} % on SST-2 at {} % CACC and {} % on HSOL at {} %",
        (
            FA4("bownbveck15d1"),
            FA4("bownbveck15d1", "cacc"),
            FA4("bownbveck15d1", dataset="hsol"),
            FA4("bownbveck15d1", "cacc", dataset="hsol"),
        ),
        1,
    ),
    Claim(
        "OpenBackdoor's clean-label preset of the same words stays at the `bow` figures of the table above ({} and\n{} % "
        "at m = 15)",
        (
            "wordgroups: sst2 | badnets (clean-label (OpenBackdoor)) | bow15ref | certified_accuracy_non_target_at_budget",
            "wordgroups: hsol | badnets (clean-label (OpenBackdoor)) | bow15ref | certified_accuracy_non_target_at_budget",
        ),
        1,
    ),
    Claim(
        "(the highest, {} %, is `bow` with vectors at m = 5, certifying {} %)",
        (FA("bowveck5d1", "cacc"), FA("bowveck5d1")),
        1,
    ),
    Claim(
        "{} %\nat {} % with 9 and {} % at {} % with 15; without the vectors NB-LR falls to {} % (m = 8)",
        (
            FA("bownbveck9d1"),
            FA("bownbveck9d1", "cacc"),
            FA("bownbveck15d1"),
            FA("bownbveck15d1", "cacc"),
            FA("bownbk8d1"),
        ),
        1,
    ),
    Claim(
        "shows class 1 lower ({} % at m = 8)",
        (FA("bownbveck8d1", "per_class_certified_accuracy_at_budget.1"),),
        1,
    ),
)


def current(table: str, scale: str = "cpu") -> tuple[BenchConfig, list[Cell], dict[str, Mapping[str, Any]]]:
    """The table's config, its cells at ``scale`` and the committed rows of those cells by cell id."""
    config = load_bench_config(str(ROOT / "benchmarks" / "configs" / f"{table}.toml"))
    grid, rows = current_rows(config, ROOT / "benchmarks" / "results" / table, scale)
    return config, list(grid), index_rows(rows)


def rows_of(table: str, scale: str = "cpu") -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """The table's current rows by (dataset, attack as rows name it, method); ``attack@rate`` keys too."""
    _, grid, rows = current(table, scale)
    out: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for c in grid:
        if c.cell_id in rows:
            out[c.dataset, c.attack.row_name, c.method] = rows[c.cell_id]
            out[c.dataset, f"{c.attack.row_name}@{c.rate:g}", c.method] = rows[c.cell_id]
    return out


def figure(name: str, digits: int, tables: Callable[[str], Mapping]) -> str:
    table, rest = name.split(":", 1)
    dataset, attack, method, field = (part.strip() for part in rest.split("|"))
    row = tables(table.strip()).get((dataset, attack, method))
    if row is None:
        raise KeyError(f"no row for {name}")
    complement = field.startswith("1-")  # "1-far": the share flagged
    value: Any = row
    for key in field.removeprefix("1-").split("."):
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if complement:
        return f"{100 * (1 - value):.{digits}f}"
    if field.split(".")[-1].startswith(COUNTS) or (isinstance(value, int) and value > 1):
        return f"{int(value):,}"
    return f"{100 * value:.{digits}f}"


def check(readme: str, claims: Sequence[Claim] = CLAIMS) -> list[str]:
    """The claims whose filled phrase is not in ``readme``, each with the phrase the rows give."""
    cache: dict[str, Mapping] = {}

    def tables(name: str) -> Mapping:
        if name not in cache:
            cache[name] = rows_of(name)
        return cache[name]

    flat = _flat(readme)
    wrong = []
    for claim in claims:
        phrase = claim.text.format(*(figure(f, claim.digits, tables) for f in claim.figures))
        if _flat(phrase) not in flat:
            wrong.append(f"README lacks {phrase!r} (from {', '.join(claim.figures)})")
    return wrong


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)
