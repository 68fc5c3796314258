"""``crowd synonyms``: build, import or inspect a synonym graph (see docs/synonyms.md).

- ``crowd synonyms build [--out DIR]``: counter-fit vectors, post-process, build perturbation sets;
  with no options, the default graph (:mod:`crowd.noise.synonym_graph`), written to ``--out`` or the cache.
- ``crowd synonyms import-safer TABLE --out DIR [--vectors PATH]``: a SAFER ``{word: [neighbours]}`` table.
- ``crowd synonyms show WORD [--graph DIR]``: the perturbation set of WORD with similarities.

``build`` and ``import-safer`` write only into a new or empty folder or over a graph crowd wrote, checked before
any work (:func:`crowd.pipelines.outdir.check_out_folder`): never over the user's own ``graph.json`` or another
command's output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crowd.commands._format import percent
from crowd.paths import cache_dir, require_data_root
from crowd.pipelines.outdir import check_out_folder
from synonyms.graph import SynonymGraph
from synonyms.neighbours import NeighbourParams
from synonyms.safer import import_safer_table
from synonyms.vectors import check_trust, load_vectors

HELP = "build, import or inspect a synonym graph (perturbation sets with cosine similarities)"
TRUST_HELP = (
    "allow a pickled vector file (gensim .kv/.model): unpickling runs code, so only for files you trust"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="action")
    build = sub.add_parser("build", help="build a graph (defaults: the default graph)")
    build.add_argument("--out", type=Path, default=None, help="output folder (default: the cache folder)")
    build.add_argument("--data", default=None, help="data root (default: $CROWD_DATA)")
    build.add_argument("--vectors", type=Path, default=None, help="vector file (default: kumo GloVe 6B-50d)")
    build.add_argument(
        "--vectors-format",
        default=None,
        choices=("glove", "word2vec", "word2vec-binary", "gensim", "kumo"),
        help="format of --vectors (default: guessed from the path)",
    )
    build.add_argument(
        "--corpus",
        action="append",
        choices=("sst2", "offenseval", "hsol"),
        help="corpus whose words get sets (repeatable; default: all three)",
    )
    build.add_argument(
        "--vocab-file", action="append", type=Path, default=[], help="extra words (whitespace separated)"
    )
    build.add_argument("--threshold", type=float, default=0.8, help="cosine similarity threshold (0.8)")
    build.add_argument("--component-cap", type=int, default=100, help="largest component used whole (100)")
    build.add_argument(
        "--neighbour-cap", type=int, default=100, help="set size cap in larger components (100)"
    )
    build.add_argument("--min-count", type=int, default=2, help="min corpus occurrences of a graph word (2)")
    build.add_argument("--epochs", type=int, default=20, help="counter-fitting epochs (20; 0 = none)")
    build.add_argument("--pre-components", type=int, default=8, help="all-but-the-top before counter-fitting")
    build.add_argument("--post-components", type=int, default=8, help="all-but-the-top after (CROWD: 8)")
    build.add_argument("--wordnet-synonyms", choices=("auto", "yes", "no"), default="auto")
    build.add_argument("--trust-pickle", action="store_true", help=TRUST_HELP)
    build.add_argument("--device", default="cpu", help="torch device for counter-fitting (cpu, cuda)")
    build.add_argument("--no-progress", action="store_true", help="no progress bars (the stage lines stay)")
    safer = sub.add_parser("import-safer", help="import a SAFER neighbour table (JSON or .json.gz)")
    safer.add_argument("table", type=Path)
    safer.add_argument("--out", type=Path, required=True)
    safer.add_argument("--vectors", type=Path, default=None, help="compute similarities from these vectors")
    safer.add_argument("--vectors-format", default=None)
    safer.add_argument("--trust-pickle", action="store_true", help=TRUST_HELP)
    show = sub.add_parser("show", help="print a word's perturbation set with similarities")
    show.add_argument("word")
    show.add_argument(
        "--graph", type=Path, default=None, help="graph folder (default: the cached default graph)"
    )
    show.add_argument("--data", default=None, help="data root, to find the cached default graph")


def run(args: argparse.Namespace) -> int:
    return {"build": _build, "import-safer": _import_safer, "show": _show}[args.action](args)


def _graphs():
    """:mod:`crowd.noise.synonym_graph`, the graph builder (counter-fitting runs on torch)."""
    from crowd.noise import synonym_graph  # lazy: `crowd synonyms show --graph DIR` and --help need no torch

    return synonym_graph


def _inputs(args: argparse.Namespace):
    g = _graphs()
    params = g.BuildParams(
        neighbours=NeighbourParams(args.threshold, args.component_cap, args.neighbour_cap),
        counterfit=g.CounterFitParams(epochs=args.epochs, device=args.device),
        min_count=args.min_count,
        pre_components=args.pre_components,
        post_components=args.post_components,
        counter_fitting=args.epochs > 0,
    )
    corpora = tuple(dict.fromkeys(args.corpus)) if args.corpus else g.DEFAULT_CORPORA
    if args.vocab_file and not args.corpus:
        corpora = ()
    return g.GraphInputs(
        require_data_root(args.data), args.vectors, args.vectors_format, corpora,
        tuple(args.vocab_file), args.wordnet_synonyms, params, args.trust_pickle,
    )  # fmt: skip


def _build(args: argparse.Namespace) -> int:
    if args.out is not None:  # before any work; the default folder is named by the inputs, checked below
        check_out_folder(args.out, "synonyms")
    if args.vectors is not None:  # before the data root and the corpora are even looked at
        check_trust(args.vectors, args.vectors_format, args.trust_pickle)
    inputs = _inputs(args)
    g = _graphs()
    out = args.out or check_out_folder(cache_dir() / g.CACHE_SUBDIR / g.cache_key(inputs), "synonyms")
    result = g.build_from_inputs(inputs, progress=not args.no_progress, stages=True)
    result.graph.save(out)
    r = result.report
    print(f"wrote {result.graph!r} to {out}")
    for name, res in (
        ("before", r.simlex_before),
        ("counter-fitted", r.simlex_counterfitted),
        ("final", r.simlex_final),
    ):
        if res is not None:
            print(f"SimLex-999 Spearman {name}: {res.spearman:.3f} ({res.n_pairs}/{res.n_total} pairs)")
    b = r.antonyms_before_exclusion
    print(
        f"antonym pairs in each other's set: {r.antonyms.n_leaked}/{r.antonyms.n_pairs} ({percent(r.antonyms.rate)}); "
        f"before excluding listed antonyms: {b.n_leaked} ({percent(b.rate)})"
    )
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in r.seconds.items()))
    return 0


def _import_safer(args: argparse.Namespace) -> int:
    check_out_folder(args.out, "synonyms")
    kv = None
    if args.vectors is not None:
        kv = load_vectors(args.vectors, args.vectors_format, trust_pickle=args.trust_pickle)
    graph = import_safer_table(args.table, kv)
    graph.save(args.out)
    print(f"wrote {graph!r} to {args.out} (similarities: {graph.metadata['similarities']})")
    return 0


def _show(args: argparse.Namespace) -> int:

    folder = args.graph or _default_graph_folder(args.data)
    graph = SynonymGraph.load(folder)
    word = args.word.lower() if args.word not in graph else args.word
    if word not in graph:
        print(f"{args.word!r} is not in the graph {folder}: it is never substituted (set = itself)")
        return 1
    print(f"{word}: {graph.set_size(word)} words")
    for cand, sim in zip(graph.neighbors(word), graph.similarities(word)):
        print(f"  {sim:7.4f}  {cand}")
    return 0


def _default_graph_folder(data: str | None) -> Path:
    g = _graphs()
    folder = cache_dir() / g.CACHE_SUBDIR / g.cache_key(g.GraphInputs(require_data_root(data)))
    if not (folder / "graph.json").exists():
        raise FileNotFoundError(
            f"no default graph cached at {folder}: run 'crowd synonyms build' first, or pass --graph DIR"
        )
    return folder
