"""Linguistic constraints for counter-fitting (Mrkšić et al., NAACL 2016).

The released lists (nmrksic/counter-fitting ``linguistic_constraints/``): ``ppdb_synonyms.txt``
(PPDB 2.0 synonym pairs), ``ppdb_antonyms.txt`` and ``wordnet_antonyms.txt`` (antonym pairs), one
``w1 w2`` pair per line; ``vocabulary.txt`` (one word per line) and ``SimLex-999.txt`` (evaluation).
Optionally WordNet synonyms (lemmas sharing a synset) through NLTK, as in the paper's
"PPDB + WordNet" setting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from synonyms.wordnet_setup import WordNetMissingError, wordnet_info

SYNONYM_FILES = ("ppdb_synonyms.txt",)
ANTONYM_FILES = ("ppdb_antonyms.txt", "wordnet_antonyms.txt")
VOCABULARY_FILE = "vocabulary.txt"
SIMLEX_FILE = "SimLex-999.txt"
CONSTRAINTS_SUBDIR = "counter_fitting/linguistic_constraints"

Pair = tuple[str, str]


@dataclass(frozen=True)
class Constraints:
    """Synonym and antonym pairs, each unordered pair once (``a < b``), lower-cased."""

    synonyms: tuple[Pair, ...]
    antonyms: tuple[Pair, ...]
    sources: tuple[str, ...] = ()

    def vocabulary(self) -> set[str]:
        """Every word that occurs in a constraint."""
        return {w for pairs in (self.synonyms, self.antonyms) for p in pairs for w in p}


def _canonical(pairs: Iterable[Pair]) -> tuple[Pair, ...]:
    out = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    return tuple(sorted(out))


def read_pairs(path: str | os.PathLike[str]) -> list[Pair]:
    """Read ``w1 w2`` lines (blank lines skipped); raises ``ValueError`` naming file and line otherwise."""
    pairs: list[Pair] = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                parts = raw.decode("utf-8").split()
            except UnicodeDecodeError:
                raise ValueError(f"{path}:{lineno}: not valid UTF-8") from None
            if not parts:
                continue
            if len(parts) != 2:
                raise ValueError(f"{path}:{lineno}: expected two words 'w1 w2', found {len(parts)} fields")
            pairs.append((parts[0].lower(), parts[1].lower()))
    return pairs


def read_words(path: str | os.PathLike[str]) -> list[str]:
    """Whitespace-separated words of a vocabulary file, lower-cased, in order, without duplicates."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        line = Path(path).read_bytes()[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not valid UTF-8") from None
    words = list(dict.fromkeys(w.lower() for w in text.split()))
    if not words:
        raise ValueError(f"{path}: empty vocabulary (no words in the file)")
    return words


def load_constraints(
    folder: str | os.PathLike[str],
    synonym_files: Iterable[str] = SYNONYM_FILES,
    antonym_files: Iterable[str] = ANTONYM_FILES,
    wordnet_synonyms: bool = False,
    wordnet_vocabulary: Iterable[str] | None = None,
) -> Constraints:
    """The constraint lists of ``folder``; ``wordnet_synonyms`` adds NLTK WordNet synonym pairs.

    A pair listed both as synonyms and antonyms is kept as an antonym only.
    """
    folder = Path(folder)
    syn: list[Pair] = []
    ant: list[Pair] = []
    sources: list[str] = []
    for names, out in ((synonym_files, syn), (antonym_files, ant)):
        for name in names:
            path = folder / name
            if not path.exists():
                raise FileNotFoundError(f"constraint file {path} does not exist")
            out.extend(read_pairs(path))
            sources.append(str(path))
    if wordnet_synonyms:
        syn.extend(wordnet_synonym_pairs(wordnet_vocabulary))
        sources.append(_wordnet_source())
    antonyms = _canonical(ant)
    banned = set(antonyms)
    synonyms = tuple(p for p in _canonical(syn) if p not in banned)
    return Constraints(synonyms, antonyms, tuple(sources))


def _wordnet_source() -> str:
    """How the WordNet synonyms were obtained, for the graph's metadata (version and data folder)."""
    info = wordnet_info() or {"version": "?", "root": "?"}
    return f"nltk:wordnet {info['version']} synonyms ({info['root']})"


def wordnet_synonym_pairs(vocabulary: Iterable[str] | None = None) -> list[Pair]:
    """Pairs of single-word lemmas sharing a WordNet synset (needs NLTK and its WordNet data).

    With ``vocabulary``, only pairs of words in it are returned.
    """
    try:
        from nltk.corpus import wordnet as wn  # lazy: optional dependency (the wordnet extra)

        synsets = list(wn.all_synsets())
    except (ImportError, LookupError) as e:
        raise WordNetMissingError(
            "WordNet synonyms need nltk and its WordNet data (python -m synonyms.wordnet_setup, "
            "docs/synonyms.md 'WordNet'); "
            f"original error: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}"
        ) from e
    keep = set(vocabulary) if vocabulary is not None else None
    pairs: list[Pair] = []
    for synset in synsets:
        lemmas = sorted({n.lower() for n in synset.lemma_names() if "_" not in n and "-" not in n})
        if keep is not None:
            lemmas = [w for w in lemmas if w in keep]
        pairs.extend((a, b) for i, a in enumerate(lemmas) for b in lemmas[i + 1 :])
    return pairs
