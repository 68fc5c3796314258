"""Corpora as typed examples: SST-2, OffensEval, HSOL, user files and OpenBackdoor poison folders.

See ``docs/data.md`` for the formats, the normalisation step and error reporting.
"""

from crowd.data.corpus import Corpus
from crowd.data.datasets import (
    DATASETS,
    SPLITS,
    corpus_labels,
    load_dataset,
    load_from_hub,
    load_splits,
    read_dataset,
)
from crowd.data.example import Example
from crowd.data.formats import FORMATS, DataFormatError
from crowd.data.hf import load_per_text
from crowd.data.labels import DEFAULT_LABELS, check_label_set, label_set
from crowd.data.loader import (
    LoadReport,
    LoadResult,
    SkippedRow,
    check_label_sets,
    find_split_file,
    load_file,
    read_file,
)
from crowd.data.normalize import DEFAULT, RAW, Normalization, match_key
from crowd.data.openbackdoor import load_openbackdoor_folder

__all__ = [
    "load_per_text",
    "Corpus",
    "DATASETS",
    "DEFAULT",
    "DEFAULT_LABELS",
    "FORMATS",
    "RAW",
    "SPLITS",
    "DataFormatError",
    "Example",
    "LoadReport",
    "LoadResult",
    "Normalization",
    "SkippedRow",
    "check_label_set",
    "check_label_sets",
    "corpus_labels",
    "find_split_file",
    "load_dataset",
    "load_file",
    "load_from_hub",
    "load_openbackdoor_folder",
    "label_set",
    "load_splits",
    "match_key",
    "read_dataset",
    "read_file",
]
