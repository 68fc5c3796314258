"""Attack budget of a poisoned training set against its clean source, in every certificate's unit.

``clean[i]`` and ``poisoned[i]`` must be the same row before and after the attack
(index alignment; :func:`crowd.attacks.poison_corpus` keeps it). Units (THEORY §3):

- examples: ``n_poisoned`` (rows flagged poisoned) and ``n_changed`` (rows whose
  text or label differ). DPA counts insertions/deletions: a changed row is one
  deletion plus one insertion, ``n_insert_delete = 2 * n_changed``.
- labels: ``n_label_flips`` = changed label coordinates (the ℓ0 label count).
- words: per row, an optimal word-level edit script (Levenshtein over
  whitespace words, unit costs) split into insertions, deletions, substitutions;
  summed over rows, with the per-row maxima.
- fixed-length tokens: each text becomes ``length`` coordinates, its first
  ``length`` tokens then PAD (as :meth:`crowd.text.WordCorpus.to_fixed_length`);
  ``l0_tokens`` counts coordinates that differ. Tokens are whitespace words, or
  ids from ``tokenize`` (e.g. a BERT tokenizer's ``encode``) so the unit matches
  keep-β noise over wordpiece ids. An inserted word shifts later tokens, so it
  may change many coordinates.
- word groups (word-partition aggregation): :func:`word_groups_touched` gives, for stated numbers of
  groups ``m``, the exact number of md5 groups whose sub-text differs in a training row or in a triggered
  test text (against the clean text it was made from), by :func:`crowd.text.touched_groups`,
  the rule ``crowd certify`` measures the budget with. A case change (``Great`` → ``great``) or a
  reordering inside a group touches it. BadNets with ``cf mn bb tq`` touches at most 4 groups, AddSent's
  sentence at most 5, whatever the poison rate.
- synonyms: substitutions clean ``w`` → poisoned ``v`` with ``graph.covers(w, v)``
  (``v ∈ S_w``, directed, case-exact: :meth:`synonyms.graph.SynonymGraph.covers`,
  the same relation the TV certificate's per-position term maximises over,
  :meth:`crowd.noise.SynonymNoise.max_tv`); ``None`` when no graph is given.
  ``non_synonym_edits`` = all other word edits, which a synonym certificate does
  not cover.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crowd.data.corpus import Corpus
from crowd.data.example import Example
from crowd.text import PAD, split_words, touched_groups
from synonyms.graph import SynonymGraph


@dataclass(frozen=True)
class WordEdits:
    insertions: int
    deletions: int
    substitutions: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Budget:
    """Totals (and per-row maxima) of what the attack changed; see the module docstring for units."""

    n_examples: int
    n_poisoned: int
    n_changed: int
    n_label_flips: int
    word_insertions: int
    word_deletions: int
    word_substitutions: int
    max_word_edits: int
    max_word_insertions: int
    max_word_deletions: int
    max_word_substitutions: int
    length: int
    tokenizer: str
    l0_tokens: int
    max_l0_tokens: int
    l0_labels: int
    synonym_substitutions: int | None
    non_synonym_edits: int | None

    @property
    def word_edits(self) -> int:
        return self.word_insertions + self.word_deletions + self.word_substitutions

    @property
    def n_insert_delete(self) -> int:
        return 2 * self.n_changed

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "word_edits": self.word_edits, "n_insert_delete": self.n_insert_delete}


def word_edits(old: Sequence[str], new: Sequence[str]) -> WordEdits:
    """An optimal edit script from ``old`` to ``new`` (unit costs; ties: substitution, deletion, insertion)."""
    n, m = len(old), len(new)
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dist[i][0] = i
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        row, prev = dist[i], dist[i - 1]
        for j in range(1, m + 1):
            cost = prev[j - 1] + (old[i - 1] != new[j - 1])
            row[j] = min(cost, prev[j] + 1, row[j - 1] + 1)
    ins = dels = 0
    subs: list[tuple[str, str]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and dist[i][j] == dist[i - 1][j - 1] + (old[i - 1] != new[j - 1]):
            if old[i - 1] != new[j - 1]:
                subs.append((old[i - 1], new[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and dist[i][j] == dist[i - 1][j] + 1:
            dels, i = dels + 1, i - 1
        else:
            ins, j = ins + 1, j - 1
    return WordEdits(ins, dels, tuple(reversed(subs)))


MAX_BUDGET_LENGTH = 512  # the longest input of a BERT-size encoder; the learners here read 64 to 256 tokens


def fixed_length(tokens: Sequence[Any], length: int) -> list[Any]:
    """The first ``length`` tokens, padded with :data:`crowd.text.PAD`."""
    head = list(tokens[:length])
    return head + [PAD] * (length - len(head))


def attack_budget(
    clean: Sequence[Example],
    poisoned: Sequence[Example],
    length: int = 64,
    tokenize: Callable[[str], Sequence[int]] | None = None,
    graph: SynonymGraph | None = None,
) -> Budget:
    """The budget of ``poisoned`` against ``clean`` (index-aligned lists of the same length)."""
    if len(clean) != len(poisoned):
        raise ValueError(f"clean has {len(clean)} rows, poisoned {len(poisoned)}: they must be index-aligned")
    if not 1 <= length <= MAX_BUDGET_LENGTH:
        raise ValueError(f"length must be in 1..{MAX_BUDGET_LENGTH} (a model's input length), got {length:,}")
    tok = tokenize or split_words
    totals = {"ins": 0, "del": 0, "sub": 0, "syn": 0, "l0": 0}
    maxima = {"edits": 0, "ins": 0, "del": 0, "sub": 0, "l0": 0}
    n_changed = flips = 0
    for a, b in zip(clean, poisoned):
        flips += a.label != b.label
        if a.text == b.text:
            n_changed += a.label != b.label
            continue
        n_changed += 1
        edits = word_edits(split_words(a.text), split_words(b.text))
        l0 = sum(x != y for x, y in zip(fixed_length(tok(a.text), length), fixed_length(tok(b.text), length)))
        row = {"ins": edits.insertions, "del": edits.deletions, "sub": len(edits.substitutions), "l0": l0}
        for key, value in row.items():
            totals[key] += value
            maxima[key] = max(maxima[key], value)
        maxima["edits"] = max(maxima["edits"], row["ins"] + row["del"] + row["sub"])
        if graph is not None:
            totals["syn"] += sum(1 for w, v in edits.substitutions if graph.covers(w, v))
    all_edits = totals["ins"] + totals["del"] + totals["sub"]
    return Budget(
        n_examples=len(clean),
        n_poisoned=sum(1 for e in poisoned if e.poisoned),
        n_changed=n_changed,
        n_label_flips=flips,
        word_insertions=totals["ins"],
        word_deletions=totals["del"],
        word_substitutions=totals["sub"],
        max_word_edits=maxima["edits"],
        max_word_insertions=maxima["ins"],
        max_word_deletions=maxima["del"],
        max_word_substitutions=maxima["sub"],
        length=length,
        tokenizer="whitespace words" if tokenize is None else getattr(tokenize, "__name__", "custom"),
        l0_tokens=totals["l0"],
        max_l0_tokens=maxima["l0"],
        l0_labels=flips,
        synonym_substitutions=totals["syn"] if graph is not None else None,
        non_synonym_edits=all_edits - totals["syn"] if graph is not None else None,
    )


def test_poison_sources(corpus: Corpus) -> list[str] | None:
    """The clean test text each triggered test text was made from, or ``None`` if the corpus does not say."""
    if (
        "test_poison_sources" in corpus.manifest
    ):  # given by the user (crowd.pipelines.certify.certify_examples)
        return list(corpus.manifest["test_poison_sources"])
    target = corpus.manifest.get("params", {}).get("target_label")
    test = corpus.manifest.get("test")
    if target is None or test is None:
        return None
    missing = set(test.get("unavailable", {}).get("indices", []))
    rows = [e.text for i, e in enumerate(corpus.test_clean) if e.label != target and i not in missing]
    return rows if len(rows) == len(corpus.test_poison) else None


WORD_GROUPS = (3, 5, 6, 7, 8, 9, 10, 12, 14, 15, 16, 18, 20, 21, 24, 27, 30, 45)
"""Word partitions' m, and Finite Aggregation's k·d buckets for k in 5 to 10 and 15, d in 1, 2, 3."""


def word_groups_touched(
    corpus: Corpus, groups: Sequence[int] = WORD_GROUPS, order: str = "keep"
) -> dict[str, int] | None:
    """``{str(m): touched groups}``: word partitions' exact budget for each ``m`` in ``groups``; for Finite
    Aggregation over word groups (``method.spread = d``) the entry ``k·d`` is its budget in buckets.

    Pairs are the training rows (clean source, poisoned; label flips are not text and touch nothing) and the
    triggered test texts with the clean texts they were made from. ``order = "keep"`` (the default of
    ``method.order``) counts a reordering inside a group; it is never below the ``"sorted"`` count. ``None``
    when the corpus does not say which clean test text each triggered one came from.
    """
    sources = test_poison_sources(corpus) if corpus.test_poison else []
    if sources is None:
        return None
    pairs = [(a.text, b.text) for a, b in zip(corpus.train_clean, corpus.train_poisoned) if a.text != b.text]
    pairs += [(a, b.text) for a, b in zip(sources, corpus.test_poison) if a != b.text]
    return {str(m): len(touched_groups(pairs, m, order)) for m in groups}
