"""Build a :class:`~synonyms.graph.SynonymGraph` from word vectors, constraints and a corpus vocabulary.

Pipeline (THEORY §2; CROWD by Sun/Sen/Ruan and SAFER by Ye et al. 2020):

1. keep the vectors of the needed words only: graph words ∪ constraint words ∪ ``extra_vocabulary``
   (the counter-fitting vocabulary, SimLex-999 words) — this is what makes counter-fitting fast;
2. optionally all-but-the-top (Mu & Viswanath 2018) *before* counter-fitting (``pre_components``;
   our addition, not in Mrkšić et al.: on 50-d GloVe it lifts SimLex-999 after counter-fitting from
   0.43 to 0.51, see docs/synonyms.md);
3. counter-fitting (Mrkšić et al. 2016), :mod:`synonyms.counterfit`;
4. all-but-the-top with ``post_components`` = 8 directions (CROWD/SAFER), renormalised;
5. neighbours at cosine ``>= threshold`` among the graph words and perturbation sets from connected
   components (:mod:`synonyms.neighbours`).

Graph words: with a corpus vocabulary, the words with a vector that occur at least ``min_count`` times
in it (SAFER keeps words with frequency > 1, i.e. ``min_count = 2``); without one, every vector word.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from gensim.models import KeyedVectors
from tqdm.auto import tqdm

from synonyms.constraints import Constraints
from synonyms.counterfit import CounterFitParams, counter_fit, pair_indices
from synonyms.evaluate import AntonymLeak, SimLexResult, antonym_leak, simlex_spearman
from synonyms.graph import SynonymGraph
from synonyms.neighbours import NeighbourParams, perturbation_sets
from synonyms.postprocess import all_but_the_top


@dataclass(frozen=True)
class BuildParams:
    """Everything that decides the graph besides the input files (recorded in the graph's metadata)."""

    neighbours: NeighbourParams = field(default_factory=NeighbourParams)
    counterfit: CounterFitParams = field(default_factory=CounterFitParams)
    min_count: int = 2
    pre_components: int = 8
    post_components: int = 8
    counter_fitting: bool = True
    exclude_antonyms: bool = True

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count}")


@dataclass(frozen=True)
class BuildReport:
    """Quality and cost figures of one build."""

    n_vectors: int
    n_graph_words: int
    n_pairs: int
    simlex_before: SimLexResult | None
    simlex_counterfitted: SimLexResult | None
    simlex_final: SimLexResult | None
    antonyms: AntonymLeak
    antonyms_before_exclusion: AntonymLeak
    seconds: dict[str, float]


@dataclass(frozen=True)
class BuildResult:
    """The graph, its report, and the final (post-processed, unit) vectors of the graph's words, row
    ``i`` for ``graph.words[i]`` (so sets for other thresholds can be formed without a new build)."""

    graph: SynonymGraph
    report: BuildReport
    unit_vectors: np.ndarray | None = None


def graph_words(kv: KeyedVectors, corpus_counts: Mapping[str, int] | None, min_count: int) -> list[str]:
    """The words that get a perturbation set, in vector order (see the module docstring)."""
    if corpus_counts is None:
        words = list(kv.index_to_key)
    else:
        words = [w for w in kv.index_to_key if corpus_counts.get(w, 0) >= min_count]
    if not words:
        raise ValueError("empty vocabulary: no corpus word (with enough occurrences) has a vector")
    return words


def build_graph(
    kv: KeyedVectors,
    constraints: Constraints,
    corpus_counts: Mapping[str, int] | None = None,
    params: BuildParams | None = None,
    simlex: Iterable[tuple[str, str, float]] | None = None,
    extra_vocabulary: Iterable[str] = (),
    metadata: Mapping[str, object] | None = None,
    progress: bool = False,
) -> BuildResult:
    """Run the pipeline of the module docstring; ``simlex`` rows (if given) are evaluated at each stage."""
    params = params or BuildParams()
    simlex = list(simlex) if simlex is not None else None
    clock: dict[str, float] = {}
    t = time.perf_counter()
    nodes = graph_words(kv, corpus_counts, params.min_count)
    needed = set(nodes) | constraints.vocabulary() | set(extra_vocabulary)
    needed |= {w for row in simlex or () for w in row[:2]}
    keep = [i for i, w in enumerate(kv.index_to_key) if w in needed]
    words = [kv.index_to_key[i] for i in keep]
    x = np.asarray(kv.vectors[keep], dtype=np.float32)
    clock["restrict"] = time.perf_counter() - t
    before = _simlex(words, x, simlex)
    x = _counter_fit(words, x, constraints, params, clock, progress)
    cf = _simlex(words, x, simlex)
    t = time.perf_counter()
    x = all_but_the_top(x, params.post_components) if params.post_components else x
    final = _simlex(words, x, simlex)
    row = {w: i for i, w in enumerate(words)}
    unit = x[[row[w] for w in nodes]]
    clock["postprocess"] = time.perf_counter() - t
    t = time.perf_counter()
    bar = _bar(progress, len(nodes))
    if params.exclude_antonyms:
        raw = SynonymGraph(nodes, *perturbation_sets(nodes, unit, params.neighbours, bar))
        leak_unfiltered = antonym_leak(raw, constraints.antonyms)
        exclude = pair_indices(nodes, constraints.antonyms)
        graph = SynonymGraph(nodes, *perturbation_sets(nodes, unit, params.neighbours, None, exclude))
    else:
        graph = SynonymGraph(nodes, *perturbation_sets(nodes, unit, params.neighbours, bar))
        leak_unfiltered = antonym_leak(graph, constraints.antonyms)
    clock["neighbours"] = time.perf_counter() - t
    leak = antonym_leak(graph, constraints.antonyms)
    report = BuildReport(
        len(words), len(nodes), graph.n_pairs, before, cf, final, leak, leak_unfiltered, clock
    )
    graph.metadata.update(_metadata(params, report, constraints, metadata))
    return BuildResult(graph, report, unit)


def _counter_fit(
    words: list[str],
    x: np.ndarray,
    constraints: Constraints,
    params: BuildParams,
    clock: dict[str, float],
    progress: bool,
) -> np.ndarray:
    """Steps 2 and 3 of the module docstring."""
    t = time.perf_counter()
    if params.pre_components:
        x = all_but_the_top(x, params.pre_components)
    if params.counter_fitting:
        bar = _bar(progress, params.counterfit.epochs, "counter-fitting (epochs)")
        x = counter_fit(words, x, constraints, params.counterfit, bar).vectors
    clock["counter_fit"] = time.perf_counter() - t
    return x


def _simlex(words: list[str], x: np.ndarray, rows: list | None) -> SimLexResult | None:
    return simlex_spearman(words, x, rows) if rows else None


def _bar(enabled: bool, total: int, desc: str = "neighbours (words)"):
    if not enabled:
        return None
    bar = tqdm(total=total, desc=desc, unit="")
    return bar.update


def _metadata(
    params: BuildParams, report: BuildReport, constraints: Constraints, extra: Mapping[str, object] | None
) -> dict[str, object]:
    return {
        "builder": "synonyms.build.build_graph",
        "params": asdict(params),
        "constraint_sources": list(constraints.sources),
        "n_synonym_constraints": len(constraints.synonyms),
        "n_antonym_constraints": len(constraints.antonyms),
        "n_vectors_used": report.n_vectors,
        "simlex999": {
            "before": _opt(report.simlex_before),
            "counterfitted": _opt(report.simlex_counterfitted),
            "final": _opt(report.simlex_final),
        },
        "antonym_leak": {"pairs": report.antonyms.n_pairs, "leaked": report.antonyms.n_leaked},
        "antonym_leak_before_exclusion": {
            "pairs": report.antonyms_before_exclusion.n_pairs,
            "leaked": report.antonyms_before_exclusion.n_leaked,
            "examples": [list(p) for p in report.antonyms_before_exclusion.examples],
        },
        "seconds": {k: round(v, 2) for k, v in report.seconds.items()},
        "similarity": "cosine after all-but-the-top post-processing",
        **dict(extra or {}),
    }


def _opt(result: SimLexResult | None) -> dict[str, float] | None:
    return None if result is None else asdict(result)
